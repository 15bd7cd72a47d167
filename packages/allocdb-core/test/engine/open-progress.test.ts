import { describe, expect, it } from 'vitest';
import type { OpenProgress } from '../../src/engine/recovery.js';
import { ConfigError } from '../../src/errors.js';
import { useTempDirs } from '../support/temp-dir.js';
import { openEngine, request } from './engine-fixtures.js';

const tempDir = useTempDirs();

/** A log of `count` create/reserve/release commands (several 64 KiB scan chunks). */
async function writeLog(dir: string, count: number): Promise<void> {
  const engine = await openEngine(dir);
  engine.submitSync(request({ kind: 'create_resource', resourceId: 1n }), { requestSlot: 1n });
  for (let i = 1; i < count; i += 2) {
    const reserved = engine.submitSync(
      request({ kind: 'reserve', resourceId: 1n, holderId: 2n, ttlSlots: 4n }),
      { requestSlot: BigInt(i) },
    );
    engine.submitSync(
      request({
        kind: 'release',
        reservationId: reserved.outcome.reservationId!,
        holderId: 2n,
        leaseEpoch: 1n,
      }),
      { requestSlot: BigInt(i) },
    );
  }
  await engine.close();
}

describe('open() replays in slices and reports progress (docs/engine.md, "Recovery")', () => {
  it('yields to the event loop between replay slices and reports frames replayed', async () => {
    const dir = tempDir();
    await writeLog(dir, 3_001);
    // Queued before open: it can run during open only if the replay yields.
    let immediates = 0;
    setImmediate(() => immediates++);
    const seen: { progress: OpenProgress; immediates: number }[] = [];
    const engine = await openEngine(
      dir,
      { onProgress: (progress) => seen.push({ progress, immediates }) },
      { replaySliceMs: 0 },
    );
    const replayed = engine.recoveryStatus.replayedFrames;
    expect(replayed).toBe(3_001);
    // One call per yield, and a final one.
    expect(seen.length).toBeGreaterThan(2);
    expect(seen[0]!.immediates).toBe(0);
    expect(seen.at(-1)!.immediates).toBeGreaterThan(0);
    expect(seen.at(-1)!.progress).toMatchObject({ replayedFrames: replayed, done: true });
    expect(seen.filter((entry) => entry.progress.done)).toHaveLength(1);
    for (let i = 1; i < seen.length; i++) {
      const before = seen[i - 1]!.progress;
      const after = seen[i]!.progress;
      expect(after.replayedFrames).toBeGreaterThanOrEqual(before.replayedFrames);
      expect(after.walBytesScanned).toBeGreaterThanOrEqual(before.walBytesScanned);
      expect(after.walBytes).toBe(before.walBytes);
    }
    expect(seen.at(-1)!.progress.walBytesScanned).toBe(seen.at(-1)!.progress.walBytes);
    await engine.close();
  });

  it('replays to the same state with and without slicing', async () => {
    const dir = tempDir();
    await writeLog(dir, 1_001);
    const sliced = await openEngine(dir, {}, { replaySliceMs: 0 });
    const slicedSnapshot = sliced.stateMachine.snapshot();
    await sliced.close();
    const whole = await openEngine(dir, {}, { replaySliceMs: 60_000 });
    expect(whole.stateMachine.snapshot()).toEqual(slicedSnapshot);
    await whole.close();
  });

  it('reports once (done) for a fresh directory, and refuses a non-function', async () => {
    const calls: OpenProgress[] = [];
    const engine = await openEngine(tempDir(), { onProgress: (p) => calls.push(p) });
    expect(calls).toEqual([{ replayedFrames: 0, walBytesScanned: 0, walBytes: 0, done: true }]);
    await engine.close();
    await expect(
      openEngine(tempDir(), { onProgress: 5 as unknown as () => void }),
    ).rejects.toBeInstanceOf(ConfigError);
  });
});
