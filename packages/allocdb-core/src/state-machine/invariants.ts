/**
 * The state machine's invariants (docs/allocdb-state-machine.md, "Invariants"), plus the bookkeeping that
 * follows from them (queues, counters, the member cache). A violation throws InvariantViolation.
 *
 * Two depths:
 * - `checkAfterApply` runs after every executed apply and checks everything the command could
 *   have changed (its reservation, that reservation's resources through the member cache, its
 *   wheel bucket, the operation record, the table counters): O(bundle size), so it is affordable
 *   on every command;
 * - `checkAllInvariants` walks every table: it runs on snapshot restore and from
 *   `AllocDb.checkInvariants()`, which the model-based tests call after every step.
 */
import { INITIAL_LEASE_EPOCH, U64_MAX } from '../constants.js';
import { InvariantViolation } from '../errors.js';
import { RESERVATION_STATES, RESOURCE_STATES, RESULT_CODES } from '../types.js';
import {
  type AllocDbState,
  isTerminal,
  type ReservationEntry,
  type ResourceEntry,
  setWindowSlot,
  versionOf,
} from './state.js';

function fail(invariant: string, message: string): never {
  throw new InvariantViolation(invariant, message);
}

const LOW_64_MASK = U64_MAX;
/** The epoch of a reservation whose epoch was raised once (terminal or revoking). */
const RAISED_LEASE_EPOCH = INITIAL_LEASE_EPOCH + 1n;

/** A resource on its own: state known, points at a reservation exactly when held. */
function checkResourceShape(state: AllocDbState, resource: ResourceEntry): void {
  if (!RESOURCE_STATES.includes(resource.state)) {
    fail('resource_state', `resource ${resource.resourceId} has state ${resource.state}`);
  }
  if ((resource.state === 'available') !== (resource.currentReservationId === undefined)) {
    fail(
      'resource_pointer',
      `resource ${resource.resourceId} is ${resource.state} with reservation ${resource.currentReservationId}`,
    );
  }
  // Every command raises a version by at most one and has its own LSN.
  const version = versionOf(resource);
  if (version < 0n || version > (state.lastAppliedLsn ?? 0n)) {
    fail('resource_version', `resource ${resource.resourceId} version ${version}`);
  }
}

/**
 * A held resource points at a live reservation in the same state that lists it as a member.
 */
function checkHeldResource(state: AllocDbState, resource: ResourceEntry): void {
  const reservationId = resource.currentReservationId;
  if (reservationId === undefined) return;
  const reservation = state.reservations.get(reservationId);
  if (reservation === undefined || isTerminal(reservation.state)) {
    fail('resource_pointer', `resource ${resource.resourceId} points at no live reservation`);
  }
  if (reservation.state !== resource.state) {
    fail(
      'resource_state_matches',
      `resource ${resource.resourceId} is ${resource.state}, reservation ${reservationId} is ${reservation.state}`,
    );
  }
  if (!reservation.memberResources.includes(resource)) {
    fail('resource_member', `reservation ${reservationId} does not list ${resource.resourceId}`);
  }
}

/**
 * One reservation: its fields, its member resources (through the member cache) and its wheel
 * membership. Its member rows are checked against the resource table by `checkMemberTable`.
 */
