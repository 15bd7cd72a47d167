/**
 * The two commands (docs/quota-core.md). Each runs its checks in the spec's order; the first failing
 * check is the outcome. `debit` keeps its refill even when it then fails: the balance grew and
 * lastRefillSlot moved.
 */
import type { Command, CreateBucketCommand, DebitCommand, Outcome } from '../types.js';
import { newBucket, takeFrom } from './bucket.js';
import { checkBucket } from './invariants.js';
import { OUTCOMES } from './outcomes.js';
import { refillTo } from './refill.js';
import type { QuotaState } from './state.js';

/** Runs `command` at `requestSlot`; the caller has done the apply's earlier steps. */
export function executeCommand(state: QuotaState, requestSlot: bigint, command: Command): Outcome {
  return command.kind === 'debit'
    ? debit(state, requestSlot, command)
    : createBucket(state, requestSlot, command);
}

function createBucket(
  state: QuotaState,
  requestSlot: bigint,
  command: CreateBucketCommand,
): Outcome {
  const buckets = state.buckets;
  const bucketId = command.bucketId;
  // The stored bucket is not compared with the new one: same id, already_exists.
  if (buckets.has(bucketId)) return OUTCOMES.already_exists;
  if (buckets.isFull()) return OUTCOMES.bucket_table_full;
  const bucket = newBucket(
    bucketId,
    command.limit,
    command.initialBalance,
    requestSlot,
    command.refillRatePerSlot,
  );
  buckets.insert(bucketId, bucket);
  checkBucket(state, bucket);
  return bucket.okOutcome;
}

function debit(state: QuotaState, requestSlot: bigint, command: DebitCommand): Outcome {
  const bucket = state.buckets.get(command.bucketId);
  if (bucket === undefined) return OUTCOMES.bucket_not_found;
  refillTo(bucket, requestSlot);
  const outcome = takeFrom(bucket, command.amount) ? bucket.okOutcome : OUTCOMES.insufficient_funds;
  checkBucket(state, bucket);
  return outcome;
}
