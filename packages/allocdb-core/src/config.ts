import { DEFAULT_CONFIG, MAX_TABLE_CAPACITY, U64_MAX } from './constants.js';
import { ConfigError } from './errors.js';
import { findUnknownKey, missingKeys, quoteKey, unknownKeyHint } from './runtime/known-keys.js';

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

/**
 * Every field of the configuration, in the spec's order, with the type of its value: the one list
 * that validation, the recorded configuration's comparison (`engine/directory.ts`) and the
 * `--config` reader use, so that a field added to the configuration reaches all three (the type
 * below refuses a list that misses a field of `AllocDbConfig`).
 */
export const CONFIG_FIELD_TYPES = {
  shardId: 'bigint',
  maxResources: 'number',
  maxReservations: 'number',
  maxBundleSize: 'number',
  maxOperations: 'number',
  maxTtlSlots: 'bigint',
  maxClientRetryWindowSlots: 'bigint',
  reservationHistoryWindowSlots: 'bigint',
  maxExpirationBucketLen: 'number',
} as const satisfies {
  readonly [K in keyof AllocDbConfig]: AllocDbConfig[K] extends bigint ? 'bigint' : 'number';
};

/** The configuration's fields, in the spec's order. */
export const CONFIG_FIELDS = Object.keys(CONFIG_FIELD_TYPES) as readonly (keyof AllocDbConfig)[];

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

/** Throws `unknown_field`, with a "did you mean", for a key that is not a config field. */
function refuseUnknownField(config: object): void {
  const key = findUnknownKey(config, CONFIG_FIELDS);
  if (key === undefined) return;
  throw new ConfigError(
    'unknown_field',
    key.length > 64 ? `${key.slice(0, 64)}…` : key,
    `${quoteKey(key)} is not a config field; ${unknownKeyHint(key, CONFIG_FIELDS)}`,
  );
}

/**
 * Validates a config and returns its derived values. Order: the config's keys (`unknown_field`
 * for a key that is not a field, then `missing_field` for absent fields: a config built without
 * `resolveConfig` lacks most of them), every field's type and range (`invalid_value`: the
 * spec's rules cannot be evaluated on values of the wrong type), the spec's eleven rules in
 * their order, then this implementation's table size limit (`capacity_too_large`). The first
 * failure throws a ConfigError naming the field.
 */
export function validateConfig(config: AllocDbConfig): DerivedConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError(
      'invalid_value',
      'config',
      'must be an object; build one with resolveConfig({ ... }), which fills the defaults',
    );
  }
  refuseUnknownField(config);
  const missing = missingKeys(config as unknown as Record<string, unknown>, CONFIG_FIELDS);
  if (missing.length > 0) {
    throw new ConfigError(
      'missing_field',
      missing.length === 1 ? missing[0]! : 'config',
      `config is missing ${missing.join(', ')}: pass resolveConfig({ ... }) the fields you want ` +
        'to set, and it fills the defaults of the others',
    );
  }
  checkShapes(config as unknown as Record<string, unknown>);

  for (const field of ZERO_CHECK_ORDER) {
    const value = config[field];
    if (value === 0 || value === 0n) {
      throw new ConfigError('zero_capacity', field, 'must be at least 1');
    }
  }
  if (config.maxBundleSize > config.maxResources) {
    throw new ConfigError(
      'bundle_size_too_large',
      'maxBundleSize',
      `${config.maxBundleSize} exceeds maxResources ${config.maxResources}`,
    );
  }
  if (config.reservationHistoryWindowSlots > config.maxTtlSlots) {
    throw new ConfigError(
      'history_window_too_large',
      'reservationHistoryWindowSlots',
      `${config.reservationHistoryWindowSlots} exceeds maxTtlSlots ${config.maxTtlSlots}`,
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
      `${config.maxExpirationBucketLen} exceeds maxReservations ${config.maxReservations}`,
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

const isCapacity = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
const isU64 = (value: unknown): value is bigint =>
  typeof value === 'bigint' && value >= 0n && value <= U64_MAX;
const minBigint = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * The defaults for a config whose given fields are `given`: `DEFAULT_CONFIG`, except where a
 * rule ties a field to one the caller gave, where the default shrinks to fit it (a default
 * never makes the config invalid by itself):
 * - `maxBundleSize` ≤ `maxResources` (rule 7), and `maxReservations × maxBundleSize` ≤
 *   `MAX_TABLE_CAPACITY` (the member table);
 * - `reservationHistoryWindowSlots` ≤ `maxTtlSlots` (rule 8);
 * - `maxTtlSlots + maxClientRetryWindowSlots` ≤ 2^64 − 1 (rule 9);
 * - `maxExpirationBucketLen` ≤ `maxReservations` (rule 10).
 * A given value of the wrong type or range leaves the plain default: validation then names it.
 */
function defaultsFor(given: Partial<AllocDbConfig>): AllocDbConfig {
  const maxResources = isCapacity(given.maxResources)
    ? given.maxResources
    : DEFAULT_CONFIG.maxResources;
  const maxReservations = isCapacity(given.maxReservations)
    ? given.maxReservations
    : DEFAULT_CONFIG.maxReservations;
  const maxTtlSlots = isU64(given.maxTtlSlots) ? given.maxTtlSlots : DEFAULT_CONFIG.maxTtlSlots;
  return {
    ...DEFAULT_CONFIG,
    maxBundleSize: Math.min(
      DEFAULT_CONFIG.maxBundleSize,
      maxResources,
      Math.max(1, Math.floor(MAX_TABLE_CAPACITY / maxReservations)),
    ),
    maxClientRetryWindowSlots: minBigint(
      DEFAULT_CONFIG.maxClientRetryWindowSlots,
      U64_MAX - maxTtlSlots,
    ),
    reservationHistoryWindowSlots: minBigint(
      DEFAULT_CONFIG.reservationHistoryWindowSlots,
      maxTtlSlots,
    ),
    maxExpirationBucketLen: Math.min(DEFAULT_CONFIG.maxExpirationBucketLen, maxReservations),
  };
}

/**
 * Fills the fields `overrides` leaves out (or sets to undefined) with their defaults, validates,
 * and returns a frozen config. Defaults follow the fields given (`defaultsFor`): a small
 * `maxResources` brings a small default `maxBundleSize`, and so on; a field given is never
 * changed. An unknown key is `unknown_field`, with a "did you mean".
 */
export function resolveConfig(overrides: Partial<AllocDbConfig> = {}): AllocDbConfig {
  if (typeof overrides !== 'object' || overrides === null) {
    throw new ConfigError('invalid_value', 'config', 'must be an object of the fields to set');
  }
  refuseUnknownField(overrides);
  const defaults = defaultsFor(overrides);
  const config: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) {
    const value = overrides[field];
    config[field] = value === undefined ? defaults[field] : value;
  }
  const resolved = Object.freeze(config) as unknown as AllocDbConfig;
  validateConfig(resolved);
  return resolved;
}
