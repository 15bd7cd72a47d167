import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CommitJob,
  CommitPipeline,
  type CommitPipelineOptions,
  type FaultPoint,
  SubmissionError,
  type SubmissionErrorCode,
} from '../../src/runtime/commit-pipeline.js';
import { type FileSystem, nodeFileSystem } from '../../src/runtime/file-system.js';
import { RecordType, scanLog } from '../../src/runtime/wal.js';
import { WalFile } from '../../src/runtime/wal-file.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

/** A job that records what the pipeline did with it. */
class TestJob extends CommitJob<string> {
  readonly recordType = RecordType.client;
  readonly payload: Uint8Array;
  applied: { lsn: bigint; slot: bigint } | undefined;
  settledCount = 0;

  constructor(
    readonly name: string,
    readonly requestedSlot: bigint | undefined = undefined,
    readonly strictSlot = false,
    readonly veto: SubmissionErrorCode | undefined = undefined,
    readonly log: string[] = [],
    readonly explode = false,
  ) {
    super();
    this.payload = new TextEncoder().encode(name);
  }

  admit(): SubmissionErrorCode | undefined {
    return this.veto;
  }

  apply(): string {
    if (this.explode) throw new Error(`cannot apply ${this.name}`);
    this.applied = { lsn: this.lsn, slot: this.requestSlot };
    this.log.push(this.name);
    return `${this.name}@${this.lsn}`;
  }

  override settled(): void {
    this.settledCount++;
  }
}

function pipeline(
  options: Partial<CommitPipelineOptions> = {},
  fileSystem: FileSystem = nodeFileSystem,
): { pipeline: CommitPipeline; wal: WalFile; path: string } {
  const path = join(tempDir(), 'wal');
  const wal = WalFile.open(path, { maxPayloadBytes: 1024, fileSystem });
  return {
    wal,
    path,
    pipeline: new CommitPipeline(wal, {
      maxQueue: 8,
      maxBatch: 4,
      clock: () => 100n,
      lastLsn: undefined,
      lastSlot: undefined,
      ...options,
    }),
  };
}

const frames = (path: string) => scanLog(readFileSync(path), { maxPayloadBytes: 1024 }).frames;

