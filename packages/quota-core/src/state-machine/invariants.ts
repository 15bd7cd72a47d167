/**
 * The state machine's invariants (docs/quota-core.md, "Records"), plus the bookkeeping that follows
 * from them. A violation throws InvariantViolation.
 *
 * Two depths:
 * - `checkBucket` runs after every command that touched a bucket: O(1), so it is affordable on
 *   every command;
 * - `checkAllInvariants` walks every table: it runs on snapshot restore and from
 *   `QuotaDb.checkInvariants()`, which the model-based tests call after every step.
 */
import { InvariantViolation } from '../errors.js';
import { RESULT_CODES } from '../types.js';
import { type BucketEntry, balanceOf, MAX_SAFE } from './bucket.js';
import type { QuotaState } from './state.js';

function fail(invariant: string, message: string): never {
  throw new InvariantViolation(invariant, message);
}

/** One bucket: balance within the limit, refilled no later than the last applied slot. */
export function checkBucket(state: QuotaState, bucket: BucketEntry): void {
  if (bucket.safe) {
    if (bucket.balanceNumber > bucket.limitNumber || !(bucket.balanceNumber >= 0)) {
      fail(
        'balance_le_limit',
        `bucket ${bucket.bucketId}: ${bucket.balanceNumber} > ${bucket.limit}`,
      );
    }
  } else if (bucket.balanceBigint > bucket.limit) {
    fail(
      'balance_le_limit',
      `bucket ${bucket.bucketId}: ${bucket.balanceBigint} > ${bucket.limit}`,
    );
  }
  const last = state.lastRequestSlot;
  if (last === undefined || bucket.lastRefillSlot > last) {
    fail(
      'refill_slot',
      `bucket ${bucket.bucketId} was refilled to ${bucket.lastRefillSlot}, after the last request slot ${last}`,
    );
  }
}

/** Walks every table and throws InvariantViolation on the first broken invariant. */
export function checkAllInvariants(state: QuotaState): void {
  const { lastAppliedLsn, lastRequestSlot } = state;
  if ((lastAppliedLsn === undefined) !== (lastRequestSlot === undefined)) {
    fail('watermarks', 'lastAppliedLsn and lastRequestSlot must be both set or both unset');
  }
  state.buckets.forEach((bucket, key) => {
    if (bucket.bucketId !== key) fail('bucket_key', `bucket ${bucket.bucketId} under ${key}`);
    if (bucket.okOutcome.resultCode !== 'ok' || bucket.okOutcome.bucketId !== key) {
      fail('bucket_outcome', `bucket ${key} has another bucket's ok outcome`);
    }
    checkBucket(state, bucket);
    const safe = bucket.limit <= MAX_SAFE && bucket.refillRatePerSlot <= MAX_SAFE;
    if (
      bucket.safe !== safe ||
      (safe &&
        (!Number.isSafeInteger(bucket.balanceNumber) ||
          BigInt(bucket.limitNumber) !== bucket.limit ||
          BigInt(bucket.rateNumber) !== bucket.refillRatePerSlot))
    ) {
      fail(
        'bucket_representation',
        `bucket ${key} (balance ${balanceOf(bucket)}) is stored inexactly`,
      );
    }
  });

  const operations = state.operations;
  operations.checkStructure();
  const queue = state.operationRetireQueue;
  let queuedLive = 0;
  for (const entry of queue.entries()) {
    if (operations.isLiveEntry(entry.key, entry.retireAfterSlot)) queuedLive++;
  }
  if (queuedLive !== operations.size) {
    fail('retire_queue', `${operations.size} records but ${queuedLive} live queue entries`);
  }
  operations.forEach((slot, operationId) => {
    const record = operations.recordAt(slot);
    const where = `operation ${operationId}`;
    if (lastAppliedLsn === undefined || record.appliedLsn > lastAppliedLsn) {
      fail('operation_lsn', `${where} applied at ${record.appliedLsn}, after ${lastAppliedLsn}`);
    }
    if (lastRequestSlot === undefined || record.retireAfterSlot < lastRequestSlot) {
      fail('operation_retired', `${where} should have retired after ${record.retireAfterSlot}`);
    }
    const { resultCode, bucketId } = record.outcome;
    if (!RESULT_CODES.includes(resultCode)) fail('operation_outcome', `${where}: ${resultCode}`);
    if ((resultCode === 'ok') !== (bucketId !== undefined)) {
      fail('operation_outcome', `${where}: a bucket id goes with ok and only with ok`);
    }
    if (bucketId !== undefined && !state.buckets.has(bucketId)) {
      fail('operation_outcome', `${where} succeeded on bucket ${bucketId}, which does not exist`);
    }
  });
}
