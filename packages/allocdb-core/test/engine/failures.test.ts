import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AllocDbEngine } from '../../src/engine/engine.js';
import { EngineHaltedError, SubmissionError } from '../../src/errors.js';
import { simulateCrash } from '../../src/exports/testing.js';
import type { FaultPoint } from '../../src/runtime/commit-pipeline.js';
import { type FileSystem, nodeFileSystem } from '../../src/runtime/file-system.js';
import { encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import type { ClientRequest } from '../../src/types.js';
import { useTempDirs } from '../support/temp-dir.js';
import { openEngine, request, walPath } from './engine-fixtures.js';

const tempDir = useTempDirs();

function stateBytes(engine: AllocDbEngine): Uint8Array {
  return encodeSnapshotBody((engine as unknown as { db: { snapshot(): never } }).db.snapshot());
}

/** Fault hooks that throw (a simulated crash) at `point` once armed. */
function crashAt(point: FaultPoint) {
  const control = { armed: false };
  return {
    control,
    faults: {
      at(reached: FaultPoint) {
        if (control.armed && reached === point) throw new Error(`simulated crash at ${point}`);
      },
    },
  };
}

/** A WAL file system that remembers the last synced length, to simulate losing the page cache. */
function powerLossFileSystem(): { fileSystem: FileSystem; syncedLength: () => number } {
  let synced = 0;
  return {
    syncedLength: () => synced,
    fileSystem: {
      ...nodeFileSystem,
      fdatasync: async (fd) => {
        await nodeFileSystem.fdatasync(fd);
        synced = fstatSync(fd).size;
      },
      fdatasyncSync: (fd) => {
        nodeFileSystem.fdatasyncSync(fd);
        synced = fstatSync(fd).size;
      },
    },
  };
}

function truncateTo(path: string, length: number): void {
  const fd = openSync(path, 'r+');
  ftruncateSync(fd, length);
  closeSync(fd);
}

const setup = [
  request({ kind: 'create_resource', resourceId: 1n }, 100n),
  request({ kind: 'create_resource', resourceId: 2n }, 101n),
];
const victim: ClientRequest = request(
  { kind: 'reserve_bundle', resourceIds: [1n, 2n], holderId: 5n, ttlSlots: 8n },
  200n,
);

describe('injected crashes at each named point', () => {
  const cases: { point: FaultPoint; durable: 'yes' | 'no' | 'if_page_cache_kept' }[] = [
    { point: 'before_append', durable: 'no' },
    { point: 'after_append', durable: 'if_page_cache_kept' },
    { point: 'after_sync', durable: 'yes' },
    { point: 'after_apply', durable: 'yes' },
  ];
  for (const { point, durable } of cases) {
    for (const losePageCache of [false, true]) {
      it(`${point}${losePageCache ? ' (and the unsynced page cache is lost)' : ''}: halts, then a retry commits exactly once`, async () => {
        const dir = tempDir();
        const crash = crashAt(point);
        const power = powerLossFileSystem();
        const engine = await openEngine(
          dir,
          {},
          { faults: crash.faults, fileSystem: power.fileSystem },
        );
        for (const r of setup) await engine.submit(r, { requestSlot: 1n });
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
        await expect(
          engine.submit(request({ kind: 'create_resource', resourceId: 3n })),
        ).rejects.toMatchObject({
          code: 'engine_halted',
          definite: false,
        });
        expect(() => engine.getResource(1n)).toThrow(EngineHaltedError);
        expect(engine.metrics().acceptingWrites).toBe(false);
        simulateCrash(engine);
        if (losePageCache) truncateTo(walPath(dir), power.syncedLength());

        const reopened = await openEngine(dir);
        const retry = await reopened.submit(victim, { requestSlot: 3n });
        const wasDurable =
          durable === 'yes' || (durable === 'if_page_cache_kept' && !losePageCache);
        expect(retry.fromRetryCache).toBe(wasDurable);
        expect(retry.outcome).toMatchObject({ resultCode: 'ok', leaseEpoch: 1n });
        expect(retry.outcome.reservationId).toBe(3n); // the id of LSN 3, whichever run created it
        const again = await reopened.submit(victim, { requestSlot: 4n });
        expect(again).toMatchObject({ fromRetryCache: true, outcome: retry.outcome });
        expect(reopened.getResource(1n)).toMatchObject({
          state: 'reserved',
          currentReservationId: 3n,
          version: 1n,
        });
        await reopened.close();
      });
    }
  }

  it('during replay: the open fails, releases the lock, and a later open recovers the same state', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    for (const r of [...setup, victim]) await engine.submit(r, { requestSlot: 1n });
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
      for (const r of [...setup, victim]) await engine.submit(r, { requestSlot: 1n });
      await engine.checkpoint();
      await engine.submit(request({ kind: 'create_resource', resourceId: 9n }), {
        requestSlot: 2n,
      });
      const expected = stateBytes(engine);
      crash.control.armed = true;
      await expect(engine.checkpoint()).rejects.toThrow(`simulated crash at ${point}`);
      simulateCrash(engine);
      const reopened = await openEngine(dir);
      expect(stateBytes(reopened)).toEqual(expected);
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
      for (const r of [...setup, victim]) await engine.submit(r, { requestSlot: 1n });
      await engine.checkpoint();
      await engine.submit(request({ kind: 'create_resource', resourceId: 9n }), {
        requestSlot: 2n,
      });
      crash.control.armed = true;
      await expect(engine.checkpoint()).rejects.toThrow(`simulated crash at ${point}`);
      crash.control.armed = false;
      await engine.submit(request({ kind: 'create_resource', resourceId: 10n }), {
        requestSlot: 3n,
      });
      await engine.checkpoint();
      await engine.submit(request({ kind: 'create_resource', resourceId: 11n }), {
        requestSlot: 4n,
      });
      const expected = stateBytes(engine);
      await engine.close();
      const reopened = await openEngine(dir);
      expect(stateBytes(reopened)).toEqual(expected);
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
    for (const partial of [false, true]) {
      control.fail = false;
      control.partial = partial;
      const engine = await openEngine(dir, { engine: { maxBatch: 1 } }, { fileSystem });
      const base = BigInt(engine.lastAppliedLsn);
      await engine.submit(request({ kind: 'create_resource', resourceId: 1000n + base }));
      control.fail = true;
      const first = request({ kind: 'create_resource', resourceId: 2000n + base });
      const second = request({ kind: 'create_resource', resourceId: 3000n + base });
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
      expect(await reopened.submit(first)).toMatchObject({
        fromRetryCache: false,
        outcome: { resultCode: 'ok' },
      });
      expect(await reopened.submit(first)).toMatchObject({ fromRetryCache: true });
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
    control.fail = true;
    const victimRequest = request({ kind: 'create_resource', resourceId: 1n });
    await expect(engine.submit(victimRequest)).rejects.toMatchObject({
      code: 'storage_failure',
      definite: false,
    });
    await expect(engine.checkpoint()).rejects.toBeInstanceOf(EngineHaltedError);
    expect(control.syncs).toBe(1);
    simulateCrash(engine);
    // Recovery replays the frame that reached only the page cache, and is about to answer a retry
    // from it: it must make the log durable first, or a power loss would undo a "committed" answer.
    const power = powerLossFileSystem();
    const reopened = await openEngine(dir, {}, { fileSystem: power.fileSystem });
    expect(power.syncedLength()).toBe(readFileSync(walPath(dir)).length);
    expect(await reopened.submit(victimRequest)).toMatchObject({
      fromRetryCache: true,
      outcome: { resultCode: 'ok' },
    });
    await reopened.close();
  });
});
