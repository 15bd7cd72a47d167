/**
 * `AllocDbEngine`: the durable lease allocator. It owns a data directory (`wal`, `snapshot`,
 * `lock`), recovers on open, sequences and group-commits submissions, ticks expirations,
 * checkpoints, and answers reads from memory (engine.md).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  bytesEqual,
  CLIENT_REQUEST_COMMAND_OFFSET,
  encodeClientRequest,
  encodeInternalCommand,
} from '../codec/command-codec.js';
import type { AllocDbConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION, U64_MAX } from '../constants.js';
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
import { AllocDb } from '../state-machine/alloc-db.js';
import type {
  AllocDbMetrics,
  ClientRequest,
  Command,
  OperationRecord,
  Outcome,
  ReservationLookup,
  ReservationMember,
  ResourceRecord,
} from '../types.js';
import { isClientSubmittable, validateClientRequest } from '../validate.js';
import { FenceNotAppliedError } from './errors.js';
import {
  type EngineOptions,
  type ResolvedEngineOptions,
  resolveEngineOptions,
  wallClock,
} from './options.js';
import { allocDbRecoveryHooks } from './recovery.js';

export interface AllocDbEngineOpenOptions {
  /** Data directory; created if missing. */
  readonly dir: string;
  readonly config: AllocDbConfig;
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

export interface SlotReadOptions extends ReadOptions {
  /** Slot at which retention is judged; default: the last applied request slot. */
  readonly currentSlot?: bigint;
}

export interface TickOptions {
  readonly requestSlot?: bigint;
}

export interface TickResult {
  /** The slot the expirations were judged and logged at. */
  readonly requestSlot: bigint;
  /** Reserved leases found past their deadline (at most maxExpirationsPerTick). */
  readonly due: number;
  /** Of those, how many this tick expired (the others changed state meanwhile: noop). */
  readonly expired: number;
}

export interface CheckpointResult {
  readonly snapshotLsn: bigint;
  readonly snapshotBytes: number;
  readonly walBytes: number;
  readonly durationMs: number;
}

export interface AllocDbEngineMetrics {
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly acceptingWrites: boolean;
  readonly recovery: RecoveryStatus;
  readonly core: AllocDbMetrics & {
    readonly expirationBacklog: number;
    readonly logicalSlotLag: bigint;
  };
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
  readonly lastTickError: string | undefined;
}

/** Test seams: an injected file system and fault hooks. Not part of the public API. */
export type EngineSeams = RecoverySeams;

/** Lets tests stop an engine the way a killed process would (no drain, no sync). */
export const simulateCrash: unique symbol = Symbol('allocdb-core simulateCrash');

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
    private readonly db: AllocDb,
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

/** An internal command (a tick's `expire`) in the commit pipeline. */
class InternalJob implements CommitJob<SubmitResult> {
  readonly recordType = RecordType.internal;
  readonly payload: Uint8Array;

  constructor(
    private readonly db: AllocDb,
    private readonly command: Command,
    readonly requestedSlot: bigint,
    private readonly applied: () => void,
  ) {
    this.payload = encodeInternalCommand(command);
  }

  admit(slot: bigint): SubmissionErrorCode | undefined {
    return this.db.wouldValidatedSlotOverflow(slot, this.command, 'internal')
      ? 'slot_overflow'
      : undefined;
  }

  apply(lsn: bigint, requestSlot: bigint): SubmitResult {
    const outcome = this.db.applyValidatedInternal(lsn, requestSlot, this.command);
    this.applied();
    return { lsn, requestSlot, outcome, fromRetryCache: false };
  }
}

function invalid(message: string, cause?: unknown): SubmissionError {
  return new SubmissionError('invalid_request', `${message}; nothing was written`, { cause });
}

function isU64(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= U64_MAX;
}

export class AllocDbEngine {
  readonly dir: string;
  private readonly db: AllocDb;
  private readonly wal: WalFile;
  private readonly lock: DirectoryLock;
  private readonly pipeline: CommitPipeline;
  private readonly options: ResolvedEngineOptions;
  private readonly clock: () => bigint;
  private readonly seams: EngineSeams;
  private readonly recovery: RecoveryStatus;
  /** Requests queued or being flushed, by operationId: an identical one joins instead. */
  private readonly inflight = new Map<bigint, InFlight>();

