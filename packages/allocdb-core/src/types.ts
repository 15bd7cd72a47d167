/**
 * Public types of the lease allocator: commands, requests, outcomes, records, snapshot and
 * metrics. u128 ids and u64 quantities are `bigint`; capacities are `number`.
 */

/** Every command kind, in codec tag order (the tag of `KINDS[i]` is `i + 1`). */
export const COMMAND_KINDS = [
  'create_resource',
  'reserve',
  'reserve_bundle',
  'confirm',
  'release',
  'revoke',
  'reclaim',
  'expire',
] as const;

export type CommandKind = (typeof COMMAND_KINDS)[number];

export interface CreateResourceCommand {
  readonly kind: 'create_resource';
  readonly resourceId: bigint;
}

export interface ReserveCommand {
  readonly kind: 'reserve';
  readonly resourceId: bigint;
  readonly holderId: bigint;
  readonly ttlSlots: bigint;
}

export interface ReserveBundleCommand {
  readonly kind: 'reserve_bundle';
  readonly resourceIds: readonly bigint[];
  readonly holderId: bigint;
  readonly ttlSlots: bigint;
}

export interface ConfirmCommand {
  readonly kind: 'confirm';
  readonly reservationId: bigint;
  readonly holderId: bigint;
  readonly leaseEpoch: bigint;
}

export interface ReleaseCommand {
  readonly kind: 'release';
  readonly reservationId: bigint;
  readonly holderId: bigint;
  readonly leaseEpoch: bigint;
}

export interface RevokeCommand {
  readonly kind: 'revoke';
  readonly reservationId: bigint;
}

export interface ReclaimCommand {
  readonly kind: 'reclaim';
  readonly reservationId: bigint;
}

/** Internal: the durable engine's expiration tick sends it; clients may not. */
export interface ExpireCommand {
  readonly kind: 'expire';
  readonly reservationId: bigint;
  readonly deadlineSlot: bigint;
}

export type Command =
  | CreateResourceCommand
  | ReserveCommand
  | ReserveBundleCommand
  | ConfirmCommand
  | ReleaseCommand
  | RevokeCommand
  | ReclaimCommand
  | ExpireCommand;

/** The command of kind `K` (`CommandOf<'reserve'>` is `ReserveCommand`). */
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
  | 'noop'
  | 'already_exists'
  | 'resource_table_full'
  | 'resource_not_found'
  | 'resource_busy'
  | 'bundle_too_large'
  | 'ttl_out_of_range'
  | 'reservation_table_full'
  | 'reservation_member_table_full'
  | 'reservation_not_found'
  | 'reservation_retired'
  | 'expiration_index_full'
  | 'operation_table_full'
  | 'operation_conflict'
  | 'invalid_state'
  | 'holder_mismatch'
  | 'stale_epoch'
  | 'slot_overflow';

/** Every result code, in codec order (the snapshot stores the index). */
export const RESULT_CODES: readonly ResultCode[] = [
  'ok',
  'noop',
  'already_exists',
  'resource_table_full',
  'resource_not_found',
  'resource_busy',
  'bundle_too_large',
  'ttl_out_of_range',
  'reservation_table_full',
  'reservation_member_table_full',
  'reservation_not_found',
  'reservation_retired',
  'expiration_index_full',
  'operation_table_full',
  'operation_conflict',
  'invalid_state',
  'holder_mismatch',
  'stale_epoch',
  'slot_overflow',
];

/**
 * The answers every client command can get without executing: another command under a live
 * operation id, a full operation table, slot arithmetic that leaves u64 (the last also on the
 * internal path).
 */
const UNEXECUTED_CODES = ['operation_conflict', 'operation_table_full', 'slot_overflow'] as const;

/**
 * The result codes each command kind can answer: its own checks' codes (allocdb-core's command
 * rules, in check order), `ok`, and the answers without execution. The outcome types are built
 * from this table, the model test checks every outcome against it, and snapshot restore refuses
 * an operation record whose code its command cannot have.
 */
