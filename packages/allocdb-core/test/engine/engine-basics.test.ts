import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EngineLockedError, FenceNotAppliedError, SubmissionError } from '../../src/errors.js';
import { nodeFileSystem } from '../../src/runtime/file-system.js';
import { scanLog } from '../../src/runtime/wal.js';
import { useTempDirs } from '../support/temp-dir.js';
import { countingFileSystem, openEngine, request, walPath } from './engine-fixtures.js';

const tempDir = useTempDirs();

describe('AllocDbEngine basics', () => {
  it('opens a fresh directory, commits, and recovers the state after close', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    expect(engine.recoveryStatus).toMatchObject({
      startupKind: 'fresh',
      replayedFrames: 0,
      loadedSnapshotLsn: undefined,
    });
    const created = await engine.submit(request({ kind: 'create_resource', resourceId: 11n }, 1n), {
      requestSlot: 1n,
    });
    expect(created).toEqual({
      lsn: 1n,
      requestSlot: 1n,
      outcome: { resultCode: 'ok' },
      fromRetryCache: false,
    });
    const reserved = await engine.submit(
      request({ kind: 'reserve', resourceId: 11n, holderId: 1n, ttlSlots: 3n }, 2n),
      {
        requestSlot: 10n,
      },
    );
    expect(reserved.outcome).toEqual({
      resultCode: 'ok',
      reservationId: 2n,
      leaseEpoch: 1n,
      deadlineSlot: 13n,
    });
    const busy = await engine.submit(
      request({ kind: 'reserve', resourceId: 11n, holderId: 2n, ttlSlots: 3n }, 3n),
    );
    expect(busy.outcome.resultCode).toBe('resource_busy');
    expect(busy.requestSlot).toBe(10n); // the clock says 0; slots never go backwards
    await engine.close();

    const reopened = await openEngine(dir);
    expect(reopened.recoveryStatus).toMatchObject({
      startupKind: 'wal_only',
      replayedFrames: 3,
      lastReplayedLsn: 3n,
    });
    expect(reopened.getResource(11n)).toEqual({
      resourceId: 11n,
      state: 'reserved',
      currentReservationId: 2n,
      version: 1n,
    });
    const retried = await reopened.submit(
      request({ kind: 'reserve', resourceId: 11n, holderId: 1n, ttlSlots: 3n }, 2n),
    );
    expect(retried).toMatchObject({ lsn: 2n, outcome: reserved.outcome, fromRetryCache: true });
    const conflict = await reopened.submit(
      request({ kind: 'create_resource', resourceId: 12n }, 2n),
    );
    expect(conflict).toMatchObject({
      outcome: { resultCode: 'operation_conflict' },
      fromRetryCache: true,
    });
    expect(reopened.getResource(12n)).toBeUndefined();
    await reopened.close();
    expect(scanLog(readFileSync(walPath(dir)), { maxPayloadBytes: 1 << 16 }).frames).toHaveLength(
      3,
    );
  });

  it('group-commits 2,000 concurrent submissions into far fewer fsyncs', async () => {
    const dir = tempDir();
    const counting = countingFileSystem();
    const engine = await openEngine(
      dir,
      { engine: { maxBatch: 256 } },
      { fileSystem: counting.fileSystem },
    );
    const syncsAtOpen = counting.syncs(); // recovery makes the log durable once
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, i) =>
        engine.submit(request({ kind: 'create_resource', resourceId: BigInt(i) })),
      ),
    );
    expect(results.map((r) => r.lsn)).toEqual(
      Array.from({ length: 2000 }, (_, i) => BigInt(i + 1)),
    );
    expect(results.filter((r) => r.outcome.resultCode === 'ok')).toHaveLength(64); // maxResources
    const metrics = engine.metrics();
    expect(metrics.framesCommitted).toBe(2000);
    expect(counting.syncs() - syncsAtOpen).toBe(metrics.batchesCommitted);
    expect(metrics.batchesCommitted).toBeLessThanOrEqual(Math.ceil(2000 / 256) + 1);
    await engine.close();
    expect(scanLog(readFileSync(walPath(dir)), { maxPayloadBytes: 1 << 16 }).frames).toHaveLength(
      2000,
    );
  });

  it('joins an identical request already in flight instead of logging it twice', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const same = request({ kind: 'create_resource', resourceId: 5n }, 77n);
    const [a, b] = await Promise.all([
      engine.submit(same),
      engine.submit({ ...same, clientId: 8n }),
    ]);
    expect(a).toBe(b);
    expect(engine.metrics().framesCommitted).toBe(1);
    await engine.close();
  });

  it('submits synchronously, alone and as a batch with one fsync', async () => {
    const dir = tempDir();
    const counting = countingFileSystem();
    const engine = await openEngine(dir, {}, { fileSystem: counting.fileSystem });
    const one = engine.submitSync(request({ kind: 'create_resource', resourceId: 1n }), {
      requestSlot: 3n,
    });
    expect(one).toMatchObject({ lsn: 1n, requestSlot: 3n, outcome: { resultCode: 'ok' } });
    const before = counting.syncs();
    const batch = engine.submitBatchSync([
      request({ kind: 'create_resource', resourceId: 2n }),
      request({ kind: 'expire', reservationId: 1n, deadlineSlot: 1n }),
      request({ kind: 'create_resource', resourceId: 1n }),
    ]);
    expect(counting.syncs() - before).toBe(1);
    expect(batch[0]).toMatchObject({ lsn: 2n, outcome: { resultCode: 'ok' } });
    expect(batch[1]).toBeInstanceOf(SubmissionError);
    expect(batch[1]).toMatchObject({ code: 'invalid_request', definite: true });
    expect(batch[2]).toMatchObject({ lsn: 3n, outcome: { resultCode: 'already_exists' } });
    await engine.close();
  });

  it('refuses bad input with a definite invalid_request and writes nothing', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const bad: unknown[] = [
      null,
      { operationId: 1n, clientId: 1n },
      { operationId: 1, clientId: 1n, command: { kind: 'create_resource', resourceId: 1n } },
      {
        operationId: 2n ** 128n,
        clientId: 1n,
        command: { kind: 'create_resource', resourceId: 1n },
      },
      { operationId: 1n, clientId: 1n, command: { kind: 'create_resource', resourceId: -1n } },
      { operationId: 1n, clientId: 1n, command: { kind: 'launch_rocket' } },
      { operationId: 1n, clientId: 1n, command: { kind: 'reserve', resourceId: 1n, holderId: 1n } },
      {
        operationId: 1n,
        clientId: 1n,
        command: { kind: 'reserve', resourceId: 1n, holderId: 1n, ttlSlots: 2n ** 64n },
      },
      {
        operationId: 1n,
        clientId: 1n,
        command: { kind: 'reserve_bundle', resourceIds: 'x', holderId: 1n, ttlSlots: 1n },
      },
      {
        operationId: 1n,
        clientId: 1n,
        command: { kind: 'expire', reservationId: 1n, deadlineSlot: 1n },
      },
    ];
    for (const input of bad) {
      await expect(engine.submit(input as never)).rejects.toMatchObject({
        code: 'invalid_request',
        definite: true,
      });
      expect(() => engine.submitSync(input as never)).toThrow(SubmissionError);
    }
    await expect(
      engine.submit(request({ kind: 'create_resource', resourceId: 1n }), { requestSlot: -1n }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    expect(statSync(walPath(dir)).size).toBe(0);
    expect(engine.metrics().framesCommitted).toBe(0);
    await engine.close();
  });

  it('refuses an oversized command, a slot overflow and a full queue definitely', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, {
      engine: { maxCommandBytes: 64, maxSubmissionQueue: 2 },
    });
    const bundle = {
      kind: 'reserve_bundle',
      resourceIds: [1n, 2n, 3n, 4n],
      holderId: 1n,
      ttlSlots: 1n,
    } as const;
    await expect(engine.submit(request(bundle))).rejects.toMatchObject({
      code: 'command_too_large',
      definite: true,
    });
    await expect(
      engine.submit(request({ kind: 'create_resource', resourceId: 1n }), {
        requestSlot: 2n ** 64n - 8n,
      }),
    ).rejects.toMatchObject({ code: 'slot_overflow', definite: true });
    const flood = Array.from({ length: 5 }, (_, i) =>
      engine.submit(request({ kind: 'create_resource', resourceId: BigInt(i) })).then(
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
    // A refused request leaves nothing behind: retried once the queue has room, it goes through.
    const refused = request({ kind: 'create_resource', resourceId: 60n });
    const crowd = [0, 1].map((i) =>
      engine.submit(request({ kind: 'create_resource', resourceId: 50n + BigInt(i) })),
    );
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
    const requests = Array.from({ length: 6 }, (_, i) =>
      request({ kind: 'create_resource', resourceId: BigInt(i) }),
    );
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

  it('takes the directory lock: a second engine fails until the first closes', async () => {
    const dir = tempDir();
    const first = await openEngine(dir);
    await expect(openEngine(dir)).rejects.toBeInstanceOf(EngineLockedError);
    await first.close();
    await first.close();
    const second = await openEngine(dir);
    await expect(
      second.submit(request({ kind: 'create_resource', resourceId: 1n })),
    ).resolves.toBeDefined();
    await second.close();
    await expect(
      second.submit(request({ kind: 'create_resource', resourceId: 2n })),
    ).rejects.toMatchObject({
      code: 'engine_closed',
      definite: true,
    });
  });

  it('answers strict reads only once their LSN is applied', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    const r = await engine.submit(request({ kind: 'create_resource', resourceId: 9n }));
    expect(engine.getResource(9n, { minLsn: r.lsn })).toMatchObject({ state: 'available' });
    expect(() => engine.getResource(9n, { minLsn: r.lsn + 1n })).toThrow(FenceNotAppliedError);
    await engine.close();
  });

  it('expires due reservations in one tick, never early', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(request({ kind: 'create_resource', resourceId: 1n }), { requestSlot: 1n });
    await engine.submit(request({ kind: 'create_resource', resourceId: 2n }), { requestSlot: 1n });
    const a = await engine.submit(
      request({ kind: 'reserve', resourceId: 1n, holderId: 1n, ttlSlots: 3n }),
      { requestSlot: 10n },
    );
    await engine.submit(request({ kind: 'reserve', resourceId: 2n, holderId: 1n, ttlSlots: 5n }), {
      requestSlot: 10n,
    });
    expect(await engine.tickExpirations({ requestSlot: 12n })).toEqual({
      requestSlot: 12n,
      due: 0,
      expired: 0,
    });
    expect(await engine.tickExpirations({ requestSlot: 13n })).toEqual({
      requestSlot: 13n,
      due: 1,
      expired: 1,
    });
    expect(engine.getResource(1n)?.state).toBe('available');
    expect(engine.getResource(2n)?.state).toBe('reserved');
    expect(engine.getReservation(a.outcome.reservationId!)).toMatchObject({
      status: 'found',
      reservation: { state: 'expired' },
    });
    await engine.close();
  });
});
