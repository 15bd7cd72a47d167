/**
 * Rebuilds the tables of a fresh state from a validated snapshot: resources, members,
 * reservations (with their member caches), operations, the wheel, and the two retire queues
 * ordered by `(retireAfterSlot, createdLsn)` and `(retireAfterSlot, appliedLsn)`. Then the
 * rebuilt wheel must equal the snapshot's, and every invariant must hold. The caller discards
 * the state on any error, so no half-restored instance escapes.
 */

import { InvariantViolation, SnapshotError } from '../errors.js';
import { checkAllInvariants } from '../state-machine/invariants.js';
import {
  type AllocDbState,
  isTerminal,
  type ReservationEntry,
  type ResourceEntry,
  versionFrom,
} from '../state-machine/state.js';
import type { AllocDbSnapshot, Outcome, ReservationRecord } from '../types.js';
import { compareBigint } from './capture.js';
import { checkSnapshot } from './check-snapshot.js';

function broken(message: string): never {
  throw new SnapshotError('invariant_violation', message);
}

function freezeOutcome(outcome: Outcome): Outcome {
  return outcome.reservationId === undefined
    ? (Object.freeze({ resultCode: outcome.resultCode }) as Outcome)
    : Object.freeze({
        resultCode: outcome.resultCode,
        reservationId: outcome.reservationId,
        leaseEpoch: outcome.leaseEpoch,
        deadlineSlot: outcome.deadlineSlot,
      });
}

/** Restores `snapshot` into `state`, which must be freshly created for the same config. */
export function restoreInto(state: AllocDbState, snapshot: AllocDbSnapshot): void {
  checkSnapshot(snapshot, state.config, state.derived);

  for (const record of snapshot.resources) {
    state.resources.insert(record.resourceId, {
      resourceId: record.resourceId,
      state: record.state,
      currentReservationId: record.currentReservationId,
      version: versionFrom(record.version),
      bundleMark: 0,
    });
  }

  // Members, grouped by reservation, each slot resolved to its resource entry.
  const reservationRecords = new Map<bigint, ReservationRecord>();
  for (const record of snapshot.reservations) reservationRecords.set(record.reservationId, record);
  const memberResources = new Map<bigint, (ResourceEntry | undefined)[]>();
  for (const member of snapshot.members) {
    const owner = reservationRecords.get(member.reservationId);
    if (owner === undefined) broken(`member of missing reservation ${member.reservationId}`);
    if (member.memberIndex >= owner.memberCount) {
      broken(`member ${member.memberIndex} of ${member.reservationId} is out of range`);
    }
    const resource = state.resources.get(member.resourceId);
    if (resource === undefined) {
      broken(`member ${member.memberIndex} of ${member.reservationId} names a missing resource`);
    }
    let slots = memberResources.get(member.reservationId);
    if (slots === undefined) {
      slots = new Array<ResourceEntry | undefined>(owner.memberCount).fill(undefined);
      memberResources.set(member.reservationId, slots);
    }
    slots[member.memberIndex] = resource;
  }
  state.memberRows = snapshot.members.length;

  const retiring: ReservationEntry[] = [];
  for (const record of snapshot.reservations) {
    const slots = memberResources.get(record.reservationId) ?? [];
    if (slots.length !== record.memberCount || slots.includes(undefined)) {
      broken(`reservation ${record.reservationId} lacks members`);
    }
    const entry: ReservationEntry = {
      reservationId: record.reservationId,
      resourceId: record.resourceId,
      holderId: record.holderId,
      leaseEpoch: record.leaseEpoch,
      state: record.state,
      createdLsn: record.createdLsn,
      deadlineSlot: record.deadlineSlot,
      releasedLsn: record.releasedLsn,
      retireAfterSlot: record.retireAfterSlot,
      memberCount: record.memberCount,
      wheelPosition: -1,
      wheelBucket: undefined,
      memberResources: slots as ResourceEntry[],
    };
    state.reservations.insert(record.reservationId, entry);
    if (entry.state === 'reserved') {
      if (!state.wheel.hasRoom(entry.deadlineSlot)) {
        broken(`the wheel bucket of ${entry.reservationId} exceeds maxExpirationBucketLen`);
      }
      state.wheel.schedule(entry);
    }
    if (isTerminal(entry.state) && entry.retireAfterSlot !== undefined) retiring.push(entry);
  }
  retiring.sort(
    (a, b) =>
      compareBigint(a.retireAfterSlot!, b.retireAfterSlot!) ||
      compareBigint(a.createdLsn, b.createdLsn),
  );
  for (const entry of retiring) {
    state.reservationRetireQueue.push(entry.reservationId, entry.retireAfterSlot!);
  }
  state.terminalReservations = retiring.length;

  const operations = [...snapshot.operations].sort(
    (a, b) =>
      compareBigint(a.retireAfterSlot, b.retireAfterSlot) ||
      compareBigint(a.appliedLsn, b.appliedLsn),
  );
  for (const record of operations) {
    const tableSlot = state.operations.record(
      record.operationId,
      record.command,
      0,
      record.command.byteLength,
      freezeOutcome(record.outcome),
      record.appliedLsn,
      record.retireAfterSlot,
    );
    state.operationRetireQueue.push(tableSlot, record.retireAfterSlot);
  }

  state.lastAppliedLsn = snapshot.lastAppliedLsn;
  state.lastRequestSlot = snapshot.lastRequestSlot;
  state.maxRetiredReservationId = snapshot.maxRetiredReservationId;

  checkWheelMatches(state, snapshot);
  try {
    checkAllInvariants(state);
  } catch (error) {
    if (!(error instanceof InvariantViolation)) throw error;
    throw new SnapshotError('invariant_violation', error.message, undefined, { cause: error });
  }
}

/** The wheel stored in the snapshot must be exactly the one its reserved reservations imply. */
function checkWheelMatches(state: AllocDbState, snapshot: AllocDbSnapshot): void {
  const rebuilt = state.wheel.buckets();
  const stored = snapshot.expirationWheel;
  const same =
    rebuilt.length === stored.length &&
    rebuilt.every((bucket, i) => {
      const other = stored[i]!;
      return (
        bucket.bucket === other.bucket &&
        bucket.reservationIds.length === other.reservationIds.length &&
        bucket.reservationIds.every((id, j) => id === other.reservationIds[j])
      );
    });
  if (!same) {
    throw new SnapshotError(
      'wheel_mismatch',
      'the expiration wheel differs from the reserved reservations it must schedule',
    );
  }
}
