import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SubmissionError } from '../../src/errors.js';
import { simulateCrash } from '../../src/exports/testing.js';
import { type FileSystem, nodeFileSystem } from '../../src/runtime/file-system.js';
import { scanLog } from '../../src/runtime/wal.js';
import type { ClientRequest } from '../../src/types.js';
import { useTempDirs } from '../support/temp-dir.js';
import {
  countingFileSystem,
  createBucket,
  debit,
  openEngine,
  request,
  stateBytes,
  walPath,
} from './engine-fixtures.js';

const tempDir = useTempDirs();
const frames = (dir: string) =>
  scanLog(readFileSync(walPath(dir)), { maxPayloadBytes: 1 << 16 }).frames;

describe('QuotaEngine.submitBatch', () => {
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
    await engine.submit(request(createBucket(1n, 10n)), { requestSlot: 2n });
    const acked = request(debit(1n, 1n));
    await engine.submit(acked);
    const [syncs, written] = [counting.syncs(), writes];
    const results = await engine.submitBatch([
      request(debit(1n, 4n)),
      request(debit(1n, 0n)), // invalid: a debit of zero
      acked, // answered from the retry cache
      request(createBucket(1n, 10n)),
      request(debit(1n, 7n)), // only 5 left
      request(debit(2n, 1n)),
    ]);
    expect(counting.syncs() - syncs).toBe(1);
    expect(writes - written).toBe(1);
    expect(results[0]).toEqual({
      lsn: 3n,
      requestSlot: 2n,
      outcome: { resultCode: 'ok', bucketId: 1n },
      fromRetryCache: false,
    });
    expect(results[1]).toBeInstanceOf(SubmissionError);
    expect(results[1]).toMatchObject({ code: 'invalid_request', definite: true });
    expect(results[2]).toMatchObject({
      lsn: 2n,
      fromRetryCache: true,
      outcome: { resultCode: 'ok' },
    });
    expect(results[3]).toMatchObject({ lsn: 4n, outcome: { resultCode: 'already_exists' } });
    expect(results[4]).toMatchObject({ lsn: 5n, outcome: { resultCode: 'insufficient_funds' } });
    expect(results[5]).toMatchObject({ lsn: 6n, outcome: { resultCode: 'bucket_not_found' } });
    expect(engine.getBucket(1n)?.balance).toBe(5n);
    const state = stateBytes(engine);
    await engine.close();

    // The log holds the group's commands as separate frames, and replays to the same state.
    expect(frames(dir).map((f) => f.lsn)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    const reopened = await openEngine(dir);
    expect(stateBytes(reopened)).toEqual(state);
    expect(await reopened.submitBatch([acked])).toEqual([
      {
        lsn: 2n,
        requestSlot: 2n,
        outcome: { resultCode: 'ok', bucketId: 1n },
        fromRetryCache: true,
      },
    ]);
    await reopened.close();
  });

  it('keeps the order of submissions around it and writes the same log as submit', async () => {
    const dirs = [tempDir(), tempDir()];
    const commands = [
      createBucket(1n, 100n),
      debit(1n, 1n),
      debit(1n, 2n),
      createBucket(2n, 5n),
      debit(2n, 6n),
      debit(1n, 3n),
    ];
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
    expect([first, ...group, last].map((r) => (r as { lsn: bigint }).lsn)).toEqual([
      1n,
      2n,
      3n,
      4n,
      5n,
      6n,
    ]);
    await batched.close();
    await single.close();
    expect(readFileSync(walPath(dirs[0]!))).toEqual(readFileSync(walPath(dirs[1]!)));
  });

  it('joins an identical request in flight, and logs a different one under the same id', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(request(createBucket(1n, 100n)));
    const twice = request(debit(1n, 10n));
    const inGroupTwice = request(debit(1n, 1n));
    const conflicting = { ...inGroupTwice, command: debit(1n, 2n) };
    const alone = engine.submit(twice);
    const [results, answer] = await Promise.all([
      engine.submitBatch([twice, inGroupTwice, inGroupTwice, conflicting]),
      alone,
    ]);
    expect(results[0]).toEqual(answer); // joined: the same answer, logged once
    expect(results[1]).toEqual(results[2]);
    expect(results[1]).toMatchObject({ fromRetryCache: false, outcome: { resultCode: 'ok' } });
    expect(results[3]).toMatchObject({
      fromRetryCache: false,
      outcome: { resultCode: 'operation_conflict' },
    });
    expect(frames(dir)).toHaveLength(4); // create, the debit of 10, the debit of 1, the conflict
    expect(engine.getBucket(1n)?.balance).toBe(89n);
    // A later submit joins a batch's job still in flight.
    const group = engine.submitBatch([request(debit(1n, 5n), 77n)]);
    const joined = engine.submit(request(debit(1n, 5n), 77n));
    expect((await group)[0]).toEqual(await joined);
    expect(engine.getBucket(1n)?.balance).toBe(84n);
    await engine.close();
  });

  it('refuses the entries past the queue room as overloaded, each on its own', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, { engine: { maxSubmissionQueue: 3, maxBatch: 8 } });
    await engine.submit(request(createBucket(1n, 100n)));
    const results = await engine.submitBatch(
      Array.from({ length: 5 }, () => request(debit(1n, 1n))),
    );
    expect(
      results.map((r) => (r instanceof SubmissionError ? r.code : r.outcome.resultCode)),
    ).toEqual(['ok', 'ok', 'ok', 'overloaded', 'overloaded']);
    expect(results[3]).toMatchObject({ definite: true });
    expect(engine.getBucket(1n)?.balance).toBe(97n);
    // The refused entries left nothing in flight: their retry runs.
    const retried = await engine.submitBatch(
      [results[3]!, results[4]!].map(() => request(debit(1n, 1n))),
    );
    expect(retried.every((r) => !(r instanceof SubmissionError))).toBe(true);
    await engine.close();
  });

  it('takes the options once for every entry', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, { clock: () => 5n });
    await engine.submit(request(createBucket(1n, 100n)));
    const ahead = await engine.submitBatch([request(debit(1n, 1n)), request(debit(1n, 1n))], {
      requestSlot: 9n,
    });
    expect(ahead.map((r) => (r as { requestSlot: bigint }).requestSlot)).toEqual([9n, 9n]);
    const behind = await engine.submitBatch([request(debit(1n, 1n)), request(debit(1n, 1n))], {
      requestSlot: 7n,
      strictSlot: true,
    });
    expect(behind).toEqual([expect.any(SubmissionError), expect.any(SubmissionError)]);
    expect(behind[0]).toMatchObject({ code: 'slot_behind', definite: true });
    const unknown = await engine.submitBatch([request(debit(1n, 1n))], {
      requestSlt: 7n,
    } as never);
    expect(unknown[0]).toMatchObject({ code: 'invalid_request' });
    expect(engine.getBucket(1n)?.balance).toBe(98n);
    await engine.close();
  });

  it('refuses a batch that is not an array, or over maxBatch, as a whole', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, { engine: { maxBatch: 2 } });
    await expect(engine.submitBatch('nope' as never)).rejects.toMatchObject({
      code: 'invalid_request',
      definite: true,
    });
    await expect(
      engine.submitBatch([1n, 2n, 3n].map((id) => request(createBucket(id, 1n)))),
    ).rejects.toMatchObject({ code: 'invalid_request', definite: true });
    expect(await engine.submitBatch([])).toEqual([]);
    expect(engine.lastAppliedLsn).toBe(0n);
    await engine.close();
  });

  it("logs the engine's copy: changing the requests afterwards changes nothing", async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const requests: ClientRequest[] = [request(createBucket(1n, 100n)), request(debit(1n, 3n))];
    const pending = engine.submitBatch(requests);
    (requests[1]!.command as { amount: bigint }).amount = 50n;
    (requests[1] as { operationId: bigint }).operationId = 1n;
    await pending;
    expect(engine.getBucket(1n)?.balance).toBe(97n);
    await engine.close();
  });

  it('rejects with the indefinite error when the write fails, and a retry runs each entry once', async () => {
    const dir = tempDir();
    const control = { fail: false };
    const fileSystem: FileSystem = {
      ...nodeFileSystem,
      write: async (fd, buffer, offset, length, position) => {
        if (!control.fail) return nodeFileSystem.write(fd, buffer, offset, length, position);
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
    };
    const engine = await openEngine(dir, {}, { fileSystem });
    await engine.submit(request(createBucket(1n, 100n)));
    control.fail = true;
    const entries = [request(debit(1n, 1n)), request(debit(1n, 2n))];
    await expect(engine.submitBatch(entries)).rejects.toMatchObject({
      code: 'storage_failure',
      definite: false,
    });
    await expect(engine.submitBatch(entries)).rejects.toMatchObject({ code: 'engine_halted' });
    simulateCrash(engine);
    control.fail = false;
    const reopened = await openEngine(dir);
    const retried = await reopened.submitBatch(entries);
    expect(retried).toMatchObject([{ fromRetryCache: false }, { fromRetryCache: false }]);
    expect(await reopened.submitBatch(entries)).toMatchObject([
      { fromRetryCache: true },
      { fromRetryCache: true },
    ]);
    expect(reopened.getBucket(1n)?.balance).toBe(97n);
    await reopened.close();
  });
});