export function checkReservation(state: AllocDbState, reservation: ReservationEntry): void {
  const id = reservation.reservationId;
  const lifecycle = reservation.state;
  if (!RESERVATION_STATES.includes(lifecycle)) fail('reservation_state', `${id}: ${lifecycle}`);
  // Shard 0's ids are their LSNs: then one comparison, with no bigint made, is the same check
  // (createdLsn is a u64, checked against lastAppliedLsn below).
  if (
    id === reservation.createdLsn
      ? state.config.shardId !== 0n
      : id >> 64n !== state.config.shardId || (id & LOW_64_MASK) !== reservation.createdLsn
  ) {
    fail('reservation_id', `${id} is not (shardId << 64) | createdLsn ${reservation.createdLsn}`);
  }
  const lastAppliedLsn = state.lastAppliedLsn ?? 0n;
  const lastRequestSlot = state.lastRequestSlot ?? 0n;
  setWindowSlot(state, lastRequestSlot);
  if (reservation.createdLsn < 1n || reservation.createdLsn > lastAppliedLsn) {
    fail('reservation_created_lsn', `${id} created at ${reservation.createdLsn}`);
  }
  const terminal = isTerminal(lifecycle);
  if (terminal !== (reservation.retireAfterSlot !== undefined)) {
    fail(
      'reservation_retire_after',
      `${id} is ${lifecycle}, retireAfterSlot ${reservation.retireAfterSlot}`,
    );
  }
  if (terminal !== (reservation.releasedLsn !== undefined)) {
    fail(
      'reservation_released_lsn',
      `${id} is ${lifecycle}, releasedLsn ${reservation.releasedLsn}`,
    );
  }
  if (
    reservation.releasedLsn !== undefined &&
    (reservation.releasedLsn < reservation.createdLsn || reservation.releasedLsn > lastAppliedLsn)
  ) {
    fail('reservation_released_lsn', `${id} released at ${reservation.releasedLsn}`);
  }
  if (reservation.retireAfterSlot !== undefined && reservation.retireAfterSlot < lastRequestSlot) {
    fail(
      'reservation_retire_after',
      `${id} should have been retired before slot ${lastRequestSlot}`,
    );
  }
  // A reservation turns terminal at a slot ≤ lastRequestSlot, so it retires at most one history
  // window later. A later deadline comes from a longer window (a snapshot restored under a smaller
  // one): the retire queue would leave deadline order and records would outlive their window.
  if (
    reservation.retireAfterSlot !== undefined &&
    reservation.retireAfterSlot > state.historyWindowEnd
  ) {
    fail(
      'reservation_retire_after',
      `${id} retires after slot ${reservation.retireAfterSlot}, beyond slot ${lastRequestSlot} + the history window ${state.config.reservationHistoryWindowSlots}`,
    );
  }
  const expectedEpoch =
    lifecycle === 'reserved' || lifecycle === 'confirmed'
      ? INITIAL_LEASE_EPOCH
      : RAISED_LEASE_EPOCH;
  if (reservation.leaseEpoch !== expectedEpoch) {
    fail('reservation_epoch', `${id} is ${lifecycle} with epoch ${reservation.leaseEpoch}`);
  }

  const count = reservation.memberCount;
  if (!Number.isInteger(count) || count < 1 || count > state.config.maxBundleSize) {
    fail('reservation_member_count', `${id} has memberCount ${count}`);
  }
  if (reservation.memberResources.length !== count) {
    fail('reservation_member_cache', `${id} caches ${reservation.memberResources.length} members`);
  }
  // A fresh stamp marks each member resource once: a second visit is a repeat (O(bundle)).
  const mark = ++state.bundleMarkCounter;
  for (let memberIndex = 0; memberIndex < count; memberIndex++) {
    const resource = reservation.memberResources[memberIndex]!;
    if (resource.bundleMark === mark) {
      fail('reservation_member_repeat', `${id} lists ${resource.resourceId} twice`);
    }
    resource.bundleMark = mark;
    if (terminal) {
      if (resource.currentReservationId === id) {
        fail('terminal_owns_resource', `${id} is ${lifecycle} but owns ${resource.resourceId}`);
      }
    } else if (resource.currentReservationId !== id || resource.state !== lifecycle) {
      fail('live_reservation_resource', `${id} does not hold ${resource.resourceId}`);
    }
  }
  if (reservation.memberResources[0]!.resourceId !== reservation.resourceId) {
    fail('reservation_anchor', `${id}: member 0 is not the anchor ${reservation.resourceId}`);
  }

  const position = reservation.wheelPosition;
  const scheduled = position >= 0 && state.wheel.entryAt(position) === reservation;
  if (scheduled !== (lifecycle === 'reserved') || (!scheduled && position !== -1)) {
    fail('wheel_membership', `${id} is ${lifecycle}, wheel position ${position}`);
  }
  // The counter the wheel keeps for the entry's bucket (checkStructure proves it is that
  // bucket's): no bigint `%` and no lookup per command.
  if (scheduled && (reservation.wheelBucket?.length ?? 0) > state.wheel.maxBucketLen) {
    fail('wheel_bucket_bound', `the bucket of ${id} exceeds ${state.wheel.maxBucketLen}`);
  }
}

