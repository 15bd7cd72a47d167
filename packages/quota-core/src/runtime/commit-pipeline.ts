/**
 * The sequencer and group-commit pipeline of a durable engine.
 *
 * Commands wait in a bounded ring. A flush takes up to `maxBatch` of them in arrival order,
 * gives each the next LSN and its request slot (from the caller or the clock, never below the
 * last one assigned), writes all their frames with one write and one fdatasync, and only then
 * applies them, in order, settling each one with its result. A command is durable before it is
 * applied, so replaying the log rebuilds exactly what callers were told.
 *
 * Asynchronous submissions (`enqueue`) and synchronous ones (`commitSync`) run the same batch
 * steps (`batchSteps`); only the driver differs, one awaiting each I/O, the other not.
 *
 * A failed write or fsync is never retried in place: the pipeline halts, the commands of that
 * batch fail with `storage_failure` (indefinite: they may or may not be durable), every queued
 * and later command fails with `engine_halted`, and only reopening (which recovers from disk)
 * brings the engine back.
 *
 * The pipeline knows nothing of any domain: it moves `CommitJob`s, which carry their encoded
 * payload and say how to vet themselves at their final slot and how to apply themselves.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { assert } from './assert.js';
import { PackageError } from './package-error.js';
import type { RecordType, WalFrame } from './wal.js';

/**
 * Where a batch goes before it is applied: the engine's `WalFile`, or a replicated log in front
 * of it (`replicated-wal.ts`). `append` and `sync` each either complete or throw; a throw halts
 * the pipeline.
 */
export interface PipelineLog {
  append(frames: readonly WalFrame[]): Promise<unknown>;
  appendSync(frames: readonly WalFrame[]): unknown;
  sync(): Promise<void>;
  syncSync(): void;
  /** Bytes in the local log. */
  readonly length: number;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

export type SubmissionErrorCode =
  | 'invalid_request'
  | 'command_too_large'
  | 'slot_overflow'
  | 'slot_behind'
  | 'slot_ahead'
  | 'overloaded'
  | 'async_in_flight'
  | 'lsn_exhausted'
  | 'log_full'
  | 'engine_closed'
  | 'storage_failure'
  | 'engine_halted'
  | 'no_writer'
  | 'forward_failed';

/** Whether a failure is definite (never written: safe to treat as not executed). */
const DEFINITE: Record<SubmissionErrorCode, boolean> = {
  invalid_request: true,
  command_too_large: true,
  slot_overflow: true,
  slot_behind: true,
  slot_ahead: true,
  overloaded: true,
  async_in_flight: true,
  lsn_exhausted: true,
  log_full: true,
  engine_closed: true,
  storage_failure: false,
  engine_halted: false,
  // A cluster node's submission forwarded to the writer (docs/cluster.md): no writer took it,
  // or the writer did not answer in time (it may have run).
  no_writer: true,
  forward_failed: false,
};

/**
 * A submission that did not produce an outcome. `definite` tells whether it certainly was not
 * executed; when false, reopen the engine and retry with the same operationId.
 */
export class SubmissionError extends PackageError {
  declare readonly code: SubmissionErrorCode;
  readonly definite: boolean;
  constructor(code: SubmissionErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, `${code}: ${message}`, options);
    this.definite = DEFINITE[code];
  }
}

/** A read or checkpoint on an engine that halted after a failure; reopen it. */
export class EngineHaltedError extends PackageError {
  declare readonly code: 'engine_halted';
  constructor(cause: unknown) {
    super(
      'engine_halted',
      `the engine halted after a failure (${cause instanceof Error ? cause.message : String(cause)}); ` +
        'close it and open the directory again, which recovers from disk',
      { cause },
    );
  }
}

