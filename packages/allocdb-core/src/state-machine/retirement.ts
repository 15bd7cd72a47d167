import { InvariantViolation } from '../errors.js';
import type { AllocDbState } from './state.js';

/**
 * Step 3 of every apply at slot `slot`: delete every reservation, then every operation record,
 * whose `retireAfterSlot < slot` (a record lives through its `retireAfterSlot` inclusive).
 * Queue entries whose record is gone or carries another `retireAfterSlot` are stale and only
 * dropped. Allocation-free.
 */
export function retireExpiredRecords(state: AllocDbState, slot: bigint): void {
  const reservationQueue = state.reservationRetireQueue;
  const reservations = state.reservations;
  for (;;) {
    const retireAfterSlot = reservationQueue.frontSlot();
    if (retireAfterSlot === undefined || retireAfterSlot >= slot) break;
    const reservationId = reservationQueue.frontKey()!;
    reservationQueue.dropFront();
    // One hash: the lookup's slot is where the removal happens.
    const tableSlot = reservations.slotOf(reservationId);
    if (tableSlot < 0) continue;
    const reservation = reservations.valueAt(tableSlot);
    if (reservation.retireAfterSlot !== retireAfterSlot) continue;
    if (reservation.reservationId !== reservationId) {
      throw new InvariantViolation('reservation_key', `${reservationId} holds another reservation`);
    }
    state.memberRows -= reservation.memberCount;
    reservations.removeSlot(tableSlot);
    state.terminalReservations--;
    const watermark = state.maxRetiredReservationId;
    if (watermark === undefined || reservationId > watermark) {
      state.maxRetiredReservationId = reservationId;
    }
  }

  const operationQueue = state.operationRetireQueue;
  const operations = state.operations;
  for (;;) {
    const retireAfterSlot = operationQueue.frontSlot();
    if (retireAfterSlot === undefined || retireAfterSlot >= slot) break;
    const tableSlot = operationQueue.frontKey()!;
    operationQueue.dropFront();
    operations.retire(tableSlot, retireAfterSlot);
  }
}
