/**
 * Boundary validation: anything that is not a well-formed request or command throws an
 * InvalidRequestError before any state is touched. Domain answers (an empty bundle, a zero TTL,
 * an unknown resource) are not validation failures: the state machine answers them as outcomes.
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

/** Validates one command (any of the eight kinds). */
export function validateCommand(value: unknown, field = 'command'): asserts value is Command {
  assertObject(value, field);
  const kind = value.kind;
  switch (kind) {
    case 'create_resource':
      assertU128Field(value.resourceId, `${field}.resourceId`);
      return;
    case 'reserve':
      assertU128Field(value.resourceId, `${field}.resourceId`);
      assertU128Field(value.holderId, `${field}.holderId`);
      assertU64Field(value.ttlSlots, `${field}.ttlSlots`);
      return;
    case 'reserve_bundle': {
      const ids = value.resourceIds;
      if (ids === undefined) {
        throw new InvalidRequestError('missing_field', `${field}.resourceIds`, 'is required');
      }
      if (!Array.isArray(ids)) {
        throw new InvalidRequestError('invalid_type', `${field}.resourceIds`, 'must be an array');
      }
      for (let i = 0; i < ids.length; i++) {
        assertU128Field(ids[i], `${field}.resourceIds[${i}]`);
      }
      assertU128Field(value.holderId, `${field}.holderId`);
      assertU64Field(value.ttlSlots, `${field}.ttlSlots`);
      return;
    }
    case 'confirm':
    case 'release':
      assertU128Field(value.reservationId, `${field}.reservationId`);
      assertU128Field(value.holderId, `${field}.holderId`);
      assertU64Field(value.leaseEpoch, `${field}.leaseEpoch`);
      return;
    case 'revoke':
    case 'reclaim':
      assertU128Field(value.reservationId, `${field}.reservationId`);
      return;
    case 'expire':
      assertU128Field(value.reservationId, `${field}.reservationId`);
      assertU64Field(value.deadlineSlot, `${field}.deadlineSlot`);
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

/** Whether a client may submit this kind to the durable engine (`expire` is internal only). */
export function isClientSubmittable(kind: Command['kind']): boolean {
  return kind !== 'expire';
}
