/**
 * `QuotaEngine`: the durable quota engine. It owns a data directory (`wal`, `snapshot`,
 * `lock`), recovers on open, sequences and group-commits submissions, checkpoints, and answers
 * reads from memory (engine.md). Unlike the allocator it has no expiration tick: refill is
 * computed from each bucket's stored state and the command's request slot.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  bytesEqual,
  CLIENT_REQUEST_COMMAND_OFFSET,
  writeClientRequest,
} from '../codec/command-codec.js';
import type { QuotaConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION, U64_MAX } from '../constants.js';
import { Writer } from '../runtime/binary.js';
import { writeCheckpoint } from '../runtime/checkpoint.js';
import {
  type CommitJob,
  CommitPipeline,
  EngineHaltedError,
  SubmissionError,
  type SubmissionErrorCode,
} from '../runtime/commit-pipeline.js';
import { acquireDirectoryLock, type DirectoryLock } from '../runtime/lock-file.js';
import {
  type Recovered,
  type RecoverySeams,
  type RecoveryStatus,
  recoverDirectory,
  SNAPSHOT_FILE_NAME,
} from '../runtime/recovery.js';
import { RecordType } from '../runtime/wal.js';
import type { WalFile } from '../runtime/wal-file.js';
import { encodeSnapshotBody } from '../snapshot/body-codec.js';
import { QuotaDb } from '../state-machine/quota-db.js';
import type {
  BucketRecord,
  ClientRequest,
  Command,
  OperationRecord,
  Outcome,
  QuotaDbMetrics,
} from '../types.js';
import { validateClientRequest } from '../validate.js';
import { FenceNotAppliedError } from './errors.js';
import {
  type EngineOptions,
  type ResolvedEngineOptions,
  resolveEngineOptions,
  wallClock,
} from './options.js';
import { PayloadSlab } from './payload-slab.js';
import { quotaRecoveryHooks } from './recovery.js';

export interface QuotaEngineOpenOptions {
  /** Data directory; created if missing. */
  readonly dir: string;
  readonly config: QuotaConfig;
  readonly engine?: EngineOptions;
  /** The current slot; default: wall-clock milliseconds divided by `slotDurationMs`. */
  readonly clock?: () => bigint;
}

export interface SubmitOptions {
  /** The request slot to use instead of the clock's (raised to the last one assigned). */
  readonly requestSlot?: bigint;
}

export interface SubmitResult {
  /** LSN of the command; for an answer from the retry cache, the LSN of the original. */
  readonly lsn: bigint;
  /** The request slot the command ran at (for a cached answer: the slot it was looked up at). */
  readonly requestSlot: bigint;
  readonly outcome: Outcome;
  /** True when the answer is a stored outcome: the command did not execute again. */
  readonly fromRetryCache: boolean;
}

export interface ReadOptions {
  /** Strict read: fails with FenceNotAppliedError unless this LSN is applied. */
  readonly minLsn?: bigint;
}

export interface BalanceReadOptions extends ReadOptions {
  /** The slot to show the balance at; default: the engine's current slot (its clock). */
  readonly slot?: bigint;
}

export interface SlotReadOptions extends ReadOptions {
  /** Slot at which retention is judged; default: the last applied request slot. */
  readonly currentSlot?: bigint;
}

export interface CheckpointResult {
  readonly snapshotLsn: bigint;
  readonly snapshotBytes: number;
  readonly walBytes: number;
  readonly durationMs: number;
}

export interface QuotaEngineMetrics {
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly acceptingWrites: boolean;
  readonly recovery: RecoveryStatus;
  readonly core: QuotaDbMetrics & { readonly logicalSlotLag: bigint };
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

/** Test seams: an injected file system and fault hooks. Not part of the public API. */
export type EngineSeams = RecoverySeams;

/** Lets tests stop an engine the way a killed process would (no drain, no sync). */
export const simulateCrash: unique symbol = Symbol('quota-core simulateCrash');

/** A validated client request ready for the log: the engine's own copy and its bytes. */
interface PreparedRequest {
  readonly request: ClientRequest;
  readonly payload: Uint8Array;
  /** The canonical command bytes (dedupe compares these). */
  readonly commandBytes: Uint8Array;
  readonly requestedSlot: bigint | undefined;
}

interface InFlight {
  readonly commandBytes: Uint8Array;
  promise: Promise<SubmitResult> | undefined;
}

type Prepared = { readonly answer: SubmitResult } | { readonly request: PreparedRequest };

/** A client command in the commit pipeline. */
class ClientJob implements CommitJob<SubmitResult> {
  readonly recordType = RecordType.client;
  readonly payload: Uint8Array;
  readonly requestedSlot: bigint | undefined;

