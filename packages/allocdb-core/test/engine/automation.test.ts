import { describe, expect, it } from 'vitest';
import type { AllocDbEngine } from '../../src/engine/engine.js';
import { useTempDirs } from '../support/temp-dir.js';
import { openEngine, request } from './engine-fixtures.js';

const tempDir = useTempDirs();

/** Waits until no checkpoint runs (they run beside the submissions, not between them). */
async function checkpointsSettled(engine: AllocDbEngine): Promise<void> {
  while (engine.metrics().checkpointInProgress)
    await new Promise((resolve) => setImmediate(resolve));
}

describe('automatic checkpoints and the ticker', () => {
  it('checkpoints after every N frames and recovers from the latest one', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, { engine: { checkpointPolicy: { everyFrames: 5 } } });
    for (let i = 0n; i < 12n; i++) {
      await engine.submit(request({ kind: 'create_resource', resourceId: i }));
      await checkpointsSettled(engine);
    }
    await engine.close();
    expect(engine.metrics().checkpoints).toBe(2);
    expect(engine.metrics().snapshotLsn).toBe(10n);
    const reopened = await openEngine(dir);
    expect(reopened.recoveryStatus).toMatchObject({
      loadedSnapshotLsn: 10n,
      replayedFrames: 2,
      startupKind: 'snapshot_and_wal',
    });
    expect(reopened.metrics().core.resources.used).toBe(12);
    await reopened.close();
  });

  it('checkpoints after N bytes of log', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, { engine: { checkpointPolicy: { everyBytes: 400 } } });
    for (let i = 0n; i < 20n; i++) {
      await engine.submit(request({ kind: 'create_resource', resourceId: i }));
      await checkpointsSettled(engine);
    }
    await engine.close();
    expect(engine.metrics().checkpoints).toBeGreaterThanOrEqual(3);
  });

  it('rejects a policy that is not a positive integer', async () => {
    await expect(
      openEngine(tempDir(), { engine: { checkpointPolicy: { everyFrames: 0 } } }),
    ).rejects.toMatchObject({
      code: 'invalid_value',
      field: 'engine.checkpointPolicy.everyFrames',
    });
  });

  it('the ticker expires due reservations on its own and stops on close', async () => {
    const dir = tempDir();
    let now = 10n;
    const engine = await openEngine(dir, { clock: () => now });
    await engine.submit(request({ kind: 'create_resource', resourceId: 1n }));
    await engine.submit(request({ kind: 'reserve', resourceId: 1n, holderId: 1n, ttlSlots: 2n }));
    engine.startTicker(5);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(engine.getResource(1n)?.state).toBe('reserved'); // not due yet: never early
    now = 12n;
    for (
      let waited = 0;
      waited < 2000 && engine.getResource(1n)?.state !== 'available';
      waited += 10
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(engine.getResource(1n)?.state).toBe('available');
    expect(engine.metrics().lastTickError).toBeUndefined();
    expect(() => engine.startTicker(0)).toThrow(TypeError);
    await engine.close();
    expect(() => engine.startTicker(10)).toThrow(
      expect.objectContaining({ code: 'engine_closed' }),
    );
  });
});