/** The member rows of a reservation (its member cache) name entries of the resource table. */
function checkMemberTable(state: AllocDbState, reservation: ReservationEntry): void {
  const id = reservation.reservationId;
  for (let memberIndex = 0; memberIndex < reservation.memberCount; memberIndex++) {
    const resource = reservation.memberResources[memberIndex];
    if (resource === undefined) {
      fail('reservation_member_missing', `${id} lacks member ${memberIndex}`);
    }
    if (state.resources.get(resource.resourceId) !== resource) {
      fail('reservation_member_cache', `${id} member ${memberIndex} disagrees with the tables`);
    }
  }
}

/** The operation record in `slot` on its own. */
function checkOperation(state: AllocDbState, slot: number): void {
  const operations = state.operations;
  const appliedLsn = operations.appliedLsnAt(slot);
  if (appliedLsn < 1n || appliedLsn > (state.lastAppliedLsn ?? 0n)) {
    fail('operation_applied_lsn', `operation in slot ${slot} applied at ${appliedLsn}`);
  }
  const lastRequestSlot = state.lastRequestSlot ?? 0n;
  setWindowSlot(state, lastRequestSlot);
  const retireAfterSlot = operations.retireAfterSlotAt(slot);
  if (retireAfterSlot < lastRequestSlot) {
    fail('operation_retire_after', `operation in slot ${slot} should have been retired`);
  }
  // Recorded at a slot ≤ lastRequestSlot, a record retires at most one window W later. A later
  // deadline comes from a longer window (a snapshot restored under a smaller W): the record would
  // answer retries past this configuration's window, and the retire queue leave deadline order.
  if (retireAfterSlot > state.operationWindowEnd) {
    fail(
      'operation_retire_after',
      `operation in slot ${slot} retires after slot ${retireAfterSlot}, beyond slot ${lastRequestSlot} + the window ${state.derived.operationWindowSlots}`,
    );
  }
  const outcome = operations.outcomeAt(slot);
  if (!RESULT_CODES.includes(outcome.resultCode)) {
    fail('operation_outcome', `operation in slot ${slot} has result ${outcome.resultCode}`);
  }
  // Counted without an array: this runs after every recorded command.
  const present =
    (outcome.reservationId === undefined ? 0 : 1) +
    (outcome.leaseEpoch === undefined ? 0 : 1) +
    (outcome.deadlineSlot === undefined ? 0 : 1);
  if (present !== 0 && (present !== 3 || outcome.resultCode !== 'ok')) {
    fail('operation_outcome', `operation in slot ${slot} has partial or misplaced result fields`);
  }
}

/** Table sizes against capacities and the counters kept beside them. */
function checkCounters(state: AllocDbState): void {
  const wheel = state.wheel;
  if (wheel.size > state.reservations.size - state.terminalReservations) {
    fail('wheel_size', `${wheel.size} scheduled, more than the live reservations`);
  }
  if (state.reservationRetireQueue.size !== state.terminalReservations) {
    fail(
      'reservation_retire_queue',
      `${state.reservationRetireQueue.size} queued for ${state.terminalReservations} terminal reservations`,
    );
  }
  if (state.operationRetireQueue.size !== state.operations.size) {
    fail(
      'operation_retire_queue',
      `${state.operationRetireQueue.size} queued for ${state.operations.size} operations`,
    );
  }
}