/** A read, checkpoint or tick on a closed engine; nothing was read or written. */
export class EngineClosedError extends PackageError {
  declare readonly code: 'engine_closed';
  constructor(what: string) {
    super(
      'engine_closed',
      `engine_closed: ${what} on a closed engine; nothing was read or written. Open the directory again to use it`,
    );
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
  /** Refuse with `slot_behind` instead of raising a requested slot below the last assigned one. */
  abstract readonly strictSlot: boolean;
  /** Set by the pipeline when the command is sequenced. */
  lsn = 0n;
  requestSlot = 0n;
  private onResolve: ((result: R) => void) | undefined;
  private onReject: ((error: SubmissionError) => void) | undefined;

  /** Vets the command at its final slot before it is logged; a code rejects it, definitely. */
  abstract admit(requestSlot: bigint): SubmissionErrorCode | undefined;
  /** Applies the command once it is durable (at `lsn`, `requestSlot`); returns the answer. */
  abstract apply(): R;
  /** Called once the command is settled either way (lets the engine forget in-flight state). */
  settled(): void {}

  /** Where the answer goes (the pipeline sets it when the job is queued or committed). */
  answerTo(onResolve: (result: R) => void, onReject: (error: SubmissionError) => void): void {
    this.onResolve = onResolve;
    this.onReject = onReject;
  }

  /**
   * The job's answer once settled: its result or its error (a synchronous commit reads it here
   * instead of registering callbacks).
   */
  answer: R | SubmissionError | undefined;

  resolve(result: R): void {
    this.answer = result;
    this.settled();
    this.onResolve?.(result);
  }

  reject(error: SubmissionError): void {
    this.answer = error;
    this.settled();
    this.onReject?.(error);
  }
}

export interface CommitPipelineOptions {
  readonly maxQueue: number;
  readonly maxBatch: number;
  /** The current slot; called at most once per batch. */
  readonly clock: () => bigint;
  /** The last LSN and slot applied before the pipeline starts (undefined: none yet). */
  readonly lastLsn: bigint | undefined;
  readonly lastSlot: bigint | undefined;
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

/**
 * The settling functions of the promise being created: `enqueue` hands one shared executor to
 * the Promise constructor (no closure per command) and picks them up right after.
 */
let capturedResolve: ((result: unknown) => void) | undefined;
let capturedReject: ((error: SubmissionError) => void) | undefined;
function captureSettlers(
  resolve: (result: never) => void,
  reject: (error: SubmissionError) => void,
): void {
  capturedResolve = resolve as (result: unknown) => void;
  capturedReject = reject;
}

/** An I/O step of a batch, performed by a driver; the driver answers with the error, if any. */
type BatchIo = 'write' | 'sync';

export class CommitPipeline {
  private readonly wal: PipelineLog;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly clock: () => bigint;
  private readonly faults: FaultHooks | undefined;

  /** The queue: a ring of `maxQueue` entries, `count` of them from `head`. */
  private readonly ring: (CommitJob<unknown> | undefined)[];
  private head = 0;
  private count = 0;
  /** The batch being flushed (reused: one flush runs at a time). */
  private readonly batch: CommitJob<unknown>[] = [];
  private flushing = false;
  private flushScheduled = false;
  private pauseDepth = 0;
  private idleWaiters: (() => void)[] = [];
  private haltCause: unknown;
  private closed = false;

  /** The last LSN and slot given to a command, and the last LSN applied (0: none yet). */
  private assignedLsn: bigint;
  private assignedSlot: bigint;
  private appliedLsn: bigint;
  private batches = 0;
  private frames = 0;
  private fsyncMicros = 0;

  constructor(wal: PipelineLog, options: CommitPipelineOptions) {
    assert(
      options.maxQueue >= 1 && options.maxBatch >= 1,
      'the queue and batch limits are positive',
    );
    this.wal = wal;
    this.maxQueue = options.maxQueue;
    this.maxBatch = options.maxBatch;
    this.clock = options.clock;
    this.faults = options.faults;
    this.ring = new Array<CommitJob<unknown> | undefined>(options.maxQueue).fill(undefined);
    this.assignedLsn = options.lastLsn ?? 0n;
    this.assignedSlot = options.lastSlot ?? 0n;
    this.appliedLsn = this.assignedLsn;
  }

  /** The last request slot given to a command (0 before the first). */
  get lastSlot(): bigint {
    return this.assignedSlot;
  }

  get halted(): boolean {
    return this.haltCause !== undefined;
  }

