import { describe, expect, it } from 'vitest';
import { type QuotaConfig, resolveConfig, validateConfig } from '../src/config.js';
import { DEFAULT_CONFIG, MAX_TABLE_CAPACITY, U64_MAX } from '../src/constants.js';
import { QuotaEngine } from '../src/engine/engine.js';
import { ConfigError } from '../src/errors.js';
import { QuotaDb } from '../src/state-machine/quota-db.js';
import { A0 } from './support/quota.js';

function expectConfigError(config: unknown, code: string, field: string): void {
  let thrown: unknown;
  try {
    validateConfig(config as QuotaConfig);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  expect(thrown).toMatchObject({ code, field });
  expect(() => new QuotaDb(config as QuotaConfig)).toThrow(ConfigError);
}

describe('config validation', () => {
  it('accepts the acceptance config and the defaults', () => {
    expect(() => validateConfig(A0)).not.toThrow();
    expect(resolveConfig()).toEqual(DEFAULT_CONFIG);
    expect(Object.isFrozen(resolveConfig({ maxBuckets: 3 }))).toBe(true);
    expect(resolveConfig({ maxBuckets: 3 }).maxBuckets).toBe(3);
  });

  it('names the field of every zero capacity, in the spec order', () => {
    expectConfigError({ ...A0, maxBuckets: 0 }, 'zero_capacity', 'maxBuckets');
    expectConfigError({ ...A0, maxOperations: 0 }, 'zero_capacity', 'maxOperations');
    expectConfigError(
      { ...A0, maxClientRetryWindowSlots: 0n },
      'zero_capacity',
      'maxClientRetryWindowSlots',
    );
    expectConfigError(
      { maxBuckets: 0, maxOperations: 0, maxClientRetryWindowSlots: 0n },
      'zero_capacity',
      'maxBuckets',
    );
  });

  it('rejects values of the wrong type or range as invalid_value', () => {
    expectConfigError(null, 'invalid_value', 'config');
    expectConfigError({ ...A0, maxBuckets: 1.5 }, 'invalid_value', 'maxBuckets');
    expectConfigError({ ...A0, maxBuckets: 8n }, 'invalid_value', 'maxBuckets');
    expectConfigError({ ...A0, maxOperations: -1 }, 'invalid_value', 'maxOperations');
    expectConfigError(
      { ...A0, maxClientRetryWindowSlots: 8 },
      'invalid_value',
      'maxClientRetryWindowSlots',
    );
    expectConfigError(
      { ...A0, maxClientRetryWindowSlots: U64_MAX + 1n },
      'invalid_value',
      'maxClientRetryWindowSlots',
    );
  });

  it('caps the table sizes it allocates at open', () => {
    expectConfigError(
      { ...A0, maxBuckets: MAX_TABLE_CAPACITY + 1 },
      'capacity_too_large',
      'maxBuckets',
    );
    expectConfigError(
      { ...A0, maxOperations: MAX_TABLE_CAPACITY + 1 },
      'capacity_too_large',
      'maxOperations',
    );
    expect(() => validateConfig({ ...A0, maxClientRetryWindowSlots: U64_MAX })).not.toThrow();
  });
});

describe('config objects: what is missing, what is unknown', () => {
  it('a config without resolveConfig (all fields missing) says so and what to do', () => {
    let thrown: unknown;
    try {
      validateConfig({} as QuotaConfig);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(thrown).toMatchObject({ code: 'missing_field', field: 'config' });
    const { message } = thrown as ConfigError;
    expect(message).toContain(
      'config is missing maxBuckets, maxOperations, maxClientRetryWindowSlots',
    );
    expect(message).toContain('resolveConfig(');
  });

  it('one missing field is named', () => {
    expectConfigError(
      { maxBuckets: 1, maxOperations: 1 },
      'missing_field',
      'maxClientRetryWindowSlots',
    );
  });

  it('QuotaEngine.open takes a partial config: {} means the defaults (or the recorded configuration)', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'partial-config-'));
    try {
      const engine = await QuotaEngine.open({ dir, config: {} });
      expect(engine.config.maxBuckets).toBe(DEFAULT_CONFIG.maxBuckets);
      await engine.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unknown keys are refused with a "did you mean", in resolveConfig and validateConfig', () => {
    expect(() => resolveConfig({ maxBucket: 8 } as never)).toThrow(
      expect.objectContaining({
        code: 'unknown_field',
        field: 'maxBucket',
        message: expect.stringContaining('did you mean "maxBuckets"?'),
      }),
    );
    expectConfigError({ ...A0, retryWindow: 5n }, 'unknown_field', 'retryWindow');
    expect(() => validateConfig({ ...A0, retryWindowSlots: 5n } as never)).toThrow(
      /did you mean "maxClientRetryWindowSlots"\?/,
    );
  });

  it('an explicit undefined means "use the default"; no rule ties two fields together', () => {
    expect(resolveConfig({ maxBuckets: undefined })).toEqual(DEFAULT_CONFIG);
    expect(resolveConfig({ maxBuckets: 1 })).toEqual({ ...DEFAULT_CONFIG, maxBuckets: 1 });
    expect(resolveConfig({ maxOperations: 1 })).toEqual({ ...DEFAULT_CONFIG, maxOperations: 1 });
    expect(resolveConfig({ maxClientRetryWindowSlots: 1n }).maxClientRetryWindowSlots).toBe(1n);
  });
});