/** The per-command check: what the last apply touched, plus the O(1) counters. */
export function checkAfterApply(
  state: AllocDbState,
  touchedReservation: ReservationEntry | undefined,
  touchedResource: ResourceEntry | undefined,
  recordedSlot: number,
): void {
  if (touchedReservation !== undefined) checkReservation(state, touchedReservation);
  if (touchedResource !== undefined) checkResourceShape(state, touchedResource);
  if (recordedSlot >= 0) checkOperation(state, recordedSlot);
  checkCounters(state);
}

/** The whole-state check. */
export function checkAllInvariants(state: AllocDbState): void {
  const { config } = state;
  if ((state.lastAppliedLsn === undefined) !== (state.lastRequestSlot === undefined)) {
    fail('watermarks', 'lastAppliedLsn and lastRequestSlot must be both set or both unset');
  }
  const watermark = state.maxRetiredReservationId;
  if (
    watermark !== undefined &&
    (watermark >> 64n !== config.shardId ||
      (watermark & LOW_64_MASK) > (state.lastAppliedLsn ?? 0n) ||
      (watermark & LOW_64_MASK) === 0n)
  ) {
    fail('retired_watermark', `watermark ${watermark} is not a past reservation id of this shard`);
  }

  state.resources.forEach((resource, key) => {
    if (key !== resource.resourceId)
      fail('resource_key', `key ${key} holds ${resource.resourceId}`);
    checkResourceShape(state, resource);
    checkHeldResource(state, resource);
  });

  let terminal = 0;
  let reserved = 0;
  let memberTotal = 0;
  state.reservations.forEach((reservation, key) => {
    if (key !== reservation.reservationId) {
      fail('reservation_key', `key ${key} holds ${reservation.reservationId}`);
    }
    checkReservation(state, reservation);
    checkMemberTable(state, reservation);
    if (isTerminal(reservation.state)) terminal++;
    if (reservation.state === 'reserved') reserved++;
    memberTotal += reservation.memberCount;
  });
  if (terminal !== state.terminalReservations) {
    fail(
      'terminal_count',
      `${terminal} terminal reservations, counter says ${state.terminalReservations}`,
    );
  }

  if (memberTotal !== state.memberRows) {
    fail('member_count', `${state.memberRows} member rows for memberCount total ${memberTotal}`);
  }

  state.wheel.checkStructure();
  if (state.wheel.size !== reserved) {
    fail('wheel_size', `${state.wheel.size} scheduled for ${reserved} reserved reservations`);
  }
  for (let i = 0; i < state.wheel.size; i++) {
    const entry = state.wheel.entryAt(i)!;
    if (state.reservations.get(entry.reservationId) !== entry || entry.state !== 'reserved') {
      fail('wheel_membership', `wheel holds ${entry.reservationId}, not a reserved reservation`);
    }
  }

  state.operations.checkStructure();
  state.operations.forEach((slot) => checkOperation(state, slot));

  checkQueue(
    'reservation_retire_queue',
    state.reservationRetireQueue.entries(),
    (id) => state.reservations.get(id)?.retireAfterSlot,
  );
  checkQueue('operation_retire_queue', state.operationRetireQueue.entries(), (slot) =>
    state.operations.isLiveEntry(slot, state.operations.retireAfterSlotAt(slot))
      ? state.operations.retireAfterSlotAt(slot)
      : undefined,
  );
  checkCounters(state);
}

/** Every queue entry names a record with that retireAfterSlot, in non-decreasing order. */
function checkQueue<K>(
  invariant: string,
  entries: Iterable<{ key: K; retireAfterSlot: bigint }>,
  recordSlot: (key: K) => bigint | undefined,
): void {
  let previous = 0n;
  for (const entry of entries) {
    if (entry.retireAfterSlot < previous) fail(invariant, 'entries out of slot order');
    if (recordSlot(entry.key) !== entry.retireAfterSlot) {
      fail(invariant, `entry ${entry.key} does not match a retirable record`);
    }
    previous = entry.retireAfterSlot;
  }
}
