/**
 * Copies of internal entries as public records. Reads hand out copies so that a caller can
 * never change the state machine's tables.
 */
import type { BucketRecord } from '../types.js';
import { type BucketEntry, balanceOf } from './bucket.js';
import { refilledBalance } from './refill.js';

export function toBucketRecord(entry: BucketEntry): BucketRecord {
  return {
    bucketId: entry.bucketId,
    limit: entry.limit,
    balance: balanceOf(entry),
    lastRefillSlot: entry.lastRefillSlot,
    refillRatePerSlot: entry.refillRatePerSlot,
  };
}

/**
 * The bucket as it would be after refilling to `slot`, without changing it. A slot before the
 * bucket's lastRefillSlot shows the stored record: the balance cannot be viewed in the past.
 * Computed with the bigint rule, whatever the entry's representation.
 */
export function toBucketRecordAt(entry: BucketEntry, slot: bigint): BucketRecord {
  if (slot <= entry.lastRefillSlot) return toBucketRecord(entry);
  return {
    bucketId: entry.bucketId,
    limit: entry.limit,
    balance: refilledBalance(
      entry.limit,
      balanceOf(entry),
      entry.refillRatePerSlot,
      slot - entry.lastRefillSlot,
    ),
    lastRefillSlot: slot,
    refillRatePerSlot: entry.refillRatePerSlot,
  };
}