  constructor(
    private readonly db: QuotaDb,
    private readonly request: ClientRequest,
    prepared: PreparedRequest,
    private readonly applied: () => void,
    readonly settled: (() => void) | undefined,
  ) {
    this.payload = prepared.payload;
    this.requestedSlot = prepared.requestedSlot;
  }

  admit(slot: bigint): SubmissionErrorCode | undefined {
    return this.db.wouldValidatedSlotOverflow(slot, this.request.command, 'client')
      ? 'slot_overflow'
      : undefined;
  }

  apply(lsn: bigint, requestSlot: bigint): SubmitResult {
    const outcome = this.db.applyValidatedClient(lsn, requestSlot, this.request);
    this.applied();
    return {
      lsn,
      requestSlot,
      outcome,
      fromRetryCache: this.db.lastClientDisposition === 'retry_cache',
    };
  }
}

function invalid(message: string, cause?: unknown): SubmissionError {
  return new SubmissionError('invalid_request', `${message}; nothing was written`, { cause });
}

function isU64(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= U64_MAX;
}

export class QuotaEngine {
  readonly dir: string;
  private readonly db: QuotaDb;
  private readonly wal: WalFile;
  private readonly lock: DirectoryLock;
  private readonly pipeline: CommitPipeline;
  private readonly options: ResolvedEngineOptions;
  private readonly clock: () => bigint;
  private readonly seams: EngineSeams;
  private readonly recovery: RecoveryStatus;
  /** Requests queued or being flushed, by operationId: an identical one joins instead. */
  private readonly inflight = new Map<bigint, InFlight>();
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
    dir: string,
    state: Recovered<QuotaDb>,
    lock: DirectoryLock,
    options: ResolvedEngineOptions,
    clock: () => bigint,
    seams: EngineSeams,
  ) {
    this.dir = dir;
    if (state.wal === undefined) throw new Error('recovery for writing always opens the log');
    this.db = state.state;
    this.wal = state.wal;
    this.lock = lock;
    this.options = options;
    this.clock = clock;
    this.seams = seams;
    this.recovery = state.status;
    this.snapshotLsn = state.snapshotLsn;
    this.firstFrameAfterSnapshotOffset = state.firstFrameAfterSnapshotOffset;
    this.framesSinceCheckpoint = state.status.replayedFrames;
    this.pipeline = new CommitPipeline(this.wal, {
      maxQueue: options.maxSubmissionQueue,
      maxBatch: options.maxBatch,
      clock,
      lastLsn: state.state.lastAppliedLsn ?? 0n,
      lastSlot: state.state.lastRequestSlot ?? 0n,
      faults: seams.faults,
    });
  }

  /** Opens (always recovering) the data directory. */
  static async open(options: QuotaEngineOpenOptions): Promise<QuotaEngine> {
    return QuotaEngine.openWithSeams(options, {});
  }

