import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  EngineLockedError,
  FenceNotAppliedError,
  SubmissionError,
} from '../../src/errors.js';
import { nodeFileSystem } from '../../src/runtime/file-system.js';
import { scanLog } from '../../src/runtime/wal.js';
import { useTempDirs } from '../support/temp-dir.js';
import {
  countingFileSystem,
  createBucket,
  debit,
  openEngine,
  request,
  walPath,
} from './engine-fixtures.js';

const tempDir = useTempDirs();
const frames = (dir: string) =>
  scanLog(readFileSync(walPath(dir)), { maxPayloadBytes: 1 << 16 }).frames;

describe('QuotaEngine basics', () => {
  it('opens a fresh directory, commits, and recovers the state after close', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    expect(engine.recoveryStatus).toMatchObject({
      startupKind: 'fresh',
      replayedFrames: 0,
      loadedSnapshotLsn: undefined,
    });
    const created = await engine.submit(request(createBucket(11n, 10n, 7n, 1n), 1n), {
      requestSlot: 1n,
    });
    expect(created).toEqual({
      lsn: 1n,
      requestSlot: 1n,
      outcome: { resultCode: 'ok', bucketId: 11n },
      fromRetryCache: false,
    });
    const spent = await engine.submit(request(debit(11n, 9n), 2n), { requestSlot: 3n });
    expect(spent.outcome).toEqual({ resultCode: 'ok', bucketId: 11n });
    const short = await engine.submit(request(debit(11n, 5n), 3n));
    expect(short.outcome.resultCode).toBe('insufficient_funds');
    expect(short.requestSlot).toBe(3n); // the clock says 0; slots never go backwards
    await engine.close();

    const reopened = await openEngine(dir);
    expect(reopened.recoveryStatus).toMatchObject({
      startupKind: 'wal_only',
      replayedFrames: 3,
      lastReplayedLsn: 3n,
    });
    expect(reopened.getBucket(11n)).toEqual({
      bucketId: 11n,
      limit: 10n,
      balance: 0n,
      lastRefillSlot: 3n,
      refillRatePerSlot: 1n,
    });
    const retried = await reopened.submit(request(debit(11n, 9n), 2n));
    expect(retried).toMatchObject({ lsn: 2n, outcome: spent.outcome, fromRetryCache: true });
    const conflict = await reopened.submit(request(debit(11n, 1n), 2n));
    expect(conflict).toMatchObject({
      outcome: { resultCode: 'operation_conflict' },
      fromRetryCache: true,
    });
    expect(reopened.getBucket(11n)?.balance).toBe(0n);
    await reopened.close();
    expect(frames(dir)).toHaveLength(3);
  });

  it('group-commits 2,000 concurrent submissions into far fewer fsyncs', async () => {
    const dir = tempDir();
    const counting = countingFileSystem();
    const engine = await openEngine(
      dir,
      {
        config: { maxBuckets: 4, maxOperations: 4096, maxClientRetryWindowSlots: 8n },
        engine: { maxBatch: 256 },
      },
      { fileSystem: counting.fileSystem },
    );
    const syncsAtOpen = counting.syncs(); // recovery makes the log durable once
    await engine.submit(request(createBucket(1n, 1500n)));
    const results = await Promise.all(
      Array.from({ length: 2000 }, () => engine.submit(request(debit(1n, 1n)))),
    );
    expect(results.map((r) => r.lsn)).toEqual(
      Array.from({ length: 2000 }, (_, i) => BigInt(i + 2)),
    );
    expect(results.filter((r) => r.outcome.resultCode === 'ok')).toHaveLength(1500);
    expect(results.filter((r) => r.outcome.resultCode === 'insufficient_funds')).toHaveLength(500);
    const metrics = engine.metrics();
    expect(metrics.framesCommitted).toBe(2001);
    expect(counting.syncs() - syncsAtOpen).toBe(metrics.batchesCommitted);
    expect(metrics.batchesCommitted).toBeLessThanOrEqual(Math.ceil(2000 / 256) + 2);
    expect(engine.getBucket(1n)?.balance).toBe(0n);
    await engine.close();
    expect(frames(dir)).toHaveLength(2001);
  });

  it('joins an identical request already in flight instead of logging it twice', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(request(createBucket(5n, 100n)));
    const same = request(debit(5n, 10n), 77n);
    const [a, b] = await Promise.all([
      engine.submit(same),
      engine.submit({ ...same, clientId: 8n }),
    ]);
    expect(a).toBe(b);
    expect(engine.metrics().framesCommitted).toBe(2);
    expect(engine.getBucket(5n)?.balance).toBe(90n);
    // A different command under the in-flight id is logged and answered operation_conflict.
    const [first, other] = await Promise.all([
      engine.submit(request(debit(5n, 1n), 78n)),
      engine.submit(request(debit(5n, 2n), 78n)),
    ]);
    expect(first.outcome.resultCode).toBe('ok');
    expect(other.outcome.resultCode).toBe('operation_conflict');
    expect(engine.getBucket(5n)?.balance).toBe(89n);
    await engine.close();
  });

  it('submits synchronously, alone and as a batch with one fsync', async () => {
    const dir = tempDir();
    const counting = countingFileSystem();
    const engine = await openEngine(dir, {}, { fileSystem: counting.fileSystem });
    const one = engine.submitSync(request(createBucket(1n, 10n)), { requestSlot: 3n });
    expect(one).toMatchObject({ lsn: 1n, requestSlot: 3n, outcome: { resultCode: 'ok' } });
    const before = counting.syncs();
    const first = request(debit(1n, 4n));
    const batch = engine.submitBatchSync([
      first,
      request(debit(1n, 0n)),
      request(createBucket(1n, 10n)),
      request(debit(1n, 7n)),
    ]);
    expect(counting.syncs() - before).toBe(1);
    expect(batch[0]).toMatchObject({ lsn: 2n, outcome: { resultCode: 'ok' } });
    expect(batch[1]).toBeInstanceOf(SubmissionError);
    expect(batch[1]).toMatchObject({ code: 'invalid_request', definite: true });
    expect(batch[2]).toMatchObject({ lsn: 3n, outcome: { resultCode: 'already_exists' } });
    expect(batch[3]).toMatchObject({ lsn: 4n, outcome: { resultCode: 'insufficient_funds' } });
    // A cached answer costs no write and no fsync.
    const syncs = counting.syncs();
    expect(engine.submitBatchSync([first])[0]).toMatchObject({ lsn: 2n, fromRetryCache: true });
    expect(engine.submitSync(first)).toMatchObject({ lsn: 2n, fromRetryCache: true });
    expect(counting.syncs()).toBe(syncs);
    expect(engine.getBucket(1n)?.balance).toBe(6n);
    await engine.close();
  });

  it('refuses bad input with a definite invalid_request and writes nothing', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const bad: unknown[] = [
      null,
      'debit',
      { operationId: 1n, clientId: 1n },
      { operationId: 1, clientId: 1n, command: debit(1n, 1n) },
      { operationId: 2n ** 128n, clientId: 1n, command: debit(1n, 1n) },
      { operationId: 1n, clientId: -1n, command: debit(1n, 1n) },
      { operationId: 1n, clientId: 1n, command: debit(-1n, 1n) },
      { operationId: 1n, clientId: 1n, command: { kind: 'refund', bucketId: 1n, amount: 1n } },
      { operationId: 1n, clientId: 1n, command: { kind: 'debit', bucketId: 1n } },
      { operationId: 1n, clientId: 1n, command: debit(1n, 0n) },
      { operationId: 1n, clientId: 1n, command: debit(1n, 2n ** 64n) },
      { operationId: 1n, clientId: 1n, command: { ...debit(1n, 1n), amount: 1 } },
      { operationId: 1n, clientId: 1n, command: createBucket(1n, 5n, 6n) },
      { operationId: 1n, clientId: 1n, command: createBucket(1n, 2n ** 64n, 0n) },
    ];
    for (const input of bad) {
      await expect(engine.submit(input as never)).rejects.toMatchObject({
        code: 'invalid_request',
        definite: true,
      });
      expect(() => engine.submitSync(input as never)).toThrow(SubmissionError);
    }
    for (const requestSlot of [-1n, 2n ** 64n, 5 as unknown as bigint]) {
      await expect(engine.submit(request(debit(1n, 1n)), { requestSlot })).rejects.toMatchObject({
        code: 'invalid_request',
      });
    }
    expect(statSync(walPath(dir)).size).toBe(0);
    expect(engine.metrics().framesCommitted).toBe(0);
    await engine.close();
  });

  it('refuses an oversized command, a slot overflow and a full queue definitely', async () => {
    const dir = tempDir();
    // Every debit request is 58 bytes: a 50-byte limit refuses it.
    const tight = await openEngine(dir, { engine: { maxCommandBytes: 50 } });
    await expect(tight.submit(request(debit(1n, 1n)))).rejects.toMatchObject({
      code: 'command_too_large',
      definite: true,
    });
    await tight.close();
    // maxCommandBytes is recorded with the data: the next engine gets a directory of its own.
    const dir2 = tempDir();
    const engine = await openEngine(dir2, { engine: { maxSubmissionQueue: 2 } });
    await expect(
      engine.submit(request(createBucket(1n, 1n)), { requestSlot: 2n ** 64n - 8n }),
    ).rejects.toMatchObject({ code: 'slot_overflow', definite: true });
    expect(() =>
      engine.submitSync(request(createBucket(1n, 1n)), { requestSlot: 2n ** 64n - 1n }),
    ).toThrow(expect.objectContaining({ code: 'slot_overflow' }));
    const flood = Array.from({ length: 5 }, (_, i) =>
      engine.submit(request(createBucket(BigInt(i), 1n))).then(
        () => 'ok',
        (error: SubmissionError) => error.code,
      ),
    );
    expect((await Promise.all(flood)).sort()).toEqual([
      'ok',
      'ok',
      'overloaded',
      'overloaded',
      'overloaded',
    ]);
    expect(statSync(walPath(dir2)).size).toBeGreaterThan(0);
    expect(frames(dir2)).toHaveLength(2);
    // A refused request leaves nothing behind: retried once the queue has room, it goes through.
    const refused = request(createBucket(60n, 1n));
    const crowd = [50n, 51n].map((id) => engine.submit(request(createBucket(id, 1n))));
    await expect(engine.submit(refused)).rejects.toMatchObject({ code: 'overloaded' });
    await Promise.all(crowd);
    await expect(engine.submit(refused)).resolves.toMatchObject({
      outcome: { resultCode: 'ok' },
      fromRetryCache: false,
    });
    await engine.close();
  });

  it('registers every queued and flushing submission in the in-flight table (maxSubmissionQueue + maxBatch)', async () => {
    const dir = tempDir();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held!: () => void;
    const reached = new Promise<void>((resolve) => {
      held = resolve;
    });
    const engine = await openEngine(
      dir,
      { engine: { maxSubmissionQueue: 3, maxBatch: 2 } },
      {
        fileSystem: {
          ...nodeFileSystem,
          fdatasync: async (fd) => {
            held();
            await gate;
            return nodeFileSystem.fdatasync(fd);
          },
        },
      },
    );
    const requests = Array.from({ length: 6 }, (_, i) => request(createBucket(BigInt(i), 1n)));
    // Two flushing (held at their fdatasync), then three queued: five in flight, the table full.
    const flushing = requests.slice(0, 2).map((r) => engine.submit(r));
    await reached;
    const queued = requests.slice(2, 5).map((r) => engine.submit(r));
    await expect(engine.submit(requests[5]!)).rejects.toMatchObject({ code: 'overloaded' });
    // Each of the five is registered: an identical request joins it instead of being queued.
    const joined = requests.slice(0, 5).map((r) => engine.submit(r));
    release();
    const answers = await Promise.all([...flushing, ...queued]);
    expect(await Promise.all(joined)).toEqual(answers);
    expect(answers.map((answer) => answer.lsn)).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(answers.every((answer) => answer.outcome.resultCode === 'ok')).toBe(true);
    await engine.close();
  });

  it('refuses a synchronous submission while asynchronous ones are in flight', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const pending = engine.submit(request(createBucket(1n, 1n)));
    expect(() => engine.submitSync(request(createBucket(2n, 1n)))).toThrow(
      expect.objectContaining({ code: 'async_in_flight', definite: true }),
    );
    await pending;
    await engine.close();
  });

  it('takes the directory lock: a second engine fails until the first closes', async () => {
    const dir = tempDir();
    const first = await openEngine(dir);
    await expect(openEngine(dir)).rejects.toBeInstanceOf(EngineLockedError);
    await first.close();
    await first.close();
    const second = await openEngine(dir);
    await expect(second.submit(request(createBucket(1n, 1n)))).resolves.toBeDefined();
    await second.close();
    await expect(second.submit(request(createBucket(2n, 1n)))).rejects.toMatchObject({
      code: 'engine_closed',
      definite: true,
    });
  });

  it('validates the config and engine options before touching the disk', async () => {
    const dir = tempDir();
    await expect(
      openEngine(dir, {
        config: { maxBuckets: 0, maxOperations: 1, maxClientRetryWindowSlots: 1n },
      }),
    ).rejects.toMatchObject({ code: 'zero_capacity', field: 'maxBuckets' });
    await expect(openEngine(dir, { engine: { maxBatch: 0 } })).rejects.toBeInstanceOf(ConfigError);
    // Nothing was locked: a valid open succeeds.
    const engine = await openEngine(dir);
    await engine.close();
  });

  it('answers strict reads only once their LSN is applied', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    expect(() => engine.getBucket(9n, { minLsn: 1n })).toThrow(FenceNotAppliedError);
    const r = await engine.submit(request(createBucket(9n, 5n)));
    expect(engine.getBucket(9n, { minLsn: r.lsn })).toMatchObject({ balance: 5n });
    expect(() => engine.getBucket(9n, { minLsn: r.lsn + 1n })).toThrow(FenceNotAppliedError);
    expect(() => engine.getBucketAt(9n, { minLsn: r.lsn + 1n })).toThrow(FenceNotAppliedError);
    expect(() => engine.getOperation(r.lsn, { minLsn: r.lsn + 1n })).toThrow(FenceNotAppliedError);
    await engine.close();
  });

  it('shows the balance at the current slot (or a given one) without writing anything', async () => {
    const dir = tempDir();
    let now = 10n;
    const engine = await openEngine(dir, { clock: () => now });
    await engine.submit(request(createBucket(3n, 100n, 0n, 4n)));
    now = 15n;
    expect(engine.getBucket(3n)).toMatchObject({ balance: 0n, lastRefillSlot: 10n });
    expect(engine.getBucketAt(3n)).toMatchObject({ balance: 20n, lastRefillSlot: 15n });
    expect(engine.getBucketAt(3n, { slot: 40n })).toMatchObject({ balance: 100n });
    expect(engine.metrics()).toMatchObject({ framesCommitted: 1, core: { logicalSlotLag: 5n } });
    const spent = await engine.submit(request(debit(3n, 20n)));
    expect(spent.outcome.resultCode).toBe('ok');
    expect(engine.getBucket(3n)).toMatchObject({ balance: 0n, lastRefillSlot: 15n });
    await engine.close();
  });

  it('reports metrics: queue, tables, batches, WAL bytes', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(request(createBucket(1n, 10n)));
    await engine.submit(request(debit(1n, 1n)));
    const metrics = engine.metrics();
    expect(metrics).toMatchObject({
      queueDepth: 0,
      queueCapacity: 16_384,
      acceptingWrites: true,
      framesSinceCheckpoint: 2,
      batchesCommitted: 2,
      framesCommitted: 2,
      meanBatchSize: 1,
      checkpoints: 0,
      snapshotLsn: 0n,
      walBytes: statSync(walPath(dir)).size,
      core: {
        buckets: { used: 1, capacity: 64 },
        operations: { used: 2, capacity: 256 },
        lastAppliedLsn: 2n,
      },
    });
    expect(metrics.lastFsyncMicros).toBeGreaterThan(0);
    await engine.close();
  });
});
