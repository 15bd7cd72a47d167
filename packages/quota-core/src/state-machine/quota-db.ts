/**
 * `QuotaDb`: the quota engine's state machine. Pure, synchronous and deterministic: it reads no
 * clock and no randomness; time enters only as each command's `requestSlot`. The durable engine
 * logs every command before applying it here, and replays the log through the same apply code.
 */

import {
  encodeCommandInto,
  newCommandScratch,
  SCRATCH_COMMAND_START,
  writeCommand,
} from '../codec/command-codec.js';
import type { QuotaConfig } from '../config.js';
import { ApplyOrderError, InvalidRequestError } from '../errors.js';
import { Writer } from '../runtime/binary.js';
import { decodeSnapshotBody } from '../snapshot/body-codec.js';
import { captureSnapshot } from '../snapshot/capture.js';
import { restoreInto } from '../snapshot/restore.js';
import type {
  ApplyContext,
  BucketRecord,
  ClientDisposition,
  ClientRequest,
  ClientRequestOf,
  Command,
  CommandKind,
  CommandOf,
  OperationRecord,
  Outcome,
  OutcomeOf,
  QuotaDbMetrics,
  QuotaDbSnapshot,
  RetryLookup,
} from '../types.js';
import {
  assertU64Field,
  assertU128Field,
  validateApplyContext,
  validateClientRequest,
  validateCommand,
} from '../validate.js';
import { executeCommand } from './execute.js';
import { checkAllInvariants } from './invariants.js';
import { OUTCOMES } from './outcomes.js';
import { toBucketRecord, toBucketRecordAt } from './records.js';
import { queueForRetirement, retireExpiredOperations } from './retirement.js';
import { createState, type QuotaState } from './state.js';

const RETRY_MISS: RetryLookup = Object.freeze({ status: 'miss' });
const RETRY_CONFLICT: RetryLookup = Object.freeze({ status: 'conflict' });

export class QuotaDb {
  private readonly state: QuotaState;
  /** Reused for every command's canonical bytes: one encoding per apply, no buffer per apply. */
  private readonly commandBytes = new Writer();
  /** The same for the apply path, written by `encodeCommandInto` (no growth or width checks). */
  private readonly applyScratch = newCommandScratch();
  private disposition: ClientDisposition = 'executed';
  /**
   * The last request slot a record was made at, and its `retireAfterSlot`: every command of a
   * slot shares one bigint instead of allocating its own sum.
   */
  private recordedSlot = -1n;
  private recordedRetireAfterSlot = 0n;

  /** Allocates every table at its capacity; throws ConfigError for an invalid config. */
  constructor(config: QuotaConfig) {
    this.state = createState(config);
  }

  /**
   * Rebuilds a state machine from a snapshot, validating everything (SnapshotError; ConfigError
   * for the config). Never returns a half-restored instance.
   */
  static fromSnapshot(config: QuotaConfig, snapshot: QuotaDbSnapshot): QuotaDb {
    const db = new QuotaDb(config);
    restoreInto(db.state, snapshot);
    return db;
  }

  /** `fromSnapshot(config, decodeSnapshotBody(body, config))`. */
  static fromSnapshotBody(config: QuotaConfig, body: Uint8Array): QuotaDb {
    return QuotaDb.fromSnapshot(config, decodeSnapshotBody(body, config));
  }

  get config(): QuotaConfig {
    return this.state.config;
  }

  /** LSN of the last applied command; undefined before the first. */
  get lastAppliedLsn(): bigint | undefined {
    return this.state.lastAppliedLsn;
  }

  /** Request slot of the last applied command; undefined before the first. */
  get lastRequestSlot(): bigint | undefined {
    return this.state.lastRequestSlot;
  }

  /** How the last `applyClient` was answered; `retry_cache` means a stored outcome. */
  get lastClientDisposition(): ClientDisposition {
    return this.disposition;
  }

  /**
   * Applies a client request: slot check, order check, watermarks, retirement, dedupe on
   * `operationId`, operation-table check, execution and recording (docs/quota-core.md, "Client
   * path"). Throws InvalidRequestError for malformed input and ApplyOrderError for an LSN or
   * slot out of order, in both cases changing nothing. The outcome's type follows the command's
   * kind (`OutcomeOf<'debit'>` for a debit).
   */
  applyClient<K extends CommandKind>(
    context: ApplyContext,
    request: ClientRequestOf<K>,
  ): OutcomeOf<K> {
    validateApplyContext(context);
    validateClientRequest(request);
    // Sound: a command of kind K answers only ResultCodeOf<K> (RESULT_CODES_BY_KIND).
    return this.applyValidatedClient(context.lsn, context.requestSlot, request) as OutcomeOf<K>;
  }

  /**
   * `applyClient` for a request and position already validated (the durable engine validates
   * each request once at submission, and decoded log frames are valid by construction). Not part
   * of the public contract.
   * @internal
   */
  applyValidatedClient(lsn: bigint, requestSlot: bigint, request: ClientRequest): Outcome {
    const scratch = this.applyScratch;
    const end = encodeCommandInto(scratch, request.command);
    return this.applyEncodedClient(
      lsn,
      requestSlot,
      request,
      scratch.bytes,
      SCRATCH_COMMAND_START,
      end,
    );
  }

