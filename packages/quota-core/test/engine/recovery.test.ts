import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RecoveryError } from '../../src/errors.js';
import { crc32c } from '../../src/runtime/crc32c.js';
import { encodeFrames, scanLog } from '../../src/runtime/wal.js';
import { useTempDirs } from '../support/temp-dir.js';
import {
  createBucket,
  debit,
  openEngine,
  request,
  snapshotPath,
  stateBytes,
  walPath,
} from './engine-fixtures.js';

const tempDir = useTempDirs();

/** A directory holding bucket 1 (limit 100) and `count − 1` debits of 1 (LSN 1..count). */
async function populated(count: number): Promise<string> {
  const dir = tempDir();
  const engine = await openEngine(dir);
  await engine.submit(request(createBucket(1n, 100n)), { requestSlot: 1n });
  for (let i = 2; i <= count; i++) {
    await engine.submit(request(debit(1n, 1n)), { requestSlot: BigInt(i) });
  }
  await engine.close();
  return dir;
}

async function expectRecoveryError(
  dir: string,
  code: string,
  extra: Record<string, unknown> = {},
): Promise<RecoveryError> {
  const before = readFileSync(walPath(dir));
  let caught: unknown;
  try {
    await openEngine(dir);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(RecoveryError);
  expect(caught).toMatchObject({ code, ...extra });
  expect(readFileSync(walPath(dir))).toEqual(before); // fail closed: nothing changed
  // The failed open released the lock: another attempt fails the same way, not as locked.
  await expect(openEngine(dir)).rejects.toMatchObject({ code });
  return caught as RecoveryError;
}

describe('recovery accepts and truncates a torn tail', () => {
  it('cuts a partial final frame and reports it', async () => {
    const dir = await populated(3);
    const whole = readFileSync(walPath(dir));
    const lengths = scanLog(whole, { maxPayloadBytes: 1 << 16 }).frames.map(
      (f) => 36 + f.payload.length,
    );
    writeFileSync(walPath(dir), whole.subarray(0, whole.length - 5));
    const engine = await openEngine(dir);
    expect(engine.recoveryStatus).toMatchObject({
      replayedFrames: 2,
      lastReplayedLsn: 2n,
      tornTailBytesTruncated: lengths[2]! - 5,
    });
    expect(engine.getBucket(1n)?.balance).toBe(99n);
    const next = await engine.submit(request(debit(1n, 1n)));
    expect(next.lsn).toBe(3n);
    await engine.close();
  });

  it('cuts a zero-filled tail', async () => {
    const dir = await populated(2);
    appendFileSync(walPath(dir), new Uint8Array(1000));
    const engine = await openEngine(dir);
    expect(engine.recoveryStatus).toMatchObject({
      replayedFrames: 2,
      tornTailBytesTruncated: 1000,
    });
    await engine.close();
  });

  it('at every cut inside the last frame keeps exactly the complete frames', async () => {
    const dir = await populated(3);
    const whole = readFileSync(walPath(dir));
    const scanned = scanLog(whole, { maxPayloadBytes: 1 << 16 });
    const lastStart = whole.length - (36 + scanned.frames[2]!.payload.length);
    for (let cut = lastStart; cut < whole.length; cut++) {
      writeFileSync(walPath(dir), whole.subarray(0, cut));
      const engine = await openEngine(dir);
      expect(engine.recoveryStatus).toMatchObject({
        replayedFrames: 2,
        tornTailBytesTruncated: cut - lastStart,
      });
      expect(engine.getBucket(1n)?.balance).toBe(99n);
      await engine.close();
    }
  });
});

describe('recovery refuses, naming the file and offset', () => {
  it('a flipped bit in a frame header or payload that is not the final write', async () => {
    const dir = await populated(3);
    const whole = readFileSync(walPath(dir));
    const first = 36 + scanLog(whole, { maxPayloadBytes: 1 << 16 }).frames[0]!.payload.length;
    for (const byte of [3, 9, 20, 30, 35, 60, first + 40]) {
      const damaged = Buffer.from(whole);
      damaged[byte]! ^= 0x10;
      writeFileSync(walPath(dir), damaged);
      const error = await expectRecoveryError(dir, 'wal_corruption');
      expect(error.path).toBe(walPath(dir));
      expect(error.offset).toBe(byte < first ? 0 : first);
    }
  });

  it('a corrupted length field in the middle of the log', async () => {
    const dir = await populated(3);
    const damaged = Buffer.from(readFileSync(walPath(dir)));
    const first = 36 + scanLog(damaged, { maxPayloadBytes: 1 << 16 }).frames[0]!.payload.length;
    damaged.writeUInt32LE(5, first + 24); // payloadLength of the second frame
    writeFileSync(walPath(dir), damaged);
    await expectRecoveryError(dir, 'wal_corruption', { offset: first });
  });

  it('a damaged snapshot', async () => {
    const dir = await populated(2);
    const engine = await openEngine(dir);
    await engine.checkpoint();
    await engine.close();
    const snapshot = Buffer.from(readFileSync(snapshotPath(dir)));
    for (const at of [0, 10, snapshot.length >> 1, snapshot.length - 1]) {
      const damaged = Buffer.from(snapshot);
      damaged[at]! ^= 1;
      writeFileSync(snapshotPath(dir), damaged);
      await expectRecoveryError(dir, 'snapshot_invalid');
    }
  });

  it("an allocdb snapshot (an intact 'ADBS' file) is wrong_engine", async () => {
    const dir = await populated(2);
    const engine = await openEngine(dir);
    await engine.checkpoint();
    await engine.close();
    const snapshot = Buffer.from(readFileSync(snapshotPath(dir)));
    snapshot.write('ADBS', 0, 'latin1');
    snapshot.writeUInt32LE(crc32c(snapshot, 0, snapshot.length - 4), snapshot.length - 4);
    writeFileSync(snapshotPath(dir), snapshot);
    const error = await expectRecoveryError(dir, 'wrong_engine', { offset: 0 });
    expect(error.message).toContain('ADBS');
  });

  it('a WAL that does not continue the snapshot', async () => {
    const dir = await populated(3);
    const engine = await openEngine(dir);
    await engine.checkpoint(); // snapshot @3, log 1..3 + marker
    await engine.submit(request(debit(1n, 1n)));
    await engine.checkpoint(); // snapshot @4, log 4 + marker
    await engine.submit(request(debit(1n, 1n)));
    await engine.close();
    rmSync(snapshotPath(dir)); // the log starts at lsn 4: history 1..3 is gone
    await expectRecoveryError(dir, 'lsn_gap');
  });

  it('LSNs that skip or go back, slots that rewind, bad markers, overflow, undecodable frames', async () => {
    const options = { maxPayloadBytes: 1 << 16 };
    const dir = await populated(3);
    const bytes = readFileSync(walPath(dir));
    const decoded = scanLog(bytes, options).frames;
    const first = 36 + decoded[0]!.payload.length;
    const rewrite = (edit: (f: typeof decoded) => typeof decoded) =>
      writeFileSync(walPath(dir), encodeFrames(edit(decoded), options));
    rewrite((f) => [f[0]!, { ...f[2]!, lsn: 3n }]);
    await expectRecoveryError(dir, 'lsn_not_contiguous', { lsn: 3n, offset: first });
    rewrite((f) => [f[0]!, { ...f[1]!, lsn: 1n }]);
    await expectRecoveryError(dir, 'lsn_not_contiguous', { lsn: 1n });
    rewrite((f) => [f[0]!, { ...f[1]!, requestSlot: 0n }]);
    await expectRecoveryError(dir, 'slot_rewind', { lsn: 2n });
    rewrite((f) => [{ ...f[0]!, lsn: 2n }]);
    await expectRecoveryError(dir, 'lsn_gap');
    rewrite((f) => [f[0]!, { ...f[1]!, recordType: 3, lsn: 7n }]);
    await expectRecoveryError(dir, 'marker_mismatch');
    // A client frame at a slot whose retry window leaves u64: the live engine never logs one.
    rewrite((f) => [f[0]!, { ...f[1]!, requestSlot: 2n ** 64n - 1n }]);
    await expectRecoveryError(dir, 'slot_overflow', { lsn: 2n });
    rewrite((f) => [f[0]!, { ...f[1]!, payload: Uint8Array.of(1, 2, 3) }]);
    await expectRecoveryError(dir, 'undecodable_frame', { lsn: 2n });
    // A zero debit decodes as bytes but breaks a boundary rule: it could never have been logged.
    const zeroDebit = decoded[1]!.payload.slice();
    zeroDebit.fill(0, zeroDebit.length - 8);
    rewrite((f) => [f[0]!, { ...f[1]!, payload: zeroDebit }]);
    await expectRecoveryError(dir, 'undecodable_frame', { lsn: 2n });
    // A marker that repeats the last LSN is accepted and replays nothing.
    rewrite((f) => [f[0]!, { ...f[0]!, recordType: 3, payload: new Uint8Array(0) }, f[1]!]);
    const engine = await openEngine(dir);
    expect(engine.recoveryStatus).toMatchObject({ replayedFrames: 2, lastReplayedLsn: 2n });
    await engine.close();
  });

  it("an allocdb directory: an 'ADBW' log opened by quota is wrong_engine", async () => {
    const dir = tempDir();
    const allocFrame = {
      recordType: 1 as const,
      lsn: 1n,
      requestSlot: 1n,
      payload: Uint8Array.of(1),
    };
    writeFileSync(walPath(dir), encodeFrames([allocFrame], { maxPayloadBytes: 64, magic: 'ADBW' }));
    const error = await expectRecoveryError(dir, 'wrong_engine', { offset: 0 });
    expect(error.message).toContain('ADBW');
    expect(error.message).toContain('QTAW');
  });
});

describe('checkpoints', () => {
  it('a log rewritten by the first checkpoint still replays with its snapshot deleted', async () => {
    const dir = await populated(4);
    const engine = await openEngine(dir);
    const result = await engine.checkpoint();
    expect(result.snapshotLsn).toBe(4n);
    const expected = stateBytes(engine);
    await engine.close();

    const withSnapshot = await openEngine(dir);
    expect(withSnapshot.recoveryStatus).toMatchObject({
      startupKind: 'snapshot_only',
      loadedSnapshotLsn: 4n,
      replayedFrames: 0,
    });
    expect(stateBytes(withSnapshot)).toEqual(expected);
    await withSnapshot.close();

    rmSync(snapshotPath(dir));
    const withoutSnapshot = await openEngine(dir);
    expect(withoutSnapshot.recoveryStatus).toMatchObject({
      startupKind: 'wal_only',
      replayedFrames: 4,
    });
    expect(stateBytes(withoutSnapshot)).toEqual(expected);
    await withoutSnapshot.close();
  });

  it('keeps only frames after the previous snapshot, and recovers the same state after each', async () => {
    const dir = tempDir();
    let engine = await openEngine(dir);
    await engine.submit(request(createBucket(1n, 1000n)));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) await engine.submit(request(debit(1n, BigInt(round + 1))));
      await engine.checkpoint();
      const expected = stateBytes(engine);
      await engine.close();
      engine = await openEngine(dir);
      expect(stateBytes(engine)).toEqual(expected);
    }
    await engine.submit(request(debit(1n, 1n)));
    expect(engine.recoveryStatus.startupKind).toBe('snapshot_only');
    await engine.close();
    engine = await openEngine(dir);
    expect(engine.recoveryStatus).toMatchObject({
      startupKind: 'snapshot_and_wal',
      loadedSnapshotLsn: 16n,
      replayedFrames: 1,
    });
    expect(engine.getBucket(1n)?.balance).toBe(1000n - 5n - 10n - 15n - 1n);
    await engine.close();
  });

  it('does not halt an engine that recovered from a snapshot with an empty log', async () => {
    const dir = await populated(2);
    let engine = await openEngine(dir);
    await engine.checkpoint();
    await engine.close();
    writeFileSync(walPath(dir), new Uint8Array(0));
    engine = await openEngine(dir);
    expect(engine.recoveryStatus.startupKind).toBe('snapshot_only');
    await engine.checkpoint();
    await engine.checkpoint();
    const next = await engine.submit(request(debit(1n, 50n)));
    expect(next.lsn).toBe(3n);
    expect(engine.metrics().acceptingWrites).toBe(true);
    await engine.close();
    engine = await openEngine(dir);
    expect(engine.getBucket(1n)?.balance).toBe(49n);
    await engine.close();
  });

  it('checkpoints a fresh engine (nothing applied yet) and reopens it', async () => {
    const dir = tempDir();
    let engine = await openEngine(dir);
    expect(await engine.checkpoint()).toMatchObject({ snapshotLsn: 0n });
    await engine.close();
    engine = await openEngine(dir);
    expect(engine.recoveryStatus.startupKind).toBe('snapshot_only');
    expect((await engine.submit(request(createBucket(1n, 1n)))).lsn).toBe(1n);
    await engine.close();
    engine = await openEngine(dir);
    expect(engine.getBucket(1n)).toBeDefined();
    await engine.close();
  });

  it('checkpoints automatically by frames or bytes of log', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, { engine: { checkpointPolicy: { everyFrames: 10 } } });
    await engine.submit(request(createBucket(1n, 100n)));
    for (let i = 0; i < 25; i++) {
      await engine.submit(request(debit(1n, 1n)));
      // Checkpoints run beside the submissions: let each finish before the next frame.
      while (engine.metrics().checkpointInProgress) await new Promise((r) => setImmediate(r));
    }
    await engine.checkpoint(); // waits for any automatic one in flight
    expect(engine.metrics().checkpoints).toBeGreaterThanOrEqual(3);
    await engine.close();
    const byBytes = await openEngine(tempDir(), {
      engine: { checkpointPolicy: { everyBytes: 500 } },
    });
    await byBytes.submit(request(createBucket(1n, 100n)));
    for (let i = 0; i < 12; i++) {
      await byBytes.submit(request(debit(1n, 1n)));
      while (byBytes.metrics().checkpointInProgress) await new Promise((r) => setImmediate(r));
    }
    expect(byBytes.metrics().checkpoints).toBeGreaterThanOrEqual(1);
    await byBytes.close();
  });
});
