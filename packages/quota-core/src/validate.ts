/**
 * Boundary validation: anything that is not a well-formed request or command throws an
 * InvalidRequestError before any state is touched. That includes the two rules quota-core.md
 * puts at the boundary: a debit of zero and an initial balance above the limit never reach the
 * log. Domain answers (an unknown bucket, a balance too low) are not validation failures: the
 * state machine answers them as outcomes.
 */
import { U64_MAX, U128_MAX } from './constants.js';
import { InvalidRequestError } from './errors.js';
import type { ApplyContext, ClientRequest, Command } from './types.js';

function assertObject(value: unknown, field: string): asserts value is Record<string, unknown> {
  if (value === undefined) throw new InvalidRequestError('missing_field', field, 'is required');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRequestError('invalid_type', field, 'must be an object');
  }
}

function assertUnsigned(value: unknown, max: bigint, field: string, bits: number): void {
  if (typeof value !== 'bigint') {
    if (value === undefined) throw new InvalidRequestError('missing_field', field, 'is required');
    throw new InvalidRequestError('invalid_type', field, `must be a bigint (u${bits})`);
  }
  if (value < 0n || value > max) {
    throw new InvalidRequestError('out_of_range', field, `must be in 0..2^${bits}-1`);
  }
}

/** Asserts a u64 bigint field. */
export function assertU64Field(value: unknown, field: string): asserts value is bigint {
  assertUnsigned(value, U64_MAX, field, 64);
}

/** Asserts a u128 bigint field. */
export function assertU128Field(value: unknown, field: string): asserts value is bigint {
  assertUnsigned(value, U128_MAX, field, 128);
}

/** Validates one command: its shape, ranges, and the two boundary rules. */
export function validateCommand(value: unknown, field = 'command'): asserts value is Command {
  assertObject(value, field);
  const kind = value.kind;
  switch (kind) {
    case 'create_bucket':
      assertU128Field(value.bucketId, `${field}.bucketId`);
      assertU64Field(value.limit, `${field}.limit`);
      assertU64Field(value.initialBalance, `${field}.initialBalance`);
      assertU64Field(value.refillRatePerSlot, `${field}.refillRatePerSlot`);
      if (value.initialBalance > value.limit) {
        throw new InvalidRequestError(
          'initial_balance_above_limit',
          `${field}.initialBalance`,
          `${value.initialBalance} exceeds the limit ${value.limit}`,
        );
      }
      return;
    case 'debit':
      assertU128Field(value.bucketId, `${field}.bucketId`);
      assertU64Field(value.amount, `${field}.amount`);
      if (value.amount === 0n) {
        throw new InvalidRequestError('zero_debit', `${field}.amount`, 'must be at least 1');
      }
      return;
    default:
      if (kind === undefined) {
        throw new InvalidRequestError('missing_field', `${field}.kind`, 'is required');
      }
      throw new InvalidRequestError(
        'unknown_command_kind',
        `${field}.kind`,
        `${typeof kind === 'string' ? JSON.stringify(kind) : typeof kind} is not a command kind`,
      );
  }
}

/** Validates a client request: operationId and clientId are u128, the command well formed. */
export function validateClientRequest(value: unknown): asserts value is ClientRequest {
  assertObject(value, 'request');
  assertU128Field(value.operationId, 'operationId');
  assertU128Field(value.clientId, 'clientId');
  validateCommand(value.command, 'command');
}

/** Validates an apply context: lsn and requestSlot are u64. */
export function validateApplyContext(value: unknown): asserts value is ApplyContext {
  assertObject(value, 'context');
  assertU64Field(value.lsn, 'lsn');
  assertU64Field(value.requestSlot, 'requestSlot');
}
