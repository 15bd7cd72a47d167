/**
 * The sequencer and group-commit pipeline of a durable engine.
 *
 * Commands wait in a bounded queue. A flush takes up to `maxBatch` of them in arrival order,
 * gives each the next LSN and its request slot (from the caller or the clock, never below the
 * last one assigned), writes all their frames with one write and one fdatasync, and only then
 * applies them, in order, resolving each caller with its result. A command is durable before it
 * is applied, so replaying the log rebuilds exactly what callers were told.
 *
 * A failed write or fsync is never retried in place: the pipeline halts, the commands of that
 * batch fail with `storage_failure` (indefinite: they may or may not be durable), every queued
 * and later command fails with `engine_halted`, and only reopening (which recovers from disk)
 * brings the engine back.
 *
 * The pipeline is domain-agnostic: the engine hands it encoded payloads plus two callbacks, one
 * that vets a command against its final slot before it is logged, one that applies it.
 *
 * Part of the copied runtime (see runtime.md): imports nothing outside Node built-ins and
 * `src/runtime/`.
 */
import type { RecordType, WalFrame } from './wal.js';
import type { WalFile } from './wal-file.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

export type SubmissionErrorCode =
  | 'invalid_request'
  | 'command_too_large'
  | 'slot_overflow'
  | 'overloaded'
  | 'lsn_exhausted'
  | 'engine_closed'
  | 'storage_failure'
  | 'engine_halted';

/** Whether a failure is definite (never written: safe to treat as not executed). */
const DEFINITE: Record<SubmissionErrorCode, boolean> = {
  invalid_request: true,
  command_too_large: true,
  slot_overflow: true,
  overloaded: true,
  lsn_exhausted: true,
  engine_closed: true,
  storage_failure: false,
  engine_halted: false,
};

/**
 * A submission that did not produce an outcome. `definite` tells whether it certainly was not
 * executed; when false, reopen the engine and retry with the same operationId.
 */
export class SubmissionError extends Error {
  readonly code: SubmissionErrorCode;
  readonly definite: boolean;
  constructor(code: SubmissionErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'SubmissionError';
    this.code = code;
    this.definite = DEFINITE[code];
  }
}

/** The engine stopped after a storage failure; reopen it (which recovers from disk). */
export class EngineHaltedError extends Error {
  readonly code = 'engine_halted';
  constructor(cause: unknown) {
    super(
      `the engine halted after a failure (${cause instanceof Error ? cause.message : String(cause)}); ` +
        'close it and open the directory again, which recovers from disk',
      { cause },
    );
    this.name = 'EngineHaltedError';
  }
}

/** Named points where tests stop the pipeline (or recovery) to simulate a crash. */
export type FaultPoint =
  | 'before_append'
  | 'after_append'
  | 'after_sync'
  | 'after_apply'
  | 'after_snapshot_write'
  | 'after_wal_rewrite'
  | 'during_replay';

/** The test seam: production passes nothing and pays one undefined check per point. */
export interface FaultHooks {
  at(point: FaultPoint): void;
}

/**
 * A command in the pipeline. One object per command serves as the queue entry, the WAL frame
 * (`recordType`, `lsn`, `requestSlot`, `payload`) and the submitter's answer, so that a command
 * waiting for its fsync costs as few live objects as possible. Engines subclass it.
 */
export abstract class CommitJob<R> implements WalFrame {
  abstract readonly recordType: typeof RecordType.client | typeof RecordType.internal;
  abstract readonly payload: Uint8Array;
  /** The caller's slot; undefined means the clock. Raised to the last assigned slot. */
  abstract readonly requestedSlot: bigint | undefined;
  /** Set by the pipeline when the command is sequenced. */
  lsn = 0n;
  requestSlot = 0n;
  private onResolve: ((result: R) => void) | undefined;
  private onReject: ((error: Error) => void) | undefined;

  /** Vets the command at its final slot before it is logged; a code rejects it, definitely. */
  abstract admit(requestSlot: bigint): SubmissionErrorCode | undefined;
  /** Applies the command once it is durable; what it returns is what the submitter gets. */
  abstract apply(lsn: bigint, requestSlot: bigint): R;
  /** Called once the command is settled either way (lets the engine forget in-flight state). */
  settled(): void {}

