/**
 * Background checkpoints that fail (docs/engine.md, "When checkpoints fail"): each failure is
 * counted and reported (`onCheckpoint`, `health()`, `metrics()`), automatic attempts back off,
 * and past the log's hard limit new writes are refused with a definite `log_full` instead of
 * the log growing without bound; once the disk takes snapshots again, the engine recovers on its
 * own.
 */
import { describe, expect, it } from 'vitest';
import type { CheckpointEvent } from '../../src/engine/checkpoints.js';
import { SubmissionError } from '../../src/errors.js';
import { type FileSystem, nodeFileSystem } from '../../src/runtime/file-system.js';
import { useTempDirs } from '../support/temp-dir.js';
import { createBucket, debit, openEngine, request } from './engine-fixtures.js';

const tempDir = useTempDirs();

/** node:fs that refuses to create `snapshot.tmp` while `broken` is set (a disk refusing snapshots). */
function snapshotRefusingDisk(): { fileSystem: FileSystem; disk: { broken: boolean } } {
  const disk = { broken: true };
  return {
    disk,
    fileSystem: {
      ...nodeFileSystem,
      openSync: (path, flags, mode) => {
        if (disk.broken && path.endsWith('snapshot.tmp')) {
          throw Object.assign(new Error(`EIO: i/o error, open '${path}'`), { code: 'EIO' });
        }
        return nodeFileSystem.openSync(path, flags, mode);
      },
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

async function until(what: string, condition: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('failing background checkpoints', () => {
  it('are counted, backed off, reported in health, and bound the log with log_full', async () => {
    const dir = tempDir();
    const { fileSystem, disk } = snapshotRefusingDisk();
    const events: CheckpointEvent[] = [];
    const engine = await openEngine(
      dir,
      {
        engine: { checkpointPolicy: { everyFrames: 4 }, maxWalBytes: 3_000 },
        onCheckpoint: (event) => events.push(event),
      },
      { fileSystem },
    );
    await engine.submit(request(createBucket(1n, 1_000n)));
    for (let i = 0; i < 3; i++) await engine.submit(request(debit(1n, 1n)));
    await settle();
    // The policy found a checkpoint due; it failed, and said so.
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ ok: false, consecutiveFailures: 1, retryInMs: 1_000 });
    expect((events[0] as { error: Error }).error.message).toMatch(/EIO/);
    expect(engine.metrics()).toMatchObject({
      checkpointFailures: 1,
      lastCheckpointError: expect.stringMatching(/EIO/),
      maxWalBytes: 3_000,
    });
    const degraded = engine.health();
    expect(degraded).toMatchObject({ status: 'degraded', checkpointFailures: 1, logFull: false });
    expect(degraded.problems[0]).toMatch(
      /^checkpoints are failing \(1 in a row; the last: .*EIO.*; the next attempt in \d+ ms$/,
    );

    // Backing off: more commands, each finding a checkpoint due, start no new attempt.
    for (let i = 0; i < 4; i++) await engine.submit(request(debit(1n, 1n)));
    await settle();
    expect(events).toHaveLength(1);

    // The log reaches its limit: new writes are refused, definitely; retries are still answered.
    let refused: unknown;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      await engine.submit(request(debit(1n, 1n))).catch((error: unknown) => {
        refused = error;
      });
    }
    expect(refused).toBeInstanceOf(SubmissionError);
    expect(refused).toMatchObject({ code: 'log_full', definite: true });
    expect((refused as Error).message).toMatch(
      /the log is \d+ bytes, at its limit maxWalBytes 3000, because checkpoints fail/,
    );
    expect(engine.metrics().walBytes).toBeGreaterThanOrEqual(3_000);
    expect(engine.metrics().walBytes).toBeLessThan(3_200);
    expect(engine.health()).toMatchObject({ status: 'degraded', logFull: true });

    // The retry after the backoff fails again: the delay doubles.
    await until('the second attempt', () => events.length === 2);
    expect(events[1]).toMatchObject({ ok: false, consecutiveFailures: 2, retryInMs: 2_000 });

    // The disk takes snapshots again: the next attempt succeeds, and a second one (the first
    // keeps the log since the previous snapshot) brings the log under its limit.
    disk.broken = false;
    await until('the engine is healthy again', () => engine.health().status === 'ok');
    expect(events.filter((event) => event.ok)[0]).toMatchObject({ ok: true, afterFailures: 2 });
    expect(engine.metrics()).toMatchObject({
      checkpointFailures: 0,
      lastCheckpointError: undefined,
    });
    expect(engine.metrics().walBytes).toBeLessThan(3_000);
    await expect(engine.submit(request(debit(1n, 1n)))).resolves.toMatchObject({
      outcome: { resultCode: 'ok' },
    });
    await engine.close();
  });

  it('still answers acknowledged retries from the cache while writes are refused', async () => {
    const dir = tempDir();
    const { fileSystem } = snapshotRefusingDisk();
    const engine = await openEngine(dir, { engine: { maxWalBytes: 1_000 } }, { fileSystem });
    const first = request(createBucket(1n, 1_000n));
    const answered = await engine.submit(first);
    let refused: unknown;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      await engine.submit(request(debit(1n, 1n))).catch((error: unknown) => {
        refused = error;
      });
    }
    expect(refused).toMatchObject({ code: 'log_full', definite: true });
    // Without a policy the limit still starts a checkpoint (which fails on this disk).
    await until('a checkpoint was attempted', () => engine.metrics().checkpointFailures > 0);
    await expect(engine.submit(first)).resolves.toEqual({ ...answered, fromRetryCache: true });
    await engine.close();
  });

  it('refuses a limit under two checkpoint intervals', async () => {
    await expect(
      openEngine(tempDir(), {
        engine: { checkpointPolicy: { everyBytes: 1_000 }, maxWalBytes: 1_999 },
      }),
    ).rejects.toMatchObject({ code: 'invalid_value', field: 'engine.maxWalBytes' });
  });
});
