/**
 * The engine-independent half of a durable engine (engine.md): the data directory and its lock,
 * open = recover, the submission path (validation, the retry cache before logging, joining an
 * identical request in flight, group commit, the synchronous variants), checkpoints and their
 * automatic policy, read fences, metrics, close. An engine (`AllocDbEngine`, `QuotaEngine`)
 * wraps one of these with its public API, its reads and its own commands, and supplies the
 * domain steps through an `EngineDomain`.
 *
 * Part of the copied runtime (see runtime.md): imports nothing outside Node built-ins and
 * `src/runtime/`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writer } from './binary.js';
import { writeCheckpoint } from './checkpoint.js';
import {
  CommitJob,
  CommitPipeline,
  type CommitPipelineMetrics,
  EngineHaltedError,
  SubmissionError,
  type SubmissionErrorCode,
} from './commit-pipeline.js';
import type { ResolvedDurableEngineOptions } from './engine-options.js';
import { acquireDirectoryLock, type DirectoryLock } from './lock-file.js';
import { PayloadSlab } from './payload-slab.js';
import {
  type RecoveryHooks,
  type RecoverySeams,
  type RecoveryStatus,
  recoverDirectory,
  SNAPSHOT_FILE_NAME,
} from './recovery.js';
import { RecordType } from './wal.js';
import type { WalFile } from './wal-file.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** What the operation table answers for a request about to be logged. */
export type RetryLookup<Out> =
  | { readonly status: 'miss' }
  | { readonly status: 'hit'; readonly outcome: Out; readonly appliedLsn: bigint }
  | { readonly status: 'conflict' };

/** What the durable engine needs from a state machine. */
export interface EngineStateMachine<Req, Cmd, Out> {
  lookupRetry(operationId: bigint, commandBytes: Uint8Array, requestSlot: bigint): RetryLookup<Out>;
  wouldValidatedSlotOverflow(
    requestSlot: bigint,
    command: Cmd,
    origin: 'client' | 'internal',
  ): boolean;
  applyValidatedClient(lsn: bigint, requestSlot: bigint, request: Req): Out;
  applyValidatedInternal(lsn: bigint, requestSlot: bigint, command: Cmd): Out;
  /** How the last client apply was answered; `retry_cache` marks a stored outcome. */
  readonly lastClientDisposition: string;
}

/** A client request as the engine sees it: an idempotency key and a command. */
export interface EngineRequest<Cmd> {
  readonly operationId: bigint;
  readonly command: Cmd;
}

/** The domain side of an engine: how to validate, copy, encode, recover and snapshot. */
export interface EngineDomain<Db, Req extends EngineRequest<Cmd>, Cmd, Out, Decoded> {
  readonly snapshotSchemaVersion: number;
  readonly recoveryHooks: RecoveryHooks<Db, Decoded>;
  /** The state's last applied LSN and request slot (0 before the first command). */
  watermarks(db: Db): { readonly lsn: bigint; readonly slot: bigint };
  encodeSnapshotBody(db: Db): Uint8Array;
  /** Throws an Error whose message says what is wrong when `request` is not a valid request. */
  validateRequest(request: unknown): void;
  /** Why clients may not submit this (valid) request, if they may not (an internal command). */
  refuseFromClients(request: Req): string | undefined;
  /** A private copy holding exactly the fields the codec writes. */
  copyRequest(request: Req): Req;
  /** Writes the request's WAL payload; its command's canonical bytes start at `commandOffset`. */
  writeRequest(writer: Writer, request: Req): void;
  readonly commandOffset: number;
  encodeInternalCommand(command: Cmd): Uint8Array;
  /** The outcome of a different command under a live operation id. */
  readonly conflictOutcome: Out;
}

export interface SubmitOptions {
  /** The request slot to use instead of the clock's (raised to the last one assigned). */
  readonly requestSlot?: bigint;
}

export interface SubmitResult<Out> {
  /** LSN of the command; for an answer from the retry cache, the LSN of the original. */
  readonly lsn: bigint;
  /** The request slot the command ran at (for a cached answer: the slot it was looked up at). */
  readonly requestSlot: bigint;
  readonly outcome: Out;
  /** True when the answer is a stored outcome: the command did not execute again. */
  readonly fromRetryCache: boolean;
}

