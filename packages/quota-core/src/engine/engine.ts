/**
 * `QuotaEngine`: the durable quota engine. It owns a data directory (`wal`, `snapshot`, `lock`),
 * recovers on open, sequences and group-commits submissions, checkpoints, and answers reads from
 * memory (engine.md). Unlike the allocator it has no expiration tick: refill is computed from
 * each bucket's stored state and the command's request slot.
 *
 * The engine-independent machinery (lock, recovery, the commit pipeline, the retry cache before
 * logging, checkpoints, fences) is the runtime's `DurableEngine`; this file holds what is the
 * quota engine's own: its domain adapter and its reads.
 */
import {
  CLIENT_REQUEST_COMMAND_OFFSET,
  encodeInternalCommand,
  writeClientRequest,
} from '../codec/command-codec.js';
import { type QuotaConfig, validateConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
import type { SubmissionError } from '../runtime/commit-pipeline.js';
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
import type { QuotaDb } from '../state-machine/quota-db.js';
import type {
  BucketRecord,
  ClientRequest,
  ClientRequestOf,
  Command,
  CommandKind,
  OperationRecord,
  Outcome,
  OutcomeOf,
  QuotaDbMetrics,
} from '../types.js';
import { validateClientRequest } from '../validate.js';
import { type EngineOptions, resolveEngineOptions, wallClock } from './options.js';
import { type DecodedFrame, quotaRecoveryHooks } from './recovery.js';

export type { CheckpointResult, EngineSeams, ReadOptions, SubmitOptions };

export interface QuotaEngineOpenOptions {
  /** Data directory; created if missing. */
  readonly dir: string;
  readonly config: QuotaConfig;
  readonly engine?: EngineOptions;
  /** The current slot; default: wall-clock milliseconds divided by `slotDurationMs`. */
  readonly clock?: () => bigint;
}

/** `{ lsn, requestSlot, outcome, fromRetryCache }`; `O` narrows the outcome (`OutcomeOf<K>`). */
export type SubmitResult<O extends Outcome = Outcome> = DurableSubmitResult<O>;

export interface BalanceReadOptions extends ReadOptions {
  /** The slot to show the balance at; default: the engine's current slot (its clock). */
  readonly slot?: bigint;
}

export interface SlotReadOptions extends ReadOptions {
  /** Slot at which retention is judged; default: the last applied request slot. */
  readonly currentSlot?: bigint;
}

export interface QuotaEngineMetrics extends DurableEngineMetrics {
  readonly core: QuotaDbMetrics & { readonly logicalSlotLag: bigint };
}

/** Lets tests stop an engine the way a killed process would (no drain, no sync). */
export const simulateCrash: unique symbol = Symbol('quota-core simulateCrash');

const CONFLICT: Outcome = Object.freeze({ resultCode: 'operation_conflict' });

function quotaDomain(
  config: QuotaConfig,
): EngineDomain<QuotaDb, ClientRequest, Command, Outcome, DecodedFrame> {
  const hooks = quotaRecoveryHooks(config);
  return {
    snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
    recoveryHooks: hooks,
    watermarks: hooks.watermarks,
    encodeSnapshotBody: (db) => encodeSnapshotBody(db.snapshot()),
    validateRequest: validateClientRequest,
    // Both quota commands are client commands; internal ones are only ever logged by a trusted
    // caller of the state machine.
    refuseFromClients: () => undefined,
    copyRequest,
    writeRequest: writeClientRequest,
    commandOffset: CLIENT_REQUEST_COMMAND_OFFSET,
    encodeInternalCommand,
    conflictOutcome: CONFLICT,
  };
}

export class QuotaEngine {
  private readonly core: DurableEngine<QuotaDb, ClientRequest, Command, Outcome, DecodedFrame>;

  private constructor(core: DurableEngine<QuotaDb, ClientRequest, Command, Outcome, DecodedFrame>) {
    this.core = core;
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
    // Validate the config before touching the disk (throws ConfigError).
    validateConfig(options.config);
    const core = DurableEngine.open({
      dir: options.dir,
      domain: quotaDomain(options.config),
      options: resolved,
      clock: options.clock ?? wallClock(resolved.slotDurationMs),
      seams,
    });
    return new QuotaEngine(core);
  }

  get dir(): string {
    return this.core.dir;
  }

  /** The state machine. Private: tests reach it as `engine.db` to compare snapshots. */
  private get db(): QuotaDb {
    return this.core.db;
  }

  get recoveryStatus(): RecoveryStatus {
    return this.core.recoveryStatus;
  }

  /** The LSN of the last applied command (0 before the first). */
  get lastAppliedLsn(): bigint {
    return this.core.lastAppliedLsn;
  }

  // -------------------------------------------------------------------------------------------
  // Submitting

  /**
   * Submits a client request through group commit. Resolves once the command is durable and
   * applied; domain failures (`insufficient_funds`, …) are outcomes. Rejects with
   * `SubmissionError`. The outcome's type follows the command's kind (`OutcomeOf<'debit'>` for a
   * debit).
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

  /** The stored bucket record (balance as of its lastRefillSlot), or undefined. */
  getBucket(bucketId: bigint, options?: ReadOptions): BucketRecord | undefined {
    this.core.assertReadable(options);
    return this.db.getBucket(bucketId);
  }

  /**
   * The bucket as it would be after refilling to `options.slot` (default: the engine's current
   * slot), without logging or changing anything: the balance a debit submitted now would see.
   */
  getBucketAt(bucketId: bigint, options?: BalanceReadOptions): BucketRecord | undefined {
    this.core.assertReadable(options);
    return this.db.getBucketAt(bucketId, options?.slot ?? this.core.nowSlot());
  }

  /** The operation record if it is live at `options.currentSlot` (default: the last applied). */
  getOperation(operationId: bigint, options?: SlotReadOptions): OperationRecord | undefined {
    this.core.assertReadable(options);
    return this.db.getOperation(operationId, options?.currentSlot ?? this.core.lastRequestSlot);
  }

  metrics(): QuotaEngineMetrics {
    return {
      ...this.core.metrics(),
      core: { ...this.db.metrics(), logicalSlotLag: this.db.logicalSlotLag(this.core.nowSlot()) },
    };
  }

  /** Drains the queue, closes the log and releases the lock. Harmless twice. */
  close(): Promise<void> {
    return this.core.close();
  }

  /** Tests only: stop as a killed process would, without draining or syncing. */
  [simulateCrash](): void {
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
