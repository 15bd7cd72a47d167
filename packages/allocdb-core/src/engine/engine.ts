/**
 * `AllocDbEngine`: the durable lease allocator (docs/engine.md). It owns a data directory
 * (`config`, `wal`, `snapshot`, `lock`), recovers on open, sequences and group-commits
 * submissions through the runtime's commit pipeline, ticks expirations, checkpoints, and answers
 * reads from memory.
 *
 * Opening (lock, recorded configuration, recovery, capacity growth) is `open.ts`; when and how a
 * checkpoint runs is `checkpoints.ts`. This file is the engine's public surface: submitting,
 * the expiration tick, reads, metrics and closing.
 */
import {
  CLIENT_REQUEST_COMMAND_OFFSET,
  encodeInternalCommand,
  writeClientRequestParts,
} from '../codec/command-codec.js';
import type { AllocDbConfig } from '../config.js';
import { U64_MAX } from '../constants.js';
import {
  EngineClosedError,
  EngineHaltedError,
  FenceNotAppliedError,
  SubmissionError,
} from '../errors.js';
import { AssertionError } from '../runtime/assert.js';
import { Writer } from '../runtime/binary.js';
import { CommitPipeline } from '../runtime/commit-pipeline.js';
import { FixedMap } from '../runtime/fixed-map.js';
import { countKeys, findUnknownKey, quoteKey, unknownKeyHint } from '../runtime/known-keys.js';
import type { DirectoryLock } from '../runtime/lock-file.js';
import { PayloadSlab } from '../runtime/payload-slab.js';
import type { WalFrame } from '../runtime/wal.js';
import type { WalFile } from '../runtime/wal-file.js';
import type { AllocDb } from '../state-machine/alloc-db.js';
import type {
  AllocDbMetrics,
  ClientRequest,
  ClientRequestOf,
  Command,
  CommandKind,
  OperationRecord,
  Outcome,
  OutcomeOf,
  ReservationLookup,
  ReservationMember,
  ResourceRecord,
} from '../types.js';
import { isClientSubmittable, validateSubmission } from '../validate.js';
import {
  type CheckpointEvent,
  type CheckpointHealth,
  type CheckpointResult,
  Checkpoints,
} from './checkpoints.js';
import type { RecordedConfig } from './directory.js';
import {
  ClientJob,
  copyCommand,
  ExpireJob,
  type JobHost,
  ReplicaJob,
  SubmitGroup,
  type SubmitResult,
} from './jobs.js';
import { type Opened, openDirectory } from './open.js';
import type {
  AllocDbEngineOpenOptions,
  CheckpointPolicy,
  ResolvedEngineOptions,
} from './options.js';
import type { EngineSeams, OpenProgress, RecoveryStatus } from './recovery.js';

export type { SubmitResult };

