import { DEFAULT_CONFIG, MAX_TABLE_CAPACITY, U64_MAX } from './constants.js';
import { ConfigError } from './errors.js';
import { findUnknownKey, missingKeys, quoteKey, unknownKeyHint } from './runtime/known-keys.js';

/** Capacities and the retry window of one quota state machine, fixed at open. */
export interface QuotaConfig {
  /** Bucket table capacity. */
  readonly maxBuckets: number;
  /** Operation (dedupe) table capacity, and so its retire queue's. */
  readonly maxOperations: number;
  /** u64; an operation's result is remembered through `requestSlot + maxClientRetryWindowSlots`. */
  readonly maxClientRetryWindowSlots: bigint;
}

/**
 * Every field of the configuration, in the spec's order, with the type of its value: the one list
 * that validation, the recorded configuration's comparison (`engine/directory.ts`) and the
 * `--config` reader use, so that a field added to the configuration reaches all three (the type
 * below refuses a list that misses a field of `QuotaConfig`).
 */
export const CONFIG_FIELD_TYPES = {
  maxBuckets: 'number',
  maxOperations: 'number',
  maxClientRetryWindowSlots: 'bigint',
} as const satisfies {
  readonly [K in keyof QuotaConfig]: QuotaConfig[K] extends bigint ? 'bigint' : 'number';
};

/** The configuration's fields, in the spec's order. */
export const CONFIG_FIELDS = Object.keys(CONFIG_FIELD_TYPES) as readonly (keyof QuotaConfig)[];

const COUNT_FIELDS = ['maxBuckets', 'maxOperations'] as const;

/** The spec's rules, in its order: every field at least 1. */
const ZERO_CHECK_ORDER = ['maxBuckets', 'maxOperations', 'maxClientRetryWindowSlots'] as const;

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
 * Validates a config. Order: the config's keys (`unknown_field` for a key that is not a field,
 * then `missing_field` for absent fields: a config built without `resolveConfig` lacks them),
 * every field's type and range (`invalid_value`: the spec's rules cannot be evaluated on values
 * of the wrong type), the spec's rules (every field ≥ 1, `zero_capacity`), then this
 * implementation's table size limit (`capacity_too_large`). The first failure throws a
 * ConfigError naming the field.
 */
export function validateConfig(config: QuotaConfig): void {
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

/**
 * Fills the fields `overrides` leaves out (or sets to undefined) from `DEFAULT_CONFIG`,
 * validates, and returns a frozen config. No rule ties two fields together, so every default is
 * valid whatever the caller gives. An unknown key is `unknown_field`, with a "did you mean".
 */
export function resolveConfig(overrides: Partial<QuotaConfig> = {}): QuotaConfig {
  if (typeof overrides !== 'object' || overrides === null) {
    throw new ConfigError('invalid_value', 'config', 'must be an object of the fields to set');
  }
  refuseUnknownField(overrides);
  const config: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) {
    const value = overrides[field];
    config[field] = value === undefined ? DEFAULT_CONFIG[field] : value;
  }
  const resolved = Object.freeze(config) as unknown as QuotaConfig;
  validateConfig(resolved);
  return resolved;
}
