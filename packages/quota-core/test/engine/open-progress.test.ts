import { describe, expect, it } from 'vitest';
import type { OpenProgress } from '../../src/engine/recovery.js';
import { ConfigError } from '../../src/errors.js';
import { useTempDirs } from '../support/temp-dir.js';
import { createBucket, debit, openEngine, request, stateBytes } from './engine-fixtures.js';

const tempDir = useTempDirs();

/** A log of one create and `count - 1` debits (several 64 KiB scan chunks). */
async function writeLog(dir: string, count: number): Promise<void> {
  const engine = await openEngine(dir);
  engine.submitSync(request(createBucket(1n, 1n << 40n)), { requestSlot: 1n });
  for (let i = 1; i < count; i++) {
    engine.submitSync(request(debit(1n, 1n)), { requestSlot: BigInt(1 + (i >> 4)) });
  }
  await engine.close();
}

describe('open() replays in slices and reports progress (docs/engine.md, "Recovery")', () => {
  it('yields to the event loop between replay slices and reports frames replayed', async () => {
    const dir = tempDir();
    await writeLog(dir, 3_000);
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
    expect(replayed).toBe(3_000);
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
    await writeLog(dir, 1_000);
    const sliced = await openEngine(dir, {}, { replaySliceMs: 0 });
    const slicedState = stateBytes(sliced);
    await sliced.close();
    const whole = await openEngine(dir, {}, { replaySliceMs: 60_000 });
    expect(stateBytes(whole)).toEqual(slicedState);
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
