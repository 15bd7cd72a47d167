import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QuotaEngine } from '../../src/engine/engine.js';
import { DataDirectoryError, EngineClosedError, SubmissionError } from '../../src/errors.js';
import { useTempDirs } from '../support/temp-dir.js';
import { createBucket, openEngine, request, snapshotPath, walPath } from './engine-fixtures.js';

const tempDir = useTempDirs();
const create = (bucketId: bigint) => request(createBucket(bucketId, 10n));

describe('a closed engine', () => {
  it('checkpoint() after close() writes nothing, even while another engine owns the directory', async () => {
    const dir = tempDir();
    const first = await openEngine(dir);
    await first.submit(create(1n), { requestSlot: 1n });
    await first.close();

    const second = await openEngine(dir);
    await second.submit(create(2n), { requestSlot: 2n });
    await second.checkpoint();
    await second.submit(create(3n), { requestSlot: 3n });
    const before = { snapshot: readFileSync(snapshotPath(dir)), wal: readFileSync(walPath(dir)) };

    const stale = await first.checkpoint().catch((e) => e);
    expect(stale).toBeInstanceOf(EngineClosedError);
    expect(stale).toMatchObject({ code: 'engine_closed' });
    expect(readFileSync(snapshotPath(dir))).toEqual(before.snapshot);
    expect(readFileSync(walPath(dir))).toEqual(before.wal);

    await second.close();
    const third = await openEngine(dir);
    expect([1n, 2n, 3n].map((id) => third.getBucket(id)?.balance)).toEqual([10n, 10n, 10n]);
    await third.close();
  });

  it('every method fails with engine_closed and touches nothing; metrics still answer', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(create(1n), { requestSlot: 1n });
    await engine.close();
    const wal = readFileSync(walPath(dir));

    const rejections = await Promise.all([
      engine.submit(create(2n)).catch((e) => e),
      engine.checkpoint().catch((e) => e),
    ]);
    const thrown = [
      () => engine.submitSync(create(2n)),
      () => engine.submitBatchSync([create(2n)]),
      () => engine.getBucket(1n),
      () => engine.getBucketAt(1n),
      () => engine.getOperation(1n),
    ].map((call) => {
      try {
        call();
      } catch (error) {
        return error;
      }
      return 'no error';
    });
    for (const error of [...rejections, ...thrown]) {
      expect(error).toMatchObject({ code: 'engine_closed' });
    }
    expect(rejections[0]).toBeInstanceOf(SubmissionError);
    expect(rejections[1]).toBeInstanceOf(EngineClosedError);
    expect((rejections[0] as SubmissionError).definite).toBe(true);
    expect(readFileSync(walPath(dir))).toEqual(wal);
    expect(existsSync(snapshotPath(dir))).toBe(false);

    expect(engine.closed).toBe(true);
    expect(engine.metrics()).toMatchObject({
      closed: true,
      acceptingWrites: false,
      framesCommitted: 1,
    });
    await engine.close();
  });

  it('a checkpoint requested while close() drains is refused; one already running completes', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(create(1n), { requestSlot: 1n });
    const running = engine.checkpoint();
    const closing = engine.close();
    await expect(engine.checkpoint()).rejects.toMatchObject({ code: 'engine_closed' });
    await expect(running).resolves.toMatchObject({ snapshotLsn: 1n });
    await closing;
    expect(existsSync(snapshotPath(dir))).toBe(true);
  });
});

describe('opening a path that cannot be a data directory', () => {
  it('a file is a DataDirectoryError, not a raw EEXIST', async () => {
    const file = join(tempDir(), 'not-a-directory');
    writeFileSync(file, 'hello');
    const error = await QuotaEngine.open({ dir: file }).catch((e) => e);
    expect(error).toBeInstanceOf(DataDirectoryError);
    expect(error).toMatchObject({ code: 'not_a_directory', path: file });
    expect(error.message).toContain('is a file');
    const below = await QuotaEngine.open({ dir: join(file, 'data') }).catch((e) => e);
    expect(below).toBeInstanceOf(DataDirectoryError);
    expect(below).toMatchObject({ code: 'unusable' });
  });
});