  /**
   * `applyValidatedClient` for a request whose canonical command bytes the caller already holds
   * (`bytes[start, end)`: the logged payload from `CLIENT_REQUEST_COMMAND_OFFSET`), so that the
   * durable engine and replay do not encode every command a second time. Not part of the public
   * contract.
   * @internal
   */
  applyEncodedClient(
    lsn: bigint,
    requestSlot: bigint,
    request: ClientRequest,
    bytes: Uint8Array,
    start: number,
    end: number,
  ): Outcome {
    const state = this.state;
    // Step 1: nothing changes, not even the watermarks.
    if (requestSlot > state.lastClientSlot) {
      this.disposition = 'slot_overflow';
      return OUTCOMES.slot_overflow;
    }
    this.advance(lsn, requestSlot);

    const command = request.command;
    const operations = state.operations;
    const operationId = request.operationId;
    const existing = operations.slotOf(operationId);
    if (existing >= 0) {
      if (requestSlot <= operations.retireAfterSlotAt(existing)) {
        if (operations.commandMatches(existing, bytes, start, end)) {
          this.disposition = 'retry_cache';
          return operations.outcomeAt(existing);
        }
        this.disposition = 'operation_conflict';
        return OUTCOMES.operation_conflict;
      }
      // Past its window (possible only when the retire queue is out of deadline order): the
      // request is new. Its queue entry goes stale and is dropped when it reaches the front.
      operations.removeAt(existing);
    }
    if (operations.isFull()) {
      this.disposition = 'operation_table_full';
      return OUTCOMES.operation_table_full;
    }

    const outcome = executeCommand(state, requestSlot, command);
    if (requestSlot !== this.recordedSlot) {
      this.recordedSlot = requestSlot;
      this.recordedRetireAfterSlot = requestSlot + state.config.maxClientRetryWindowSlots;
    }
    const retireAfterSlot = this.recordedRetireAfterSlot;
    const tableSlot = operations.record(
      operationId,
      bytes,
      start,
      end,
      outcome,
      lsn,
      retireAfterSlot,
    );
    queueForRetirement(state, tableSlot, retireAfterSlot);
    this.disposition = 'executed';
    return outcome;
  }

  /**
   * Applies an internal command: order check, watermarks, retirement, execution. No window
   * check, no dedupe, no operation record.
   */
  applyInternal<K extends CommandKind>(
    context: ApplyContext,
    command: CommandOf<K> & { readonly kind: K },
  ): OutcomeOf<K> {
    validateApplyContext(context);
    validateCommand(command);
    return this.applyValidatedInternal(context.lsn, context.requestSlot, command) as OutcomeOf<K>;
  }

  /**
   * `applyInternal` for a command and position already validated. Not part of the public contract.
   * @internal
   */
  applyValidatedInternal(lsn: bigint, requestSlot: bigint, command: Command): Outcome {
    this.advance(lsn, requestSlot);
    return executeCommand(this.state, requestSlot, command);
  }

  /**
   * Whether applying `command` at `requestSlot` would answer `slot_overflow` (step 1 of the
   * client path), without applying anything: the engine asks before logging. Internal commands
   * have no window, so they never overflow.
   */
  wouldSlotOverflow(requestSlot: bigint, command: Command, origin: 'client' | 'internal'): boolean {
    assertU64Field(requestSlot, 'requestSlot');
    validateCommand(command);
    return this.wouldValidatedSlotOverflow(requestSlot, command, origin);
  }

  /**
   * `wouldSlotOverflow` for a command already validated. Not part of the public contract.
   * @internal
   */
  wouldValidatedSlotOverflow(
    requestSlot: bigint,
    _command: Command,
    origin: 'client' | 'internal',
  ): boolean {
    return origin === 'client' && requestSlot > this.state.lastClientSlot;
  }

  /**
   * What the operation table would answer for `operationId` with these canonical command bytes
   * if the request were applied at `requestSlot` (after that apply's retirement): `hit` with the
   * stored outcome, `conflict` for a different command, `miss` when no record would be live.
   * The engine's retry cache: it answers hits and conflicts without logging. `commandBytes` is
   * `encodeCommand(command)`, or `payload.subarray(CLIENT_REQUEST_COMMAND_OFFSET)` of an
   * encoded client request.
   */
  lookupRetry(operationId: bigint, commandBytes: Uint8Array, requestSlot: bigint): RetryLookup {
    assertU128Field(operationId, 'operationId');
    assertU64Field(requestSlot, 'requestSlot');
    if (!(commandBytes instanceof Uint8Array)) {
      throw new InvalidRequestError('invalid_type', 'commandBytes', 'must be a Uint8Array');
    }
    return this.lookupEncodedRetry(
      operationId,
      commandBytes,
      0,
      commandBytes.byteLength,
      requestSlot,
    );
  }

