/**
 * `AllocDbEngine`: the durable lease allocator. It owns a data directory (`wal`, `snapshot`,
 * `lock`), recovers on open, sequences and group-commits submissions, ticks expirations,
 * checkpoints, and answers reads from memory (engine.md).
 *
 * The engine-independent machinery (lock, recovery, the commit pipeline, the retry cache before
 * logging, checkpoints, fences) is the runtime's `DurableEngine`; this file holds what is the
 * allocator's own: its domain adapter, the expiration tick, and its reads.
 */
import {
  CLIENT_REQUEST_COMMAND_OFFSET,
  encodeInternalCommand,
  writeClientRequest,
} from '../codec/command-codec.js';
import { type AllocDbConfig, validateConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION, U64_MAX } from '../constants.js';
import { SubmissionError } from '../runtime/commit-pipeline.js';
import {
  type CheckpointResult,
  DurableEngine,
  type DurableEngineMetrics,
  type SubmitResult as DurableSubmitResult,
  type EngineDomain,
  type EngineSeams,
  type ReadOptions,
  type SubmitOptions,
} from '../runtime/durable-engine.js';
import type { RecoveryStatus } from '../runtime/recovery.js';
import { encodeSnapshotBody } from '../snapshot/body-codec.js';
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
  type EngineOptions,
  type ResolvedEngineOptions,
  resolveEngineOptions,
  wallClock,
} from './options.js';
import { allocDbRecoveryHooks, type DecodedFrame } from './recovery.js';

export type { CheckpointResult, EngineSeams, ReadOptions, SubmitOptions };

export interface AllocDbEngineOpenOptions {
  /** Data directory; created if missing. */
  readonly dir: string;
  readonly config: AllocDbConfig;
  readonly engine?: EngineOptions;
  /** The current slot; default: wall-clock milliseconds divided by `slotDurationMs`. */
  readonly clock?: () => bigint;
}

/** `{ lsn, requestSlot, outcome, fromRetryCache }`; `O` narrows the outcome (`OutcomeOf<K>`). */
export type SubmitResult<O extends Outcome = Outcome> = DurableSubmitResult<O>;

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

export interface AllocDbEngineMetrics extends DurableEngineMetrics {
  readonly core: AllocDbMetrics & {
    readonly expirationBacklog: number;
    readonly logicalSlotLag: bigint;
  };
  readonly lastTickError: string | undefined;
}

/** Lets tests stop an engine the way a killed process would (no drain, no sync). */
export const simulateCrash: unique symbol = Symbol('allocdb-core simulateCrash');

const CONFLICT: Outcome = Object.freeze({ resultCode: 'operation_conflict' });

function allocDbDomain(
  config: AllocDbConfig,
): EngineDomain<AllocDb, ClientRequest, Command, Outcome, DecodedFrame> {
  return {
    snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
    recoveryHooks: allocDbRecoveryHooks(config),
    watermarks: (db) => ({ lsn: db.lastAppliedLsn ?? 0n, slot: db.lastRequestSlot ?? 0n }),
    encodeSnapshotBody: (db) => encodeSnapshotBody(db.snapshot()),
    validateRequest: validateSubmission,
    refuseFromClients: (request) =>
      isClientSubmittable(request.command.kind)
        ? undefined
        : `'${request.command.kind}' is an internal command; clients cannot submit it`,
    copyRequest,
    writeRequest: writeClientRequest,
    commandOffset: CLIENT_REQUEST_COMMAND_OFFSET,
    encodeInternalCommand,
    conflictOutcome: CONFLICT,
  };
}

export class AllocDbEngine {
  private readonly core: DurableEngine<AllocDb, ClientRequest, Command, Outcome, DecodedFrame>;
  private readonly options: ResolvedEngineOptions;
  private tickInFlight: Promise<TickResult> | undefined;
  private lastTickError: string | undefined;
  private ticker: NodeJS.Timeout | undefined;

  private constructor(
    core: DurableEngine<AllocDb, ClientRequest, Command, Outcome, DecodedFrame>,
    options: ResolvedEngineOptions,
  ) {
    this.core = core;
    this.options = options;
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
    // Validate the config before touching the disk (throws ConfigError).
    validateConfig(options.config);
    const core = DurableEngine.open({
      dir: options.dir,
      domain: allocDbDomain(options.config),
      options: resolved,
      clock: options.clock ?? wallClock(resolved.slotDurationMs),
      seams,
    });
    return new AllocDbEngine(core, resolved);
  }

