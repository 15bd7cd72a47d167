import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AllocDbEngine } from '../../src/engine/engine.js';
import { SubmissionError } from '../../src/errors.js';
import { simulateCrash } from '../../src/exports/testing.js';
import { type FileSystem, nodeFileSystem } from '../../src/runtime/file-system.js';
import { scanLog } from '../../src/runtime/wal.js';
import { encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import type { ClientRequest, Command } from '../../src/types.js';
import { useTempDirs } from '../support/temp-dir.js';
import { countingFileSystem, openEngine, request, walPath } from './engine-fixtures.js';

const tempDir = useTempDirs();
const frames = (dir: string) =>
  scanLog(readFileSync(walPath(dir)), { maxPayloadBytes: 1 << 16 }).frames;
const stateBytes = (engine: AllocDbEngine) =>
  encodeSnapshotBody((engine as unknown as { db: { snapshot(): never } }).db.snapshot());

const create = (resourceId: bigint): Command => ({ kind: 'create_resource', resourceId });
const reserve = (resourceId: bigint, holderId = 1n): Command => ({
  kind: 'reserve',
  resourceId,
  holderId,
  ttlSlots: 8n,
});
const release = (reservationId: bigint, holderId = 1n): Command => ({
  kind: 'release',
  reservationId,
  holderId,
  leaseEpoch: 1n,
});

describe('AllocDbEngine.submitBatch', () => {
  it('answers every entry in order, with one write and one fsync for the group', async () => {
    const dir = tempDir();
    const counting = countingFileSystem();
    let writes = 0;
    const fileSystem: FileSystem = {
      ...counting.fileSystem,
      write: (fd, buffer, offset, length, position) => {
        writes++;
        return nodeFileSystem.write(fd, buffer, offset, length, position);
      },
    };
    const engine = await openEngine(dir, {}, { fileSystem });
    await engine.submit(request(create(1n)), { requestSlot: 2n });
    const acked = request(create(2n));
    await engine.submit(acked);
    const [syncs, written] = [counting.syncs(), writes];
    const results = await engine.submitBatch([
      request(reserve(1n)),
      request({ kind: 'expire', reservationId: 1n, deadlineSlot: 1n }), // internal: refused
      acked, // answered from the retry cache
      request(reserve(1n, 2n)), // busy: the first entry holds it
      request(create(1n)),
      request(reserve(9n)),
    ]);
    expect(counting.syncs() - syncs).toBe(1);
    expect(writes - written).toBe(1);
    expect(results[0]).toMatchObject({
      lsn: 3n,
      requestSlot: 2n,
      outcome: { resultCode: 'ok', reservationId: 3n },
      fromRetryCache: false,
    });
    expect(results[1]).toBeInstanceOf(SubmissionError);
    expect(results[1]).toMatchObject({ code: 'invalid_request', definite: true });
    expect(results[2]).toMatchObject({
      lsn: 2n,
      fromRetryCache: true,
      outcome: { resultCode: 'ok' },
    });
    expect(results[3]).toMatchObject({ lsn: 4n, outcome: { resultCode: 'resource_busy' } });
    expect(results[4]).toMatchObject({ lsn: 5n, outcome: { resultCode: 'already_exists' } });
    expect(results[5]).toMatchObject({ lsn: 6n, outcome: { resultCode: 'resource_not_found' } });
    const state = stateBytes(engine);
    await engine.close();

    expect(frames(dir).map((f) => f.lsn)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    const reopened = await openEngine(dir);
    expect(stateBytes(reopened)).toEqual(state);
    expect(await reopened.submitBatch([acked])).toMatchObject([{ lsn: 2n, fromRetryCache: true }]);
    await reopened.close();
  });

  it('keeps the order of submissions around it and writes the same log as submit', async () => {
    const dirs = [tempDir(), tempDir()];
    const commands = [create(1n), create(2n), reserve(1n), reserve(2n), release(3n), reserve(1n)];
    const batched = await openEngine(dirs[0]!);
    const single = await openEngine(dirs[1]!);
    const requests = commands.map((command, i) => request(command, 1000n + BigInt(i)));
    const [first, group, last] = await Promise.all([
      batched.submit(requests[0]!),
      batched.submitBatch(requests.slice(1, 5)),
      batched.submit(requests[5]!),
    ]);
    const alone = await Promise.all(requests.map((r) => single.submit(r)));
    expect([first, ...group, last]).toEqual(alone);
    expect(last).toMatchObject({ lsn: 6n, outcome: { resultCode: 'ok', reservationId: 6n } });
    await batched.close();
    await single.close();
    expect(readFileSync(walPath(dirs[0]!))).toEqual(readFileSync(walPath(dirs[1]!)));
  });

  it('joins an identical request in flight, and logs a different one under the same id', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(request(create(1n)));
    await engine.submit(request(create(2n)));
    const twice = request(reserve(1n));
    const inGroupTwice = request(reserve(2n));
    const conflicting = { ...inGroupTwice, command: reserve(2n, 5n) };
    const alone = engine.submit(twice);
    const [results, answer] = await Promise.all([
      engine.submitBatch([twice, inGroupTwice, inGroupTwice, conflicting]),
      alone,
    ]);
    expect(results[0]).toEqual(answer);
    expect(results[1]).toEqual(results[2]);
    expect(results[1]).toMatchObject({ fromRetryCache: false, outcome: { resultCode: 'ok' } });
    expect(results[3]).toMatchObject({
      fromRetryCache: false,
      outcome: { resultCode: 'operation_conflict' },
    });
    expect(frames(dir)).toHaveLength(5);
    const group = engine.submitBatch([request(create(3n), 77n)]);
    const joined = engine.submit(request(create(3n), 77n));
    expect((await group)[0]).toEqual(await joined);
    expect(frames(dir)).toHaveLength(6);
    await engine.close();
  });

  it('refuses the entries past the queue room as overloaded, each on its own', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, { engine: { maxSubmissionQueue: 3, maxBatch: 8 } });
    const results = await engine.submitBatch([1n, 2n, 3n, 4n, 5n].map((id) => request(create(id))));
    expect(
      results.map((r) => (r instanceof SubmissionError ? r.code : r.outcome.resultCode)),
    ).toEqual(['ok', 'ok', 'ok', 'overloaded', 'overloaded']);
    expect(results[4]).toMatchObject({ definite: true });
    expect(engine.getResource(4n)).toBeUndefined();
    const retried = await engine.submitBatch([request(create(4n)), request(create(5n))]);
    expect(retried).toMatchObject([
      { outcome: { resultCode: 'ok' } },
      { outcome: { resultCode: 'ok' } },
    ]);
    await engine.close();
  });

  it('takes the options once for every entry', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, { clock: () => 5n });
    const ahead = await engine.submitBatch([request(create(1n)), request(create(2n))], {
      requestSlot: 9n,
    });
    expect(ahead.map((r) => (r as { requestSlot: bigint }).requestSlot)).toEqual([9n, 9n]);
    const behind = await engine.submitBatch([request(create(3n)), request(create(4n))], {
      requestSlot: 7n,
      strictSlot: true,
    });
    expect(behind).toEqual([expect.any(SubmissionError), expect.any(SubmissionError)]);
    expect(behind[1]).toMatchObject({ code: 'slot_behind', definite: true });
    expect(engine.lastAppliedLsn).toBe(2n);
    await engine.close();
  });

  it('refuses a batch that is not an array, or over maxBatch, as a whole; a closed engine too', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, { engine: { maxBatch: 2 } });
    await expect(engine.submitBatch({} as never)).rejects.toMatchObject({
      code: 'invalid_request',
      definite: true,
    });
    await expect(
      engine.submitBatch([1n, 2n, 3n].map((id) => request(create(id)))),
    ).rejects.toMatchObject({ code: 'invalid_request', definite: true });
    expect(await engine.submitBatch([])).toEqual([]);
    await engine.close();
    await expect(engine.submitBatch([request(create(1n))])).rejects.toMatchObject({
      code: 'engine_closed',
      definite: true,
    });
  });

  it("logs the engine's copy: changing the requests afterwards changes nothing", async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const requests: ClientRequest[] = [request(create(1n)), request(reserve(1n, 4n))];
    const pending = engine.submitBatch(requests);
    (requests[1]!.command as { holderId: bigint }).holderId = 9n;
    await pending;
    expect(engine.getReservation(2n, { currentSlot: 0n })).toMatchObject({
      status: 'found',
      reservation: { holderId: 4n },
    });
    await engine.close();
  });

  it('rejects with the indefinite error when the fsync fails, and a retry runs each entry once', async () => {
    const dir = tempDir();
    const control = { fail: false };
    const fileSystem: FileSystem = {
      ...nodeFileSystem,
      fdatasync: async (fd) => {
        if (control.fail) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
        return nodeFileSystem.fdatasync(fd);
      },
    };
    const engine = await openEngine(dir, {}, { fileSystem });
    control.fail = true;
    const entries = [request(create(1n)), request(create(2n))];
    await expect(engine.submitBatch(entries)).rejects.toMatchObject({
      code: 'storage_failure',
      definite: false,
    });
    simulateCrash(engine);
    control.fail = false;
    const reopened = await openEngine(dir);
    const first = await reopened.submitBatch(entries);
    const again = await reopened.submitBatch(entries);
    expect(again).toMatchObject([{ fromRetryCache: true }, { fromRetryCache: true }]);
    expect(again.map((r) => (r as { lsn: bigint }).lsn)).toEqual(
      first.map((r) => (r as { lsn: bigint }).lsn),
    );
    expect(reopened.getResource(2n)).toBeDefined();
    await reopened.close();
  });
});
