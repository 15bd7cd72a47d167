/**
 * The typed errors of quota-core: one hierarchy under `QuotaDbError`, each class with a stable
 * string `code`. Domain answers (`insufficient_funds`, `bucket_not_found`, …) are outcomes, never
 * errors; these classes are for bad configuration, bad input at the public boundary, undecodable
 * bytes, damaged or foreign data directories, storage failures and programmer errors. The
 * README's error table lists every code.
 */

import { QuotaDbError } from './runtime/package-error.js';

// The base class lives in the copied runtime, so that the runtime's own errors extend it too.
export { QuotaDbError };

export type ConfigErrorCode =
  | 'invalid_value'
  | 'zero_capacity'
  | 'capacity_too_large'
  | 'missing_field'
  | 'unknown_field';

/** A configuration the state machine cannot run with; `field` names the offending field. */
export class ConfigError extends QuotaDbError {
  declare readonly code: ConfigErrorCode;
  readonly field: string;

  constructor(code: ConfigErrorCode, field: string, message: string) {
    super(code, `invalid config (${code}) at ${field}: ${message}`);
    this.field = field;
  }
}

export type InvalidRequestErrorCode =
  | 'invalid_type'
  | 'missing_field'
  | 'out_of_range'
  | 'unknown_command_kind'
  | 'zero_debit'
  | 'initial_balance_above_limit'
  | 'unknown_field';

/**
 * A request or command that fails boundary validation (wrong type, out of range, unknown kind,
 * missing field, a field its kind does not have, a zero debit, an initial balance above the
 * limit). Nothing was changed.
 * `field` is a path such as `command.amount`.
 */
export class InvalidRequestError extends QuotaDbError {
  declare readonly code: InvalidRequestErrorCode;
  readonly field: string;

  constructor(code: InvalidRequestErrorCode, field: string, message: string) {
    super(code, `invalid request (${code}) at ${field}: ${message}`);
    this.field = field;
  }
}

// CodecError lives with the Reader that throws it, in the copied runtime.
import type { CodecErrorCode } from './runtime/binary.js';

export { CodecError, type CodecErrorCode } from './runtime/binary.js';

export type SnapshotErrorCode =
  | CodecErrorCode
  | 'unsupported_schema_version'
  | 'count_exceeds_capacity'
  | 'unsorted'
  | 'duplicate_key'
  | 'watermark_inconsistent'
  | 'balance_above_limit'
  | 'refill_slot_after_last_request'
  | 'lsn_after_last_applied'
  | 'retire_after_slot_passed'
  | 'invalid_operation_record'
  | 'invariant_violation';

/**
 * A snapshot that cannot be decoded or restored. `offset` is the byte offset in the body for
 * decoding failures and undefined for a failure found while validating the decoded records (the
 * message names the record).
 */
export class SnapshotError extends QuotaDbError {
  declare readonly code: SnapshotErrorCode;
  readonly offset: number | undefined;

  constructor(
    code: SnapshotErrorCode,
    message: string,
    offset?: number,
    options?: { cause?: unknown },
  ) {
    super(
      code,
      `bad snapshot (${code})${offset === undefined ? '' : ` at byte ${offset}`}: ${message}`,
      options,
    );
    this.offset = offset;
  }
}

export type ApplyOrderErrorCode = 'lsn_not_increasing' | 'request_slot_decreased';

/**
 * A programmer error in the caller that sequences commands: an LSN that does not increase or a
 * request slot below the last one. Nothing was changed.
 */
export class ApplyOrderError extends QuotaDbError {
  declare readonly code: ApplyOrderErrorCode;
}

/**
 * A broken internal invariant: a bug in the state machine (or a restored snapshot that lied).
 * The instance must not be used further.
 */
export class InvariantViolation extends QuotaDbError {
  declare readonly code: 'invariant_violation';
  readonly invariant: string;

