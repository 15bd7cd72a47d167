import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QuotaEngine } from '../../src/engine/engine.js';
import { ConfigError } from '../../src/errors.js';
import { useTempDirs } from '../support/temp-dir.js';
import { createBucket, openEngine, request } from './engine-fixtures.js';

const tempDir = useTempDirs();

async function refusal(options: Record<string, unknown>): Promise<ConfigError> {
  const error = await QuotaEngine.open({ dir: tempDir(), ...options } as never).catch((e) => e);
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('open options', () => {
  it('a bad configuration for a new directory is refused before the directory is created', async () => {
    const dir = join(tempDir(), 'new', 'data');
    const error = await QuotaEngine.open({ dir, config: { maxBuckets: 0 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ field: 'maxBuckets' });
    expect(existsSync(join(dir, '..'))).toBe(false);
  });

  it('refuse unknown keys with a "did you mean", at every level, before touching the disk', async () => {
    expect(await refusal({ confg: {} })).toMatchObject({ code: 'unknown_field', field: 'confg' });
    expect((await refusal({ confg: {} })).message).toContain('did you mean "config"?');
    const engine = await refusal({ engine: { maxBatchSize: 8 } });
    expect(engine).toMatchObject({ code: 'unknown_field', field: 'engine.maxBatchSize' });
    expect(engine.message).toContain('did you mean "maxBatch"?');
    expect(await refusal({ engine: { checkpointPolicy: { everyFrame: 10 } } })).toMatchObject({
      code: 'unknown_field',
      field: 'engine.checkpointPolicy.everyFrame',
    });
    expect(await refusal({ config: { maxBucket: 8 } })).toMatchObject({
      code: 'unknown_field',
      field: 'maxBucket',
    });
  });

  it('name the field of a value of the wrong type', async () => {
    expect(await refusal({ engine: { maxBatch: 0 } })).toMatchObject({ field: 'engine.maxBatch' });
    expect(await refusal({ clock: 5n })).toMatchObject({ field: 'clock' });
    expect(await refusal({ allowCapacityGrowth: 'yes' })).toMatchObject({
      field: 'allowCapacityGrowth',
    });
    const noDir = await QuotaEngine.open({} as never).catch((e) => e);
    expect(noDir).toMatchObject({ code: 'invalid_value', field: 'dir' });
  });

  it('submit options refuse unknown keys as invalid_request, nothing written', async () => {
    const engine = await openEngine(tempDir());
    const error = await engine
      .submit(request(createBucket(1n, 5n)), { requestSlots: 5n } as never)
      .catch((e) => e);
    expect(error).toMatchObject({ code: 'invalid_request', definite: true });
    expect(error.message).toContain('did you mean "requestSlot"?');
    expect(engine.getBucket(1n)).toBeUndefined();
    await engine.close();
  });

  it('a synchronous submission right after an awaited one is accepted', async () => {
    const engine = await openEngine(tempDir());
    await engine.submit(request(createBucket(1n, 5n)));
    expect(engine.submitSync(request(createBucket(2n, 5n))).lsn).toBe(2n);
    await engine.close();
  });
});
