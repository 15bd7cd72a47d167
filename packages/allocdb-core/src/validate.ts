/**
 * Boundary validation: anything that is not a well-formed request or command throws an
 * InvalidRequestError before any state is touched, including keys a request or command does not
 * have (`unknown_field`, with a "did you mean" for the likely typo). Domain answers (an empty
 * bundle, a zero TTL, an unknown resource) are not validation failures: the state machine answers
 * them as outcomes.
 */
import { U64_MAX, U128_MAX } from './constants.js';
import { InvalidRequestError } from './errors.js';
import {
  countKeys,
  findUnknownKey,
  quoteKey,
  suggestKey,
  unknownKeyHint,
} from './runtime/known-keys.js';
import {
  type ApplyContext,
  type ClientRequest,
  COMMAND_KINDS,
  type Command,
  type CommandKind,
} from './types.js';

/** The fields of a client request; all required. */
const REQUEST_FIELDS: readonly (keyof ClientRequest)[] = ['operationId', 'clientId', 'command'];

/** The fields of each command kind, `kind` included; all required. */
const COMMAND_FIELDS: {
  readonly [K in CommandKind]: readonly (keyof Extract<Command, { kind: K }>)[];
} = {
  create_resource: ['kind', 'resourceId'],
  reserve: ['kind', 'resourceId', 'holderId', 'ttlSlots'],
  reserve_bundle: ['kind', 'resourceIds', 'holderId', 'ttlSlots'],
  confirm: ['kind', 'reservationId', 'holderId', 'leaseEpoch'],
  release: ['kind', 'reservationId', 'holderId', 'leaseEpoch'],
  revoke: ['kind', 'reservationId'],
  reclaim: ['kind', 'reservationId'],
  expire: ['kind', 'reservationId', 'deadlineSlot'],
};

/**
 * Throws `unknown_field` for the first key of `value` outside `fields`, if there is one.
 * `path` is the object's field path (`command`), undefined for the request itself.
 */
function refuseUnknownKey(
  value: object,
  fields: readonly string[],
  path: string | undefined,
  owner: string,
): void {
  const key = findUnknownKey(value, fields);
  if (key === undefined) return;
  const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  throw new InvalidRequestError(
    'unknown_field',
    path === undefined ? shown : `${path}.${shown}`,
    `${owner} has no field ${quoteKey(key)}; ${unknownKeyHint(key, fields)}`,
  );
}

/**
 * The error to throw after `error` interrupted the field checks of an object whose fields are
 * `fields`: a misspelt field keeps the key count and loses the field (`ttl` for `ttlSlots`), so
 * a missing field is reported as the unknown key beside it, with the hint, when there is one.
 */
function misspelt(
  error: unknown,
  value: object,
  fields: readonly string[],
  path: string | undefined,
  owner: string,
): unknown {
  if (error instanceof InvalidRequestError && error.code === 'missing_field') {
    refuseUnknownKey(value, fields, path, owner);
  }
  return error;
}

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

/**
 * `assertU64Field` / `assertU128Field` for the field `path.name` (`path.name[index]` for an
 * array element), building the path string only when the check fails: validation runs on every
 * submission, and a path per field per command was most of its cost.
 */
function assertU64At(value: unknown, path: string, name: string): asserts value is bigint {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    assertUnsigned(value, U64_MAX, `${path}.${name}`, 64);
  }
}

function assertU128At(
  value: unknown,
  path: string,
  name: string,
  index = -1,
): asserts value is bigint {
  if (typeof value !== 'bigint' || value < 0n || value > U128_MAX) {
    assertUnsigned(value, U128_MAX, `${path}.${name}${index < 0 ? '' : `[${index}]`}`, 128);
  }
}

/** The fields of a command of kind `kind`; throws when `kind` is missing or not a kind. */
function commandFields(kind: unknown, field: string): readonly string[] {
  // The commands of the hot paths first, by string comparison: cheaper than Object.hasOwn.
  if (kind === 'reserve') return COMMAND_FIELDS.reserve;
  if (kind === 'confirm') return COMMAND_FIELDS.confirm;
  if (kind === 'release') return COMMAND_FIELDS.release;
  if (typeof kind === 'string' && Object.hasOwn(COMMAND_FIELDS, kind)) {
    return COMMAND_FIELDS[kind as CommandKind];
  }
  if (kind === undefined) {
    throw new InvalidRequestError('missing_field', `${field}.kind`, 'is required');
  }
  const suggestion = typeof kind === 'string' ? suggestKey(kind, COMMAND_KINDS) : undefined;
  throw new InvalidRequestError(
    'unknown_command_kind',
    `${field}.kind`,
    `${typeof kind === 'string' ? quoteKey(kind) : typeof kind} is not a command kind; ${
      suggestion === undefined
        ? `the kinds are ${COMMAND_KINDS.map((name) => quoteKey(name)).join(', ')}`
        : `did you mean ${quoteKey(suggestion)}?`
    }`,
  );
}