export interface SubmitOptions {
  /** The request slot to use instead of the clock's. Raised to the engine's current slot. */
  readonly requestSlot?: bigint;
  /**
   * Refuse with `slot_behind` (definite: nothing written) instead of raising a `requestSlot`
   * below the engine's current slot, for callers that compute deadlines from their own slot.
   */
  readonly strictSlot?: boolean;
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

export interface AllocDbEngineMetrics {
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly acceptingWrites: boolean;
  readonly closed: boolean;
  readonly recovery: RecoveryStatus;
  readonly walBytes: number;
  readonly framesSinceCheckpoint: number;
  readonly batchesCommitted: number;
  readonly framesCommitted: number;
  readonly meanBatchSize: number;
  readonly lastFsyncMicros: number;
  readonly checkpoints: number;
  /**
   * Whether a checkpoint is running. Submissions go on meanwhile (docs/engine.md,
   * "Checkpoints"); `close()` waits for it.
   */
  readonly checkpointInProgress: boolean;
  /** LSN of the snapshot on disk (0 when there is none). */
  readonly snapshotLsn: bigint;
  readonly lastCheckpointError: string | undefined;
  /** Checkpoints that failed in a row (0 after a success); docs/engine.md, "When checkpoints fail". */
  readonly checkpointFailures: number;
  /** The log's hard limit (`engine.maxWalBytes`), or undefined for none. */
  readonly maxWalBytes: number | undefined;
  readonly core: AllocDbMetrics & {
    readonly expirationBacklog: number;
    readonly logicalSlotLag: bigint;
  };
  readonly lastTickError: string | undefined;
}

/** What `health()` answers. */
export interface EngineHealth extends CheckpointHealth {
  readonly status: 'ok' | 'degraded' | 'halted' | 'closed';
}

export type {
  AllocDbEngineOpenOptions,
  CheckpointEvent,
  CheckpointPolicy,
  CheckpointResult,
  EngineSeams,
  OpenProgress,
  RecoveryStatus,
};

const SUBMIT_OPTION_KEYS = ['requestSlot', 'strictSlot'] as const;

const CONFLICT: Outcome = Object.freeze({ resultCode: 'operation_conflict' });

/** What a submission's options come to. */
interface SlotChoice {
  /** The caller's slot; undefined means the clock's. */
  readonly requestedSlot: bigint | undefined;
  readonly strictSlot: boolean;
  /** The slot a command submitted now would get (the pipeline may raise it further). */
  readonly slot: bigint;
}

/** A batch's encoded payloads above this many bytes are not kept for the next batch. */
const BATCH_WRITER_KEEP_BYTES = 1 << 20;

/** One entry of a prepared batch. */
type Prepared = ClientJob | SubmitResult | SubmissionError;

function isU64(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= U64_MAX;
}

function invalid(message: string, cause?: unknown): SubmissionError {
  return new SubmissionError('invalid_request', `${message}; nothing was written`, { cause });
}

/** Validates a client request; throws its definite `invalid_request`. */
function validateRequest(request: ClientRequest): void {
  try {
    validateSubmission(request);
  } catch (error) {
    throw invalid((error as Error).message, error);
  }
  if (!isClientSubmittable(request.command.kind)) {
    throw invalid(`'${request.command.kind}' is an internal command; clients cannot submit it`);
  }
}

export class AllocDbEngine {
  readonly dir: string;
  readonly recoveryStatus: RecoveryStatus;
  private readonly recorded: RecordedConfig;
  private readonly db: AllocDb;
  private readonly wal: WalFile;
  private readonly lock: DirectoryLock;
  private readonly pipeline: CommitPipeline;
  private readonly options: ResolvedEngineOptions & { readonly maxCommandBytes: number };
  private readonly clock: () => bigint;
  /**
   * Requests queued or being flushed, by operationId: an identical one joins instead. At most
   * `maxSubmissionQueue` are queued and `maxBatch` flushing, and a new request is registered
   * before the queue may refuse it (`overloaded`), so one more entry than those two never fills
   * the table.
   */
  private readonly inflight: FixedMap<ClientJob>;
  /** What jobs see of this engine (one object shared by every job). */
  private readonly host: JobHost;
  /** Encodes each submission's payload, which is then copied into `payloads`. */
  private readonly payloadWriter = new Writer();
  /** Encodes a batch's payloads one after the other (one copy for the whole batch). */
  private batchWriter = new Writer();
  /** Where submitted payloads live until they are written and applied. */
  private readonly payloads = new PayloadSlab();

  /** Checkpoint scheduling: the policy, the running checkpoint, its figures. */
  private readonly checkpoints: Checkpoints;
  private closing: Promise<void> | undefined;
  private tickInFlight: Promise<TickResult> | undefined;
  private lastTickError: string | undefined;
  private ticker: NodeJS.Timeout | undefined;

  private constructor(opened: Opened) {
    this.dir = opened.dir;
    this.recorded = opened.recorded;
    this.options = opened.options;
    this.clock = opened.clock;
    this.lock = opened.lock;
    this.db = opened.db;
    this.wal = opened.wal;
    this.recoveryStatus = opened.status;
    const inflight = new FixedMap<ClientJob>(
      opened.options.maxSubmissionQueue + opened.options.maxBatch + 1,
    );
    this.inflight = inflight;
    this.host = {
      db: opened.db,
      applied: () => this.checkpoints.applied(),
      forget: (job) => {
        if (job.registered) inflight.remove(job.operationId);
      },
    };
    this.pipeline = new CommitPipeline(opened.seams.pipelineLog?.(opened.wal) ?? opened.wal, {
      maxQueue: opened.options.maxSubmissionQueue,
      maxBatch: opened.options.maxBatch,
      clock: opened.clock,
      lastLsn: opened.db.lastAppliedLsn,
      lastSlot: opened.db.lastRequestSlot,
      faults: opened.seams.faults,
    });
    this.checkpoints = new Checkpoints(
      { ...opened, pipeline: this.pipeline, closing: () => this.closing !== undefined },
      {
        snapshotLsn: opened.snapshotLsn,
        firstFrameAfterSnapshotOffset: opened.firstFrameAfterSnapshotOffset,
        framesSinceCheckpoint: opened.status.replayedFrames,
      },
    );
  }