  /** Where the answer goes (the pipeline sets it when the job is queued or committed). */
  answerTo(onResolve: (result: R) => void, onReject: (error: Error) => void): void {
    this.onResolve = onResolve;
    this.onReject = onReject;
  }

  resolve(result: R): void {
    this.settled();
    this.onResolve?.(result);
  }

  reject(error: Error): void {
    this.settled();
    this.onReject?.(error);
  }
}

export interface CommitPipelineOptions {
  readonly maxQueue: number;
  readonly maxBatch: number;
  /** The current slot; called at most once per batch. */
  readonly clock: () => bigint;
  readonly lastLsn: bigint;
  readonly lastSlot: bigint;
  readonly faults?: FaultHooks;
}

export interface CommitPipelineMetrics {
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly batchesCommitted: number;
  readonly framesCommitted: number;
  readonly meanBatchSize: number;
  readonly lastFsyncMicros: number;
  readonly walBytes: number;
}

export class CommitPipeline {
  private readonly wal: WalFile;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly clock: () => bigint;
  private readonly faults: FaultHooks | undefined;

  /** Queue as an array plus a head index: no shifting, compacted when drained. */
  private queue: CommitJob<unknown>[] = [];
  private head = 0;
  private flushing = false;
  private flushScheduled = false;
  private pauseDepth = 0;
  private idleWaiters: (() => void)[] = [];
  private haltCause: unknown;
  private closed = false;

  private assignedLsn: bigint;
  private assignedSlot: bigint;
  private batches = 0;
  private frames = 0;
  private fsyncMicros = 0;

  constructor(wal: WalFile, options: CommitPipelineOptions) {
    this.wal = wal;
    this.maxQueue = options.maxQueue;
    this.maxBatch = options.maxBatch;
    this.clock = options.clock;
    this.faults = options.faults;
    this.assignedLsn = options.lastLsn;
    this.assignedSlot = options.lastSlot;
  }

  /** The last LSN given to a command (durable once its flush completes). */
  get lastLsn(): bigint {
    return this.assignedLsn;
  }

  /** The last request slot given to a command. */
  get lastSlot(): bigint {
    return this.assignedSlot;
  }

  get halted(): boolean {
    return this.haltCause !== undefined;
  }

  get accepting(): boolean {
    return !this.halted && !this.closed;
  }

  get queueDepth(): number {
    return this.queue.length - this.head;
  }

  /** Throws the error a new submission would get right now, if any. */
  assertAccepting(): void {
    if (this.haltCause !== undefined) {
      throw new SubmissionError(
        'engine_halted',
        'the engine halted after a storage failure; reopen it',
        {
          cause: this.haltCause,
        },
      );
    }
    if (this.closed) throw new SubmissionError('engine_closed', 'the engine is closed');
  }

