import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AllocDbEngine } from '../../src/engine/engine.js';
import { RecoveryError } from '../../src/errors.js';
import { encodeFrames, scanLog } from '../../src/runtime/wal.js';
import { encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import { useTempDirs } from '../support/temp-dir.js';
import { openEngine, request, snapshotPath, walPath } from './engine-fixtures.js';

const tempDir = useTempDirs();

/** A directory holding `count` committed creates (LSN 1..count). */
async function populated(count: number): Promise<string> {
  const dir = tempDir();
  const engine = await openEngine(dir);
  for (let i = 1; i <= count; i++) {
    await engine.submit(request({ kind: 'create_resource', resourceId: BigInt(i) }), {
      requestSlot: BigInt(i),
    });
  }
  await engine.close();
  return dir;
}

function stateBytes(engine: AllocDbEngine): Uint8Array {
  // The engine's state machine, as the snapshot body it would write.
  return encodeSnapshotBody((engine as unknown as { db: { snapshot(): never } }).db.snapshot());
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
  return caught as RecoveryError;
}

describe('recovery accepts and truncates a torn tail', () => {
  it('cuts a partial final frame and reports it', async () => {
    const dir = await populated(3);
    const whole = readFileSync(walPath(dir));
    writeFileSync(walPath(dir), whole.subarray(0, whole.length - 5));
    const engine = await openEngine(dir);
    const frameLength = whole.length / 3;
    expect(engine.recoveryStatus).toMatchObject({
      replayedFrames: 2,
      lastReplayedLsn: 2n,
      tornTailBytesTruncated: frameLength - 5,
    });
    expect(engine.getResource(3n)).toBeUndefined();
    const next = await engine.submit(request({ kind: 'create_resource', resourceId: 3n }));
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
});

describe('recovery refuses, naming the file and offset', () => {
  it('a flipped bit in a frame header or payload that is not the final write', async () => {
    const dir = await populated(3);
    const whole = readFileSync(walPath(dir));
    const frameLength = whole.length / 3;
    for (const byte of [3, 9, 20, 30, 35, frameLength + 40]) {
      const damaged = Buffer.from(whole);
      damaged[byte]! ^= 0x10;
      writeFileSync(walPath(dir), damaged);
      const error = await expectRecoveryError(dir, 'wal_corruption');
      expect(error.path).toBe(walPath(dir));
      expect(error.offset).toBe(byte < frameLength ? 0 : frameLength);
    }
  });

  it('a corrupted length field in the middle of the log', async () => {
    const dir = await populated(3);
    const damaged = Buffer.from(readFileSync(walPath(dir)));
    const frameLength = damaged.length / 3;
    damaged.writeUInt32LE(5, frameLength + 24); // payloadLength of the second frame
    writeFileSync(walPath(dir), damaged);
    await expectRecoveryError(dir, 'wal_corruption', { offset: frameLength });
  });

  it('a damaged snapshot', async () => {
    const dir = await populated(2);
    const engine = await openEngine(dir);
    await engine.checkpoint();
    await engine.close();
    const snapshot = Buffer.from(readFileSync(snapshotPath(dir)));
    snapshot[snapshot.length >> 1]! ^= 1;
    writeFileSync(snapshotPath(dir), snapshot);
    await expectRecoveryError(dir, 'snapshot_invalid');
  });

  it('a WAL that does not continue the snapshot', async () => {
    const dir = await populated(3);
    const engine = await openEngine(dir);
    await engine.checkpoint(); // snapshot @3, log 1..3 + marker
    await engine.submit(request({ kind: 'create_resource', resourceId: 4n }));
    await engine.checkpoint(); // snapshot @4, log 4 + marker
    await engine.submit(request({ kind: 'create_resource', resourceId: 5n }));
    await engine.close();
    rmSync(snapshotPath(dir)); // the log starts at lsn 4: history 1..3 is gone
    await expectRecoveryError(dir, 'lsn_gap');
  });

  it('LSNs that skip or go back, and slots that rewind', async () => {
    const options = { maxPayloadBytes: 1 << 16 };
    const dir = await populated(3);
    const frames = readFileSync(walPath(dir));
    const frameLength = frames.length / 3;
    const decoded = scanLog(frames, options).frames;
    const rewrite = (edit: (f: typeof decoded) => typeof decoded) =>
      writeFileSync(walPath(dir), encodeFrames(edit(decoded), options));
    rewrite((f) => [f[0]!, { ...f[2]!, lsn: 3n }]);
    await expectRecoveryError(dir, 'lsn_not_contiguous', { lsn: 3n, offset: frameLength });
    rewrite((f) => [f[0]!, { ...f[1]!, requestSlot: 0n }]);
    await expectRecoveryError(dir, 'slot_rewind', { lsn: 2n });
    rewrite((f) => [{ ...f[0]!, lsn: 2n }]);
    await expectRecoveryError(dir, 'lsn_gap');
    rewrite((f) => [f[0]!, { ...f[1]!, recordType: 3, lsn: 7n }]);
    await expectRecoveryError(dir, 'marker_mismatch');
    rewrite((f) => [f[0]!, { ...f[1]!, requestSlot: 2n ** 64n - 1n }]);
    await expectRecoveryError(dir, 'slot_overflow', { lsn: 2n });
    rewrite((f) => [f[0]!, { ...f[1]!, payload: Uint8Array.of(1, 2, 3) }]);
    await expectRecoveryError(dir, 'undecodable_frame', { lsn: 2n });
  });

  it("another engine kind's directory", async () => {
    const dir = tempDir();
    const quotaFrame = {
      recordType: 1 as const,
      lsn: 1n,
      requestSlot: 1n,
      payload: Uint8Array.of(1),
    };
    writeFileSync(walPath(dir), encodeFrames([quotaFrame], { maxPayloadBytes: 64, magic: 'QTAW' }));
    const error = await expectRecoveryError(dir, 'wrong_engine', { offset: 0 });
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
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) {
        await engine.submit(
          request({ kind: 'create_resource', resourceId: BigInt(round * 10 + i) }),
        );
      }
      await engine.checkpoint();
      const expected = stateBytes(engine);
      await engine.close();
      engine = await openEngine(dir);
      expect(stateBytes(engine)).toEqual(expected);
    }
    await engine.submit(request({ kind: 'create_resource', resourceId: 99n }));
    expect(engine.recoveryStatus.startupKind).toBe('snapshot_only');
    await engine.close();
    engine = await openEngine(dir);
    expect(engine.recoveryStatus).toMatchObject({
      startupKind: 'snapshot_and_wal',
      loadedSnapshotLsn: 15n,
      replayedFrames: 1,
    });
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
    const next = await engine.submit(request({ kind: 'create_resource', resourceId: 50n }));
    expect(next.lsn).toBe(3n);
    expect(engine.metrics().acceptingWrites).toBe(true);
    await engine.close();
    engine = await openEngine(dir);
    expect(engine.getResource(50n)).toBeDefined();
    await engine.close();
  });
});
