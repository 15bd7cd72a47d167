/**
 * The refill rule of docs/quota-core.md, exact for every u64 value. Whole slots only, no fractional
 * carry, and time spent at the cap is lost:
 *
 *   elapsed = s − lastRefillSlot
 *   if elapsed = 0 or rate = 0 or balance = limit: unchanged
 *   missing = limit − balance; slotsNeeded = ⌈missing / rate⌉
 *   elapsed ≥ slotsNeeded ? limit : balance + elapsed × rate
 *
 * The product `elapsed × rate` is formed only when it is below `missing`, so it never leaves
 * u64 (bigints would not overflow, but neither may an implementation in fixed-width integers,
 * and neither allocates a huge intermediate).
 *
 * `refilledBalance` is the rule on bigints. `refillTo` applies it to a bucket entry, on numbers
 * for buckets in the safe representation (bucket.ts), where every step is exact:
 * - `missing` and `rate` are integers below 2^53, and then `Math.ceil(missing / rate)` is
 *   exactly ⌈missing / rate⌉: the division's rounding error is below 1/rate, less than the
 *   distance from a non-integer quotient to the integer below it, and an integer quotient is
 *   representable;
 * - the product is formed only below `missing`, so it and the new balance are exact;
 * - elapsed slots are exact below 2^53 and saturate there, which still compares correctly with
 *   slotsNeeded ≤ missing < 2^53.
 */
import { InvariantViolation } from '../errors.js';
import { type BucketEntry, MAX_SAFE } from './bucket.js';

/** The balance after `elapsed` slots of refill from `balance` (pure, exact). */
export function refilledBalance(
  limit: bigint,
  balance: bigint,
  refillRatePerSlot: bigint,
  elapsed: bigint,
): bigint {
  if (elapsed === 0n || refillRatePerSlot === 0n || balance === limit) return balance;
  const missing = limit - balance;
  // ⌈missing / rate⌉ without forming `missing + rate − 1`, which could pass 2^64 − 1.
  const slotsNeeded = (missing - 1n) / refillRatePerSlot + 1n;
  if (elapsed >= slotsNeeded) return limit;
  return balance + elapsed * refillRatePerSlot;
}

/** `refilledBalance` on numbers below 2^53 (`elapsed` may be saturated at 2^53 − 1). */
export function refilledBalanceNumber(
  limit: number,
  balance: number,
  refillRatePerSlot: number,
  elapsed: number,
): number {
  if (elapsed === 0 || refillRatePerSlot === 0 || balance === limit) return balance;
  const missing = limit - balance;
  const slotsNeeded = Math.ceil(missing / refillRatePerSlot);
  if (elapsed >= slotsNeeded) return limit;
  return balance + elapsed * refillRatePerSlot;
}

/** `to − from` (from ≤ to) as a number: exact below 2^53, else 2^53 − 1. Allocates nothing for slots below 2^53. */
export function elapsedSlots(from: bigint, to: bigint): number {
  if (to <= MAX_SAFE) return Number(to) - Number(from);
  const elapsed = to - from;
  return elapsed > MAX_SAFE ? Number.MAX_SAFE_INTEGER : Number(elapsed);
}

/** Refills `bucket` to `slot` (≥ its lastRefillSlot) in place; lastRefillSlot becomes `slot`. */
export function refillTo(bucket: BucketEntry, slot: bigint): void {
  const last = bucket.lastRefillSlot;
  if (slot === last) return;
  if (slot < last) {
    throw new InvariantViolation('refill_slot', `refill of ${bucket.bucketId} back to ${slot}`);
  }
  if (bucket.safe) {
    bucket.balanceNumber = refilledBalanceNumber(
      bucket.limitNumber,
      bucket.balanceNumber,
      bucket.rateNumber,
      elapsedSlots(last, slot),
    );
  } else {
    bucket.balanceBigint = refilledBalance(
      bucket.limit,
      bucket.balanceBigint,
      bucket.refillRatePerSlot,
      slot - last,
    );
  }
  bucket.lastRefillSlot = slot;
}