  constructor(invariant: string, message: string) {
    super('invariant_violation', `invariant ${invariant} violated: ${message}`);
    this.invariant = invariant;
  }
}

// ---------------------------------------------------------------------------------------------
// The durable engine's errors. Those raised inside the copied runtime are defined there and
// re-exported here, so every error is imported from one place.

export { AssertionError } from './runtime/assert.js';
export {
  EngineClosedError,
  EngineHaltedError,
  SubmissionError,
  type SubmissionErrorCode,
} from './runtime/commit-pipeline.js';
export { ConfigFileError, type ConfigFileReason } from './runtime/config-file.js';
export { EngineLockedError } from './runtime/lock-file.js';
export { RecoveryError, type RecoveryErrorCode } from './runtime/replay-guard.js';
export { SnapshotFileError, type SnapshotFileReason } from './runtime/snapshot-file.js';
export { WalEncodeError } from './runtime/wal.js';
export { WalCorruptionError, WalIoError, WalUnavailableError } from './runtime/wal-file.js';

/** A strict read asked for an LSN that is not applied yet. */
export class FenceNotAppliedError extends QuotaDbError {
  declare readonly code: 'fence_not_applied';
  readonly minLsn: bigint;
  readonly appliedLsn: bigint;
  constructor(minLsn: bigint, appliedLsn: bigint) {
    super(
      'fence_not_applied',
      `lsn ${minLsn} is not applied yet (last applied: ${appliedLsn}); retry the read after it commits`,
    );
    this.minLsn = minLsn;
    this.appliedLsn = appliedLsn;
  }
}

export type DataDirectoryErrorCode =
  | 'not_found'
  | 'not_a_directory'
  | 'not_a_data_directory'
  | 'unusable';

/**
 * The path given as a data directory cannot be one: it does not exist (for the read-only tools,
 * which never create it), it is not a directory, it holds none of the engine's files (for the
 * tools), or it cannot be created or read (`unusable`, with the system error as `cause`).
 */
export class DataDirectoryError extends QuotaDbError {
  declare readonly code: DataDirectoryErrorCode;
  readonly path: string;
  constructor(code: DataDirectoryErrorCode, path: string, detail: string, cause?: unknown) {
    super(code, `${path}: ${detail}`, { cause });
    this.path = path;
  }
}

/** One field where the requested configuration differs from the one the directory recorded. */
export interface ConfigDifference {
  /** `maxBuckets`, …, or `engine.maxCommandBytes` / `engine.slotDurationMs`. */
  readonly field: string;
  readonly recorded: bigint | number;
  readonly requested: bigint | number;
  /** Whether the change only grows a capacity (allowed with `allowCapacityGrowth: true`). */
  readonly growth: boolean;
}

/**
 * The directory was written with another configuration than the one requested. Nothing was
 * changed. Open it without `config` (the recorded one is used), with the recorded values, or,
 * when every difference grows a capacity, with `allowCapacityGrowth: true`.
 */
export class ConfigMismatchError extends QuotaDbError {
  declare readonly code: 'config_mismatch';
  readonly dir: string;
  readonly differences: readonly ConfigDifference[];
  constructor(dir: string, differences: readonly ConfigDifference[], growthAllowed: boolean) {
    const listed = differences
      .map(
        ({ field, recorded, requested }) => `${field} recorded ${recorded}, requested ${requested}`,
      )
      .join('; ');
    const onlyGrowth = differences.every((difference) => difference.growth);
    const hint = onlyGrowth
      ? growthAllowed
        ? ''
        : ' Every difference grows a capacity: pass allowCapacityGrowth: true to record the larger capacities, or open without config to use the recorded ones.'
      : ' Open without config to use the recorded configuration; only capacities can grow (allowCapacityGrowth: true), nothing can shrink or change meaning.';
    super(
      'config_mismatch',
      `${dir} was written with another configuration (${listed}); nothing was changed.${hint}`,
    );
    this.dir = dir;
    this.differences = differences;
  }
}
