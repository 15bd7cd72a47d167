import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AllocDbConfig, resolveConfig, validateConfig } from '../src/config.js';
import { DEFAULT_CONFIG, MAX_TABLE_CAPACITY, U64_MAX } from '../src/constants.js';
import { AllocDbEngine } from '../src/engine/engine.js';
import { ConfigError } from '../src/errors.js';
import { AllocDb } from '../src/state-machine/alloc-db.js';
import { C0 } from './support/alloc.js';
import { runs, SEED } from './support/thorough.js';

function failure(config: Partial<AllocDbConfig>): { code: string; field: string } {
  try {
    validateConfig({ ...C0, ...config } as AllocDbConfig);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const { code, field } = error as ConfigError;
    return { code, field };
  }
  throw new Error('config was accepted');
}

describe('config validation', () => {
  it('accepts C0 and derives W, the member capacity and the wheel size', () => {
    expect(validateConfig(C0)).toEqual({
      operationWindowSlots: 24n,
      memberCapacity: 8,
      wheelBuckets: 17n,
    });
  });

  it('resolveConfig fills defaults and the defaults are valid', () => {
    expect(resolveConfig()).toEqual(DEFAULT_CONFIG);
    expect(resolveConfig({ maxResources: 3, maxBundleSize: 2 }).maxResources).toBe(3);
    expect(() => resolveConfig({ maxResources: 0 })).toThrow(ConfigError);
  });

  it('rules 1–6: each zero capacity is zero_capacity naming the field', () => {
    for (const field of [
      'maxResources',
      'maxReservations',
      'maxOperations',
      'maxBundleSize',
      'maxTtlSlots',
      'maxExpirationBucketLen',
    ] as const) {
      const zero = field === 'maxTtlSlots' ? 0n : 0;
      expect(failure({ [field]: zero }), field).toEqual({ code: 'zero_capacity', field });
    }
  });

  it('rules 1–6 report the zero capacities in the spec order', () => {
    const allZero: Partial<AllocDbConfig> = {
      maxResources: 0,
      maxReservations: 0,
      maxOperations: 0,
      maxBundleSize: 0,
      maxTtlSlots: 0n,
      maxExpirationBucketLen: 0,
    };
    const order = Object.keys(allZero) as (keyof AllocDbConfig)[];
    const remaining: Partial<AllocDbConfig> = { ...allZero };
    for (const field of order) {
      expect(failure(remaining).field).toBe(field);
      delete remaining[field];
    }
  });

  it('rule 7: bundle larger than the resource table', () => {
    expect(failure({ maxBundleSize: 9 })).toEqual({
      code: 'bundle_size_too_large',
      field: 'maxBundleSize',
    });
    expect(() => validateConfig({ ...C0, maxBundleSize: 8 })).not.toThrow();
  });

  it('rule 8: history window longer than the longest TTL', () => {
    expect(failure({ reservationHistoryWindowSlots: 17n })).toEqual({
      code: 'history_window_too_large',
      field: 'reservationHistoryWindowSlots',
    });
    expect(() => validateConfig({ ...C0, reservationHistoryWindowSlots: 16n })).not.toThrow();
  });

  it('rule 9: the operation window overflows u64', () => {
    expect(failure({ maxTtlSlots: 2n ** 63n, maxClientRetryWindowSlots: 2n ** 63n })).toEqual({
      code: 'operation_window_too_large',
      field: 'maxClientRetryWindowSlots',
    });
    expect(() =>
      validateConfig({ ...C0, maxTtlSlots: 2n ** 63n, maxClientRetryWindowSlots: 2n ** 63n - 2n }),
    ).not.toThrow();
  });

  it('rule 10: a bucket larger than the reservation table', () => {
    expect(failure({ maxExpirationBucketLen: 9 })).toEqual({
      code: 'bucket_capacity_too_large',
      field: 'maxExpirationBucketLen',
    });
  });

  it('rule 11: maxTtlSlots + 1 overflows u64', () => {
    expect(failure({ maxTtlSlots: U64_MAX, maxClientRetryWindowSlots: 0n })).toEqual({
      code: 'wheel_too_large',
      field: 'maxTtlSlots',
    });
    // The wheel never allocates per bucket, so the largest legal TTL opens fine.
    const db = new AllocDb({ ...C0, maxTtlSlots: U64_MAX - 1n, maxClientRetryWindowSlots: 0n });
    expect(db.metrics().scheduledExpirations.capacity).toBe(C0.maxReservations);
  });

  it('adjacent rules fire in the spec order when both are broken', () => {
    expect(failure({ maxOperations: 0, maxBundleSize: 9 }).code).toBe('zero_capacity');
    expect(failure({ maxBundleSize: 9, reservationHistoryWindowSlots: 17n }).code).toBe(
      'bundle_size_too_large',
    );
    expect(
      failure({
        reservationHistoryWindowSlots: 2n ** 63n + 1n,
        maxTtlSlots: 2n ** 63n,
        maxClientRetryWindowSlots: 2n ** 63n,
      }).code,
    ).toBe('history_window_too_large');
    expect(
      failure({
        maxTtlSlots: 2n ** 63n,
        maxClientRetryWindowSlots: 2n ** 63n,
        maxExpirationBucketLen: 9,
      }).code,
    ).toBe('operation_window_too_large');
    expect(
      failure({ maxExpirationBucketLen: 9, maxTtlSlots: U64_MAX, maxClientRetryWindowSlots: 0n })
        .code,
    ).toBe('bucket_capacity_too_large');
    expect(
      failure({
        maxTtlSlots: U64_MAX,
        maxClientRetryWindowSlots: 0n,
        maxResources: MAX_TABLE_CAPACITY + 1,
      }).code,
    ).toBe('wheel_too_large');
  });

  it('after the spec rules, tables beyond MAX_TABLE_CAPACITY are capacity_too_large', () => {
    expect(failure({ maxResources: MAX_TABLE_CAPACITY + 1 })).toEqual({
      code: 'capacity_too_large',
      field: 'maxResources',
    });
    expect(failure({ maxOperations: MAX_TABLE_CAPACITY + 1 }).field).toBe('maxOperations');
    expect(
      failure({ maxResources: 64, maxReservations: MAX_TABLE_CAPACITY / 4, maxBundleSize: 8 }),
    ).toEqual({ code: 'capacity_too_large', field: 'maxBundleSize' });
  });

  it('wrong types and ranges are invalid_value, before any spec rule', () => {
    expect(failure({ shardId: 1 as unknown as bigint })).toEqual({
      code: 'invalid_value',
      field: 'shardId',
    });
    expect(failure({ shardId: 2n ** 64n }).code).toBe('invalid_value');
    expect(failure({ maxTtlSlots: -1n }).field).toBe('maxTtlSlots');
    expect(failure({ maxResources: -1 }).field).toBe('maxResources');
    expect(failure({ maxResources: 1.5, maxOperations: 0 }).code).toBe('invalid_value');
    expect(failure({ maxReservations: 4n as unknown as number }).field).toBe('maxReservations');
    expect(failure({ reservationHistoryWindowSlots: undefined }).field).toBe(
      'reservationHistoryWindowSlots',
    );
    expect(() => validateConfig(null as unknown as AllocDbConfig)).toThrow(ConfigError);
  });

  it('the AllocDb constructor validates', () => {
    expect(() => new AllocDb({ ...C0, maxResources: 0 })).toThrow(ConfigError);
  });
});

