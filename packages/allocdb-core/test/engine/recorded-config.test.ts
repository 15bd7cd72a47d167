import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AllocDbEngine } from '../../src/engine/engine.js';
import { ConfigError, ConfigMismatchError, RecoveryError } from '../../src/errors.js';
import { crc32c } from '../../src/runtime/crc32c.js';
import { useTempDirs } from '../support/temp-dir.js';
import { openEngine, request, SMALL_CONFIG, snapshotPath, walPath } from './engine-fixtures.js';

const tempDir = useTempDirs();
const configPath = (dir: string) => join(dir, 'config');
const create = (resourceId: bigint) => request({ kind: 'create_resource', resourceId });

/** A directory with only a WAL: four resources created at capacity 4 (all `ok`). */
const FOUR = { ...SMALL_CONFIG, maxResources: 4, maxBundleSize: 1 };

async function fourResources(dir: string): Promise<void> {
  const engine = await openEngine(dir, { config: FOUR });
  for (let id = 1n; id <= 4n; id++) {
    expect((await engine.submit(create(id), { requestSlot: id })).outcome.resultCode).toBe('ok');
  }
  await engine.close();
}

function mismatch(error: unknown): ConfigMismatchError {
  expect(error).toBeInstanceOf(ConfigMismatchError);
  return error as ConfigMismatchError;
}