/** Checks the fields of a command whose kind is known (`commandFields` passed). */
function checkCommandFields(value: Record<string, unknown>, kind: CommandKind, field: string) {
  switch (kind) {
    case 'create_resource':
      assertU128At(value.resourceId, field, 'resourceId');
      return;
    case 'reserve':
      assertU128At(value.resourceId, field, 'resourceId');
      assertU128At(value.holderId, field, 'holderId');
      assertU64At(value.ttlSlots, field, 'ttlSlots');
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
        assertU128At(ids[i], field, 'resourceIds', i);
      }
      assertU128At(value.holderId, field, 'holderId');
      assertU64At(value.ttlSlots, field, 'ttlSlots');
      return;
    }
    case 'confirm':
    case 'release':
      assertU128At(value.reservationId, field, 'reservationId');
      assertU128At(value.holderId, field, 'holderId');
      assertU64At(value.leaseEpoch, field, 'leaseEpoch');
      return;
    case 'revoke':
    case 'reclaim':
      assertU128At(value.reservationId, field, 'reservationId');
      return;
    case 'expire':
      assertU128At(value.reservationId, field, 'reservationId');
      assertU64At(value.deadlineSlot, field, 'deadlineSlot');
      return;
  }
}

/** Validates one command (any of the eight kinds), refusing keys its kind does not have. */
export function validateCommand(value: unknown, field = 'command'): asserts value is Command {
  assertObject(value, field);
  const kind = value.kind;
  const fields = commandFields(kind, field);
  const owner = kind as CommandKind;
  if (countKeys(value) !== fields.length) refuseUnknownKey(value, fields, field, owner);
  try {
    checkCommandFields(value, owner, field);
  } catch (error) {
    throw misspelt(error, value, fields, field, owner);
  }
}

/**
 * Validates a client request: exactly `operationId` and `clientId` (u128) and a well-formed
 * `command`.
 */
export function validateClientRequest(value: unknown): asserts value is ClientRequest {
  assertObject(value, 'request');
  if (countKeys(value) !== REQUEST_FIELDS.length) {
    refuseUnknownKey(value, REQUEST_FIELDS, undefined, 'a request');
  }
  try {
    assertU128Field(value.operationId, 'operationId');
    assertU128Field(value.clientId, 'clientId');
    if (value.command === undefined) {
      throw new InvalidRequestError('missing_field', 'command', 'is required');
    }
  } catch (error) {
    throw misspelt(error, value, REQUEST_FIELDS, undefined, 'a request');
  }
  validateCommand(value.command, 'command');
}

/** Bundles up to this length are checked for repeats by comparing pairs, longer ones by a Map. */
const PAIRWISE_BUNDLE_LENGTH = 16;

/**
 * Throws unless `resourceIds` names at least one resource and none twice (`empty_bundle`,
 * `duplicate_member`, naming the first repeat and the element it repeats).
 */
function checkBundleMembers(resourceIds: readonly bigint[], field: string): void {
  const count = resourceIds.length;
  if (count === 0) {
    throw new InvalidRequestError('empty_bundle', field, 'must hold at least one resource id');
  }
  if (count <= PAIRWISE_BUNDLE_LENGTH) {
    for (let at = 1; at < count; at++) {
      const id = resourceIds[at]!;
      for (let first = 0; first < at; first++) {
        if (resourceIds[first] === id) throw repeatedMember(field, first, at, id);
      }
    }
    return;
  }
  const firstIndex = new Map<bigint, number>();
  for (let at = 0; at < count; at++) {
    const id = resourceIds[at]!;
    const first = firstIndex.get(id);
    if (first !== undefined) throw repeatedMember(field, first, at, id);
    firstIndex.set(id, at);
  }
}

function repeatedMember(field: string, first: number, at: number, id: bigint): Error {
  return new InvalidRequestError(
    'duplicate_member',
    `${field}[${at}]`,
    `repeats ${field}[${first}] (resource ${id}); a bundle names each resource once`,
  );
}

/**
 * What the durable engine accepts into its log: a valid client request (`validateClientRequest`)
 * that is also well formed as a command, not merely decodable: a `reserve_bundle` names at least
 * one resource and none twice (`empty_bundle`, `duplicate_member`). The state machine answers
 * such bundles with outcomes (`bundle_too_large`, `resource_busy`) and keeps doing so, for logs
 * written before the engine refused them; docs/allocdb-state-machine.md says why the line is
 * drawn here.
 */
export function validateSubmission(value: unknown): asserts value is ClientRequest {
  validateClientRequest(value);
  const command = value.command;
  if (command.kind === 'reserve_bundle') {
    checkBundleMembers(command.resourceIds, 'command.resourceIds');
  }
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
