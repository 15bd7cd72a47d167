import { DEFAULT_CONFIG, MAX_TABLE_CAPACITY, U64_MAX } from './constants.js';
import { ConfigError } from './errors.js';

/** Capacities and windows of one allocator shard, fixed at open. */
export interface AllocDbConfig {
  /** u64; the high 64 bits of every reservation id this shard creates. */
  readonly shardId: bigint;
  readonly maxResources: number;
  /** Live and retained terminal reservations together. */
  readonly maxReservations: number;
  readonly maxBundleSize: number;
  readonly maxOperations: number;
  /** u64; the longest TTL a reserve may ask for. */
  readonly maxTtlSlots: bigint;
  /** u64; how long past the longest TTL a retry still finds its operation record. */
  readonly maxClientRetryWindowSlots: bigint;
  /** u64; how long a released, expired or revoked reservation stays readable. */
  readonly reservationHistoryWindowSlots: bigint;
  /** Most ids one expiration wheel bucket may hold. */
  readonly maxExpirationBucketLen: number;
}

/** Values derived from a validated config. */
export interface DerivedConfig {
  /** W = maxTtlSlots + maxClientRetryWindowSlots: how long an operation record lives. */
  readonly operationWindowSlots: bigint;
  readonly memberCapacity: number;
  /** maxTtlSlots + 1. */
  readonly wheelBuckets: bigint;
}

const COUNT_FIELDS = [
  'maxResources',
  'maxReservations',
  'maxBundleSize',
  'maxOperations',
  'maxExpirationBucketLen',
] as const;

const SLOT_FIELDS = [
  'shardId',
  'maxTtlSlots',
  'maxClientRetryWindowSlots',
  'reservationHistoryWindowSlots',
] as const;

/** Spec rules 1–6: zero capacities, in the spec's order. */
const ZERO_CHECK_ORDER = [
  'maxResources',
  'maxReservations',
  'maxOperations',
  'maxBundleSize',
  'maxTtlSlots',
  'maxExpirationBucketLen',
] as const;

function checkShapes(config: Record<string, unknown>): void {
  for (const field of SLOT_FIELDS) {
    const value = config[field];
    if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
      throw new ConfigError('invalid_value', field, 'must be a bigint in 0..2^64-1');
    }
  }
  for (const field of COUNT_FIELDS) {
    const value = config[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new ConfigError('invalid_value', field, 'must be a non-negative safe integer');
    }
  }
}

/**
 * Validates a config and returns its derived values. Order: first every field's type and range
 * (`invalid_value`: the spec's rules cannot be evaluated on values of the wrong type), then the
 * spec's eleven rules in their order, then this implementation's table size limit
 * (`capacity_too_large`). The first failure throws a ConfigError naming the field.
 */
export function validateConfig(config: AllocDbConfig): DerivedConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError('invalid_value', 'config', 'must be an object');
  }
  checkShapes(config as unknown as Record<string, unknown>);

  for (const field of ZERO_CHECK_ORDER) {
    const value = config[field];
    if (value === 0 || value === 0n) {
      throw new ConfigError('zero_capacity', field, 'must be at least 1');
    }
  }
  if (config.maxBundleSize > config.maxResources) {
    throw new ConfigError('bundle_size_too_large', 'maxBundleSize', 'exceeds maxResources');
  }
  if (config.reservationHistoryWindowSlots > config.maxTtlSlots) {
    throw new ConfigError(
      'history_window_too_large',
      'reservationHistoryWindowSlots',
      'exceeds maxTtlSlots',
    );
  }
  const operationWindowSlots = config.maxTtlSlots + config.maxClientRetryWindowSlots;
  if (operationWindowSlots > U64_MAX) {
    throw new ConfigError(
      'operation_window_too_large',
      'maxClientRetryWindowSlots',
      'maxTtlSlots + maxClientRetryWindowSlots overflows u64',
    );
  }
  if (config.maxExpirationBucketLen > config.maxReservations) {
    throw new ConfigError(
      'bucket_capacity_too_large',
      'maxExpirationBucketLen',
      'exceeds maxReservations',
    );
  }
  if (config.maxTtlSlots + 1n > U64_MAX) {
    throw new ConfigError('wheel_too_large', 'maxTtlSlots', 'maxTtlSlots + 1 overflows u64');
  }

  for (const field of ['maxResources', 'maxReservations', 'maxOperations'] as const) {
    if (config[field] > MAX_TABLE_CAPACITY) {
      throw new ConfigError('capacity_too_large', field, `exceeds ${MAX_TABLE_CAPACITY}`);
    }
  }
  const memberCapacity = config.maxReservations * config.maxBundleSize;
  if (memberCapacity > MAX_TABLE_CAPACITY) {
    throw new ConfigError(
      'capacity_too_large',
      'maxBundleSize',
      `the member table (maxReservations × maxBundleSize = ${memberCapacity}) exceeds ${MAX_TABLE_CAPACITY}`,
    );
  }
  return { operationWindowSlots, memberCapacity, wheelBuckets: config.maxTtlSlots + 1n };
}

/** Fills unspecified fields from `DEFAULT_CONFIG`, validates, and returns a frozen config. */
export function resolveConfig(overrides: Partial<AllocDbConfig> = {}): AllocDbConfig {
  const config: AllocDbConfig = Object.freeze({ ...DEFAULT_CONFIG, ...overrides });
  validateConfig(config);
  return config;
}
