import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QuotaEngine } from '../../src/engine/engine.js';
import { ConfigError, ConfigMismatchError, RecoveryError } from '../../src/errors.js';
import { crc32c } from '../../src/runtime/crc32c.js';
import { useTempDirs } from '../support/temp-dir.js';
import {
  createBucket,
  debit,
  openEngine,
  request,
  SMALL_CONFIG,
  snapshotPath,
  walPath,
} from './engine-fixtures.js';

const tempDir = useTempDirs();
const configPath = (dir: string) => join(dir, 'config');
const FOUR = { ...SMALL_CONFIG, maxBuckets: 4 };

/** A directory with only a WAL: four buckets created at capacity 4 (all `ok`), each debited. */
async function fourBuckets(dir: string): Promise<void> {
  const engine = await openEngine(dir, { config: FOUR });
  for (let id = 1n; id <= 4n; id++) {
    expect(
      (await engine.submit(request(createBucket(id, 10n)), { requestSlot: id })).outcome.resultCode,
    ).toBe('ok');
    expect(
      (await engine.submit(request(debit(id, 3n)), { requestSlot: id })).outcome.resultCode,
    ).toBe('ok');
  }
  await engine.close();
}

function mismatch(error: unknown): ConfigMismatchError {
  expect(error).toBeInstanceOf(ConfigMismatchError);
  return error as ConfigMismatchError;
}

describe('the recorded configuration', () => {
  it('refuses to replay acknowledged creates and debits under a smaller capacity, changing nothing', async () => {
    const dir = tempDir();
    await fourBuckets(dir);
    const before = { wal: readFileSync(walPath(dir)), config: readFileSync(configPath(dir)) };
    const error = mismatch(
      await openEngine(dir, { config: { ...FOUR, maxBuckets: 2 } }).catch((e) => e),
    );
    expect(error.code).toBe('config_mismatch');
    expect(error.differences).toEqual([
      { field: 'maxBuckets', recorded: 4, requested: 2, growth: false },
    ]);
    expect(readFileSync(walPath(dir))).toEqual(before.wal);
    expect(readFileSync(configPath(dir))).toEqual(before.config);
    expect(existsSync(snapshotPath(dir))).toBe(false);

    const engine = await QuotaEngine.open({ dir, clock: () => 9n });
    expect(engine.config.maxBuckets).toBe(4);
    for (let id = 1n; id <= 4n; id++) expect(engine.getBucket(id)?.balance).toBe(7n);
    await engine.close();
  });

  it('grows capacities only when asked, at a snapshot boundary that keeps every earlier answer', async () => {
    const dir = tempDir();
    await fourBuckets(dir);
    const full = await openEngine(dir, { config: FOUR });
    const refused = request(createBucket(5n, 10n));
    expect((await full.submit(refused, { requestSlot: 5n })).outcome.resultCode).toBe(
      'bucket_table_full',
    );
    await full.close();

    const grow = { ...FOUR, maxBuckets: 8 };
    expect(mismatch(await openEngine(dir, { config: grow }).catch((e) => e)).message).toContain(
      'allowCapacityGrowth: true',
    );
    const grown = await openEngine(dir, { config: grow, allowCapacityGrowth: true });
    expect(await grown.submit(refused, { requestSlot: 6n })).toMatchObject({
      fromRetryCache: true,
      outcome: { resultCode: 'bucket_table_full' },
    });
    expect(
      (await grown.submit(request(createBucket(5n, 10n)), { requestSlot: 6n })).outcome.resultCode,
    ).toBe('ok');
    await grown.close();
    const reopened = await QuotaEngine.open({ dir, clock: () => 9n });
    expect(reopened.metrics().core.buckets).toEqual({ used: 5, capacity: 8 });
    await reopened.close();
    rmSync(snapshotPath(dir));
    const lost = await QuotaEngine.open({ dir }).catch((e) => e);
    expect(lost).toBeInstanceOf(RecoveryError);
    expect(['lsn_gap', 'marker_mismatch']).toContain(lost.code);
  });

  it('never allows a shrink, or a change of meaning, even with allowCapacityGrowth', async () => {
    const dir = tempDir();
    await fourBuckets(dir);
    for (const [config, field] of [
      [{ maxOperations: 100 }, 'maxOperations'],
      [{ maxClientRetryWindowSlots: 16n }, 'maxClientRetryWindowSlots'],
    ] as const) {
      const error = mismatch(
        await QuotaEngine.open({ dir, config, allowCapacityGrowth: true }).catch((e) => e),
      );
      expect(error.differences.map((d) => d.field)).toEqual([field]);
    }
    const slots = mismatch(
      await QuotaEngine.open({
        dir,
        engine: { slotDurationMs: 10 },
        allowCapacityGrowth: true,
      }).catch((e) => e),
    );
    expect(slots.differences.map((d) => d.field)).toEqual(['engine.slotDurationMs']);
  });

  it('a directory written before configurations were recorded opens and gets one recorded', async () => {
    const dir = tempDir();
    await fourBuckets(dir);
    rmSync(configPath(dir));
    const engine = await openEngine(dir, { config: { ...FOUR, maxBuckets: 6 } });
    expect(engine.recoveryStatus.replayedFrames).toBe(8);
    await engine.close();
    expect(existsSync(configPath(dir))).toBe(true);
    await expect(openEngine(dir, { config: FOUR })).rejects.toBeInstanceOf(ConfigMismatchError);
  });

  it('a damaged or foreign config file is named, with its offset, and nothing is opened', async () => {
    const dir = tempDir();
    await fourBuckets(dir);
    const bytes = Buffer.from(readFileSync(configPath(dir)));
    bytes[13]! ^= 1;
    writeFileSync(configPath(dir), bytes);
    expect(await openEngine(dir).catch((e) => e)).toMatchObject({
      code: 'config_invalid',
      path: configPath(dir),
    });
    bytes[13]! ^= 1;
    bytes.write('ADBC', 0, 'latin1');
    bytes.writeUInt32LE(crc32c(bytes, 0, bytes.length - 4), bytes.length - 4);
    writeFileSync(configPath(dir), bytes);
    const foreign = await openEngine(dir).catch((e) => e);
    expect(foreign).toMatchObject({ code: 'wrong_engine', path: configPath(dir) });
    expect((foreign as Error).message).toContain('config magic');
  });

  it('a requested value of the wrong type is a ConfigError naming the field', async () => {
    const dir = tempDir();
    await fourBuckets(dir);
    const error = await QuotaEngine.open({
      dir,
      config: { maxBuckets: '4' as unknown as number },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ field: 'maxBuckets' });
  });
});

