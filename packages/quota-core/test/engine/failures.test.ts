import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EngineHaltedError, SubmissionError } from '../../src/errors.js';
import { simulateCrash } from '../../src/exports/testing.js';
import type { FaultPoint } from '../../src/runtime/commit-pipeline.js';
import { type FileSystem, nodeFileSystem } from '../../src/runtime/file-system.js';
import type { ClientRequest } from '../../src/types.js';
import { useTempDirs } from '../support/temp-dir.js';
import {
  createBucket,
  debit,
  openEngine,
  request,
  stateBytes,
  walPath,
} from './engine-fixtures.js';
import { crashAt, powerLossFileSystem, truncateTo } from './faults.js';

const tempDir = useTempDirs();

const setup = request(createBucket(1n, 100n), 100n);
const victim: ClientRequest = request(debit(1n, 30n), 200n);

describe('injected crashes at each named point', () => {
  const cases: { point: FaultPoint; durable: 'yes' | 'no' | 'if_page_cache_kept' }[] = [
    { point: 'before_append', durable: 'no' },
    { point: 'after_append', durable: 'if_page_cache_kept' },
    { point: 'after_sync', durable: 'yes' },
    { point: 'after_apply', durable: 'yes' },
  ];
  for (const { point, durable } of cases) {
    for (const losePageCache of [false, true]) {
      it(`${point}${losePageCache ? ' (and the unsynced page cache is lost)' : ''}: halts, then a retry debits exactly once`, async () => {
        const dir = tempDir();
        const crash = crashAt(point);
        const power = powerLossFileSystem();
        const engine = await openEngine(
          dir,
          {},
          { faults: crash.faults, fileSystem: power.fileSystem },
        );
        await engine.submit(setup, { requestSlot: 1n });
        crash.control.armed = true;
        const outcome = await engine.submit(victim, { requestSlot: 2n }).then(
          (result) => result,
          (error: SubmissionError) => error,
        );
        if (point === 'after_apply') {
          expect(outcome).toMatchObject({ outcome: { resultCode: 'ok' } });
        } else {
          expect(outcome).toBeInstanceOf(SubmissionError);
          expect(outcome).toMatchObject({ code: 'storage_failure', definite: false });
        }
        await expect(engine.submit(request(debit(1n, 1n)))).rejects.toMatchObject({
          code: 'engine_halted',
          definite: false,
        });
        expect(() => engine.getBucket(1n)).toThrow(EngineHaltedError);
        expect(() => engine.getBucketAt(1n)).toThrow(EngineHaltedError);
        await expect(engine.checkpoint()).rejects.toBeInstanceOf(EngineHaltedError);
        expect(engine.metrics().acceptingWrites).toBe(false);
        simulateCrash(engine);
        if (losePageCache) truncateTo(walPath(dir), power.syncedLength());

        const reopened = await openEngine(dir);
        const wasDurable =
          durable === 'yes' || (durable === 'if_page_cache_kept' && !losePageCache);
        expect(reopened.getBucket(1n)?.balance).toBe(wasDurable ? 70n : 100n);
        const retry = await reopened.submit(victim, { requestSlot: 3n });
        expect(retry.fromRetryCache).toBe(wasDurable);
        expect(retry.outcome).toEqual({ resultCode: 'ok', bucketId: 1n });
        expect(retry.lsn).toBe(2n); // the LSN of the debit, whichever run logged it
        const again = await reopened.submit(victim, { requestSlot: 4n });
        expect(again).toMatchObject({ fromRetryCache: true, outcome: retry.outcome });
        expect(reopened.getBucket(1n)?.balance).toBe(70n);
        await reopened.close();
      });
    }
  }

  it('during replay: the open fails, releases the lock, and a later open recovers the same state', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    for (const r of [setup, victim]) await engine.submit(r, { requestSlot: 1n });
    const expected = stateBytes(engine);
    await engine.close();
    const crash = crashAt('during_replay');
    crash.control.armed = true;
    await expect(openEngine(dir, {}, { faults: crash.faults })).rejects.toThrow(
      'simulated crash at during_replay',
    );
    const reopened = await openEngine(dir);
    expect(stateBytes(reopened)).toEqual(expected);
    await reopened.close();
  });

  for (const point of ['after_snapshot_write', 'after_wal_rewrite'] as const) {
    it(`${point}: the directory recovers to the same state`, async () => {
      const dir = tempDir();
      const crash = crashAt(point);
      const engine = await openEngine(dir, {}, { faults: crash.faults });
      for (const r of [setup, victim]) await engine.submit(r, { requestSlot: 1n });
      await engine.checkpoint();
      await engine.submit(request(debit(1n, 5n)), { requestSlot: 2n });
      const expected = stateBytes(engine);
      crash.control.armed = true;
      await expect(engine.checkpoint()).rejects.toThrow(`simulated crash at ${point}`);
      simulateCrash(engine);
      const reopened = await openEngine(dir);
      expect(stateBytes(reopened)).toEqual(expected);
      expect(reopened.getBucket(1n)?.balance).toBe(65n);
      expect(await reopened.submit(victim)).toMatchObject({ fromRetryCache: true });
      await reopened.close();
    });
  }
});