describe('resolveConfig: derived defaults follow the capacities given', () => {
  it('a small resource table shrinks the default bundle size (issue: maxResources 8 threw)', () => {
    const config = resolveConfig({ maxResources: 8 });
    expect(config.maxResources).toBe(8);
    expect(config.maxBundleSize).toBe(8);
    expect(resolveConfig({ maxResources: 100 }).maxBundleSize).toBe(DEFAULT_CONFIG.maxBundleSize);
  });

  it('a small reservation table shrinks the default expiration bucket length', () => {
    const config = resolveConfig({ maxReservations: 8 });
    expect(config.maxExpirationBucketLen).toBe(8);
    expect(resolveConfig({ maxReservations: 8, maxResources: 4 })).toMatchObject({
      maxBundleSize: 4,
      maxExpirationBucketLen: 8,
    });
  });

  it('a short TTL shrinks the default history window; a huge one the default retry window', () => {
    expect(resolveConfig({ maxTtlSlots: 60n }).reservationHistoryWindowSlots).toBe(60n);
    const longest = resolveConfig({ maxTtlSlots: U64_MAX - 1n });
    expect(longest.maxClientRetryWindowSlots).toBe(1n);
    expect(resolveConfig({ maxTtlSlots: U64_MAX - 10_000n }).maxClientRetryWindowSlots).toBe(
      DEFAULT_CONFIG.maxClientRetryWindowSlots,
    );
  });

  it('a huge reservation table shrinks the default bundle size to keep the member table legal', () => {
    const config = resolveConfig({ maxReservations: MAX_TABLE_CAPACITY });
    expect(config.maxBundleSize).toBe(1);
    expect(resolveConfig({ maxReservations: MAX_TABLE_CAPACITY / 8 }).maxBundleSize).toBe(8);
  });

  it('never changes a field the caller gave: the rule then names it', () => {
    expect(() => resolveConfig({ maxResources: 8, maxBundleSize: 16 })).toThrow(
      expect.objectContaining({ code: 'bundle_size_too_large', field: 'maxBundleSize' }),
    );
    expect(() => resolveConfig({ maxResources: -1 })).toThrow(
      expect.objectContaining({ code: 'invalid_value', field: 'maxResources' }),
    );
    expect(() => resolveConfig({ maxResources: 0 })).toThrow(
      expect.objectContaining({ code: 'zero_capacity', field: 'maxResources' }),
    );
  });

  it('an explicit undefined means "use the default"', () => {
    expect(resolveConfig({ maxResources: undefined, maxBundleSize: undefined })).toEqual(
      DEFAULT_CONFIG,
    );
  });

  it('whatever subset of fields is given, an error only ever names a field that was given', () => {
    const fields = {
      shardId: fc.bigInt({ min: 0n, max: U64_MAX }),
      maxResources: fc.integer({ min: 1, max: MAX_TABLE_CAPACITY }),
      maxReservations: fc.integer({ min: 1, max: MAX_TABLE_CAPACITY }),
      maxBundleSize: fc.integer({ min: 1, max: 64 }),
      maxOperations: fc.integer({ min: 1, max: MAX_TABLE_CAPACITY }),
      maxTtlSlots: fc.oneof(
        fc.bigInt({ min: 1n, max: 10_000n }),
        fc.bigInt({ min: 1n, max: U64_MAX }),
      ),
      maxClientRetryWindowSlots: fc.bigInt({ min: 0n, max: U64_MAX }),
      reservationHistoryWindowSlots: fc.bigInt({ min: 0n, max: 10_000n }),
      maxExpirationBucketLen: fc.integer({ min: 1, max: 4096 }),
    };
    fc.assert(
      fc.property(fc.record(fields, { requiredKeys: [] }), (overrides) => {
        try {
          const config = resolveConfig(overrides);
          for (const [field, value] of Object.entries(overrides)) {
            expect(config[field as keyof AllocDbConfig]).toBe(value);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect(Object.keys(overrides)).toContain((error as ConfigError).field);
        }
      }),
      { seed: SEED, numRuns: runs(2000) },
    );
  });
});

describe('config objects: what is missing, what is unknown', () => {
  it('a config without resolveConfig (all fields missing) says so and what to do', () => {
    let thrown: unknown;
    try {
      validateConfig({} as AllocDbConfig);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect(error.code).toBe('missing_field');
    expect(error.field).toBe('config');
    expect(error.message).toContain('config is missing shardId, maxResources');
    expect(error.message).toContain('maxExpirationBucketLen');
    expect(error.message).toContain('resolveConfig(');
  });

  it('one missing field is named', () => {
    const { maxOperations: _, ...partial } = C0;
    expect(() => validateConfig(partial as AllocDbConfig)).toThrow(
      expect.objectContaining({ code: 'missing_field', field: 'maxOperations' }),
    );
  });

  it('AllocDbEngine.open takes a partial config: {} means the defaults (or the recorded configuration)', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'partial-config-'));
    try {
      const engine = await AllocDbEngine.open({ dir, config: {} });
      expect(engine.config.maxResources).toBe(DEFAULT_CONFIG.maxResources);
      await engine.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unknown keys are refused with a "did you mean", in resolveConfig and validateConfig', () => {
    expect(() => resolveConfig({ maxResource: 8 } as never)).toThrow(
      expect.objectContaining({
        code: 'unknown_field',
        field: 'maxResource',
        message: expect.stringContaining('did you mean "maxResources"?'),
      }),
    );
    expect(() => validateConfig({ ...C0, ttl: 5n } as never)).toThrow(
      expect.objectContaining({
        code: 'unknown_field',
        field: 'ttl',
        message: expect.stringContaining('did you mean "maxTtlSlots"?'),
      }),
    );
    expect(() => new AllocDb({ ...C0, colour: 'red' } as never)).toThrow(
      expect.objectContaining({ code: 'unknown_field', field: 'colour' }),
    );
  });
});