  /**
   * Opens the data directory (created if missing), takes its lock and recovers. The directory's
   * recorded configuration is read first: `config` may be omitted (the recorded one is used) or
   * partial; a requested value that differs from the recorded one is a `ConfigMismatchError`
   * unless every difference grows a capacity and `allowCapacityGrowth` is true.
   */
  static async open(options: AllocDbEngineOpenOptions): Promise<AllocDbEngine> {
    return AllocDbEngine.openWithSeams(options, {});
  }

  /** @internal `open` with test seams (the `allocdb-core/testing` entry point). */
  static async openWithSeams(
    options: AllocDbEngineOpenOptions,
    seams: EngineSeams,
  ): Promise<AllocDbEngine> {
    return new AllocDbEngine(await openDirectory(options, seams));
  }

  /** The configuration the directory recorded, which this engine runs with. */
  get config(): AllocDbConfig {
    return this.recorded.config;
  }

  /** The LSN of the last applied command (0 before the first). */
  get lastAppliedLsn(): bigint {
    return this.db.lastAppliedLsn ?? 0n;
  }

  /** The most requests one `submitBatch` or `submitBatchSync` takes (`engine.maxBatch`). */
  get maxBatch(): number {
    return this.options.maxBatch;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** @internal The state machine, for tests (the `allocdb-core/testing` entry point). */
  get stateMachine(): AllocDb {
    return this.db;
  }

  // -------------------------------------------------------------------------------------------
  // Submitting

  /**
   * Validates, answers from the retry cache (a `SubmitResult`), or prepares a request for the log
   * (a `ClientJob`).
   */
  private prepare(
    request: ClientRequest,
    options: SubmitOptions | undefined,
  ): ClientJob | SubmitResult {
    const refused = this.pipeline.refusal();
    if (refused !== undefined) throw refused;
    validateRequest(request);
    const choice = this.slotChoice(options);
    // From here on the engine works from its own copy, never from the caller's objects, so a
    // request changed after submission cannot make the applied command differ from the logged one.
    const operationId = request.operationId;
    const clientId = request.clientId;
    const command = copyCommand(request.command);
    const writer = this.payloadWriter;
    writer.reset();
    writeClientRequestParts(writer, operationId, clientId, command);
    const large = this.tooLarge(writer.length);
    if (large !== undefined) throw large;
    const payload = this.payloads.copy(writer.written());
    return this.admitEncoded(operationId, clientId, command, payload, choice);
  }

  /**
   * What a submission's options come to: the caller's slot or the clock's, whether it is strict,
   * and the slot a command submitted now would get. Throws the definite `SubmissionError` every
   * request under these options gets.
   */
  private slotChoice(options: SubmitOptions | undefined): SlotChoice {
    let requestedSlot: bigint | undefined;
    let strictSlot = false;
    if (options !== undefined) {
      requestedSlot = options.requestSlot;
      if (requestedSlot !== undefined && !isU64(requestedSlot)) {
        throw invalid(`requestSlot must be a u64 bigint, got ${String(requestedSlot)}`);
      }
      if (countKeys(options) > 0) {
        const unknown = findUnknownKey(options, SUBMIT_OPTION_KEYS);
        if (unknown !== undefined) {
          throw invalid(
            `${quoteKey(unknown)} is not a submit option; ${unknownKeyHint(unknown, SUBMIT_OPTION_KEYS)}`,
          );
        }
      }
      const strict = options.strictSlot ?? false;
      if (typeof strict !== 'boolean') {
        throw invalid(`strictSlot must be true or false, got ${String(strict)}`);
      }
      strictSlot = strict;
    }
    const slot = this.currentSlot(requestedSlot);
    if (strictSlot && requestedSlot !== undefined && requestedSlot < slot) {
      throw new SubmissionError(
        'slot_behind',
        `requestSlot ${requestedSlot} is below the engine's current slot ${slot}; nothing was written`,
      );
    }
    return { requestedSlot, strictSlot, slot };
  }

  /** The refusal of an encoded request of `length` bytes, if it is over `maxCommandBytes`. */
  private tooLarge(length: number): SubmissionError | undefined {
    if (length <= this.options.maxCommandBytes) return undefined;
    return new SubmissionError(
      'command_too_large',
      `the encoded command is ${length} bytes, over maxCommandBytes ${this.options.maxCommandBytes}; nothing was written`,
    );
  }

  /**
   * A validated request whose logged bytes are `payload` (the engine's own): its answer from the
   * retry cache, or a job for the log. Throws its definite `SubmissionError`.
   */
  private admitEncoded(
    operationId: bigint,
    clientId: bigint,
    command: Command,
    payload: Uint8Array,
    choice: SlotChoice,
  ): ClientJob | SubmitResult {
    const slot = choice.slot;
    const cached = this.db.lookupEncodedRetry(
      operationId,
      payload,
      CLIENT_REQUEST_COMMAND_OFFSET,
      payload.length,
      slot,
    );
    if (cached.status === 'hit') {
      return {
        lsn: cached.appliedLsn,
        requestSlot: slot,
        outcome: cached.outcome,
        fromRetryCache: true,
      };
    }
    if (cached.status === 'conflict') {
      return {
        lsn: this.lastAppliedLsn,
        requestSlot: slot,
        outcome: CONFLICT,
        fromRetryCache: true,
      };
    }
    if (this.db.wouldValidatedSlotOverflow(slot, command, 'client')) {
      throw new SubmissionError(
        'slot_overflow',
        `the command's slot arithmetic overflows u64 at slot ${slot}; nothing was written`,
      );
    }
    // A new write (an answer from the retry cache, above, writes nothing).
    const full = this.checkpoints.logFull();
    if (full !== undefined) throw full;
    return new ClientJob(
      this.host,
      operationId,
      clientId,
      command,
      payload,
      choice.requestedSlot,
      choice.strictSlot,
    );
  }

  /**
   * One validation pass over a batch (`submitBatch`, `submitBatchSync`): the options judged once,
   * each request validated and encoded one after the other into one buffer (copied once: the
   * jobs' payloads are views of it), then each answered from the retry cache, refused with its
   * definite `SubmissionError`, or made a job for the log, in order. Throws what refuses the whole
   * batch (a halted or closed engine, not an array, more than `maxBatch`).
   */
  private prepareBatch(
    requests: readonly ClientRequest[],
    options: SubmitOptions | undefined,
    what: string,
  ): Prepared[] {
    const refused = this.pipeline.refusal();
    if (refused !== undefined) throw refused;
    if (!Array.isArray(requests)) throw invalid(`${what} takes an array of requests`);
    if (requests.length > this.options.maxBatch) {
      throw invalid(
        `${what} takes at most maxBatch (${this.options.maxBatch}) requests, got ${requests.length}`,
      );
    }
    const count = requests.length;
    const entries: (Prepared | undefined)[] = new Array(count);
    let choice: SlotChoice;
    try {
      choice = this.slotChoice(options);
    } catch (error) {
      if (!(error instanceof SubmissionError && error.definite)) throw error;
      return entries.fill(error) as Prepared[];
    }
    const operationIds: bigint[] = new Array(count);
    const clientIds: bigint[] = new Array(count);
    const commands: Command[] = new Array(count);
    const starts: number[] = new Array(count);
    const ends: number[] = new Array(count);
    const writer = this.batchWriter;
    writer.reset();
    for (let index = 0; index < count; index++) {
      const request = requests[index]!;
      try {
        validateRequest(request);
      } catch (error) {
        entries[index] = error as SubmissionError;
        continue;
      }
      const start = writer.length;
      const operationId = request.operationId;
      const clientId = request.clientId;
      const command = copyCommand(request.command);
      writeClientRequestParts(writer, operationId, clientId, command);
      const large = this.tooLarge(writer.length - start);
      if (large !== undefined) {
        entries[index] = large;
        continue;
      }
      operationIds[index] = operationId;
      clientIds[index] = clientId;
      commands[index] = command;
      starts[index] = start;
      ends[index] = writer.length;
    }
    const bytes = writer.storage.slice(0, writer.length);
    if (writer.storage.byteLength > BATCH_WRITER_KEEP_BYTES) this.batchWriter = new Writer();
    for (let index = 0; index < count; index++) {
      if (entries[index] !== undefined) continue;
      const payload = bytes.subarray(starts[index]!, ends[index]!);
      try {
        entries[index] = this.admitEncoded(
          operationIds[index]!,
          clientIds[index]!,
          commands[index]!,
          payload,
          choice,
        );
      } catch (error) {
        if (!(error instanceof SubmissionError && error.definite)) throw error;
        entries[index] = error;
      }
    }
    return entries as Prepared[];
  }

  /**
   * The slot a command submitted now would get: the caller's or the clock's, never below the last
   * one assigned (the pipeline may raise it further). A broken clock is `invalid_request`; a
   * caller's slot more than `maxSlotSkew` ahead of the clock is `slot_ahead`.
   */
  private currentSlot(requested: bigint | undefined): bigint {
    const skew = this.options.maxSlotSkew;
    let slot = requested;
    if (slot === undefined || skew !== undefined) {
      let read: unknown;
      try {
        read = this.clock();
      } catch (error) {
        throw invalid(`the engine clock threw (${(error as Error).message})`, error);
      }
      if (!isU64(read))
        throw invalid(`the engine clock returned ${String(read)}, not a u64 bigint slot`);
      if (slot === undefined) slot = read;
      else if (skew !== undefined && slot - read > skew) {
        // Checked against the clock, not the last assigned slot, so that slots taken within the
        // bound never add up to a larger jump.
        throw new SubmissionError(
          'slot_ahead',
          `requestSlot ${slot} is ${slot - read} slots ahead of the engine's clock (slot ${read}), more than maxSlotSkew ${skew}; nothing was written`,
        );
      }
    }
    return slot < this.pipeline.lastSlot ? this.pipeline.lastSlot : slot;
  }

  /** `currentSlot(undefined)`, or the last assigned slot when the clock misbehaves. */
  private nowSlot(): bigint {
    let read: unknown;
    try {
      read = this.clock();
    } catch {
      // Metrics and balance reads must not fail on a broken clock: they use the last slot.
      return this.pipeline.lastSlot;
    }
    return isU64(read) && read > this.pipeline.lastSlot ? read : this.pipeline.lastSlot;
  }

  /**
   * Submits a client request through group commit. Resolves once the command is durable and
   * applied; the outcome's type follows the command's kind (`OutcomeOf<K>`); domain failures (`resource_busy`, …) are outcomes. Rejects with `SubmissionError`.
   */
  submit<K extends CommandKind>(
    request: ClientRequestOf<K>,
    options?: SubmitOptions,
  ): Promise<SubmitResult<OutcomeOf<K>>> {
    return this.submitRequest(request, options) as Promise<SubmitResult<OutcomeOf<K>>>;
  }

  private submitRequest(request: ClientRequest, options?: SubmitOptions): Promise<SubmitResult> {
    let prepared: ClientJob | SubmitResult;
    try {
      prepared = this.prepare(request, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!(prepared instanceof ClientJob)) return Promise.resolve(prepared);
    const job = prepared;
    const inflight = this.inflight.get(job.operationId);
    if (inflight?.sameCommand(job)) return inflight.joined();
    if (inflight === undefined) {
      const refused = this.register(job);
      if (refused !== undefined) return Promise.reject(refused);
    }
    const promise = this.pipeline.enqueue(job);
    job.promise = promise;
    return promise;
  }

  /**
   * Makes `job` the in-flight entry under its operation id (none is there), so that an identical
   * request joins it. Registered before it is queued, so that a refusal while queueing (which
   * settles it at once) removes it again. A different command under an in-flight operation id is
   * logged too, and not registered: the state machine answers it (operation_conflict, or executes
   * it if the first one was not recorded).
   */
  private register(job: ClientJob): AssertionError | undefined {
    // The table has room for every queued and flushing job, and the id was just looked up.
    const inserted = this.inflight.insert(job.operationId, job);
    if (inserted !== 'ok') {
      return new AssertionError(
        `the in-flight table answered ${inserted} for a new operation id (${this.inflight.size} of ${this.inflight.capacity} entries); nothing was written`,
      );
    }
    job.registered = true;
    return undefined;
  }

  /**
   * Submits up to `maxBatch` requests through group commit as one group: one promise, one
   * validation pass, their payloads encoded into one buffer, queued together (contiguous in the
   * queue, so they share one write and one fdatasync when the batch has room, and are never
   * interleaved with other submissions). Each request is still its own command with its own
   * outcome, in order; nothing is atomic: the commands before a refused or failing one stay
   * executed. Resolves, once every entry is durable and applied, with each entry's result or its
   * definite `SubmissionError` (`invalid_request`, `overloaded` when the queue has no room left
   * for it, …), as `submitBatchSync` returns them; an entry identical to one in flight joins it.
   * Rejects when the fate of an entry is unknown (the log's write or fsync failed: retry every
   * entry with its operation id), or when the batch itself is refused (not an array, more than
   * `maxBatch` requests, a halted or closed engine).
   */
  submitBatch(
    requests: readonly ClientRequest[],
    options?: SubmitOptions,
  ): Promise<(SubmitResult | SubmissionError)[]> {
    let entries: Prepared[];
    try {
      entries = this.prepareBatch(requests, options, 'submitBatch');
    } catch (error) {
      return Promise.reject(error);
    }
    const group = new SubmitGroup(entries.length);
    const jobs: ClientJob[] = [];
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      if (!(entry instanceof ClientJob)) {
        group.results[index] = entry;
        continue;
      }
      const inflight = this.inflight.get(entry.operationId);
      if (inflight?.sameCommand(entry)) {
        group.join(index, inflight.joined());
        continue;
      }
      if (inflight === undefined) {
        const refused = this.register(entry);
        if (refused !== undefined) {
          // A bug: what is registered already is queued below and answered; this entry is not.
          for (const job of jobs) job.group = undefined;
          this.pipeline.enqueueAll(jobs);
          return Promise.reject(refused);
        }
      }
      entry.group = group;
      entry.index = index;
      group.pending++;
      jobs.push(entry);
    }
    this.pipeline.enqueueAll(jobs);
    group.finish();
    return group.promise;
  }

  /** Submits one request synchronously: one write and one fdatasync. Throws SubmissionError. */
  submitSync<K extends CommandKind>(
    request: ClientRequestOf<K>,
    options?: SubmitOptions,
  ): SubmitResult<OutcomeOf<K>> {
    const [result] = this.submitBatchSync([request], options);
    if (result instanceof SubmissionError) throw result;
    return result as SubmitResult<OutcomeOf<K>>;
  }

  /**
   * Submits up to `maxBatch` requests synchronously as one batch: one write and one fdatasync for
   * all that pass validation. Each entry is a result or the definite `SubmissionError` of that
   * request; an indefinite failure (storage) is thrown. Needs the asynchronous pipeline idle
   * (`async_in_flight` otherwise).
   */
  submitBatchSync(
    requests: readonly ClientRequest[],
    options?: SubmitOptions,
  ): (SubmitResult | SubmissionError)[] {
    const refused = this.pipeline.refusal();
    if (refused !== undefined) throw refused;
    if (!this.pipeline.idle) {
      throw new SubmissionError(
        'async_in_flight',
        'asynchronous submissions are queued or being flushed; await them (or use submit) before a synchronous submission; nothing was written',
      );
    }
    const entries = this.prepareBatch(requests, options, 'submitBatchSync');
    const results: (SubmitResult | SubmissionError)[] = new Array(entries.length);
    const jobs: ClientJob[] = [];
    const at: number[] = [];
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      if (entry instanceof ClientJob) {
        jobs.push(entry);
        at.push(index);
      } else {
        results[index] = entry;
      }
    }
    if (jobs.length > 0) {
      this.pipeline.commitSync(jobs);
      for (let i = 0; i < jobs.length; i++) results[at[i]!] = jobs[i]!.answer!;
    }
    const indefinite = results.find((entry) => entry instanceof SubmissionError && !entry.definite);
    if (indefinite !== undefined) throw indefinite;
    return results;
  }