  private snapshotLsn: bigint;
  private firstFrameAfterSnapshotOffset: number;
  private framesSinceCheckpoint: number;
  private checkpoints = 0;
  private checkpointInFlight: Promise<CheckpointResult> | undefined;
  private lastCheckpointError: string | undefined;
  private tickInFlight: Promise<TickResult> | undefined;
  private lastTickError: string | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    dir: string,
    state: Recovered<AllocDb>,
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
      lastLsn: state.state.lastAppliedLsn,
      lastSlot: state.state.lastRequestSlot,
      faults: seams.faults,
    });
  }

  /** Opens (always recovering) the data directory. */
  static async open(options: AllocDbEngineOpenOptions): Promise<AllocDbEngine> {
    return AllocDbEngine.openWithSeams(options, {});
  }

  /** `open` with test seams. Internal: the package index does not export it. */
  static async openWithSeams(
    options: AllocDbEngineOpenOptions,
    seams: EngineSeams,
  ): Promise<AllocDbEngine> {
    if (typeof options?.dir !== 'string' || options.dir === '') {
      throw new TypeError('AllocDbEngine.open needs { dir: string, config }');
    }
    const resolved = resolveEngineOptions(options.engine);
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new TypeError('clock must be a function returning the current slot as a bigint');
    }
    const clock = options.clock ?? wallClock(resolved.slotDurationMs);
    // Validate the config before touching the disk (throws ConfigError).
    new AllocDb(options.config);
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
        allocDbRecoveryHooks(options.config),
        seams,
      );
      return new AllocDbEngine(options.dir, state, lock, resolved, clock, seams);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  get recoveryStatus(): RecoveryStatus {
    return this.recovery;
  }

  /** The LSN of the last applied command. */
  get lastAppliedLsn(): bigint {
    return this.db.lastAppliedLsn;
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
    if (!isClientSubmittable(request.command.kind)) {
      throw invalid(`'${request.command.kind}' is an internal command; clients cannot submit it`);
    }
    const requestedSlot = options?.requestSlot;
    if (requestedSlot !== undefined && !isU64(requestedSlot)) {
      throw invalid(`requestSlot must be a u64 bigint, got ${String(requestedSlot)}`);
    }
    const payload = encodeClientRequest(request);
    if (payload.length > this.options.maxCommandBytes) {
      throw new SubmissionError(
        'command_too_large',
        `the encoded command is ${payload.length} bytes, over maxCommandBytes ${this.options.maxCommandBytes}; nothing was written`,
      );
    }
    const commandBytes = payload.subarray(CLIENT_REQUEST_COMMAND_OFFSET);
    const slot = this.currentSlot(requestedSlot);
    const cached = this.db.lookupRetry(request.operationId, commandBytes, slot);
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
          lsn: this.db.lastAppliedLsn,
          requestSlot: slot,
          outcome: CONFLICT,
          fromRetryCache: true,
        },
      };
    }
    if (this.db.wouldValidatedSlotOverflow(slot, request.command, 'client')) {
      throw new SubmissionError(
        'slot_overflow',
        `the command's slot arithmetic overflows u64 at slot ${slot}; nothing was written`,
      );
    }
    // From here on the engine works from its own copy, never from the caller's objects, so a
    // request changed after submission cannot make the applied command differ from the logged one.
    return { request: { request: copyRequest(request), payload, commandBytes, requestedSlot } };
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
   * applied; domain failures (`resource_busy`, …) are outcomes. Rejects with `SubmissionError`.
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
  // Expiration, checkpoints

  /**
   * Logs `expire` for reserved leases past their deadline, earliest `(deadline, id)` first, at
   * most `maxExpirationsPerTick`, as one group-committed batch. Ticks run one at a time.
   */
  async tickExpirations(options: TickOptions = {}): Promise<TickResult> {
    const previous = this.tickInFlight;
    const tick = (async () => {
      if (previous !== undefined) await previous.catch(() => undefined);
      return this.tickOnce(options);
    })();
    this.tickInFlight = tick;
    try {
      return await tick;
    } finally {
      if (this.tickInFlight === tick) this.tickInFlight = undefined;
    }
  }

  private async tickOnce(options: TickOptions): Promise<TickResult> {
    this.pipeline.assertAccepting();
    if (options.requestSlot !== undefined && !isU64(options.requestSlot)) {
      throw invalid(`requestSlot must be a u64 bigint, got ${String(options.requestSlot)}`);
    }
    const slot = this.currentSlot(options.requestSlot);
    const due = this.db.dueExpirations(slot, this.options.maxExpirationsPerTick);
    if (due.length === 0) return { requestSlot: slot, due: 0, expired: 0 };
    if (this.pipeline.queueDepth + due.length > this.options.maxSubmissionQueue) {
      throw new SubmissionError(
        'overloaded',
        'the submission queue has no room for this tick; retry later',
      );
    }
    const committed = await Promise.all(
      due.map(({ reservationId, deadlineSlot }) =>
        this.pipeline.enqueue(
          new InternalJob(
            this.db,
            { kind: 'expire', reservationId, deadlineSlot },
            slot,
            this.appliedOne,
          ),
        ),
      ),
    );
    const expired = committed.filter((entry) => entry.outcome.resultCode === 'ok').length;
    return {
      requestSlot: committed[committed.length - 1]?.requestSlot ?? slot,
      due: due.length,
      expired,
    };
  }

  /** Calls `tickExpirations()` every `intervalMs` until `stopTicker()` or `close()`. */
  startTicker(intervalMs: number): void {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
      throw new TypeError(
        `ticker interval must be a positive integer of milliseconds, got ${intervalMs}`,
      );
    }
    this.stopTicker();
    this.ticker = setInterval(() => {
      if (this.tickInFlight !== undefined || !this.pipeline.accepting) return;
      this.tickExpirations().then(
        () => {
          this.lastTickError = undefined;
        },
        (error: Error) => {
          this.lastTickError = error.message;
        },
      );
    }, intervalMs);
    this.ticker.unref();
  }

  stopTicker(): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }

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
        lastAppliedLsn: this.db.lastAppliedLsn,
        lastRequestSlot: this.db.lastRequestSlot,
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
    if (minLsn > this.db.lastAppliedLsn)
      throw new FenceNotAppliedError(minLsn, this.db.lastAppliedLsn);
  }

  private readSlot(options: SlotReadOptions | undefined): bigint {
    return options?.currentSlot ?? this.db.lastRequestSlot;
  }

  getResource(resourceId: bigint, options?: ReadOptions): ResourceRecord | undefined {
    this.assertReadable(options);
    return this.db.getResource(resourceId);
  }

  getReservation(reservationId: bigint, options?: SlotReadOptions): ReservationLookup {
    this.assertReadable(options);
    return this.db.getReservation(reservationId, this.readSlot(options));
  }

  getReservationMembers(reservationId: bigint, options?: ReadOptions): ReservationMember[] {
    this.assertReadable(options);
    return this.db.getReservationMembers(reservationId);
  }

  getOperation(operationId: bigint, options?: SlotReadOptions): OperationRecord | undefined {
    this.assertReadable(options);
    return this.db.getOperation(operationId, this.readSlot(options));
  }

  metrics(): AllocDbEngineMetrics {
    const pipeline = this.pipeline.metrics();
    let now: bigint;
    try {
      now = this.currentSlot(undefined);
    } catch {
      now = this.db.lastRequestSlot;
    }
    return {
      queueDepth: pipeline.queueDepth,
      queueCapacity: pipeline.queueCapacity,
      acceptingWrites: this.pipeline.accepting,
      recovery: this.recovery,
      core: {
        ...this.db.metrics(),
        expirationBacklog: this.db.expirationBacklog(now),
        logicalSlotLag: this.db.logicalSlotLag(now),
      },
      walBytes: pipeline.walBytes,
      framesSinceCheckpoint: this.framesSinceCheckpoint,
      batchesCommitted: pipeline.batchesCommitted,
      framesCommitted: pipeline.framesCommitted,
      meanBatchSize: pipeline.meanBatchSize,
      lastFsyncMicros: pipeline.lastFsyncMicros,
      checkpoints: this.checkpoints,
      snapshotLsn: this.snapshotLsn,
      lastCheckpointError: this.lastCheckpointError,
      lastTickError: this.lastTickError,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  /** Drains the queue, stops the ticker, closes the log and releases the lock. Harmless twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopTicker();
      await this.pipeline.close();
      await this.checkpointInFlight?.catch(() => undefined);
      await this.tickInFlight?.catch(() => undefined);
      this.wal.close();
      this.lock.release();
    })();
    return this.closing;
  }

  /** Tests only: stop as a killed process would, without draining or syncing. */
  [simulateCrash](): void {
    this.stopTicker();
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
  switch (command.kind) {
    case 'create_resource':
      return { kind: command.kind, resourceId: command.resourceId };
    case 'reserve':
      return {
        kind: command.kind,
        resourceId: command.resourceId,
        holderId: command.holderId,
        ttlSlots: command.ttlSlots,
      };
    case 'reserve_bundle':
      return {
        kind: command.kind,
        resourceIds: [...command.resourceIds],
        holderId: command.holderId,
        ttlSlots: command.ttlSlots,
      };
    case 'confirm':
    case 'release':
      return {
        kind: command.kind,
        reservationId: command.reservationId,
        holderId: command.holderId,
        leaseEpoch: command.leaseEpoch,
      };
    case 'revoke':
    case 'reclaim':
      return { kind: command.kind, reservationId: command.reservationId };
    case 'expire':
      return {
        kind: command.kind,
        reservationId: command.reservationId,
        deadlineSlot: command.deadlineSlot,
      };
  }
}
