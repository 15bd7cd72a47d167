/**
 * Copies of internal entries as public records. Reads hand out copies so that a caller can
 * never change the state machine's tables; optional fields are omitted, not undefined.
 */
import type { ReservationRecord, ResourceRecord } from '../types.js';
import { type ReservationEntry, type ResourceEntry, versionOf } from './state.js';

export function toResourceRecord(entry: ResourceEntry): ResourceRecord {
  return entry.currentReservationId === undefined
    ? { resourceId: entry.resourceId, state: entry.state, version: versionOf(entry) }
    : {
        resourceId: entry.resourceId,
        state: entry.state,
        currentReservationId: entry.currentReservationId,
        version: versionOf(entry),
      };
}

export function toReservationRecord(entry: ReservationEntry): ReservationRecord {
  const record: {
    -readonly [K in keyof ReservationRecord]: ReservationRecord[K];
  } = {
    reservationId: entry.reservationId,
    resourceId: entry.resourceId,
    holderId: entry.holderId,
    leaseEpoch: entry.leaseEpoch,
    state: entry.state,
    createdLsn: entry.createdLsn,
    deadlineSlot: entry.deadlineSlot,
    memberCount: entry.memberCount,
  };
  if (entry.releasedLsn !== undefined) record.releasedLsn = entry.releasedLsn;
  if (entry.retireAfterSlot !== undefined) record.retireAfterSlot = entry.retireAfterSlot;
  return record;
}
