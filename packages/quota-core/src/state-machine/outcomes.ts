import type { Outcome, ResultCode } from '../types.js';

/**
 * One frozen outcome per result code without a bucket id, shared by every such answer so that
 * they allocate nothing. (`ok` carries the bucket id: see `BucketEntry.okOutcome` in bucket.ts.)
 */
export const OUTCOMES: { readonly [code in Exclude<ResultCode, 'ok'>]: Outcome } = Object.freeze({
  already_exists: Object.freeze({ resultCode: 'already_exists' }),
  bucket_table_full: Object.freeze({ resultCode: 'bucket_table_full' }),
  bucket_not_found: Object.freeze({ resultCode: 'bucket_not_found' }),
  insufficient_funds: Object.freeze({ resultCode: 'insufficient_funds' }),
  operation_conflict: Object.freeze({ resultCode: 'operation_conflict' }),
  operation_table_full: Object.freeze({ resultCode: 'operation_table_full' }),
  slot_overflow: Object.freeze({ resultCode: 'slot_overflow' }),
} satisfies { [code in Exclude<ResultCode, 'ok'>]: Outcome });

/** The outcome of a successful command on `bucketId`. */
export function okOutcome(bucketId: bigint): Outcome {
  return Object.freeze({ resultCode: 'ok', bucketId });
}