export interface ReadOptions {
  /** Strict read: fails with FenceNotAppliedError unless this LSN is applied. */
  readonly minLsn?: bigint;
}

export interface CheckpointResult {
  readonly snapshotLsn: bigint;
  readonly snapshotBytes: number;
  readonly walBytes: number;
  readonly durationMs: number;
}

/** The engine-independent metrics of engine.md; engines add their state machine's. */
export interface DurableEngineMetrics {
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly acceptingWrites: boolean;
  readonly recovery: RecoveryStatus;
  readonly walBytes: number;
  readonly framesSinceCheckpoint: number;
  readonly batchesCommitted: number;
  readonly framesCommitted: number;
  readonly meanBatchSize: number;
  readonly lastFsyncMicros: number;
  readonly checkpoints: number;
  /** LSN of the snapshot on disk (0 when there is none). */
  readonly snapshotLsn: bigint;
  readonly lastCheckpointError: string | undefined;
}

/** Test seams: an injected file system and fault hooks. Not part of any public API. */
export type EngineSeams = RecoverySeams;

/** A strict read asked for an LSN that is not applied yet. */
export class FenceNotAppliedError extends Error {
  readonly code = 'fence_not_applied';
  readonly minLsn: bigint;
  readonly appliedLsn: bigint;
  constructor(minLsn: bigint, appliedLsn: bigint) {
    super(
      `lsn ${minLsn} is not applied yet (last applied: ${appliedLsn}); retry the read after it commits`,
    );
    this.name = 'FenceNotAppliedError';
    this.minLsn = minLsn;
    this.appliedLsn = appliedLsn;
  }
}

export interface OpenDurableEngine<Db, Req extends EngineRequest<Cmd>, Cmd, Out, Decoded> {
  readonly dir: string;
  readonly domain: EngineDomain<Db, Req, Cmd, Out, Decoded>;
  readonly options: ResolvedDurableEngineOptions;
  readonly clock: () => bigint;
  readonly seams: EngineSeams;
}

function isU64(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= U64_MAX;
}

function invalid(message: string, cause?: unknown): SubmissionError {
  return new SubmissionError('invalid_request', `${message}; nothing was written`, { cause });
}

/** What `prepare` decided: an answer without logging, or a job to log. */
type Prepared<Req, Cmd, Out> =
  | { readonly answer: SubmitResult<Out>; readonly job?: undefined }
  | { readonly answer?: undefined; readonly job: ClientJob<Req, Cmd, Out> };

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A client command in the commit pipeline: the engine's copy of the request and its logged
 * bytes. While queued or being flushed it is also the in-flight entry under its operation id, so
 * that an identical request joins it (`promise`) instead of being logged twice.
 */
class ClientJob<Req, Cmd, Out> extends CommitJob<SubmitResult<Out>> {
  readonly recordType = RecordType.client;
  /** The job's answer, once queued. */
  promise: Promise<SubmitResult<Out>> | undefined;

  constructor(
    private readonly engine: JobHost<Req, Cmd, Out>,
    readonly request: Req & EngineRequest<Cmd>,
    readonly payload: Uint8Array,
    /** The canonical command bytes (dedupe compares these). */
    readonly commandBytes: Uint8Array,
    readonly requestedSlot: bigint | undefined,
  ) {
    super();
  }

  admit(slot: bigint): SubmissionErrorCode | undefined {
    return this.engine.db.wouldValidatedSlotOverflow(slot, this.request.command, 'client')
      ? 'slot_overflow'
      : undefined;
  }

  apply(lsn: bigint, requestSlot: bigint): SubmitResult<Out> {
    const db = this.engine.db;
    const outcome = db.applyValidatedClient(lsn, requestSlot, this.request);
    this.engine.applied();
    return {
      lsn,
      requestSlot,
      outcome,
      fromRetryCache: db.lastClientDisposition === 'retry_cache',
    };
  }

  override settled(): void {
    this.engine.forget(this);
  }
}

/** An internal command (the allocator's `expire`) in the commit pipeline. */
class InternalJob<Req, Cmd, Out> extends CommitJob<SubmitResult<Out>> {
  readonly recordType = RecordType.internal;

