/**
 * `AllocDb`: the lease allocator's state machine. Pure, synchronous and deterministic: it reads
 * no clock and no randomness; time enters only as each command's `requestSlot`. The durable
 * engine logs every command before applying it here, and replays the log through the same two
 * apply methods.
 */

import {
  encodeCommandInto,
  newCommandScratch,
  SCRATCH_COMMAND_START,
  writeCommand,
} from '../codec/command-codec.js';
import type { AllocDbConfig } from '../config.js';
import { RESERVATION_ID_SHARD_SHIFT } from '../constants.js';
import { ApplyOrderError, InvalidRequestError, InvariantViolation } from '../errors.js';
import { Writer } from '../runtime/binary.js';
import { decodeSnapshotBody } from '../snapshot/body-codec.js';
import { captureSnapshot } from '../snapshot/capture.js';
import { restoreInto } from '../snapshot/restore.js';
import type {
  AllocDbMetrics,
  AllocDbSnapshot,
  ApplyContext,
  ClientDisposition,
  ClientRequest,
  ClientRequestOf,
  Command,
  CommandKind,
  CommandOf,
  DueExpiration,
  OperationRecord,
  Outcome,
  OutcomeOf,
  ReservationLookup,
  ReservationMember,
  ResourceRecord,
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
import { checkAfterApply, checkAllInvariants } from './invariants.js';
import { OUTCOMES } from './outcomes.js';
import { toReservationRecord, toResourceRecord } from './records.js';
import { retireExpiredRecords } from './retirement.js';
import { slotOverflows } from './slot-check.js';
import { type AllocDbState, createState, setWindowSlot } from './state.js';

const RETRY_MISS: RetryLookup = Object.freeze({ status: 'miss' });
const RETRY_CONFLICT: RetryLookup = Object.freeze({ status: 'conflict' });
const LOOKUP_RETIRED: ReservationLookup = Object.freeze({ status: 'retired' });
const LOOKUP_NOT_FOUND: ReservationLookup = Object.freeze({ status: 'not_found' });

export class AllocDb {
  private readonly state: AllocDbState;
  /** Reused for every command's canonical bytes: one encoding per apply, no buffer per apply. */
  private readonly commandBytes = new Writer();
  /**
   * The same for the apply path's fixed-size commands, written by `encodeCommandInto` (no growth
   * or width checks); a bundle goes through `commandBytes`.
   */
  private readonly applyScratch = newCommandScratch();
  private disposition: ClientDisposition = 'executed';

  /** Allocates every table at its capacity; throws ConfigError for an invalid config. */
  constructor(config: AllocDbConfig) {
    this.state = createState(config);
  }

  /**
   * Rebuilds a state machine from a snapshot, validating everything (SnapshotError; ConfigError
   * for the config). Never returns a half-restored instance.
   */
  static fromSnapshot(config: AllocDbConfig, snapshot: AllocDbSnapshot): AllocDb {
    const db = new AllocDb(config);
    restoreInto(db.state, snapshot);
    return db;
  }

  /** `fromSnapshot(config, decodeSnapshotBody(body, config))`. */
  static fromSnapshotBody(config: AllocDbConfig, body: Uint8Array): AllocDb {
    return AllocDb.fromSnapshot(config, decodeSnapshotBody(body, config));
  }

  get config(): AllocDbConfig {
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

  /**
   * The retired-lookup watermark: the largest reservation id ever retired; undefined before the
   * first retirement (and then no absent id reads as retired).
   */
  get maxRetiredReservationId(): bigint | undefined {
    return this.state.maxRetiredReservationId;
  }

  /** How the last `applyClient` was answered; `retry_cache` means a stored outcome. */
  get lastClientDisposition(): ClientDisposition {
    return this.disposition;
  }

  /**
   * Applies a client request: slot pre-check, order check, retirement, dedupe on
   * `operationId`, operation-table check, execution, recording, invariants (docs/allocdb-state-machine.md,
   * "Client path"). Throws InvalidRequestError for malformed input and ApplyOrderError for an
   * LSN or slot out of order, in both cases changing nothing. The outcome's type follows the
   * command's kind (`OutcomeOf<'reserve'>` for a reserve).
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
    if (end >= 0) {
      return this.applyEncodedClient(
        lsn,
        requestSlot,
        request,
        scratch.bytes,
        SCRATCH_COMMAND_START,
        end,
      );
    }
    const encoded = this.encodeScratch(request.command);
    return this.applyEncodedClient(lsn, requestSlot, request, encoded.storage, 0, encoded.length);
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
    const command = request.command;
    if (slotOverflows(state, requestSlot, command, true)) {
      this.disposition = 'slot_overflow';
      return OUTCOMES.slot_overflow;
    }
    this.advance(lsn, requestSlot);

    const operations = state.operations;
    const existing = operations.slotOf(request.operationId);
    if (existing >= 0) {
      if (operations.commandMatches(existing, bytes, start, end)) {
        this.disposition = 'retry_cache';
        return operations.outcomeAt(existing);
      }
      this.disposition = 'operation_conflict';
      return OUTCOMES.operation_conflict;
    }
    if (operations.isFull()) {
      this.disposition = 'operation_table_full';
      return OUTCOMES.operation_table_full;
    }

    const outcome = executeCommand(state, lsn, requestSlot, command);
    // advance() made the window ends those of requestSlot.
    const retireAfterSlot = state.operationWindowEnd;
    const slot = operations.record(
      request.operationId,
      bytes,
      start,
      end,
      outcome,
      lsn,
      retireAfterSlot,
    );
    if (state.operationRetireQueue.push(slot, retireAfterSlot) !== 'ok') {
      throw new InvariantViolation('retire_queue_bound', 'operation retire queue is full');
    }
    this.checkApplied(slot);
    this.disposition = 'executed';
    return outcome;
  }

  /**
   * Applies an internal command (the engine's `expire`, or any command a trusted caller sends):
   * the command's own slot pre-check, order check, retirement, execution, invariants. No
   * dedupe, no operation record.
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
    const state = this.state;
    if (slotOverflows(state, requestSlot, command, false)) return OUTCOMES.slot_overflow;
    this.advance(lsn, requestSlot);
    const outcome = executeCommand(state, lsn, requestSlot, command);
    this.checkApplied(-1);
    return outcome;
  }

  /**
   * Whether applying `command` at `requestSlot` would answer `slot_overflow` (step 1 of the
   * apply), without applying anything: the engine asks before logging.
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
    command: Command,
    origin: 'client' | 'internal',
  ): boolean {
    return slotOverflows(this.state, requestSlot, command, origin === 'client');
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

  /** The resource record, or undefined. */
  getResource(resourceId: bigint): ResourceRecord | undefined {
    assertU128Field(resourceId, 'resourceId');
    const entry = this.state.resources.get(resourceId);
    return entry === undefined ? undefined : toResourceRecord(entry);
  }

  /**
   * `found` while the reservation is in the table and, if terminal, not past its
   * `retireAfterSlot` at `currentSlot`; `retired` when terminal and past it, or when absent but
   * of this shard and at or below the retired watermark (conservatively, even ids that never
   * existed); otherwise `not_found`.
   */
  getReservation(reservationId: bigint, currentSlot: bigint): ReservationLookup {
    assertU128Field(reservationId, 'reservationId');
    assertU64Field(currentSlot, 'currentSlot');
    const state = this.state;
    const entry = state.reservations.get(reservationId);
    if (entry !== undefined) {
      if (entry.retireAfterSlot !== undefined && currentSlot > entry.retireAfterSlot) {
        return LOOKUP_RETIRED;
      }
      return { status: 'found', reservation: toReservationRecord(entry) };
    }
    const watermark = state.maxRetiredReservationId;
    if (
      watermark !== undefined &&
      reservationId <= watermark &&
      reservationId >> RESERVATION_ID_SHARD_SHIFT === state.config.shardId
    ) {
      return LOOKUP_RETIRED;
    }
    return LOOKUP_NOT_FOUND;
  }

  /** The members of a reservation in the table, in member order (empty when absent). */
  getReservationMembers(reservationId: bigint): ReservationMember[] {
    assertU128Field(reservationId, 'reservationId');
    const entry = this.state.reservations.get(reservationId);
    if (entry === undefined) return [];
    const members: ReservationMember[] = [];
    for (let memberIndex = 0; memberIndex < entry.memberCount; memberIndex++) {
      const resource = entry.memberResources[memberIndex]!;
      members.push({ reservationId, resourceId: resource.resourceId, memberIndex });
    }
    return members;
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

  /** Up to `limit` reserved reservations with `deadline ≤ currentSlot`, by `(deadline, id)`. */
  dueExpirations(currentSlot: bigint, limit: number): DueExpiration[] {
    assertU64Field(currentSlot, 'currentSlot');
    assertCount(limit, 'limit');
    return this.state.wheel
      .due(currentSlot, limit)
      .map((entry) => ({ reservationId: entry.reservationId, deadlineSlot: entry.deadlineSlot }));
  }

  /** Number of reserved reservations with `deadline ≤ slot`. */
  expirationBacklog(slot: bigint): number {
    assertU64Field(slot, 'slot');
    return this.state.wheel.backlog(slot);
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

  /** Use and capacity of every table, queue and the wheel, and the watermarks. */
  metrics(): AllocDbMetrics {
    const state = this.state;
    const { wheel, config } = state;
    return {
      resources: { used: state.resources.size, capacity: state.resources.capacity },
      reservations: { used: state.reservations.size, capacity: state.reservations.capacity },
      reservationMembers: { used: state.memberRows, capacity: state.memberCapacity },
      operations: { used: state.operations.size, capacity: state.operations.capacity },
      reservationRetireQueue: {
        used: state.reservationRetireQueue.size,
        capacity: state.reservationRetireQueue.capacity,
      },
      operationRetireQueue: {
        used: state.operationRetireQueue.size,
        capacity: state.operationRetireQueue.capacity,
      },
      scheduledExpirations: { used: wheel.size, capacity: wheel.capacity },
      nonEmptyExpirationBuckets: { used: wheel.nonEmptyBuckets, capacity: wheel.capacity },
      largestExpirationBucket: {
        used: wheel.largestBucketLength(),
        capacity: config.maxExpirationBucketLen,
      },
      lastAppliedLsn: state.lastAppliedLsn,
      lastRequestSlot: state.lastRequestSlot,
      maxRetiredReservationId: state.maxRetiredReservationId,
    };
  }

  /** The whole state as plain records sorted by key (see `encodeSnapshotBody`). */
  snapshot(): AllocDbSnapshot {
    return captureSnapshot(this.state);
  }

  /** Walks every table and throws InvariantViolation on the first broken invariant. */
  checkInvariants(): void {
    checkAllInvariants(this.state);
  }

  /**
   * Step 2 and 3: order check, watermarks, retirement. LSNs start at 1: before the first apply
   * an LSN must be above 0 (which is how the snapshot body writes "no LSN yet").
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
    setWindowSlot(state, requestSlot);
    retireExpiredRecords(state, requestSlot);
  }

  /** Encodes the command's canonical bytes into the reusable writer and returns it. */
  private encodeScratch(command: Command): Writer {
    const writer = this.commandBytes;
    writer.reset();
    writeCommand(writer, command);
    return writer;
  }

  /** Checks the invariants of whatever the command touched (the execution noted it). */
  private checkApplied(recordedSlot: number): void {
    const state = this.state;
    checkAfterApply(state, state.touchedReservation, state.touchedResource, recordedSlot);
  }
}

function assertCount(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidRequestError('invalid_type', field, 'must be a non-negative safe integer');
  }
}
