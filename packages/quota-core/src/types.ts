/**
 * Public types of the quota engine: commands, requests, outcomes, records, snapshot and
 * metrics. u128 ids and u64 quantities are `bigint`; capacities are `number`.
 */

/** Every command kind, in codec tag order (the tag of `COMMAND_KINDS[i]` is `i + 1`). */
export const COMMAND_KINDS = ['create_bucket', 'debit'] as const;

export type CommandKind = (typeof COMMAND_KINDS)[number];

export interface CreateBucketCommand {
  readonly kind: 'create_bucket';
  readonly bucketId: bigint;
  /** u64; the balance never exceeds it. Zero is allowed (a bucket that can never be debited). */
  readonly limit: bigint;
  /** u64, at most `limit`. */
  readonly initialBalance: bigint;
  /** u64 units added per slot; zero means the bucket never refills. */
  readonly refillRatePerSlot: bigint;
}

export interface DebitCommand {
  readonly kind: 'debit';
  readonly bucketId: bigint;
  /** u64, at least 1. */
  readonly amount: bigint;
}

export type Command = CreateBucketCommand | DebitCommand;

/** A client command with its idempotency key. */
export interface ClientRequest {
  readonly operationId: bigint;
  readonly clientId: bigint;
  readonly command: Command;
}

/** Position of a command in the log: assigned by the sequencer (the durable engine). */
export interface ApplyContext {
  readonly lsn: bigint;
  readonly requestSlot: bigint;
}

export type ResultCode =
  | 'ok'
  | 'already_exists'
  | 'bucket_table_full'
  | 'bucket_not_found'
  | 'insufficient_funds'
  | 'operation_conflict'
  | 'operation_table_full'
  | 'slot_overflow';

/** Every result code, in codec order (the snapshot stores the index). */
export const RESULT_CODES: readonly ResultCode[] = [
  'ok',
  'already_exists',
  'bucket_table_full',
  'bucket_not_found',
  'insufficient_funds',
  'operation_conflict',
  'operation_table_full',
  'slot_overflow',
];

/**
 * The answer to a command. `bucketId` is present only on `ok` (the bucket created or debited).
 * Outcomes returned by the state machine are frozen.
 */
export interface Outcome {
  readonly resultCode: ResultCode;
  readonly bucketId?: bigint;
}

export interface BucketRecord {
  readonly bucketId: bigint;
  readonly limit: bigint;
  /** Never above `limit`. */
  readonly balance: bigint;
  /** The slot the balance was last refilled to (creation, or the last debit that found it). */
  readonly lastRefillSlot: bigint;
  readonly refillRatePerSlot: bigint;
}

export interface OperationRecord {
  readonly operationId: bigint;
  /** Canonical encoding of the command (`encodeCommand`), compared byte for byte on retry. */
  readonly command: Uint8Array;
  readonly outcome: Outcome;
  readonly appliedLsn: bigint;
  /** The record answers retries through this slot, inclusive. */
  readonly retireAfterSlot: bigint;
}

/** What applying a client request at a given slot would answer from the operation table. */
export type RetryLookup =
  | { readonly status: 'miss' }
  | { readonly status: 'hit'; readonly outcome: Outcome; readonly appliedLsn: bigint }
  | { readonly status: 'conflict' };

/** How the last `applyClient` was answered (the durable engine reports `fromRetryCache`). */
export type ClientDisposition =
  | 'executed'
  | 'retry_cache'
  | 'operation_conflict'
  | 'operation_table_full'
  | 'slot_overflow';

export interface TableUse {
  readonly used: number;
  readonly capacity: number;
}

export interface QuotaDbMetrics {
  readonly buckets: TableUse;
  readonly operations: TableUse;
  readonly operationRetireQueue: TableUse;
  /** Absent until the first command is applied. */
  readonly lastAppliedLsn: bigint | undefined;
  readonly lastRequestSlot: bigint | undefined;
}

/**
 * The whole state as plain records, each list sorted by id. The watermarks are both absent (no
 * command applied yet) or both present. The retire queue is not stored: restore rebuilds it.
 */
export interface QuotaDbSnapshot {
  readonly lastAppliedLsn?: bigint;
  readonly lastRequestSlot?: bigint;
  readonly buckets: readonly BucketRecord[];
  readonly operations: readonly OperationRecord[];
}