describe('CommitPipeline', () => {
  it('gives LSNs rising by one and slots that never go back, logs before applying', async () => {
    const { pipeline: p, path } = pipeline({ lastLsn: 7n, lastSlot: 50n });
    const jobs = [new TestJob('a', 60n), new TestJob('b', 55n), new TestJob('c')];
    const results = await Promise.all(jobs.map((job) => p.enqueue(job)));
    expect(results).toEqual(['a@8', 'b@9', 'c@10']);
    expect(jobs.map((job) => job.applied)).toEqual([
      { lsn: 8n, slot: 60n },
      { lsn: 9n, slot: 60n }, // raised: 55 is below the last assigned 60
      { lsn: 10n, slot: 100n }, // the clock
    ]);
    expect(frames(path).map((f) => [f.lsn, f.requestSlot])).toEqual([
      [8n, 60n],
      [9n, 60n],
      [10n, 100n],
    ]);
    expect(jobs.every((job) => job.settledCount === 1)).toBe(true);
  });

  it('never puts more than maxBatch commands in one write and fsync', async () => {
    const { pipeline: p } = pipeline({ maxBatch: 3, maxQueue: 16 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => p.enqueue(new TestJob(`j${i}`))));
    const metrics = p.metrics();
    expect(metrics.framesCommitted).toBe(10);
    expect(metrics.batchesCommitted).toBe(4); // 3 + 3 + 3 + 1
  });

  it('refuses beyond maxQueue with overloaded, and the ring keeps order across wrap-arounds', async () => {
    const { pipeline: p } = pipeline({ maxQueue: 3, maxBatch: 2 });
    const log: string[] = [];
    for (let round = 0; round < 5; round++) {
      const accepted = [0, 1, 2].map((i) =>
        p.enqueue(new TestJob(`${round}.${i}`, undefined, false, undefined, log)),
      );
      const refused = new TestJob(`${round}.refused`);
      await expect(p.enqueue(refused)).rejects.toMatchObject({
        code: 'overloaded',
        definite: true,
      });
      expect(refused.settledCount).toBe(1);
      await Promise.all(accepted);
    }
    expect(log).toEqual(Array.from({ length: 15 }, (_, i) => `${Math.floor(i / 3)}.${i % 3}`));
  });

  it('enqueueAll queues jobs in order without promises, settles each, refuses past the room', async () => {
    const { pipeline: p, path } = pipeline({ maxQueue: 4, maxBatch: 8 });
    const log: string[] = [];
    const before = p.enqueue(new TestJob('before', undefined, false, undefined, log));
    const jobs = ['a', 'b', 'c', 'd'].map(
      (name) => new TestJob(name, undefined, false, undefined, log),
    );
    p.enqueueAll(jobs);
    expect(jobs[3]!.answer).toMatchObject({ code: 'overloaded', definite: true });
    expect(jobs[3]!.settledCount).toBe(1);
    await before;
    await p.close();
    expect(log).toEqual(['before', 'a', 'b', 'c']);
    expect(jobs.slice(0, 3).map((job) => job.answer)).toEqual(['a@2', 'b@3', 'c@4']);
    expect(jobs.map((job) => job.settledCount)).toEqual([1, 1, 1, 1]);
    // One flush carried all of them: one write, one fsync.
    expect(p.metrics()).toMatchObject({ batchesCommitted: 1, framesCommitted: 4 });
    expect(frames(path).map((f) => f.lsn)).toEqual([1n, 2n, 3n, 4n]);
    // A closed (or halted) pipeline refuses every job with its refusal.
    const late = [new TestJob('late')];
    p.enqueueAll(late);
    expect(late[0]!.answer).toMatchObject({ code: 'engine_closed' });
  });

  it('rejects vetoed, strict-and-behind and clockless commands definitely, without an LSN', async () => {
    const { pipeline: p, path } = pipeline({ lastSlot: 10n, clock: () => -1n as bigint });
    const outcomes = await Promise.all(
      [
        new TestJob('vetoed', 20n, false, 'slot_overflow'),
        new TestJob('behind', 5n, true),
        new TestJob('clockless'),
        new TestJob('fine', 12n),
      ].map((job) => p.enqueue(job).catch((error: SubmissionError) => error.code)),
    );
    expect(outcomes).toEqual(['slot_overflow', 'slot_behind', 'invalid_request', 'fine@1']);
    expect(frames(path).map((f) => f.lsn)).toEqual([1n]);
  });

  it('synchronous and asynchronous commits share one sequence; mixing them is async_in_flight', async () => {
    const { pipeline: p, path } = pipeline();
    const first = new TestJob('sync-1');
    p.commitSync([first]);
    expect(first.applied?.lsn).toBe(1n);
    const queued = p.enqueue(new TestJob('async-2'));
    expect(() => p.commitSync([new TestJob('sync-x')])).toThrow(
      expect.objectContaining({ code: 'async_in_flight', definite: true }),
    );
    await queued;
    const third = new TestJob('sync-3');
    p.commitSync([third]);
    expect(third.applied?.lsn).toBe(3n);
    expect(frames(path).map((f) => new TextDecoder().decode(f.payload))).toEqual([
      'sync-1',
      'async-2',
      'sync-3',
    ]);
  });

  it('a failed fsync halts: the batch is indefinite, queued commands engine_halted, nothing applied', async () => {
    let failSync = false;
    const fileSystem: FileSystem = {
      ...nodeFileSystem,
      fdatasync: (fd) =>
        failSync ? Promise.reject(new Error('EIO: fsync failed')) : nodeFileSystem.fdatasync(fd),
    };
    const { pipeline: p } = pipeline({ maxBatch: 2 }, fileSystem);
    failSync = true;
    const jobs = [new TestJob('a'), new TestJob('b'), new TestJob('c')];
    const outcomes = await Promise.all(
      jobs.map((job) =>
        p.enqueue(job).catch((error: SubmissionError) => [error.code, error.definite]),
      ),
    );
    expect(outcomes).toEqual([
      ['storage_failure', false],
      ['storage_failure', false],
      ['engine_halted', false],
    ]);
    expect(jobs.some((job) => job.applied !== undefined)).toBe(false);
    expect(p.halted).toBe(true);
    expect(p.refusal()).toMatchObject({ code: 'engine_halted' });
    await expect(p.enqueue(new TestJob('late'))).rejects.toMatchObject({ code: 'engine_halted' });
  });

  it('an apply that throws halts the pipeline; the rest of the batch is engine_halted', async () => {
    const { pipeline: p } = pipeline();
    const outcomes = await Promise.all(
      [
        new TestJob('a'),
        new TestJob('boom', undefined, false, undefined, [], true),
        new TestJob('c'),
      ].map((job) =>
        p.enqueue(job).then(
          (result) => result,
          (error: SubmissionError) => error.code,
        ),
      ),
    );
    expect(outcomes).toEqual(['a@1', 'engine_halted', 'engine_halted']);
    expect(p.halted).toBe(true);
  });

  it('a fault hook that throws is a crash at that point: everything not applied is indefinite', async () => {
    for (const point of ['before_append', 'after_append', 'after_sync'] as FaultPoint[]) {
      const { pipeline: p } = pipeline({
        faults: {
          at: (reached) => {
            if (reached === point) throw new Error(`crash at ${point}`);
          },
        },
      });
      const job = new TestJob('a');
      await expect(p.enqueue(job)).rejects.toMatchObject({
        code: 'storage_failure',
        definite: false,
      });
      expect(job.applied, point).toBeUndefined();
    }
  });

  it('close drains what is queued, then refuses with engine_closed', async () => {
    const { pipeline: p } = pipeline();
    const queued = [p.enqueue(new TestJob('a')), p.enqueue(new TestJob('b'))];
    await p.close();
    expect(await Promise.all(queued)).toEqual(['a@1', 'b@2']);
    await expect(p.enqueue(new TestJob('c'))).rejects.toMatchObject({ code: 'engine_closed' });
    expect(() => p.commitSync([new TestJob('d')])).toThrow(
      expect.objectContaining({ code: 'engine_closed' }),
    );
  });

  it('exclusive() holds flushes back while its work runs, then lets them go', async () => {
    const { pipeline: p } = pipeline();
    const order: string[] = [];
    let release!: () => void;
    const held = p.exclusive(
      () =>
        new Promise<void>((resolve) => {
          release = () => {
            order.push('work done');
            resolve();
          };
        }),
    );
    const queued = p.enqueue(new TestJob('a')).then((result) => order.push(result));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([]);
    release();
    await held;
    await queued;
    expect(order).toEqual(['work done', 'a@1']);
  });
});

describe('SubmissionError', () => {
  it('says whether the command certainly did not run', () => {
    expect(new SubmissionError('overloaded', 'x').definite).toBe(true);
    expect(new SubmissionError('async_in_flight', 'x').definite).toBe(true);
    expect(new SubmissionError('slot_behind', 'x').definite).toBe(true);
    expect(new SubmissionError('storage_failure', 'x').definite).toBe(false);
    expect(new SubmissionError('engine_halted', 'x').definite).toBe(false);
  });
});