describe('a checkpoint interrupted by a fault hook, with the engine kept running', () => {
  for (const point of ['after_snapshot_write', 'after_wal_rewrite'] as const) {
    it(`${point}: later checkpoints still write a log that recovers the same state`, async () => {
      const dir = tempDir();
      const crash = crashAt(point);
      const engine = await openEngine(dir, {}, { faults: crash.faults });
      for (const r of [setup, victim]) await engine.submit(r, { requestSlot: 1n });
      await engine.checkpoint();
      await engine.submit(request(debit(1n, 5n)), { requestSlot: 2n });
      crash.control.armed = true;
      await expect(engine.checkpoint()).rejects.toThrow(`simulated crash at ${point}`);
      crash.control.armed = false;
      await engine.submit(request(debit(1n, 6n)), { requestSlot: 3n });
      await engine.checkpoint();
      await engine.submit(request(debit(1n, 7n)), { requestSlot: 4n });
      const expected = stateBytes(engine);
      await engine.close();
      const reopened = await openEngine(dir);
      expect(stateBytes(reopened)).toEqual(expected);
      expect(reopened.getBucket(1n)?.balance).toBe(52n);
      await reopened.close();
    });
  }
});

describe('injected storage failures', () => {
  it('a failed write halts with storage_failure; queued commands fail engine_halted; reopen retries once', async () => {
    const dir = tempDir();
    const control = { fail: false, partial: false };
    const fileSystem: FileSystem = {
      ...nodeFileSystem,
      write: async (fd, buffer, offset, length, position) => {
        if (!control.fail) return nodeFileSystem.write(fd, buffer, offset, length, position);
        if (control.partial)
          await nodeFileSystem.write(fd, buffer, offset, Math.floor(length / 2), position);
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
    };
    let expectedBalance = 1000n;
    for (const partial of [false, true]) {
      control.fail = false;
      control.partial = partial;
      const engine = await openEngine(dir, { engine: { maxBatch: 1 } }, { fileSystem });
      await engine.submit(request(createBucket(1n, 1000n), 1n));
      control.fail = true;
      const first = request(debit(1n, 10n));
      const second = request(debit(1n, 20n));
      const [a, b] = await Promise.allSettled([engine.submit(first), engine.submit(second)]);
      expect(a).toMatchObject({
        status: 'rejected',
        reason: { code: 'storage_failure', definite: false },
      });
      expect(b).toMatchObject({
        status: 'rejected',
        reason: { code: 'engine_halted', definite: false },
      });
      simulateCrash(engine);
      control.fail = false;
      const reopened = await openEngine(dir);
      expect(reopened.recoveryStatus.tornTailBytesTruncated > 0).toBe(partial);
      expect(reopened.getBucket(1n)?.balance).toBe(expectedBalance);
      expect(await reopened.submit(first)).toMatchObject({
        fromRetryCache: false,
        outcome: { resultCode: 'ok' },
      });
      expect(await reopened.submit(first)).toMatchObject({ fromRetryCache: true });
      expectedBalance -= 10n;
      expect(reopened.getBucket(1n)?.balance).toBe(expectedBalance);
      await reopened.close();
    }
  });

  it('a failed fsync halts and is never retried; after reopen the retry finds what reached the disk', async () => {
    const dir = tempDir();
    const control = { fail: false, syncs: 0 };
    const fileSystem: FileSystem = {
      ...nodeFileSystem,
      fdatasync: async (fd) => {
        control.syncs++;
        if (control.fail) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
        return nodeFileSystem.fdatasync(fd);
      },
    };
    const engine = await openEngine(dir, {}, { fileSystem });
    await engine.submit(setup);
    control.fail = true;
    const syncsBefore = control.syncs;
    await expect(engine.submit(victim)).rejects.toMatchObject({
      code: 'storage_failure',
      definite: false,
    });
    await expect(engine.checkpoint()).rejects.toBeInstanceOf(EngineHaltedError);
    expect(control.syncs - syncsBefore).toBe(1);
    simulateCrash(engine);
    // Recovery replays the frame that reached only the page cache, and is about to answer a retry
    // from it: it must make the log durable first, or a power loss would undo a "committed" answer.
    const power = powerLossFileSystem();
    const reopened = await openEngine(dir, {}, { fileSystem: power.fileSystem });
    expect(power.syncedLength()).toBe(statSync(walPath(dir)).size);
    // The write reached the page cache, so the debit is in the log: the retry is answered.
    expect(await reopened.submit(victim)).toMatchObject({
      fromRetryCache: true,
      outcome: { resultCode: 'ok' },
    });
    expect(reopened.getBucket(1n)?.balance).toBe(70n);
    await reopened.close();
  });

  it('a failed synchronous write or fsync throws the indefinite storage_failure and halts', async () => {
    for (const what of ['write', 'fsync'] as const) {
      const dir = tempDir();
      const control = { fail: false };
      const boom = () => {
        throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      };
      const fileSystem: FileSystem = {
        ...nodeFileSystem,
        writeSync: (fd, buffer, offset, length, position) =>
          control.fail && what === 'write'
            ? boom()
            : nodeFileSystem.writeSync(fd, buffer, offset, length, position),
        fdatasyncSync: (fd) =>
          control.fail && what === 'fsync' ? boom() : nodeFileSystem.fdatasyncSync(fd),
      };
      const engine = await openEngine(dir, {}, { fileSystem });
      engine.submitSync(setup);
      control.fail = true;
      expect(() => engine.submitSync(victim)).toThrow(
        expect.objectContaining({ code: 'storage_failure', definite: false }),
      );
      expect(() => engine.submitSync(request(debit(1n, 1n)))).toThrow(
        expect.objectContaining({ code: 'engine_halted', definite: false }),
      );
      simulateCrash(engine);
      const reopened = await openEngine(dir);
      const retry = await reopened.submit(victim);
      expect(retry.fromRetryCache).toBe(what === 'fsync');
      expect(reopened.getBucket(1n)?.balance).toBe(70n);
      await reopened.close();
    }
  });
});