  /** `open` with test seams. Internal: the package index does not export it. */
  static async openWithSeams(
    options: QuotaEngineOpenOptions,
    seams: EngineSeams,
  ): Promise<QuotaEngine> {
    if (typeof options?.dir !== 'string' || options.dir === '') {
      throw new TypeError('QuotaEngine.open needs { dir: string, config }');
    }
    const resolved = resolveEngineOptions(options.engine);
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new TypeError('clock must be a function returning the current slot as a bigint');
    }
    const clock = options.clock ?? wallClock(resolved.slotDurationMs);
    // Validate the config before touching the disk (throws ConfigError).
    new QuotaDb(options.config);
    mkdirSync(options.dir, { recursive: true });
    const lock = acquireDirectoryLock(options.dir);
    try {
      const state = recoverDirectory(
        {
          dir: options.dir,
          maxCommandBytes: resolved.maxCommandBytes,
          maxSnapshotBytes: resolved.maxSnapshotBytes,
          snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
        },
        quotaRecoveryHooks(options.config),
        seams,
      );
      return new QuotaEngine(options.dir, state, lock, resolved, clock, seams);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  get recoveryStatus(): RecoveryStatus {
    return this.recovery;
  }

  /** The LSN of the last applied command (0 before the first). */
  get lastAppliedLsn(): bigint {
    return this.db.lastAppliedLsn ?? 0n;
  }

  // -------------------------------------------------------------------------------------------
  // Submitting

  /** Validates, answers from the retry cache, or prepares a request for the log. */
  private prepare(request: ClientRequest, options: SubmitOptions | undefined): Prepared {
    this.pipeline.assertAccepting();
    try {
      validateClientRequest(request);
    } catch (error) {
      throw invalid((error as Error).message, error);
    }
    const requestedSlot = options?.requestSlot;
    if (requestedSlot !== undefined && !isU64(requestedSlot)) {
      throw invalid(`requestSlot must be a u64 bigint, got ${String(requestedSlot)}`);
    }
    // From here on the engine works from its own copy, never from the caller's objects, so a
    // request changed after submission cannot make the applied command differ from the logged one.
    const copy = copyRequest(request);
    const writer = this.payloadWriter;
    writer.reset();
    writeClientRequest(writer, copy);
    if (writer.length > this.options.maxCommandBytes) {
      throw new SubmissionError(
        'command_too_large',
        `the encoded command is ${writer.length} bytes, over maxCommandBytes ${this.options.maxCommandBytes}; nothing was written`,
      );
    }
    const payload = this.payloads.copy(writer.written());
    const commandBytes = payload.subarray(CLIENT_REQUEST_COMMAND_OFFSET);
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
          outcome: CONFLICT,
          fromRetryCache: true,
        },
      };
    }
    if (this.db.wouldValidatedSlotOverflow(slot, copy.command, 'client')) {
      throw new SubmissionError(
        'slot_overflow',
        `the command's retry window overflows u64 at slot ${slot}; nothing was written`,
      );
    }
    return { request: { request: copy, payload, commandBytes, requestedSlot } };
  }

  /** The slot a command submitted now would get (before the pipeline raises it further). */
  private currentSlot(requested: bigint | undefined): bigint {
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

  /**
   * Submits a client request through group commit. Resolves once the command is durable and
   * applied; domain failures (`insufficient_funds`, …) are outcomes. Rejects with
   * `SubmissionError`.
   */
  submit(request: ClientRequest, options?: SubmitOptions): Promise<SubmitResult> {
    try {
      const prepared = this.prepare(request, options);
      if ('answer' in prepared) return Promise.resolve(prepared.answer);
      const { operationId } = prepared.request.request;
      const inflight = this.inflight.get(operationId);
      if (
        inflight?.promise !== undefined &&
        bytesEqual(inflight.commandBytes, prepared.request.commandBytes)
      ) {
        return inflight.promise;
      }
      // A different command under an in-flight operationId is logged too: the state machine
      // answers it (operation_conflict, or executes it if the first one was not recorded).
      if (inflight !== undefined)
        return this.pipeline.enqueue(this.clientJob(prepared.request, undefined));
      const entry: InFlight = { commandBytes: prepared.request.commandBytes, promise: undefined };
      const forget = () => {
        if (this.inflight.get(operationId) === entry) this.inflight.delete(operationId);
      };
      const promise = this.pipeline.enqueue(this.clientJob(prepared.request, forget));
      entry.promise = promise;
      this.inflight.set(operationId, entry);
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private clientJob(prepared: PreparedRequest, settled: (() => void) | undefined): ClientJob {
    return new ClientJob(this.db, prepared.request, prepared, this.appliedOne, settled);
  }

  /** Submits one request synchronously: one write and one fdatasync. Throws SubmissionError. */
  submitSync(request: ClientRequest, options?: SubmitOptions): SubmitResult {
    const [result] = this.submitBatchSync([request], options);
    if (result instanceof SubmissionError) throw result;
    return result!;
  }

  /**
   * Submits requests synchronously as one batch: one write and one fdatasync for all that pass
   * validation. Each entry is a result or the definite `SubmissionError` of that request;
   * an indefinite failure (storage) is thrown.
   */
  submitBatchSync(
    requests: readonly ClientRequest[],
    options?: SubmitOptions,
  ): (SubmitResult | SubmissionError)[] {
    const results: (SubmitResult | SubmissionError)[] = new Array(requests.length);
    const jobs: ClientJob[] = [];
    const positions: number[] = [];
    requests.forEach((request, index) => {
      try {
        const prepared = this.prepare(request, options);
        if ('answer' in prepared) {
          results[index] = prepared.answer;
          return;
        }
        jobs.push(this.clientJob(prepared.request, undefined));
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
      const header = {
        schemaVersion: SNAPSHOT_SCHEMA_VERSION,
        lastAppliedLsn: this.db.lastAppliedLsn ?? 0n,
        lastRequestSlot: this.db.lastRequestSlot ?? 0n,
      };
      const snapshotBytes = writeCheckpoint({
        wal: this.wal,
        snapshotPath: join(this.dir, SNAPSHOT_FILE_NAME),
        header,
        body: encodeSnapshotBody(this.db.snapshot()),
        previousSnapshotTailOffset: this.firstFrameAfterSnapshotOffset,
        maxSnapshotBytes: this.options.maxSnapshotBytes,
        seams: this.seams,
      });
      const result = { snapshotLsn: header.lastAppliedLsn, snapshotBytes };
      this.snapshotLsn = result.snapshotLsn;
      this.firstFrameAfterSnapshotOffset = this.wal.length;
      this.framesSinceCheckpoint = 0;
      this.checkpoints++;
      this.lastCheckpointError = undefined;
      return { ...result, walBytes: this.wal.length, durationMs: performance.now() - started };
    } catch (error) {
      this.lastCheckpointError = (error as Error).message;
      // A snapshot that failed to write leaves the WAL intact: the engine stays healthy. A WAL
      // rewrite that failed after its rename leaves no usable log handle: halt.
      if (!this.wal.writable) this.pipeline.halt(error);
      throw error;
    }
  }

  /** Called after every applied command (bound once: the hot path allocates no closure). */
  private readonly appliedOne = (): void => this.afterApply();

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
  // Reads

  private assertReadable(options: ReadOptions | undefined): void {
    if (this.pipeline.halted) throw new EngineHaltedError(this.pipeline.haltReason);
    const minLsn = options?.minLsn;
    if (minLsn === undefined) return;
    if (!isU64(minLsn)) throw new TypeError(`minLsn must be a u64 bigint, got ${String(minLsn)}`);
    if (minLsn > this.lastAppliedLsn) throw new FenceNotAppliedError(minLsn, this.lastAppliedLsn);
  }

  /** The slot a read without one is judged at: the clock, never below the last assigned slot. */
  private nowSlot(): bigint {
    try {
      return this.currentSlot(undefined);
    } catch {
      return this.pipeline.lastSlot;
    }
  }

  /** The stored bucket record (balance as of its lastRefillSlot), or undefined. */
  getBucket(bucketId: bigint, options?: ReadOptions): BucketRecord | undefined {
    this.assertReadable(options);
    return this.db.getBucket(bucketId);
  }

  /**
   * The bucket as it would be after refilling to `options.slot` (default: the engine's current
   * slot), without logging or changing anything: the balance a debit submitted now would see.
   */
  getBucketAt(bucketId: bigint, options?: BalanceReadOptions): BucketRecord | undefined {
    this.assertReadable(options);
    return this.db.getBucketAt(bucketId, options?.slot ?? this.nowSlot());
  }

  /** The operation record if it is live at `options.currentSlot` (default: the last applied). */
  getOperation(operationId: bigint, options?: SlotReadOptions): OperationRecord | undefined {
    this.assertReadable(options);
    return this.db.getOperation(operationId, options?.currentSlot ?? this.db.lastRequestSlot ?? 0n);
  }

  metrics(): QuotaEngineMetrics {
    const pipeline = this.pipeline.metrics();
    return {
      queueDepth: pipeline.queueDepth,
      queueCapacity: pipeline.queueCapacity,
      acceptingWrites: this.pipeline.accepting,
      recovery: this.recovery,
      core: { ...this.db.metrics(), logicalSlotLag: this.db.logicalSlotLag(this.nowSlot()) },
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

  // -------------------------------------------------------------------------------------------
  // Closing

  /** Drains the queue, closes the log and releases the lock. Harmless twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.pipeline.close();
      await this.checkpointInFlight?.catch(() => undefined);
      this.wal.close();
      this.lock.release();
    })();
    return this.closing;
  }

  /** Tests only: stop as a killed process would, without draining or syncing. */
  [simulateCrash](): void {
    this.pipeline.halt(new Error('simulated crash'));
    this.wal.close();
    this.lock.release();
    this.closing ??= Promise.resolve();
  }
}

const CONFLICT: Outcome = Object.freeze({ resultCode: 'operation_conflict' });

/** The engine's private copy of a validated request (every field the codec writes, nothing else). */
function copyRequest(request: ClientRequest): ClientRequest {
  return {
    operationId: request.operationId,
    clientId: request.clientId,
    command: copyCommand(request.command),
  };
}

function copyCommand(command: Command): Command {
  return command.kind === 'debit'
    ? { kind: 'debit', bucketId: command.bucketId, amount: command.amount }
    : {
        kind: 'create_bucket',
        bucketId: command.bucketId,
        limit: command.limit,
        initialBalance: command.initialBalance,
        refillRatePerSlot: command.refillRatePerSlot,
      };
}