describe('the config file (docs/format.md, section 7)', () => {
  it('frames a 28-byte body: magic QTAC, versions, length, body, CRC32C', async () => {
    const { encodeRecordedConfig, decodeRecordedConfig } = await import(
      '../../src/engine/directory.js'
    );
    const { encodeConfigFile } = await import('../../src/runtime/config-file.js');
    const recorded = { config: SMALL_CONFIG, maxCommandBytes: 65_536, slotDurationMs: 1_000 };
    const body = encodeRecordedConfig(recorded);
    expect(body.length).toBe(28);
    expect(decodeRecordedConfig(body)).toEqual(recorded);
    const file = Buffer.from(encodeConfigFile(1, body));
    expect(file.subarray(0, 4).toString('latin1')).toBe('QTAC');
    expect([file.readUInt16LE(4), file.readUInt16LE(6), file.readUInt32LE(8)]).toEqual([1, 1, 28]);
    expect(file.subarray(12, 40)).toEqual(Buffer.from(body));
    expect(file.readUInt32LE(40)).toBe(crc32c(file, 0, 40));
  });
});

describe('the recorded configuration covers every field', () => {
  it('compares every field of the configuration (one field list per engine)', async () => {
    const dir = tempDir();
    const first = await openEngine(dir);
    await first.close();
    // The fields as the public API knows them, not as the engine's own list names them.
    for (const [field, value] of Object.entries(SMALL_CONFIG)) {
      const changed = typeof value === 'bigint' ? value + 1n : (value as number) + 1;
      const error = await openEngine(dir, { config: { ...SMALL_CONFIG, [field]: changed } }).then(
        (engine) => engine.close(),
        (thrown: unknown) => thrown,
      );
      expect(
        mismatch(error).differences.map((d) => d.field),
        field,
      ).toEqual([field]);
    }
  });
});