export const RESULT_CODES_BY_KIND = {
  create_resource: ['ok', 'already_exists', 'resource_table_full', ...UNEXECUTED_CODES],
  reserve: [
    'ok',
    'bundle_too_large',
    'ttl_out_of_range',
    'resource_busy',
    'resource_not_found',
    'reservation_table_full',
    'reservation_member_table_full',
    'expiration_index_full',
    ...UNEXECUTED_CODES,
  ],
  reserve_bundle: [
    'ok',
    'bundle_too_large',
    'ttl_out_of_range',
    'resource_busy',
    'resource_not_found',
    'reservation_table_full',
    'reservation_member_table_full',
    'expiration_index_full',
    ...UNEXECUTED_CODES,
  ],
  confirm: [
    'ok',
    'reservation_not_found',
    'holder_mismatch',
    'stale_epoch',
    'reservation_retired',
    'invalid_state',
    ...UNEXECUTED_CODES,
  ],
  release: [
    'ok',
    'reservation_not_found',
    'holder_mismatch',
    'stale_epoch',
    'reservation_retired',
    'invalid_state',
    ...UNEXECUTED_CODES,
  ],
  revoke: [
    'ok',
    'reservation_not_found',
    'reservation_retired',
    'invalid_state',
    ...UNEXECUTED_CODES,
  ],
  reclaim: [
    'ok',
    'reservation_not_found',
    'reservation_retired',
    'invalid_state',
    ...UNEXECUTED_CODES,
  ],
  expire: ['ok', 'noop', 'reservation_not_found', ...UNEXECUTED_CODES],
} as const satisfies { readonly [K in CommandKind]: readonly ResultCode[] };

/** The result codes a command of kind `K` can answer. */
export type ResultCodeOf<K extends CommandKind> = (typeof RESULT_CODES_BY_KIND)[K][number];

/** The outcome of a successful `reserve` or `reserve_bundle` (epoch 1). */
export interface ReservedOutcome {
  readonly resultCode: 'ok';
  readonly reservationId: bigint;
  readonly leaseEpoch: bigint;
  readonly deadlineSlot: bigint;
}

/**
 * Every other outcome: a result code and no result fields (declared `undefined`, so that
 * `outcome.reservationId !== undefined` narrows any outcome to a `ReservedOutcome`).
 */
export interface PlainOutcome<C extends ResultCode = ResultCode> {
  readonly resultCode: C;
  readonly reservationId?: undefined;
  readonly leaseEpoch?: undefined;
  readonly deadlineSlot?: undefined;
}

/**
 * The answer to a command of kind `K`, a union discriminated by `resultCode`: for a reserve,
 * `ok` is a `ReservedOutcome` (with `reservationId`, `leaseEpoch`, `deadlineSlot`) and every
 * other code a `PlainOutcome`; for the other kinds every code, `ok` included, is a
 * `PlainOutcome`.
 */
export type OutcomeOf<K extends CommandKind> = K extends 'reserve' | 'reserve_bundle'
  ? ReservedOutcome | PlainOutcome<Exclude<ResultCodeOf<K>, 'ok'>>
  : PlainOutcome<ResultCodeOf<K>>;

/** A reserve's (or bundle's) outcome. */
export type ReserveOutcome = OutcomeOf<'reserve'>;

/**
 * The answer to any command: `OutcomeOf` every kind. `reservationId`, `leaseEpoch` and
 * `deadlineSlot` are present only on a successful reserve; a cached retry returns them exactly
 * as stored. Outcomes returned by the state machine are frozen.
 */
export type Outcome = OutcomeOf<CommandKind>;

export type ResourceState = 'available' | 'reserved' | 'confirmed' | 'revoking';
export const RESOURCE_STATES: readonly ResourceState[] = [
  'available',
  'reserved',
  'confirmed',
  'revoking',
];

