/**
 * The typed errors of quota-core. Domain answers (`insufficient_funds`, `bucket_not_found`, …)
 * are outcomes, never errors; these classes are for bad configuration, bad input at the public
 * boundary, undecodable bytes, unrestorable snapshots and programmer errors.
 */

/** Base class: every error thrown on purpose by this package has a stable string `code`. */
export class QuotaDbError extends Error {
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
