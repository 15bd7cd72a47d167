/**
 * The eight commands. Each runs its checks in the spec's order; the first failing check is the
 * outcome and changes nothing. Effects run only after every check has passed, so a command
 * either applies completely or not at all.
 */
import { INITIAL_LEASE_EPOCH } from '../constants.js';
import { InvariantViolation } from '../errors.js';
import type { Command, ConfirmCommand, ExpireCommand, Outcome, ReleaseCommand } from '../types.js';
import { OUTCOMES, reservedOutcome } from './outcomes.js';
import {
  type AllocDbState,
  bumpVersion,
  isTerminal,
  type ReservationEntry,
  type ResourceEntry,
} from './state.js';

/** Runs `command` at `(lsn, requestSlot)`; the caller has done steps 1–5 of the apply. */
export function executeCommand(
  state: AllocDbState,
  lsn: bigint,
  requestSlot: bigint,
  command: Command,
): Outcome {
  state.touchedReservation = undefined;
  state.touchedResource = undefined;
  switch (command.kind) {
    case 'create_resource':
      return createResource(state, command.resourceId);
    case 'reserve': {
      const scratch = singleResource;
      scratch[0] = command.resourceId;
      return reserve(state, lsn, requestSlot, scratch, command.holderId, command.ttlSlots);
    }
    case 'reserve_bundle':
      return reserve(
        state,
        lsn,
        requestSlot,
        command.resourceIds,
        command.holderId,
        command.ttlSlots,
      );
    case 'confirm':
      return confirm(state, command);
    case 'release':
      return release(state, lsn, requestSlot, command);
    case 'revoke':
      return revoke(state, command.reservationId);
    case 'reclaim':
      return reclaim(state, lsn, requestSlot, command.reservationId);
    case 'expire':
      return expire(state, lsn, requestSlot, command);
  }
}

/** The epoch after one raise from the initial one: shared, not allocated per release. */
const RAISED_LEASE_EPOCH = INITIAL_LEASE_EPOCH + 1n;

/** `reserve` is a one-element bundle; this array carries its one id without allocating. */
const singleResource: bigint[] = [0n];

function createResource(state: AllocDbState, resourceId: bigint): Outcome {
  const resources = state.resources;
  const existing = resources.get(resourceId);
  if (existing !== undefined) {
    state.touchedResource = existing;
    return OUTCOMES.already_exists;
  }
  if (resources.isFull()) return OUTCOMES.resource_table_full;
  const resource: ResourceEntry = {
    resourceId,
    state: 'available',
    currentReservationId: undefined,
    version: 0,
    bundleMark: 0,
  };
  resources.insert(resourceId, resource);
  state.touchedResource = resource;
  return OUTCOMES.ok;
}

function reserve(
  state: AllocDbState,
  lsn: bigint,
  requestSlot: bigint,
  resourceIds: readonly bigint[],
  holderId: bigint,
  ttlSlots: bigint,
): Outcome {
  const config = state.config;
  const count = resourceIds.length;
  if (count === 0 || count > config.maxBundleSize) return OUTCOMES.bundle_too_large;
  if (ttlSlots === 0n || ttlSlots > config.maxTtlSlots) return OUTCOMES.ttl_out_of_range;

  // Element by element, in list order. A repeat of an earlier element is resource_busy; since
  // every earlier element was found and available, stamping each checked resource with this
  // reserve's mark detects a repeat in O(1) instead of comparing with all earlier elements.
  const mark = ++state.bundleMarkCounter;
  const found = state.bundleScratch;
  for (let i = 0; i < count; i++) {
    const resource = state.resources.get(resourceIds[i]!);
    if (resource === undefined) return OUTCOMES.resource_not_found;
    if (resource.bundleMark === mark || resource.state !== 'available') {
      return OUTCOMES.resource_busy;
    }
    resource.bundleMark = mark;
    found[i] = resource;
  }
  if (state.reservations.isFull()) return OUTCOMES.reservation_table_full;
  if (state.memberRows + count > state.memberCapacity) {
    return OUTCOMES.reservation_member_table_full;
  }
  const deadlineSlot = requestSlot + ttlSlots;
  if (!state.wheel.hasRoom(deadlineSlot)) return OUTCOMES.expiration_index_full;

  // Shard 0's base is 0n: the id is the LSN itself, with no bigint made.
  const base = state.reservationIdBase;
  const reservationId = base === 0n ? lsn : base | lsn;
  const memberResources = count === 1 ? [found[0]!] : (found.slice(0, count) as ResourceEntry[]);
  found.fill(undefined, 0, count);
  const reservation: ReservationEntry = {
    reservationId,
    resourceId: memberResources[0]!.resourceId,
    holderId,
    leaseEpoch: INITIAL_LEASE_EPOCH,
    state: 'reserved',
    createdLsn: lsn,
    deadlineSlot,
    releasedLsn: undefined,
    retireAfterSlot: undefined,
    memberCount: count,
    wheelPosition: -1,
    wheelBucket: undefined,
    memberResources,
  };
  expectInserted(
    state.reservations.insert(reservationId, reservation),
    'reservation',
    reservationId,
  );
  state.memberRows += count;
  for (let memberIndex = 0; memberIndex < count; memberIndex++) {
    const resource = memberResources[memberIndex]!;
    resource.state = 'reserved';
    resource.currentReservationId = reservationId;
    bumpVersion(resource);
  }
  state.wheel.schedule(reservation);
  state.touchedReservation = reservation;
  return reservedOutcome(reservationId, INITIAL_LEASE_EPOCH, deadlineSlot);
}