export type ReservationState =
  | 'reserved'
  | 'confirmed'
  | 'revoking'
  | 'released'
  | 'expired'
  | 'revoked';
export const RESERVATION_STATES: readonly ReservationState[] = [
  'reserved',
  'confirmed',
  'revoking',
  'released',
  'expired',
  'revoked',
];

export interface ResourceRecord {
  readonly resourceId: bigint;
  readonly state: ResourceState;
  /** Absent exactly when `state` is `available`. */
  readonly currentReservationId?: bigint;
  readonly version: bigint;
}

export interface ReservationRecord {
  readonly reservationId: bigint;
  /** Member 0, the anchor. */
  readonly resourceId: bigint;
  readonly holderId: bigint;
  readonly leaseEpoch: bigint;
  readonly state: ReservationState;
  readonly createdLsn: bigint;
  readonly deadlineSlot: bigint;
  /** Set by release, expire and reclaim. */
  readonly releasedLsn?: bigint;
  /** Set exactly when the state is terminal (released, expired, revoked). */
  readonly retireAfterSlot?: bigint;
  readonly memberCount: number;
}

export interface ReservationMember {
  readonly reservationId: bigint;
  readonly resourceId: bigint;
  readonly memberIndex: number;
}

export interface OperationRecord {
  readonly operationId: bigint;
  /** Canonical encoding of the command (`encodeCommand`), compared byte for byte on retry. */
  readonly command: Uint8Array;
  readonly outcome: Outcome;
  readonly appliedLsn: bigint;
  readonly retireAfterSlot: bigint;
}

export type ReservationLookup =
  | { readonly status: 'found'; readonly reservation: ReservationRecord }
  | { readonly status: 'retired' }
  | { readonly status: 'not_found' };

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

/** A reserved reservation whose deadline has passed: the engine logs `expire` for it. */
export interface DueExpiration {
  readonly reservationId: bigint;
  readonly deadlineSlot: bigint;
}

export interface TableUse {
  readonly used: number;
  readonly capacity: number;
}

export interface AllocDbMetrics {
  readonly resources: TableUse;
  readonly reservations: TableUse;
  readonly reservationMembers: TableUse;
  readonly operations: TableUse;
  readonly reservationRetireQueue: TableUse;
  readonly operationRetireQueue: TableUse;
  /** Reserved reservations waiting in the expiration wheel. */
  readonly scheduledExpirations: TableUse;
  /** Wheel buckets holding at least one id (the wheel has `maxTtlSlots + 1` buckets). */
  readonly nonEmptyExpirationBuckets: TableUse;
  /** The fullest bucket's length against `maxExpirationBucketLen`. */
  readonly largestExpirationBucket: TableUse;
  /** Absent until the first command is applied (set together with `lastRequestSlot`). */
  readonly lastAppliedLsn: bigint | undefined;
  readonly lastRequestSlot: bigint | undefined;
  /** Absent until the first reservation retires. */
  readonly maxRetiredReservationId: bigint | undefined;
}

/** One expiration wheel bucket: index `deadline mod (maxTtlSlots + 1)`, ids ascending. */
export interface ExpirationBucket {
  readonly bucket: bigint;
  readonly reservationIds: readonly bigint[];
}

/**
 * The whole state as plain records, each list sorted by key (members by reservation id, then
 * member index; buckets by index). Retire queues are not stored: restore rebuilds them. The
 * watermarks are left out while absent: `lastAppliedLsn` and `lastRequestSlot` until the first
 * command (both absent or both present), `maxRetiredReservationId` until the first retirement.
 */
export interface AllocDbSnapshot {
  readonly lastAppliedLsn?: bigint;
  readonly lastRequestSlot?: bigint;
  readonly maxRetiredReservationId?: bigint;
  readonly resources: readonly ResourceRecord[];
  readonly reservations: readonly ReservationRecord[];
  readonly members: readonly ReservationMember[];
  readonly operations: readonly OperationRecord[];
  readonly expirationWheel: readonly ExpirationBucket[];
}