  get haltReason(): unknown {
    return this.haltCause;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get accepting(): boolean {
    return !this.halted && !this.closed;
  }

  get queueDepth(): number {
    return this.count;
  }

  /** Whether a synchronous commit may run now: nothing queued, flushing or paused. */
  get idle(): boolean {
    return !this.flushing && this.count === 0 && this.pauseDepth === 0;
  }

  /** The error a new submission would get right now, if any. */
  refusal(): SubmissionError | undefined {
    if (this.haltCause !== undefined) {
      return new SubmissionError(
        'engine_halted',
        'the engine halted after a storage failure; reopen it',
        { cause: this.haltCause },
      );
    }
    if (this.closed) return new SubmissionError('engine_closed', 'the engine is closed');
    return undefined;
  }

  /** Queues a command for the next group commit; resolves with what its `apply` returns. */
  enqueue<R>(job: CommitJob<R>): Promise<R> {
    const refused = this.refusal();
    if (refused !== undefined) {
      job.settled();
      return Promise.reject(refused);
    }
    if (this.count >= this.maxQueue) {
      // Settled at once: the refused command leaves nothing behind (no in-flight entry).
      job.settled();
      return Promise.reject(
        new SubmissionError(
          'overloaded',
          `the submission queue is full (${this.maxQueue}); nothing was written; retry later`,
        ),
      );
    }
    const promise = new Promise<R>(captureSettlers);
    job.answerTo(capturedResolve as (result: R) => void, capturedReject!);
    capturedResolve = undefined;
    capturedReject = undefined;
    let tail = this.head + this.count;
    if (tail >= this.maxQueue) tail -= this.maxQueue;
    this.ring[tail] = job as CommitJob<unknown>;
    this.count++;
    this.scheduleFlush();
    return promise;
  }

  /**
   * Queues several commands at once, in order and contiguous in the queue, for the next group
   * commit, without a promise each: every job is settled through its own `resolve` or `reject`
   * (its `answer` and `settled()`), which is how a batch submission collects its answers. Jobs
   * past the queue's room are rejected `overloaded` (definite), each on its own; so are all of
   * them on a halted or closed pipeline, with its refusal. One flush is scheduled for all.
   */
  enqueueAll<R>(jobs: readonly CommitJob<R>[]): void {
    const refused = this.refusal();
    let queued = 0;
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      if (refused !== undefined) {
        job.reject(refused);
        continue;
      }
      if (this.count >= this.maxQueue) {
        job.reject(
          new SubmissionError(
            'overloaded',
            `the submission queue is full (${this.maxQueue}); nothing was written; retry later`,
          ),
        );
        continue;
      }
      let tail = this.head + this.count;
      if (tail >= this.maxQueue) tail -= this.maxQueue;
      this.ring[tail] = job as CommitJob<unknown>;
      this.count++;
      queued++;
    }
    if (queued > 0) this.scheduleFlush();
  }

  /**
   * Commits `jobs` now, synchronously: one write and one fdatasync for all of them, settling each
   * job (its `answer`, and `answerTo` if set) before returning. Only while the asynchronous pipeline is idle, since both
   * share one sequence of LSNs: otherwise `async_in_flight` (a programmer error; nothing done).
   */
  commitSync<R>(jobs: readonly CommitJob<R>[]): void {
    const refused = this.refusal();
    if (refused !== undefined) throw refused;
    if (!this.idle) {
      throw new SubmissionError(
        'async_in_flight',
        `${this.count} asynchronous submissions are queued or being flushed; await them (or use submit) before a synchronous submission; nothing was written`,
      );
    }
    assert(jobs.length <= this.maxBatch, 'a synchronous batch is within maxBatch');
    const batch = this.batch;
    batch.length = 0;
    for (const job of jobs) batch.push(job as CommitJob<unknown>);
    this.flushing = true;
    try {
      const steps = this.batchSteps();
      let step = steps.next();
      while (step.done !== true) step = steps.next(this.performSync(step.value));
    } finally {
      this.flushing = false;
      batch.length = 0;
    }
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
      while (this.count > 0 && this.pauseDepth === 0 && this.haltCause === undefined) {
        this.takeBatch();
        const steps = this.batchSteps();
        let step = steps.next();
        while (step.done !== true) step = steps.next(await this.perform(step.value));
        this.batch.length = 0;
      }
    } finally {
      this.flushing = false;
      if (this.count === 0 || this.haltCause !== undefined || this.pauseDepth > 0) {
        for (const wake of this.idleWaiters.splice(0)) wake();
      } else {
        this.scheduleFlush();
      }
    }
  }

