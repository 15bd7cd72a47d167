import { DEFAULT_CONFIG, MAX_TABLE_CAPACITY, U64_MAX } from './constants.js';
import { ConfigError } from './errors.js';

/** Capacities and the retry window of one quota state machine, fixed at open. */
export interface QuotaConfig {
  /** Bucket table capacity. */
  readonly maxBuckets: number;
  /** Operation (dedupe) table capacity, and so its retire queue's. */
  readonly maxOperations: number;
  /** u64; an operation's result is remembered through `requestSlot + maxClientRetryWindowSlots`. */
  readonly maxClientRetryWindowSlots: bigint;
}

const COUNT_FIELDS = ['maxBuckets', 'maxOperations'] as const;

/** The spec's rules, in its order: every field at least 1. */
const ZERO_CHECK_ORDER = ['maxBuckets', 'maxOperations', 'maxClientRetryWindowSlots'] as const;

/**
 * Validates a config. Order: first every field's type and range (`invalid_value`: the spec's
 * rules cannot be evaluated on values of the wrong type), then the spec's rules (every field
 * ≥ 1, `zero_capacity`), then this implementation's table size limit (`capacity_too_large`).
 * The first failure throws a ConfigError naming the field.
 */
export function validateConfig(config: QuotaConfig): void {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError('invalid_value', 'config', 'must be an object');
  }
  for (const field of COUNT_FIELDS) {
    const value: unknown = config[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new ConfigError('invalid_value', field, 'must be a non-negative safe integer');
    }
  }
  const window: unknown = config.maxClientRetryWindowSlots;
  if (typeof window !== 'bigint' || window < 0n || window > U64_MAX) {
    throw new ConfigError('invalid_value', 'maxClientRetryWindowSlots', 'must be a u64 bigint');
  }
  for (const field of ZERO_CHECK_ORDER) {
    const value = config[field];
    if (value === 0 || value === 0n) {
      throw new ConfigError('zero_capacity', field, 'must be at least 1');
    }
  }
  for (const field of COUNT_FIELDS) {
    if (config[field] > MAX_TABLE_CAPACITY) {
      throw new ConfigError('capacity_too_large', field, `exceeds ${MAX_TABLE_CAPACITY}`);
    }
  }
}

/** Fills unspecified fields from `DEFAULT_CONFIG`, validates, and returns a frozen config. */
export function resolveConfig(overrides: Partial<QuotaConfig> = {}): QuotaConfig {
  const config: QuotaConfig = Object.freeze({ ...DEFAULT_CONFIG, ...overrides });
  validateConfig(config);
  return config;
}