/** The first four checks of confirm and release, in order; undefined when they all pass. */
function checkHolder(
  reservation: ReservationEntry | undefined,
  command: ConfirmCommand | ReleaseCommand,
): Outcome | undefined {
  if (reservation === undefined) return OUTCOMES.reservation_not_found;
  if (reservation.holderId !== command.holderId) return OUTCOMES.holder_mismatch;
  if (reservation.leaseEpoch !== command.leaseEpoch) return OUTCOMES.stale_epoch;
  if (isTerminal(reservation.state)) return OUTCOMES.reservation_retired;
  return undefined;
}

function confirm(state: AllocDbState, command: ConfirmCommand): Outcome {
  const reservation = state.reservations.get(command.reservationId);
  state.touchedReservation = reservation;
  const failed = checkHolder(reservation, command);
  if (failed !== undefined) return failed;
  if (reservation!.state !== 'reserved') return OUTCOMES.invalid_state;
  state.wheel.unschedule(reservation!);
  reservation!.state = 'confirmed';
  for (const resource of reservation!.memberResources) {
    resource.state = 'confirmed';
    bumpVersion(resource);
  }
  return OUTCOMES.ok;
}

function release(
  state: AllocDbState,
  lsn: bigint,
  requestSlot: bigint,
  command: ReleaseCommand,
): Outcome {
  const reservation = state.reservations.get(command.reservationId);
  state.touchedReservation = reservation;
  const failed = checkHolder(reservation, command);
  if (failed !== undefined) return failed;
  if (reservation!.state === 'revoking') return OUTCOMES.invalid_state;
  finish(state, reservation!, 'released', lsn, requestSlot, true);
  return OUTCOMES.ok;
}

function revoke(state: AllocDbState, reservationId: bigint): Outcome {
  const reservation = state.reservations.get(reservationId);
  state.touchedReservation = reservation;
  if (reservation === undefined) return OUTCOMES.reservation_not_found;
  if (isTerminal(reservation.state)) return OUTCOMES.reservation_retired;
  if (reservation.state !== 'confirmed') return OUTCOMES.invalid_state;
  reservation.state = 'revoking';
  reservation.leaseEpoch += 1n;
  for (const resource of reservation.memberResources) {
    resource.state = 'revoking';
    bumpVersion(resource);
  }
  return OUTCOMES.ok;
}

function reclaim(
  state: AllocDbState,
  lsn: bigint,
  requestSlot: bigint,
  reservationId: bigint,
): Outcome {
  const reservation = state.reservations.get(reservationId);
  state.touchedReservation = reservation;
  if (reservation === undefined) return OUTCOMES.reservation_not_found;
  if (isTerminal(reservation.state)) return OUTCOMES.reservation_retired;
  if (reservation.state !== 'revoking') return OUTCOMES.invalid_state;
  // The epoch was already raised by revoke.
  finish(state, reservation, 'revoked', lsn, requestSlot, false);
  return OUTCOMES.ok;
}

function expire(
  state: AllocDbState,
  lsn: bigint,
  requestSlot: bigint,
  command: ExpireCommand,
): Outcome {
  const reservation = state.reservations.get(command.reservationId);
  state.touchedReservation = reservation;
  if (reservation === undefined) return OUTCOMES.reservation_not_found;
  if (reservation.deadlineSlot !== command.deadlineSlot) return OUTCOMES.noop;
  if (reservation.state !== 'reserved') return OUTCOMES.noop;
  finish(state, reservation, 'expired', lsn, requestSlot, true);
  return OUTCOMES.ok;
}

/**
 * The common effect of release, expire and reclaim: the reservation becomes terminal, frees its
 * resources and is queued for retirement after the history window.
 */
function finish(
  state: AllocDbState,
  reservation: ReservationEntry,
  terminalState: 'released' | 'expired' | 'revoked',
  lsn: bigint,
  requestSlot: bigint,
  raiseEpoch: boolean,
): void {
  // advance() made historyWindowEnd requestSlot + the history window: shared by the slot.
  if (state.windowSlot !== requestSlot) {
    throw new InvariantViolation('window_slot', `window ends not set for slot ${requestSlot}`);
  }
  const retireAfterSlot = state.historyWindowEnd;
  if (state.reservationRetireQueue.push(reservation.reservationId, retireAfterSlot) !== 'ok') {
    throw new InvariantViolation('retire_queue_bound', 'reservation retire queue is full');
  }
  if (reservation.state === 'reserved') state.wheel.unschedule(reservation);
  reservation.state = terminalState;
  if (raiseEpoch) {
    reservation.leaseEpoch =
      reservation.leaseEpoch === INITIAL_LEASE_EPOCH
        ? RAISED_LEASE_EPOCH
        : reservation.leaseEpoch + 1n;
  }
  reservation.releasedLsn = lsn;
  reservation.retireAfterSlot = retireAfterSlot;
  state.terminalReservations++;
  for (const resource of reservation.memberResources) {
    resource.state = 'available';
    resource.currentReservationId = undefined;
    bumpVersion(resource);
  }
}

function expectInserted(result: string, table: string, key: bigint): void {
  if (result !== 'ok') {
    throw new InvariantViolation(`${table}_insert`, `inserting ${key} answered ${result}`);
  }
}
