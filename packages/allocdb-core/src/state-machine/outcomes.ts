import type { Outcome, ResultCode } from '../types.js';

/**
 * One frozen outcome per result code, shared by every answer without result fields, so that
 * the common answers allocate nothing.
 */
export const OUTCOMES: { readonly [code in ResultCode]: Outcome } = Object.freeze({
  ok: Object.freeze({ resultCode: 'ok' }),
  noop: Object.freeze({ resultCode: 'noop' }),
  already_exists: Object.freeze({ resultCode: 'already_exists' }),
  resource_table_full: Object.freeze({ resultCode: 'resource_table_full' }),
  resource_not_found: Object.freeze({ resultCode: 'resource_not_found' }),
  resource_busy: Object.freeze({ resultCode: 'resource_busy' }),
  bundle_too_large: Object.freeze({ resultCode: 'bundle_too_large' }),
  ttl_out_of_range: Object.freeze({ resultCode: 'ttl_out_of_range' }),
  reservation_table_full: Object.freeze({ resultCode: 'reservation_table_full' }),
  reservation_member_table_full: Object.freeze({ resultCode: 'reservation_member_table_full' }),
  reservation_not_found: Object.freeze({ resultCode: 'reservation_not_found' }),
  reservation_retired: Object.freeze({ resultCode: 'reservation_retired' }),
  expiration_index_full: Object.freeze({ resultCode: 'expiration_index_full' }),
  operation_table_full: Object.freeze({ resultCode: 'operation_table_full' }),
  operation_conflict: Object.freeze({ resultCode: 'operation_conflict' }),
  invalid_state: Object.freeze({ resultCode: 'invalid_state' }),
  holder_mismatch: Object.freeze({ resultCode: 'holder_mismatch' }),
  stale_epoch: Object.freeze({ resultCode: 'stale_epoch' }),
  slot_overflow: Object.freeze({ resultCode: 'slot_overflow' }),
} satisfies { [code in ResultCode]: Outcome });

/** The outcome of a successful reserve. */
export function reservedOutcome(
  reservationId: bigint,
  leaseEpoch: bigint,
  deadlineSlot: bigint,
): Outcome {
  return Object.freeze({ resultCode: 'ok', reservationId, leaseEpoch, deadlineSlot });
}