describe('the recorded configuration', () => {
  it('refuses to replay acknowledged creates under a smaller capacity, changing nothing', async () => {
    const dir = tempDir();
    await fourResources(dir);
    const before = { wal: readFileSync(walPath(dir)), config: readFileSync(configPath(dir)) };
    const error = mismatch(
      await openEngine(dir, { config: { ...FOUR, maxResources: 2 } }).catch((e) => e),
    );
    expect(error.code).toBe('config_mismatch');
    expect(error.differences).toEqual([
      { field: 'maxResources', recorded: 4, requested: 2, growth: false },
    ]);
    expect(error.message).toContain('maxResources recorded 4, requested 2');
    expect(readFileSync(walPath(dir))).toEqual(before.wal);
    expect(readFileSync(configPath(dir))).toEqual(before.config);
    expect(existsSync(snapshotPath(dir))).toBe(false);

    // Without a config the recorded one is used: every acknowledged create is there.
    const engine = await AllocDbEngine.open({ dir, clock: () => 9n });
    expect(engine.config.maxResources).toBe(4);
    for (let id = 1n; id <= 4n; id++) expect(engine.getResource(id)?.state).toBe('available');
    await engine.close();
  });

  it('a checkpoint cannot make a smaller capacity stick: the snapshot keeps the recorded one', async () => {
    const dir = tempDir();
    await fourResources(dir);
    const engine = await AllocDbEngine.open({ dir, clock: () => 9n });
    await engine.checkpoint();
    await engine.close();
    await expect(openEngine(dir, { config: { ...FOUR, maxResources: 3 } })).rejects.toBeInstanceOf(
      ConfigMismatchError,
    );
    const reopened = await openEngine(dir, { config: FOUR });
    expect(reopened.metrics().core.resources).toEqual({ used: 4, capacity: 4 });
    await reopened.close();
  });

  it('grows capacities only when asked, at a snapshot boundary that keeps every earlier answer', async () => {
    const dir = tempDir();
    await fourResources(dir);
    const full = await openEngine(dir, { config: FOUR });
    const refused = create(5n);
    expect((await full.submit(refused, { requestSlot: 5n })).outcome.resultCode).toBe(
      'resource_table_full',
    );
    await full.close();

    const grow = { ...FOUR, maxResources: 8 };
    const error = mismatch(await openEngine(dir, { config: grow }).catch((e) => e));
    expect(error.differences).toEqual([
      { field: 'maxResources', recorded: 4, requested: 8, growth: true },
    ]);
    expect(error.message).toContain('allowCapacityGrowth: true');

    const grown = await openEngine(dir, { config: grow, allowCapacityGrowth: true });
    expect(grown.config.maxResources).toBe(8);
    // The refused create is still answered as it was: the retry cache holds its outcome.
    const retry = await grown.submit(refused, { requestSlot: 6n });
    expect(retry).toMatchObject({
      fromRetryCache: true,
      outcome: { resultCode: 'resource_table_full' },
    });
    expect((await grown.submit(create(5n), { requestSlot: 6n })).outcome.resultCode).toBe('ok');
    await grown.close();

    // The grown capacity is recorded; the log no longer starts at LSN 1, so losing the snapshot
    // is refused rather than replayed from scratch under the grown capacity.
    const reopened = await AllocDbEngine.open({ dir, clock: () => 9n });
    expect(reopened.metrics().core.resources).toEqual({ used: 5, capacity: 8 });
    await reopened.close();
    rmSync(snapshotPath(dir));
    const lost = await AllocDbEngine.open({ dir }).catch((e) => e);
    expect(lost).toBeInstanceOf(RecoveryError);
    expect(['lsn_gap', 'marker_mismatch']).toContain(lost.code);
  });

  it('never allows a shrink, or a change of meaning, even with allowCapacityGrowth', async () => {
    const dir = tempDir();
    await fourResources(dir);
    for (const [config, field] of [
      [{ maxResources: 3 }, 'maxResources'],
      [{ maxTtlSlots: 32n }, 'maxTtlSlots'],
      [{ shardId: 1n }, 'shardId'],
      [{ reservationHistoryWindowSlots: 2n }, 'reservationHistoryWindowSlots'],
    ] as const) {
      const error = mismatch(
        await AllocDbEngine.open({ dir, config, allowCapacityGrowth: true }).catch((e) => e),
      );
      expect(error.differences.map((d) => d.field)).toEqual([field]);
      expect(error.message).toContain('Open without config to use the recorded configuration');
    }
    for (const [engine, field] of [
      [{ maxCommandBytes: 1024 }, 'engine.maxCommandBytes'],
      [{ slotDurationMs: 10 }, 'engine.slotDurationMs'],
    ] as const) {
      const error = mismatch(
        await AllocDbEngine.open({ dir, engine, allowCapacityGrowth: true }).catch((e) => e),
      );
      expect(error.differences.map((d) => d.field)).toEqual([field]);
    }
  });

  it('records the log limit: a directory written with large commands reopens with them', async () => {
    const dir = tempDir();
    const config = { ...SMALL_CONFIG, maxResources: 5_000, maxBundleSize: 5_000 };
    const engine = await openEngine(dir, { config, engine: { maxCommandBytes: 200_000 } });
    const bundle = {
      kind: 'reserve_bundle' as const,
      resourceIds: Array.from({ length: 5_000 }, (_, i) => BigInt(i + 1)),
      holderId: 1n,
      ttlSlots: 2n,
    };
    // 5,000 ids take 80,000 bytes: over the default limit of 65,536.
    await engine.submit(request(bundle));
    await engine.close();
    const reopened = await AllocDbEngine.open({ dir });
    expect(reopened.recoveryStatus.replayedFrames).toBe(1);
    await reopened.close();
  });

  it('a new directory records the defaults for the fields not given', async () => {
    const dir = tempDir();
    const given = { maxResources: 16, maxReservations: 16, maxExpirationBucketLen: 16 };
    const engine = await AllocDbEngine.open({ dir, config: given });
    expect(engine.config).toMatchObject({ ...given, maxTtlSlots: 3_600n });
    await engine.close();
    const reopened = await AllocDbEngine.open({ dir, config: { maxResources: 16 } });
    expect(reopened.config.maxReservations).toBe(16);
    await reopened.close();
  });

  it('a directory written before configurations were recorded opens and gets one recorded', async () => {
    const dir = tempDir();
    await fourResources(dir);
    rmSync(configPath(dir));
    const engine = await openEngine(dir, { config: { ...FOUR, maxResources: 6 } });
    expect(engine.recoveryStatus.replayedFrames).toBe(4);
    await engine.close();
    expect(existsSync(configPath(dir))).toBe(true);
    await expect(openEngine(dir, { config: FOUR })).rejects.toBeInstanceOf(ConfigMismatchError);
  });

  it('a damaged or foreign config file is named, with its offset, and nothing is opened', async () => {
    const dir = tempDir();
    await fourResources(dir);
    const bytes = Buffer.from(readFileSync(configPath(dir)));
    bytes[14]! ^= 1;
    writeFileSync(configPath(dir), bytes);
    const damaged = await openEngine(dir).catch((e) => e);
    expect(damaged).toBeInstanceOf(RecoveryError);
    expect(damaged).toMatchObject({ code: 'config_invalid', path: configPath(dir) });
    expect((damaged as RecoveryError).offset).toBeTypeOf('number');

    bytes[14]! ^= 1;
    // A quota-core config file: its own magic, with a valid CRC.
    bytes.write('QTAC', 0, 'latin1');
    bytes.writeUInt32LE(crc32c(bytes, 0, bytes.length - 4), bytes.length - 4);
    writeFileSync(configPath(dir), bytes);
    const foreign = await openEngine(dir).catch((e) => e);
    expect(foreign).toMatchObject({ code: 'wrong_engine', path: configPath(dir) });
    expect((foreign as Error).message).toContain('config magic');
  });

  it('a requested value of the wrong type is a ConfigError naming the field', async () => {
    const dir = tempDir();
    await fourResources(dir);
    const error = await AllocDbEngine.open({
      dir,
      config: { maxResources: '4' as unknown as number },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ field: 'maxResources' });
  });
});

describe('the config file (docs/format.md, section 7)', () => {
  it('frames a 64-byte body: magic ADBC, versions, length, body, CRC32C', async () => {
    const { encodeRecordedConfig, decodeRecordedConfig } = await import(
      '../../src/engine/directory.js'
    );
    const { encodeConfigFile } = await import('../../src/runtime/config-file.js');
    const recorded = { config: SMALL_CONFIG, maxCommandBytes: 65_536, slotDurationMs: 1_000 };
    const body = encodeRecordedConfig(recorded);
    expect(body.length).toBe(64);
    expect(decodeRecordedConfig(body)).toEqual(recorded);
    const file = Buffer.from(encodeConfigFile(1, body));
    expect(file.subarray(0, 4).toString('latin1')).toBe('ADBC');
    expect([file.readUInt16LE(4), file.readUInt16LE(6), file.readUInt32LE(8)]).toEqual([1, 1, 64]);
    expect(file.subarray(12, 76)).toEqual(Buffer.from(body));
    expect(file.readUInt32LE(76)).toBe(crc32c(file, 0, 76));
    expect(file.length).toBe(80);
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
