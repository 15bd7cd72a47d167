/**
 * The typed errors of allocdb-core. Domain answers (`resource_busy`, `bundle_too_large`, …) are
 * outcomes, never errors; these classes are for bad configuration, bad input at the public
 * boundary, undecodable bytes, unrestorable snapshots and programmer errors.
 */

/** Base class: every error thrown on purpose by this package has a stable string `code`. */
export class AllocDbError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export type ConfigErrorCode =
  | 'invalid_value'
  | 'zero_capacity'
  | 'bundle_size_too_large'
  | 'history_window_too_large'
  | 'operation_window_too_large'
  | 'bucket_capacity_too_large'
  | 'wheel_too_large'
  | 'capacity_too_large'
  | 'missing_field'
  | 'unknown_field';

/** A configuration the state machine cannot run with; `field` names the offending field. */
export class ConfigError extends AllocDbError {
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
  | 'unknown_field'
  | 'empty_bundle'
  | 'duplicate_member';

/**
 * A request or command that fails boundary validation (wrong type, out of range, unknown kind,
 * missing field, a field its kind does not have; and at the durable engine's submission, a
 * bundle that is empty or names a resource twice). Nothing was changed. `field` is a path such
 * as `command.resourceIds[2]`.
 */
export class InvalidRequestError extends AllocDbError {
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
  | 'lsn_after_last_applied'
  | 'watermark_inconsistent'
  | 'retire_after_slot_passed'
  | 'wrong_shard'
  | 'invalid_operation_record'
  | 'wheel_mismatch'
  | 'invariant_violation';

/**
 * A snapshot body that cannot be decoded or restored. `offset` is the byte offset in the body
 * for decoding failures and undefined for a failure found while validating the decoded records;
 * `detail` names the record.
 */
export class SnapshotError extends AllocDbError {
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
export class ApplyOrderError extends AllocDbError {
  declare readonly code: ApplyOrderErrorCode;
}

/**
 * A broken internal invariant: a bug in the state machine (or a restored snapshot that lied).
 * The instance must not be used further.
 */
export class InvariantViolation extends AllocDbError {
  declare readonly code: 'invariant_violation';
  readonly invariant: string;

  constructor(invariant: string, message: string) {
    super('invariant_violation', `invariant ${invariant} violated: ${message}`);
    this.invariant = invariant;
  }
}