  constructor(
    private readonly engine: JobHost<Req, Cmd, Out>,
    private readonly command: Cmd,
    readonly payload: Uint8Array,
    readonly requestedSlot: bigint,
  ) {
    super();
  }

  admit(slot: bigint): SubmissionErrorCode | undefined {
    return this.engine.db.wouldValidatedSlotOverflow(slot, this.command, 'internal')
      ? 'slot_overflow'
      : undefined;
  }

  apply(lsn: bigint, requestSlot: bigint): SubmitResult<Out> {
    const outcome = this.engine.db.applyValidatedInternal(lsn, requestSlot, this.command);
    this.engine.applied();
    return { lsn, requestSlot, outcome, fromRetryCache: false };
  }
}

/** What a job needs from its engine. */
interface JobHost<Req, Cmd, Out> {
  readonly db: EngineStateMachine<Req, Cmd, Out>;
  /** Counts an applied command (the automatic checkpoint policy). */
  applied(): void;
  /** Removes a settled job from the in-flight entries. */
  forget(job: ClientJob<Req, Cmd, Out>): void;
}

export class DurableEngine<
  Db extends EngineStateMachine<Req, Cmd, Out>,
  Req extends EngineRequest<Cmd>,
  Cmd,
  Out,
  Decoded,
> {
  readonly dir: string;
  /** The state machine; engines read from it after `assertReadable`. */
  readonly db: Db;
  readonly recoveryStatus: RecoveryStatus;
  private readonly domain: EngineDomain<Db, Req, Cmd, Out, Decoded>;
  private readonly wal: WalFile;
  private readonly lock: DirectoryLock;
  private readonly pipeline: CommitPipeline;
  private readonly options: ResolvedDurableEngineOptions;
  private readonly clock: () => bigint;
  private readonly seams: EngineSeams;
  /** Requests queued or being flushed, by operationId: an identical one joins instead. */
  private readonly inflight = new Map<bigint, ClientJob<Req, Cmd, Out>>();
  /** What jobs see of this engine (one object shared by every job). */
  private readonly host: JobHost<Req, Cmd, Out>;
  /** Encodes each submission's payload, which is then copied into `payloads`. */
  private readonly payloadWriter = new Writer();
  /** Where submitted payloads live until they are written and applied. */
  private readonly payloads = new PayloadSlab();

  private snapshotLsn: bigint;
  private firstFrameAfterSnapshotOffset: number;
  private framesSinceCheckpoint: number;
  private checkpoints = 0;
  private checkpointInFlight: Promise<CheckpointResult> | undefined;
  private lastCheckpointError: string | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    open: OpenDurableEngine<Db, Req, Cmd, Out, Decoded>,
    recovered: ReturnType<typeof recoverDirectory<Db, Decoded>>,
    lock: DirectoryLock,
  ) {
    if (recovered.wal === undefined) throw new Error('recovery for writing always opens the log');
    this.dir = open.dir;
    this.domain = open.domain;
    this.options = open.options;
    this.clock = open.clock;
    this.seams = open.seams;
    this.db = recovered.state;
    const inflight = this.inflight;
    this.host = {
      db: recovered.state,
      applied: () => this.afterApply(),
      forget: (job) => {
        if (inflight.get(job.request.operationId) === job) inflight.delete(job.request.operationId);
      },
    };
    this.wal = recovered.wal;
    this.lock = lock;
    this.recoveryStatus = recovered.status;
    this.snapshotLsn = recovered.snapshotLsn;
    this.firstFrameAfterSnapshotOffset = recovered.firstFrameAfterSnapshotOffset;
    this.framesSinceCheckpoint = recovered.status.replayedFrames;
    const { lsn, slot } = open.domain.watermarks(recovered.state);
    this.pipeline = new CommitPipeline(this.wal, {
      maxQueue: open.options.maxSubmissionQueue,
      maxBatch: open.options.maxBatch,
      clock: open.clock,
      lastLsn: lsn,
      lastSlot: slot,
      faults: open.seams.faults,
    });
  }

  /** Creates the directory if needed, takes its lock, and recovers. */
  static open<
    Db extends EngineStateMachine<Req, Cmd, Out>,
    Req extends EngineRequest<Cmd>,
    Cmd,
    Out,
    Decoded,
  >(
    open: OpenDurableEngine<Db, Req, Cmd, Out, Decoded>,
  ): DurableEngine<Db, Req, Cmd, Out, Decoded> {
    mkdirSync(open.dir, { recursive: true });
    const lock = acquireDirectoryLock(open.dir);
    try {
      const recovered = recoverDirectory(
        {
          dir: open.dir,
          maxCommandBytes: open.options.maxCommandBytes,
          maxSnapshotBytes: open.options.maxSnapshotBytes,
          snapshotSchemaVersion: open.domain.snapshotSchemaVersion,
        },
        open.domain.recoveryHooks,
        open.seams,
      );
      return new DurableEngine(open, recovered, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** The LSN of the last applied command (0 before the first). */
  get lastAppliedLsn(): bigint {
    return this.domain.watermarks(this.db).lsn;
  }

  /** The request slot of the last applied command (0 before the first). */
  get lastRequestSlot(): bigint {
    return this.domain.watermarks(this.db).slot;
  }

  get halted(): boolean {
    return this.pipeline.halted;
  }

  /** Throws the SubmissionError a new command would get now (closed or halted), if any. */
  assertAccepting(): void {
    this.pipeline.assertAccepting();
  }

  get accepting(): boolean {
    return this.pipeline.accepting;
  }

  // -------------------------------------------------------------------------------------------
  // Submitting

  /** Validates, answers from the retry cache, or prepares a request for the log. */
  private prepare(request: Req, options: SubmitOptions | undefined): Prepared<Req, Cmd, Out> {
    this.pipeline.assertAccepting();
    try {
      this.domain.validateRequest(request);
    } catch (error) {
      throw invalid((error as Error).message, error);
    }
    const refusal = this.domain.refuseFromClients(request);
    if (refusal !== undefined) throw invalid(refusal);
    const requestedSlot = options?.requestSlot;
    if (requestedSlot !== undefined && !isU64(requestedSlot)) {
      throw invalid(`requestSlot must be a u64 bigint, got ${String(requestedSlot)}`);
    }
    // From here on the engine works from its own copy, never from the caller's objects, so a
    // request changed after submission cannot make the applied command differ from the logged one.
    const copy = this.domain.copyRequest(request);
    const writer = this.payloadWriter;
    writer.reset();
    this.domain.writeRequest(writer, copy);
    if (writer.length > this.options.maxCommandBytes) {
      throw new SubmissionError(
        'command_too_large',
        `the encoded command is ${writer.length} bytes, over maxCommandBytes ${this.options.maxCommandBytes}; nothing was written`,
      );
    }
    const payload = this.payloads.copy(writer.written());
    const commandBytes = payload.subarray(this.domain.commandOffset);
    const slot = this.currentSlot(requestedSlot);
    const cached = this.db.lookupRetry(copy.operationId, commandBytes, slot);
    if (cached.status === 'hit') {
      return {
        answer: {
          lsn: cached.appliedLsn,
          requestSlot: slot,
          outcome: cached.outcome,
          fromRetryCache: true,
        },
      };
    }
    if (cached.status === 'conflict') {
      return {
        answer: {
          lsn: this.lastAppliedLsn,
          requestSlot: slot,
          outcome: this.domain.conflictOutcome,
          fromRetryCache: true,
        },
      };
    }
    if (this.db.wouldValidatedSlotOverflow(slot, copy.command, 'client')) {
      throw new SubmissionError(
        'slot_overflow',
        `the command's slot arithmetic overflows u64 at slot ${slot}; nothing was written`,
      );
    }
    return { job: new ClientJob(this.host, copy, payload, commandBytes, requestedSlot) };
  }

  /**
   * The slot a command submitted now would get: the caller's or the clock's, never below the last
   * one assigned (the pipeline may raise it further). A broken clock is `invalid_request`.
   */
  currentSlot(requested: bigint | undefined): bigint {
    let slot = requested;
    if (slot === undefined) {
      try {
        slot = this.clock();
      } catch {
        slot = undefined;
      }
      if (!isU64(slot))
        throw invalid(`the engine clock returned ${String(slot)}, not a u64 bigint slot`);
    }
    return slot < this.pipeline.lastSlot ? this.pipeline.lastSlot : slot;
  }

  /** `currentSlot(undefined)`, or the last assigned slot when the clock misbehaves. */
  nowSlot(): bigint {
    try {
      return this.currentSlot(undefined);
    } catch {
      return this.pipeline.lastSlot;
    }
  }

  /**
   * Submits a client request through group commit. Resolves once the command is durable and
   * applied; domain failures are outcomes. Rejects with `SubmissionError`.
   */
  submit(request: Req, options?: SubmitOptions): Promise<SubmitResult<Out>> {
    try {
      const { answer, job } = this.prepare(request, options);
      if (job === undefined) return Promise.resolve(answer);
      const operationId = job.request.operationId;
      const inflight = this.inflight.get(operationId);
      if (inflight?.promise !== undefined && bytesEqual(inflight.commandBytes, job.commandBytes)) {
        return inflight.promise;
      }
      // A different command under an in-flight operationId is logged too (and not registered):
      // the state machine answers it (operation_conflict, or executes it if the first one was not
      // recorded). Otherwise the job is registered before it is queued, so that a refusal while
      // queueing (which settles it at once) removes it again.
      if (inflight === undefined) this.inflight.set(operationId, job);
      job.promise = this.pipeline.enqueue(job);
      return job.promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Submits one request synchronously: one write and one fdatasync. Throws SubmissionError. */
  submitSync(request: Req, options?: SubmitOptions): SubmitResult<Out> {
    const [result] = this.submitBatchSync([request], options);
    if (result instanceof SubmissionError) throw result;
    return result!;
  }

  /**
   * Submits requests synchronously as one batch: one write and one fdatasync for all that pass
   * validation. Each entry is a result or the definite `SubmissionError` of that request; an
   * indefinite failure (storage) is thrown.
   */
  submitBatchSync(
    requests: readonly Req[],
    options?: SubmitOptions,
  ): (SubmitResult<Out> | SubmissionError)[] {
    const results: (SubmitResult<Out> | SubmissionError)[] = new Array(requests.length);
    const jobs: ClientJob<Req, Cmd, Out>[] = [];
    const positions: number[] = [];
    requests.forEach((request, index) => {
      try {
        const { answer, job } = this.prepare(request, options);
        if (job === undefined) {
          results[index] = answer;
          return;
        }
        jobs.push(job);
        positions.push(index);
      } catch (error) {
        if (error instanceof SubmissionError && error.definite) results[index] = error;
        else throw error;
      }
    });
    if (jobs.length > 0) {
      this.pipeline.commitSync(jobs).forEach((entry, i) => {
        results[positions[i]!] = entry;
      });
    }
    return results;
  }

  /**
   * Logs trusted internal commands at `requestSlot` as one group-committed batch (they are queued
   * together, so they flush together). Refuses with `overloaded` unless the queue has room for
   * all of them.
   */
  submitInternal(commands: readonly Cmd[], requestSlot: bigint): Promise<SubmitResult<Out>[]> {
    try {
      this.pipeline.assertAccepting();
      if (this.pipeline.queueDepth + commands.length > this.options.maxSubmissionQueue) {
        throw new SubmissionError(
          'overloaded',
          'the submission queue has no room for these commands; retry later',
        );
      }
      return Promise.all(
        commands.map((command) =>
          this.pipeline.enqueue(
            new InternalJob(
              this.host,
              command,
              this.domain.encodeInternalCommand(command),
              requestSlot,
            ),
          ),
        ),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Checkpoints

  /**
   * Snapshots the state, writes the snapshot file crash-safely, then rewrites the WAL keeping
   * only frames after the previous snapshot plus a marker for this one. Concurrent calls share
   * one checkpoint.
   */
  checkpoint(): Promise<CheckpointResult> {
    if (this.checkpointInFlight !== undefined) return this.checkpointInFlight;
    const run = this.pipeline.exclusive(() => this.checkpointNow());
    this.checkpointInFlight = run;
    const done = () => {
      if (this.checkpointInFlight === run) this.checkpointInFlight = undefined;
    };
    run.then(done, done);
    return run;
  }

  private checkpointNow(): CheckpointResult {
    if (this.pipeline.halted) throw new EngineHaltedError(this.pipeline.haltReason);
    const started = performance.now();
    try {
      const { lsn, slot } = this.domain.watermarks(this.db);
      const snapshotBytes = writeCheckpoint({
        wal: this.wal,
        snapshotPath: join(this.dir, SNAPSHOT_FILE_NAME),
        header: {
          schemaVersion: this.domain.snapshotSchemaVersion,
          lastAppliedLsn: lsn,
          lastRequestSlot: slot,
        },
        body: this.domain.encodeSnapshotBody(this.db),
        previousSnapshotTailOffset: this.firstFrameAfterSnapshotOffset,
        maxSnapshotBytes: this.options.maxSnapshotBytes,
        seams: this.seams,
      });
      this.snapshotLsn = lsn;
      this.firstFrameAfterSnapshotOffset = this.wal.length;
      this.framesSinceCheckpoint = 0;
      this.checkpoints++;
      this.lastCheckpointError = undefined;
      this.seams.faults?.at('after_wal_rewrite');
      return {
        snapshotLsn: lsn,
        snapshotBytes,
        walBytes: this.wal.length,
        durationMs: performance.now() - started,
      };
    } catch (error) {
      this.lastCheckpointError = (error as Error).message;
      // A snapshot that failed to write leaves the WAL intact: the engine stays healthy. A WAL
      // rewrite that failed after its rename leaves no usable log handle: halt.
      if (!this.wal.writable) this.pipeline.halt(error);
      throw error;
    }
  }

  private afterApply(): void {
    this.framesSinceCheckpoint++;
    const policy = this.options.checkpointPolicy;
    if (policy === undefined || this.checkpointInFlight !== undefined) return;
    const dueByFrames =
      policy.everyFrames !== undefined && this.framesSinceCheckpoint >= policy.everyFrames;
    const dueByBytes =
      policy.everyBytes !== undefined &&
      this.wal.length - this.firstFrameAfterSnapshotOffset >= policy.everyBytes;
    if (dueByFrames || dueByBytes) {
      // Runs after the current flush (exclusive waits for it); failures are reported in metrics.
      this.checkpoint().catch(() => undefined);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reads, metrics, closing

  /** Throws `EngineHaltedError` on a halted engine and `FenceNotAppliedError` below `minLsn`. */
  assertReadable(options: ReadOptions | undefined): void {
    if (this.pipeline.halted) throw new EngineHaltedError(this.pipeline.haltReason);
    const minLsn = options?.minLsn;
    if (minLsn === undefined) return;
    if (!isU64(minLsn)) throw new TypeError(`minLsn must be a u64 bigint, got ${String(minLsn)}`);
    const applied = this.lastAppliedLsn;
    if (minLsn > applied) throw new FenceNotAppliedError(minLsn, applied);
  }

  metrics(): DurableEngineMetrics {
    const pipeline: CommitPipelineMetrics = this.pipeline.metrics();
    return {
      queueDepth: pipeline.queueDepth,
      queueCapacity: pipeline.queueCapacity,
      acceptingWrites: this.pipeline.accepting,
      recovery: this.recoveryStatus,
      walBytes: pipeline.walBytes,
      framesSinceCheckpoint: this.framesSinceCheckpoint,
      batchesCommitted: pipeline.batchesCommitted,
      framesCommitted: pipeline.framesCommitted,
      meanBatchSize: pipeline.meanBatchSize,
      lastFsyncMicros: pipeline.lastFsyncMicros,
      checkpoints: this.checkpoints,
      snapshotLsn: this.snapshotLsn,
      lastCheckpointError: this.lastCheckpointError,
    };
  }

  /**
   * Drains the queue, waits for a running checkpoint and for `settle` (the engine's own work,
   * such as a tick), closes the log and releases the lock. Harmless twice.
   */
  close(settle?: () => Promise<unknown> | undefined): Promise<void> {
    this.closing ??= (async () => {
      await this.pipeline.close();
      await this.checkpointInFlight?.catch(() => undefined);
      await settle?.()?.catch(() => undefined);
      this.wal.close();
      this.lock.release();
    })();
    return this.closing;
  }

  /** Tests only: stop as a killed process would, without draining or syncing. */
  crash(): void {
    this.pipeline.halt(new Error('simulated crash'));
    this.wal.close();
    this.lock.release();
    this.closing ??= Promise.resolve();
  }
}
