import { toReservationRecord, toResourceRecord } from '../state-machine/records.js';
import type { AllocDbState } from '../state-machine/state.js';
import type { AllocDbSnapshot, OperationRecord, ReservationMember } from '../types.js';

/** Ascending bigint order for sort(). */
export function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The state as plain records, every list sorted by key, so that equal states give equal
 * snapshots whatever order the tables were filled in. Records are copies.
 */
export function captureSnapshot(state: AllocDbState): AllocDbSnapshot {
  const resources = [...state.resources.values()]
    .sort((a, b) => compareBigint(a.resourceId, b.resourceId))
    .map(toResourceRecord);
  const reservationEntries = [...state.reservations.values()].sort((a, b) =>
    compareBigint(a.reservationId, b.reservationId),
  );
  const members: ReservationMember[] = [];
  for (const reservation of reservationEntries) {
    for (let memberIndex = 0; memberIndex < reservation.memberCount; memberIndex++) {
      const resource = reservation.memberResources[memberIndex]!;
      members.push({
        reservationId: reservation.reservationId,
        resourceId: resource.resourceId,
        memberIndex,
      });
    }
  }
  const operations: OperationRecord[] = [];
  state.operations.forEach((slot) => operations.push(state.operations.recordAt(slot)));
  operations.sort((a, b) => compareBigint(a.operationId, b.operationId));
  const { lastAppliedLsn, lastRequestSlot, maxRetiredReservationId } = state;
  return {
    ...(lastAppliedLsn === undefined || lastRequestSlot === undefined
      ? {}
      : { lastAppliedLsn, lastRequestSlot }),
    ...(maxRetiredReservationId === undefined ? {} : { maxRetiredReservationId }),
    resources,
    reservations: reservationEntries.map(toReservationRecord),
    members,
    operations,
    expirationWheel: state.wheel.buckets(),
  };
}