  /** Queues a command for the next group commit; resolves with what its `apply` returns. */
  enqueue<R>(job: CommitJob<R>): Promise<R> {
    this.assertAccepting();
    if (this.queueDepth >= this.maxQueue) {
      // Settled at once: the refused command leaves nothing behind (no in-flight entry).
      job.settled();
      return Promise.reject(
        new SubmissionError(
          'overloaded',
          `the submission queue is full (${this.maxQueue}); retry later`,
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      job.answerTo(resolve, reject);
      this.queue.push(job as CommitJob<unknown>);
      this.scheduleFlush();
    });
  }

  /**
   * Commits `jobs` synchronously: one write and one fdatasync for all of them. Only when the
   * asynchronous pipeline is idle, since both share one sequence of LSNs.
   */
  commitSync<R>(jobs: readonly CommitJob<R>[]): (R | SubmissionError)[] {
    this.assertAccepting();
    if (this.flushing || this.queueDepth > 0 || this.pauseDepth > 0) {
      throw new SubmissionError(
        'overloaded',
        'asynchronous submissions are in flight; await them (or use submit) before a synchronous submission',
      );
    }
    const results: (R | SubmissionError)[] = new Array(jobs.length);
    jobs.forEach((job, index) =>
      job.answerTo(
        (result) => {
          results[index] = result;
        },
        (error) => {
          results[index] = error as SubmissionError;
        },
      ),
    );
    const sequenced = this.sequence(jobs);
    if (sequenced.length === 0) return results;
    try {
      this.faultAt('before_append', sequenced);
      try {
        this.wal.appendSync(sequenced);
      } catch (error) {
        this.failBatch(sequenced, 'write', error);
      }
      this.faultAt('after_append', sequenced);
      const started = process.hrtime.bigint();
      try {
        this.wal.syncSync();
      } catch (error) {
        this.failBatch(sequenced, 'fsync', error);
      }
      this.fsyncMicros = Number(process.hrtime.bigint() - started) / 1000;
      this.faultAt('after_sync', sequenced);
      this.applyAll(sequenced);
    } catch (error) {
      // The batch failed after it was sequenced: report the indefinite outcome, not the cause.
      const indefinite = results.find(
        (result) => result instanceof SubmissionError && !result.definite,
      );
      throw indefinite ?? error;
    }
    return results;
  }

  private scheduleFlush(): void {
    if (this.flushing || this.flushScheduled || this.pauseDepth > 0) return;
    this.flushScheduled = true;
    // A microtask lets every submission made in the same synchronous run join the first batch.
    queueMicrotask(() => {
      this.flushScheduled = false;
      void this.runFlushes();
    });
  }

  private async runFlushes(): Promise<void> {
    if (this.flushing || this.pauseDepth > 0) return;
    this.flushing = true;
    try {
      while (this.queueDepth > 0 && this.pauseDepth === 0 && this.haltCause === undefined) {
        const end = Math.min(this.queue.length, this.head + this.maxBatch);
        const batch = this.queue.slice(this.head, end);
        this.head = end;
        if (this.head === this.queue.length) {
          this.queue = [];
          this.head = 0;
        }
        await this.flushBatch(batch);
      }
    } finally {
      this.flushing = false;
      if (this.queueDepth === 0 || this.haltCause !== undefined || this.pauseDepth > 0) {
        for (const wake of this.idleWaiters.splice(0)) wake();
      } else {
        this.scheduleFlush();
      }
    }
  }

  private async flushBatch(batch: CommitJob<unknown>[]): Promise<void> {
    const sequenced = this.sequence(batch);
    if (sequenced.length === 0) return;
    try {
      this.faultAt('before_append', sequenced);
      try {
        await this.wal.append(sequenced);
      } catch (error) {
        this.failBatch(sequenced, 'write', error);
      }
      this.faultAt('after_append', sequenced);
      const started = process.hrtime.bigint();
      try {
        await this.wal.sync();
      } catch (error) {
        this.failBatch(sequenced, 'fsync', error);
      }
      this.fsyncMicros = Number(process.hrtime.bigint() - started) / 1000;
      this.faultAt('after_sync', sequenced);
      this.applyAll(sequenced);
    } catch {
      // failBatch / faultAt / applyAll already halted the pipeline and settled every command.
    }
  }

  /**
   * Gives LSNs and slots to `batch` in arrival order and returns the commands to log. Commands
   * the engine vetoes at their final slot (or that would exhaust the LSN space) are rejected
   * definitely and get no LSN.
   */
  private sequence<R>(batch: readonly CommitJob<R>[]): CommitJob<R>[] {
    const sequenced: CommitJob<R>[] = [];
    let clockSlot: bigint | undefined;
    for (const job of batch) {
      let slot = job.requestedSlot;
      if (slot === undefined) {
        if (clockSlot === undefined) clockSlot = this.readClock();
        if (clockSlot === undefined) {
          job.reject(
            new SubmissionError(
              'invalid_request',
              'the engine clock did not return a u64 bigint slot',
            ),
          );
          continue;
        }
        slot = clockSlot;
      }
      if (slot < this.assignedSlot) slot = this.assignedSlot;
      const veto = job.admit(slot);
      if (veto !== undefined) {
        job.reject(
          new SubmissionError(veto, `rejected at request slot ${slot}; nothing was written`),
        );
        continue;
      }
      if (this.assignedLsn >= U64_MAX) {
        job.reject(new SubmissionError('lsn_exhausted', 'the log has used every u64 LSN'));
        continue;
      }
      this.assignedLsn += 1n;
      this.assignedSlot = slot;
      job.lsn = this.assignedLsn;
      job.requestSlot = slot;
      sequenced.push(job);
    }
    return sequenced;
  }

  /** The clock's slot, or undefined when the clock misbehaves (throws or returns a non-u64). */
  private readClock(): bigint | undefined {
    try {
      const slot = this.clock();
      return typeof slot === 'bigint' && slot >= 0n && slot <= U64_MAX ? slot : undefined;
    } catch {
      return undefined;
    }
  }

  private applyAll<R>(sequenced: readonly CommitJob<R>[]): void {
    this.batches++;
    this.frames += sequenced.length;
    for (let i = 0; i < sequenced.length; i++) {
      const job = sequenced[i]!;
      let result: R;
      try {
        result = job.apply(job.lsn, job.requestSlot);
      } catch (error) {
        // A durable command the state machine cannot apply: memory no longer matches the log.
        this.halt(error);
        for (const rest of sequenced.slice(i)) {
          rest.reject(
            new SubmissionError(
              'engine_halted',
              'applying a logged command failed; reopen the engine',
              {
                cause: error,
              },
            ),
          );
        }
        throw error;
      }
      job.resolve(result);
    }
    this.faultAt('after_apply', []);
  }

  private failBatch<R>(
    sequenced: readonly CommitJob<R>[],
    what: 'write' | 'fsync',
    cause: unknown,
  ): never {
    this.halt(cause);
    for (const job of sequenced) {
      job.reject(
        new SubmissionError(
          'storage_failure',
          `the WAL ${what} failed; the command may or may not be durable`,
          {
            cause,
          },
        ),
      );
    }
    throw cause;
  }

  /** Runs a fault hook; a hook that throws is a simulated crash of the whole batch. */
  private faultAt<R>(point: FaultPoint, sequenced: readonly CommitJob<R>[]): void {
    if (this.faults === undefined) return;
    try {
      this.faults.at(point);
    } catch (crash) {
      this.halt(crash);
      for (const job of sequenced) {
        job.reject(
          new SubmissionError(
            'storage_failure',
            `stopped at ${point}; the command may or may not be durable`,
            {
              cause: crash,
            },
          ),
        );
      }
      throw crash;
    }
  }

  /** Stops the pipeline for good: queued and later commands fail with `engine_halted`. */
  halt(cause: unknown): void {
    if (this.haltCause !== undefined) return;
    this.haltCause = cause ?? new Error('halted');
    const queued = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const job of queued) {
      job.reject(
        new SubmissionError(
          'engine_halted',
          'the engine halted before this command was written; reopen and retry',
          {
            cause,
          },
        ),
      );
    }
  }

  get haltReason(): unknown {
    return this.haltCause;
  }

  /**
   * Runs `work` with flushing paused after the in-flight flush has finished (checkpoints need the
   * log and the state to stand still). Submissions keep queueing meanwhile.
   */
  async exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    this.pauseDepth++;
    try {
      while (this.flushing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      return await work();
    } finally {
      this.pauseDepth--;
      if (this.pauseDepth === 0 && this.queueDepth > 0) this.scheduleFlush();
    }
  }

  /** Refuses new commands and waits until queued ones are committed. Harmless twice. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || (this.queueDepth > 0 && !this.halted)) {
      this.scheduleFlush();
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  metrics(): CommitPipelineMetrics {
    return {
      queueDepth: this.queueDepth,
      queueCapacity: this.maxQueue,
      batchesCommitted: this.batches,
      framesCommitted: this.frames,
      meanBatchSize: this.batches === 0 ? 0 : this.frames / this.batches,
      lastFsyncMicros: this.fsyncMicros,
      walBytes: this.wal.length,
    };
  }
}
