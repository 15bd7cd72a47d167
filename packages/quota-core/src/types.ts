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

/** The command of kind `K` (`CommandOf<'debit'>` is `DebitCommand`). */
export type CommandOf<K extends CommandKind> = Extract<Command, { readonly kind: K }>;

/** A client command with its idempotency key; `C` narrows the command (default: any). */
export interface ClientRequest<C extends Command = Command> {
  readonly operationId: bigint;
  readonly clientId: bigint;
  readonly command: C;
}

/**
 * A client request whose command is of kind `K`. As a parameter type it lets TypeScript infer
 * `K` from `command.kind` (and check the command's fields exactly), so that `submit` and
 * `applyClient` return `OutcomeOf<K>`. A request typed only as `ClientRequest` gives `Outcome`.
 */
export type ClientRequestOf<K extends CommandKind> = ClientRequest<CommandOf<K>> & {
  readonly command: { readonly kind: K };
};

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
 * The answers every client command can get without executing: another command under a live
 * operation id, a full operation table, a retry window that leaves u64.
 */
const UNEXECUTED_CODES = ['operation_conflict', 'operation_table_full', 'slot_overflow'] as const;

/**
 * The result codes each command kind can answer: `ok`, its own checks' codes, and the answers
 * without execution. The outcome types are built from this table, the model test checks every
 * outcome against it, and snapshot restore refuses an operation record whose code its command
 * cannot have.
 */
export const RESULT_CODES_BY_KIND = {
  create_bucket: ['ok', 'already_exists', 'bucket_table_full', ...UNEXECUTED_CODES],
  debit: ['ok', 'bucket_not_found', 'insufficient_funds', ...UNEXECUTED_CODES],
} as const satisfies { readonly [K in CommandKind]: readonly ResultCode[] };

/** The result codes a command of kind `K` can answer. */
export type ResultCodeOf<K extends CommandKind> = (typeof RESULT_CODES_BY_KIND)[K][number];

/** A successful command: it names the bucket it created or debited. */
export interface OkOutcome {
  readonly resultCode: 'ok';
  readonly bucketId: bigint;
}

/** Every other outcome: a result code and no bucket id. */
export interface PlainOutcome<C extends ResultCode = ResultCode> {
  readonly resultCode: C;
  readonly bucketId?: undefined;
}

/**
 * The answer to a command of kind `K`, a union discriminated by `resultCode`: `ok` is an
 * `OkOutcome` (with `bucketId`), every other code of the kind a `PlainOutcome`.
 */
export type OutcomeOf<K extends CommandKind> =
  | OkOutcome
  | PlainOutcome<Exclude<ResultCodeOf<K>, 'ok'>>;

/**
 * The answer to any command: `OutcomeOf` every kind. `bucketId` is present only on `ok` (the
 * bucket created or debited). Outcomes returned by the state machine are frozen.
 */
export type Outcome = OutcomeOf<CommandKind>;

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
