/**
 * A bucket as the state machine keeps it. Amounts are u64 and must stay exact to 2^64 − 1, but
 * bigint arithmetic allocates a heap object per operation, and almost every real bucket has a
 * limit and a rate far below 2^53. So a bucket has two representations, chosen once when it is
 * made:
 *
 * - `safe` (limit and rate both ≤ 2^53 − 1, so the balance is too): the balance, limit and rate
 *   are kept as numbers, whose arithmetic is exact on integers below 2^53 and allocates nothing;
 * - otherwise the balance is a bigint and every step is bigint arithmetic.
 *
 * Both fields exist on every entry (the unused one stays 0 / 0n) so that their types never mix.
 * `refill.ts` proves each number step exact; reads convert back to bigint.
 */
import type { Outcome } from '../types.js';
import { okOutcome } from './outcomes.js';

/** 2^53 − 1: the largest integer a number holds exactly, as a bigint. */
export const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export interface BucketEntry {
  readonly bucketId: bigint;
  readonly limit: bigint;
  readonly refillRatePerSlot: bigint;
  lastRefillSlot: bigint;
  /** Whether the number fields hold the balance, limit and rate (see the module comment). */
  readonly safe: boolean;
  balanceNumber: number;
  readonly limitNumber: number;
  readonly rateNumber: number;
  /** The balance of a bucket that is not `safe`. */
  balanceBigint: bigint;
  /**
   * `{ resultCode: 'ok', bucketId }`, made once when the bucket is: every successful command on
   * the bucket answers with it, so a debit allocates no outcome.
   */
  readonly okOutcome: Outcome;
}

/** A bucket entry; the caller has checked `balance ≤ limit`. */
export function newBucket(
  bucketId: bigint,
  limit: bigint,
  balance: bigint,
  lastRefillSlot: bigint,
  refillRatePerSlot: bigint,
): BucketEntry {
  const safe = limit <= MAX_SAFE && refillRatePerSlot <= MAX_SAFE;
  return {
    bucketId,
    limit,
    refillRatePerSlot,
    lastRefillSlot,
    safe,
    balanceNumber: safe ? Number(balance) : 0,
    limitNumber: safe ? Number(limit) : 0,
    rateNumber: safe ? Number(refillRatePerSlot) : 0,
    balanceBigint: safe ? 0n : balance,
    okOutcome: okOutcome(bucketId),
  };
}

/** The stored balance as a u64 bigint. */
export function balanceOf(bucket: BucketEntry): bigint {
  return bucket.safe ? BigInt(bucket.balanceNumber) : bucket.balanceBigint;
}

/**
 * Takes `amount` from the (already refilled) balance if it is there; returns whether it was.
 * In the safe representation `Number(amount)` may round an amount above 2^53, but such an
 * amount exceeds every safe balance either way, so the comparison still answers exactly.
 */
export function takeFrom(bucket: BucketEntry, amount: bigint): boolean {
  if (bucket.safe) {
    const wanted = Number(amount);
    if (bucket.balanceNumber < wanted) return false;
    bucket.balanceNumber -= wanted;
    return true;
  }
  if (bucket.balanceBigint < amount) return false;
  bucket.balanceBigint -= amount;
  return true;
}