  get dir(): string {
    return this.core.dir;
  }

  /** The state machine. Private: tests reach it as `engine.db` to compare snapshots. */
  private get db(): AllocDb {
    return this.core.db;
  }

  get recoveryStatus(): RecoveryStatus {
    return this.core.recoveryStatus;
  }

  /** The LSN of the last applied command. */
  get lastAppliedLsn(): bigint {
    return this.core.lastAppliedLsn;
  }

  // -------------------------------------------------------------------------------------------
  // Submitting

  /**
   * Submits a client request through group commit. Resolves once the command is durable and
   * applied; domain failures (`resource_busy`, …) are outcomes. Rejects with `SubmissionError`.
   * The outcome's type follows the command's kind (`OutcomeOf<'reserve'>` for a reserve).
   */
  submit<K extends CommandKind>(
    request: ClientRequestOf<K>,
    options?: SubmitOptions,
  ): Promise<SubmitResult<OutcomeOf<K>>> {
    return this.core.submit(request, options) as Promise<SubmitResult<OutcomeOf<K>>>;
  }

  /** Submits one request synchronously: one write and one fdatasync. Throws SubmissionError. */
  submitSync<K extends CommandKind>(
    request: ClientRequestOf<K>,
    options?: SubmitOptions,
  ): SubmitResult<OutcomeOf<K>> {
    return this.core.submitSync(request, options) as SubmitResult<OutcomeOf<K>>;
  }

  /**
   * Submits requests synchronously as one batch: one write and one fdatasync for all that pass
   * validation. Each entry is a result or the definite `SubmissionError` of that request; an
   * indefinite failure (storage) is thrown.
   */
  submitBatchSync(
    requests: readonly ClientRequest[],
    options?: SubmitOptions,
  ): (SubmitResult | SubmissionError)[] {
    return this.core.submitBatchSync(requests, options);
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
    this.core.assertAccepting();
    const { requestSlot } = options;
    if (
      requestSlot !== undefined &&
      (typeof requestSlot !== 'bigint' || requestSlot < 0n || requestSlot > U64_MAX)
    ) {
      throw new SubmissionError(
        'invalid_request',
        `requestSlot must be a u64 bigint, got ${String(requestSlot)}; nothing was written`,
      );
    }
    const slot = this.core.currentSlot(requestSlot);
    const due = this.db.dueExpirations(slot, this.options.maxExpirationsPerTick);
    if (due.length === 0) return { requestSlot: slot, due: 0, expired: 0 };
    const committed = await this.core.submitInternal(
      due.map(
        ({ reservationId, deadlineSlot }): Command => ({
          kind: 'expire',
          reservationId,
          deadlineSlot,
        }),
      ),
      slot,
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
      if (this.tickInFlight !== undefined || !this.core.accepting) return;
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
    return this.core.checkpoint();
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  private readSlot(options: SlotReadOptions | undefined): bigint {
    return options?.currentSlot ?? this.core.lastRequestSlot;
  }

  getResource(resourceId: bigint, options?: ReadOptions): ResourceRecord | undefined {
    this.core.assertReadable(options);
    return this.db.getResource(resourceId);
  }

  getReservation(reservationId: bigint, options?: SlotReadOptions): ReservationLookup {
    this.core.assertReadable(options);
    return this.db.getReservation(reservationId, this.readSlot(options));
  }

  getReservationMembers(reservationId: bigint, options?: ReadOptions): ReservationMember[] {
    this.core.assertReadable(options);
    return this.db.getReservationMembers(reservationId);
  }

  getOperation(operationId: bigint, options?: SlotReadOptions): OperationRecord | undefined {
    this.core.assertReadable(options);
    return this.db.getOperation(operationId, this.readSlot(options));
  }

  metrics(): AllocDbEngineMetrics {
    const now = this.core.nowSlot();
    const db = this.db;
    return {
      ...this.core.metrics(),
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

  /** Drains the queue, fsyncs, stops the ticker, releases the lock. Harmless twice. */
  close(): Promise<void> {
    this.stopTicker();
    return this.core.close(() => this.tickInFlight);
  }

  /** Tests only: stop as a killed process would, without draining or syncing. */
  [simulateCrash](): void {
    this.stopTicker();
    this.core.crash();
  }
}

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
