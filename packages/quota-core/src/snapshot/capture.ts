import { toBucketRecord } from '../state-machine/records.js';
import type { QuotaState } from '../state-machine/state.js';
import type { BucketRecord, OperationRecord, QuotaDbSnapshot } from '../types.js';

/** Ascending bigint order for sort(). */
export function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The state as plain records, both lists sorted by id, so that equal states give equal
 * snapshots whatever order the tables were filled in. Records are copies.
 */
export function captureSnapshot(state: QuotaState): QuotaDbSnapshot {
  const buckets: BucketRecord[] = [];
  state.buckets.forEach((entry) => buckets.push(toBucketRecord(entry)));
  buckets.sort((a, b) => compareBigint(a.bucketId, b.bucketId));
  const operations: OperationRecord[] = [];
  state.operations.forEach((slot) => operations.push(state.operations.recordAt(slot)));
  operations.sort((a, b) => compareBigint(a.operationId, b.operationId));
  const { lastAppliedLsn, lastRequestSlot } = state;
  return lastAppliedLsn === undefined || lastRequestSlot === undefined
    ? { buckets, operations }
    : { lastAppliedLsn, lastRequestSlot, buckets, operations };
}