  /** Moves up to `maxBatch` jobs from the front of the ring into `batch`. */
  private takeBatch(): void {
    const batch = this.batch;
    batch.length = 0;
    const n = Math.min(this.count, this.maxBatch);
    for (let i = 0; i < n; i++) {
      batch.push(this.ring[this.head]!);
      this.ring[this.head] = undefined;
      this.head = this.head + 1 === this.maxQueue ? 0 : this.head + 1;
    }
    this.count -= n;
    assert(batch.length >= 1 && batch.length <= this.maxBatch, 'a batch holds 1..maxBatch jobs');
  }

  /**
   * The steps of one batch, shared by the asynchronous and the synchronous driver: sequence,
   * write, fdatasync, apply. Each `yield` is an I/O the driver performs; it answers with the
   * error the I/O raised, or undefined. A failure settles every job and halts; nothing throws.
   */
  private *batchSteps(): Generator<BatchIo, void, unknown> {
    const sequenced = this.sequence();
    if (sequenced === 0) return;
    if (!this.reach('before_append')) return;
    const writeError = yield 'write';
    if (writeError !== undefined) return this.failBatch('write', writeError);
    if (!this.reach('after_append')) return;
    const started = process.hrtime.bigint();
    const syncError = yield 'sync';
    if (syncError !== undefined) return this.failBatch('fsync', syncError);
    this.fsyncMicros = Number(process.hrtime.bigint() - started) / 1000;
    if (!this.reach('after_sync')) return;
    this.applyAll();
  }

  private performSync(io: BatchIo): unknown {
    try {
      if (io === 'write') this.wal.appendSync(this.batch);
      else this.wal.syncSync();
      return undefined;
    } catch (error) {
      return error ?? new Error(`the WAL ${io} failed`);
    }
  }

  private async perform(io: BatchIo): Promise<unknown> {
    try {
      if (io === 'write') await this.wal.append(this.batch);
      else await this.wal.sync();
      return undefined;
    } catch (error) {
      return error ?? new Error(`the WAL ${io} failed`);
    }
  }

  /**
   * Gives LSNs and slots to the batch in arrival order, keeping in `batch` only the commands to
   * log (compacted in place). Commands vetoed at their final slot (or that would exhaust the LSN
   * space, or whose strict slot is behind) are rejected definitely and get no LSN. Returns how
   * many remain.
   */
  private sequence(): number {
    const batch = this.batch;
    let kept = 0;
    let clockSlot: bigint | undefined;
    for (let i = 0; i < batch.length; i++) {
      const job = batch[i]!;
      let slot = job.requestedSlot;
      if (slot === undefined) {
        clockSlot ??= this.readClock();
        if (clockSlot === undefined) {
          job.reject(
            new SubmissionError(
              'invalid_request',
              'the engine clock did not return a u64 bigint slot; nothing was written',
            ),
          );
          continue;
        }
        slot = clockSlot;
      }
      if (slot < this.assignedSlot) {
        if (job.strictSlot) {
          job.reject(
            new SubmissionError(
              'slot_behind',
              `requestSlot ${slot} is below the engine's current slot ${this.assignedSlot}; nothing was written`,
            ),
          );
          continue;
        }
        slot = this.assignedSlot;
      }
      const veto = job.admit(slot);
      if (veto !== undefined) {
        job.reject(
          new SubmissionError(veto, `rejected at request slot ${slot}; nothing was written`),
        );
        continue;
      }
      if (this.assignedLsn >= U64_MAX) {
        job.reject(
          new SubmissionError(
            'lsn_exhausted',
            'the log has used every u64 LSN; nothing was written',
          ),
        );
        continue;
      }
      assert(slot >= this.assignedSlot, 'request slots never decrease');
      this.assignedLsn += 1n;
      this.assignedSlot = slot;
      job.lsn = this.assignedLsn;
      job.requestSlot = slot;
      batch[kept++] = job;
    }
    batch.length = kept;
    return kept;
  }