  /**
   * `lookupRetry` with the command bytes at `bytes[start, end)` and the arguments already
   * validated (the durable engine's submission path). Not part of the public contract.
   * @internal
   */
  lookupEncodedRetry(
    operationId: bigint,
    bytes: Uint8Array,
    start: number,
    end: number,
    requestSlot: bigint,
  ): RetryLookup {
    const operations = this.state.operations;
    const slot = operations.slotOf(operationId);
    if (slot < 0 || operations.retireAfterSlotAt(slot) < requestSlot) return RETRY_MISS;
    if (!operations.commandMatches(slot, bytes, start, end)) return RETRY_CONFLICT;
    return {
      status: 'hit',
      outcome: operations.outcomeAt(slot),
      appliedLsn: operations.appliedLsnAt(slot),
    };
  }

  /** `lookupRetry` for a request object (validates and encodes its command). */
  lookupRetryRequest(request: ClientRequest, requestSlot: bigint): RetryLookup {
    validateClientRequest(request);
    return this.lookupRetry(
      request.operationId,
      this.encodeScratch(request.command).written(),
      requestSlot,
    );
  }

  /** The stored bucket record, or undefined. */
  getBucket(bucketId: bigint): BucketRecord | undefined {
    assertU128Field(bucketId, 'bucketId');
    const entry = this.state.buckets.get(bucketId);
    return entry === undefined ? undefined : toBucketRecord(entry);
  }

  /**
   * The bucket as it would be after refilling to `slot`, without changing any state; undefined
   * when there is no such bucket. A slot before the bucket's lastRefillSlot shows the stored
   * record (the balance cannot be viewed in the past).
   */
  getBucketAt(bucketId: bigint, slot: bigint): BucketRecord | undefined {
    assertU128Field(bucketId, 'bucketId');
    assertU64Field(slot, 'slot');
    const entry = this.state.buckets.get(bucketId);
    return entry === undefined ? undefined : toBucketRecordAt(entry, slot);
  }

  /** The operation record if it is live at `currentSlot` (not past its retireAfterSlot). */
  getOperation(operationId: bigint, currentSlot: bigint): OperationRecord | undefined {
    assertU128Field(operationId, 'operationId');
    assertU64Field(currentSlot, 'currentSlot');
    const operations = this.state.operations;
    const slot = operations.slotOf(operationId);
    if (slot < 0 || operations.retireAfterSlotAt(slot) < currentSlot) return undefined;
    return operations.recordAt(slot);
  }

  /**
   * How many slots `now` is ahead of the last applied request slot (0 if not ahead, and 0 before
   * the first apply: with nothing applied nothing lags).
   */
  logicalSlotLag(now: bigint): bigint {
    assertU64Field(now, 'now');
    const last = this.state.lastRequestSlot;
    return last !== undefined && now > last ? now - last : 0n;
  }

  /** Use and capacity of both tables and the retire queue, and the watermarks. */
  metrics(): QuotaDbMetrics {
    const state = this.state;
    return {
      buckets: { used: state.buckets.size, capacity: state.buckets.capacity },
      operations: { used: state.operations.size, capacity: state.operations.capacity },
      operationRetireQueue: {
        used: state.operationRetireQueue.size,
        capacity: state.operationRetireQueue.capacity,
      },
      lastAppliedLsn: state.lastAppliedLsn,
      lastRequestSlot: state.lastRequestSlot,
    };
  }

  /** The whole state as plain records sorted by id (see `encodeSnapshotBody`). */
  snapshot(): QuotaDbSnapshot {
    return captureSnapshot(this.state);
  }

  /** Walks every table and throws InvariantViolation on the first broken invariant. */
  checkInvariants(): void {
    checkAllInvariants(this.state);
  }

  /**
   * Steps 2–4: order check, watermarks, retirement. LSNs start at 1: before the first apply an
   * LSN must be above 0 (as in allocdb-core), so 0 is never a real applied LSN.
   */
  private advance(lsn: bigint, requestSlot: bigint): void {
    const state = this.state;
    const lastLsn = state.lastAppliedLsn;
    if (lsn <= (lastLsn ?? 0n)) {
      throw new ApplyOrderError(
        'lsn_not_increasing',
        lastLsn === undefined
          ? `LSN ${lsn} is not above 0: LSNs start at 1`
          : `LSN ${lsn} is not above the last applied LSN ${lastLsn}`,
      );
    }
    const lastSlot = state.lastRequestSlot;
    if (lastSlot !== undefined && requestSlot < lastSlot) {
      throw new ApplyOrderError(
        'request_slot_decreased',
        `request slot ${requestSlot} is below the last request slot ${lastSlot}`,
      );
    }
    state.lastAppliedLsn = lsn;
    state.lastRequestSlot = requestSlot;
    retireExpiredOperations(state, requestSlot);
  }

  /** Encodes the command's canonical bytes into the reusable writer and returns it. */
  private encodeScratch(command: Command): Writer {
    const writer = this.commandBytes;
    writer.reset();
    writeCommand(writer, command);
    return writer;
  }
}
