/**
 * Rebuilds the tables of a fresh state from a validated snapshot: the buckets, the operation
 * records, and the retire queue ordered by `(retireAfterSlot, appliedLsn)`. Then every invariant
 * must hold. The caller discards the state on any error, so no half-restored instance escapes.
 */

import { InvariantViolation, SnapshotError } from '../errors.js';
import { newBucket } from '../state-machine/bucket.js';
import { checkAllInvariants } from '../state-machine/invariants.js';
import { OUTCOMES } from '../state-machine/outcomes.js';
import type { QuotaState } from '../state-machine/state.js';
import type { Outcome, QuotaDbSnapshot } from '../types.js';
import { compareBigint } from './capture.js';
import { checkSnapshot } from './check-snapshot.js';

/** Restores `snapshot` into `state`, which must be freshly created. */
export function restoreInto(state: QuotaState, snapshot: QuotaDbSnapshot): void {
  checkSnapshot(snapshot, state.config);

  for (const record of snapshot.buckets) {
    state.buckets.insert(
      record.bucketId,
      newBucket(
        record.bucketId,
        record.limit,
        record.balance,
        record.lastRefillSlot,
        record.refillRatePerSlot,
      ),
    );
  }

  // The retire queue must pop records in deadline order, as the live run queued them.
  const operations = [...snapshot.operations].sort(
    (a, b) =>
      compareBigint(a.retireAfterSlot, b.retireAfterSlot) ||
      compareBigint(a.appliedLsn, b.appliedLsn),
  );
  for (const record of operations) {
    const tableSlot = state.operations.record(
      record.operationId,
      record.command,
      0,
      record.command.byteLength,
      sharedOutcome(state, record.outcome),
      record.appliedLsn,
      record.retireAfterSlot,
    );
    state.operationRetireQueue.push(tableSlot, record.retireAfterSlot);
  }

  state.lastAppliedLsn = snapshot.lastAppliedLsn;
  state.lastRequestSlot = snapshot.lastRequestSlot;

  try {
    checkAllInvariants(state);
  } catch (error) {
    if (!(error instanceof InvariantViolation)) throw error;
    throw new SnapshotError('invariant_violation', error.message, undefined, { cause: error });
  }
}

/**
 * The outcome object a live run would have stored: the bucket's own `okOutcome` for ok (the
 * check guaranteed the bucket exists), the shared frozen outcome for the rest.
 */
function sharedOutcome(state: QuotaState, outcome: Outcome): Outcome {
  if (outcome.resultCode !== 'ok') return OUTCOMES[outcome.resultCode];
  return state.buckets.get(outcome.bucketId!)!.okOutcome;
}