  /** The clock's slot, or undefined when the clock misbehaves (throws or returns a non-u64). */
  private readClock(): bigint | undefined {
    let slot: unknown;
    try {
      slot = this.clock();
    } catch {
      // A clock that throws is reported like one that returns garbage: invalid_request.
      return undefined;
    }
    return typeof slot === 'bigint' && slot >= 0n && slot <= U64_MAX ? slot : undefined;
  }

  /** Applies the durable batch in order and settles each job with its answer. */
  private applyAll(): void {
    const batch = this.batch;
    this.batches++;
    this.frames += batch.length;
    // `sequence` gave the batch consecutive LSNs; checked once per batch (bigint arithmetic per
    // command would allocate), with each job above the one before.
    assert(
      batch[0]!.lsn === this.appliedLsn + 1n &&
        batch[batch.length - 1]!.lsn - batch[0]!.lsn === BigInt(batch.length - 1),
      'applied LSNs rise by one',
    );
    for (let i = 0; i < batch.length; i++) {
      const job = batch[i]!;
      assert(job.lsn > this.appliedLsn, 'applied LSNs rise by one');
      let result: unknown;
      try {
        result = job.apply();
      } catch (error) {
        // A durable command the state machine cannot apply: memory no longer matches the log.
        this.halt(error);
        for (let j = i; j < batch.length; j++) {
          batch[j]!.reject(
            new SubmissionError(
              'engine_halted',
              'applying a logged command failed; reopen the engine',
              { cause: error },
            ),
          );
        }
        return;
      }
      this.appliedLsn = job.lsn;
      job.resolve(result);
    }
    this.reach('after_apply');
  }

  /** Halts after a failed write or fsync: the batch's outcome is unknown (indefinite). */
  private failBatch(what: 'write' | 'fsync', cause: unknown): void {
    this.halt(cause);
    for (const job of this.batch) {
      job.reject(
        new SubmissionError(
          'storage_failure',
          `the WAL ${what} failed; the command may or may not be durable`,
          { cause },
        ),
      );
    }
  }

  /**
   * Runs a fault hook; a hook that throws is a simulated crash of the whole batch: the pipeline
   * halts and the batch's jobs fail as indefinite. Returns whether the batch may go on.
   */
  private reach(point: FaultPoint): boolean {
    if (this.faults === undefined) return true;
    try {
      this.faults.at(point);
      return true;
    } catch (crash) {
      this.halt(crash);
      for (const job of this.batch) {
        if (job.lsn > this.appliedLsn) {
          job.reject(
            new SubmissionError(
              'storage_failure',
              `stopped at ${point}; the command may or may not be durable`,
              { cause: crash },
            ),
          );
        }
      }
      return false;
    }
  }

  /** Stops the pipeline for good: queued and later commands fail with `engine_halted`. */
  halt(cause: unknown): void {
    if (this.haltCause !== undefined) return;
    this.haltCause = cause ?? new Error('halted');
    while (this.count > 0) {
      const job = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = this.head + 1 === this.maxQueue ? 0 : this.head + 1;
      this.count--;
      job.reject(
        new SubmissionError(
          'engine_halted',
          'the engine halted before this command was written; reopen and retry',
          { cause },
        ),
      );
    }
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
      if (this.pauseDepth === 0 && this.count > 0) this.scheduleFlush();
    }
  }

  /** Refuses new commands and waits until queued ones are committed. Harmless twice. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || (this.count > 0 && !this.halted)) {
      this.scheduleFlush();
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  metrics(): CommitPipelineMetrics {
    return {
      queueDepth: this.count,
      queueCapacity: this.maxQueue,
      batchesCommitted: this.batches,
      framesCommitted: this.frames,
      meanBatchSize: this.batches === 0 ? 0 : this.frames / this.batches,
      lastFsyncMicros: this.fsyncMicros,
      walBytes: this.wal.length,
    };
  }
}