  // -------------------------------------------------------------------------------------------
  // Expiration

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
    const refused = this.pipeline.refusal();
    if (refused !== undefined) throw refused;
    const requestSlot = options?.requestSlot;
    if (requestSlot !== undefined && !isU64(requestSlot)) {
      throw invalid(`requestSlot must be a u64 bigint, got ${String(requestSlot)}`);
    }
    const slot = this.currentSlot(requestSlot);
    const due = this.db.dueExpirations(slot, this.options.maxExpirationsPerTick);
    if (due.length === 0) return { requestSlot: slot, due: 0, expired: 0 };
    const full = this.checkpoints.logFull();
    if (full !== undefined) throw full;
    if (this.pipeline.queueDepth + due.length > this.options.maxSubmissionQueue) {
      throw new SubmissionError(
        'overloaded',
        'the submission queue has no room for this tick; nothing was written; retry later',
      );
    }
    // Queued together, so they flush together as one batch.
    const committed = await Promise.all(
      due.map(({ reservationId, deadlineSlot }) => {
        const command = { kind: 'expire', reservationId, deadlineSlot } as const;
        return this.pipeline.enqueue(
          new ExpireJob(this.host, command, encodeInternalCommand(command), slot),
        );
      }),
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
    if (this.closing !== undefined) throw new EngineClosedError('startTicker');
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

  /** Stops the ticker; harmless when none runs (and after close). */
  stopTicker(): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Checkpoints

  /**
   * Snapshots the state, writes the snapshot file crash-safely, then rewrites the WAL keeping
   * only frames after the previous snapshot plus a marker for this one. Concurrent calls share
   * one checkpoint. Rejects with `EngineClosedError` after `close()`: the lock is no longer held.
   */
  checkpoint(): Promise<CheckpointResult> {
    if (this.closing !== undefined) return Promise.reject(new EngineClosedError('checkpoint'));
    return this.checkpoints.run();
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /** Throws on a closed or halted engine, and `FenceNotAppliedError` below `minLsn`. */
  private assertReadable(what: string, options: ReadOptions | undefined): void {
    if (this.closing !== undefined) throw new EngineClosedError(what);
    if (this.pipeline.halted) throw new EngineHaltedError(this.pipeline.haltReason);
    const minLsn = options?.minLsn;
    if (minLsn === undefined) return;
    if (!isU64(minLsn)) throw new TypeError(`minLsn must be a u64 bigint, got ${String(minLsn)}`);
    const applied = this.lastAppliedLsn;
    if (minLsn > applied) throw new FenceNotAppliedError(minLsn, applied);
  }

  private readSlot(options: SlotReadOptions | undefined): bigint {
    return options?.currentSlot ?? this.db.lastRequestSlot ?? 0n;
  }

  getResource(resourceId: bigint, options?: ReadOptions): ResourceRecord | undefined {
    this.assertReadable('getResource', options);
    return this.db.getResource(resourceId);
  }

  getReservation(reservationId: bigint, options?: SlotReadOptions): ReservationLookup {
    this.assertReadable('getReservation', options);
    return this.db.getReservation(reservationId, this.readSlot(options));
  }

  getReservationMembers(reservationId: bigint, options?: ReadOptions): ReservationMember[] {
    this.assertReadable('getReservationMembers', options);
    return this.db.getReservationMembers(reservationId);
  }

  getOperation(operationId: bigint, options?: SlotReadOptions): OperationRecord | undefined {
    this.assertReadable('getOperation', options);
    return this.db.getOperation(operationId, this.readSlot(options));
  }

  /**
   * Whether the engine is well (docs/engine.md, "When checkpoints fail"): `ok`; `degraded` while
   * it serves with problems that need attention (checkpoints failing, new writes refused at the
   * log's limit), each a line in `problems`; `halted` after a failure (reopen the directory);
   * `closed`. Still answers after close.
   */
  health(): EngineHealth {
    const checkpoints = this.checkpoints.health();
    if (this.closing !== undefined) {
      return { ...checkpoints, status: 'closed', problems: ['the engine is closed'] };
    }
    if (this.pipeline.halted) {
      const reason = this.pipeline.haltReason;
      return {
        ...checkpoints,
        status: 'halted',
        problems: [
          `the engine halted after a failure (${reason instanceof Error ? reason.message : String(reason)}); close it and open the directory again, which recovers from disk`,
        ],
      };
    }
    return { ...checkpoints, status: checkpoints.problems.length === 0 ? 'ok' : 'degraded' };
  }

  /** Counters and table use; still answers after close (the engine's final figures). */
  metrics(): AllocDbEngineMetrics {
    const now = this.nowSlot();
    const db = this.db;
    const pipeline = this.pipeline.metrics();
    return {
      queueDepth: pipeline.queueDepth,
      queueCapacity: pipeline.queueCapacity,
      acceptingWrites: this.pipeline.accepting,
      closed: this.closing !== undefined,
      recovery: this.recoveryStatus,
      walBytes: pipeline.walBytes,
      framesSinceCheckpoint: this.checkpoints.framesSinceCheckpoint,
      batchesCommitted: pipeline.batchesCommitted,
      framesCommitted: pipeline.framesCommitted,
      meanBatchSize: pipeline.meanBatchSize,
      lastFsyncMicros: pipeline.lastFsyncMicros,
      checkpoints: this.checkpoints.completed,
      checkpointInProgress: this.checkpoints.inProgress,
      snapshotLsn: this.checkpoints.snapshotLsn,
      lastCheckpointError: this.checkpoints.lastError,
      checkpointFailures: this.checkpoints.consecutiveFailures,
      maxWalBytes: this.options.maxWalBytes,
      core: {
        ...db.metrics(),
        expirationBacklog: db.expirationBacklog(now),
        logicalSlotLag: db.logicalSlotLag(now),
      },
      lastTickError: this.lastTickError,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  /**
   * Stops the ticker, refuses new work, drains the queue (each queued command is committed and
   * answered), waits for a running checkpoint or tick, closes the log and releases the lock.
   * Harmless twice. Afterwards every method but `close`, `stopTicker` and `metrics` fails with
   * code `engine_closed`.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopTicker();
      await this.pipeline.close();
      await this.checkpoints.finished();
      await this.tickInFlight?.catch(() => undefined);
      this.wal.close();
      this.lock.release();
    })();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------
  // A cluster node's engine (docs/cluster.md; the cluster module drives these)

  /**
   * @internal Queues frames a cluster's writer logged (LSNs right after the last queued one, in
   * order) for this follower: each is written to the local log, fdatasynced and applied as
   * recovery applies. Waits for room in the queue instead of answering `overloaded`. Resolves
   * once the last one is applied; rejects when the engine halts.
   */
  async applyReplicated(frames: readonly WalFrame[]): Promise<void> {
    let last: Promise<void> | undefined;
    for (const frame of frames) {
      while (this.pipeline.queueDepth >= this.options.maxSubmissionQueue && last !== undefined) {
        await last;
      }
      last = this.pipeline.enqueue(new ReplicaJob(this.host, frame));
      // Each failure is the halt that fails the last one too: only the last is awaited.
      last.catch(() => undefined);
    }
    await last;
  }

  /** @internal Why the engine stopped taking commands (a failed write or apply), if it did. */
  get haltReason(): unknown {
    return this.pipeline.halted ? this.pipeline.haltReason : undefined;
  }

  /** @internal The recorded largest command (a replicated message must carry one). */
  get maxCommandBytes(): number {
    return this.options.maxCommandBytes;
  }

  /** @internal The LSN of the snapshot in the directory (0 when none). */
  get snapshotLsn(): bigint {
    return this.checkpoints.snapshotLsn;
  }

  /**
   * @internal Stops at once without draining (a cluster writer that steps down): the ticker
   * stops, queued commands fail with `engine_halted` (indefinite: their clients retry,
   * elsewhere), the batch in flight settles, a running checkpoint or tick finishes; then the log
   * is closed and the lock released.
   */
  abandon(reason = "this node stopped being the cluster's writer"): Promise<void> {
    this.closing ??= (async () => {
      this.stopTicker();
      this.pipeline.halt(new Error(reason));
      await this.pipeline.exclusive(() => undefined);
      await this.checkpoints.finished();
      await this.tickInFlight?.catch(() => undefined);
      this.wal.close();
      this.lock.release();
    })();
    return this.closing;
  }

  /** @internal Tests only: stop as a killed process would, without draining or syncing. */
  crashForTesting(): void {
    this.checkpoints.stopRetrying();
    this.stopTicker();
    this.pipeline.halt(new Error('simulated crash'));
    this.wal.close();
    this.lock.release();
    this.closing ??= Promise.resolve();
  }
}
