/** Bad input at the state machine's public boundary: a typed error and no change at all. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { U64_MAX, U128_MAX } from '../../src/constants.js';
import { ApplyOrderError, InvalidRequestError } from '../../src/errors.js';
import { encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import type { AllocDb } from '../../src/state-machine/alloc-db.js';
import type { ApplyContext, ClientRequest, Command } from '../../src/types.js';
import { create, Driver, reserve } from '../support/alloc.js';
import { runs, SEED } from '../support/thorough.js';

/** A db with a resource, a reservation and an operation record. */
function populated(): AllocDb {
  const d = new Driver();
  d.client(1, 1, 1, create(11n));
  d.client(2, 1, 2, create(12n));
  d.client(3, 2, 3, reserve(11n, 3n));
  return d.db;
}

const context: ApplyContext = { lsn: 10n, requestSlot: 5n };
const good: ClientRequest = { operationId: 9n, clientId: 1n, command: create(13n) };

function expectRejected(
  db: AllocDb,
  apply: () => unknown,
  code: string,
  field?: string,
  errorClass: new (...args: never[]) => Error = InvalidRequestError,
): void {
  const before = encodeSnapshotBody(db.snapshot());
  let thrown: unknown;
  try {
    apply();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(errorClass);
  expect((thrown as { code: string }).code).toBe(code);
  if (field !== undefined) expect((thrown as InvalidRequestError).field).toBe(field);
  expect(encodeSnapshotBody(db.snapshot())).toEqual(before);
}

const badRequests: [string, unknown, string, string][] = [
  ['not an object', 42, 'invalid_type', 'request'],
  ['null', null, 'invalid_type', 'request'],
  ['missing operationId', { clientId: 1n, command: create(1n) }, 'missing_field', 'operationId'],
  ['number operationId', { ...good, operationId: 9 }, 'invalid_type', 'operationId'],
  ['negative operationId', { ...good, operationId: -1n }, 'out_of_range', 'operationId'],
  ['operationId 2^128', { ...good, operationId: U128_MAX + 1n }, 'out_of_range', 'operationId'],
  ['string clientId', { ...good, clientId: '1' }, 'invalid_type', 'clientId'],
  ['missing command', { operationId: 1n, clientId: 1n }, 'missing_field', 'command'],
  ['array command', { ...good, command: [] }, 'invalid_type', 'command'],
  [
    'unknown kind',
    { ...good, command: { kind: 'delete' } },
    'unknown_command_kind',
    'command.kind',
  ],
  ['missing kind', { ...good, command: { resourceId: 1n } }, 'missing_field', 'command.kind'],
  [
    'missing resourceId',
    { ...good, command: { kind: 'create_resource' } },
    'missing_field',
    'command.resourceId',
  ],
  [
    'resourceId 2^128',
    { ...good, command: create(U128_MAX + 1n) },
    'out_of_range',
    'command.resourceId',
  ],
  [
    'ttl 2^64',
    { ...good, command: { ...reserve(11n, 1n), ttlSlots: U64_MAX + 1n } },
    'out_of_range',
    'command.ttlSlots',
  ],
  [
    'bundle not an array',
    {
      ...good,
      command: { kind: 'reserve_bundle', resourceIds: 11n, holderId: 1n, ttlSlots: 1n },
    },
    'invalid_type',
    'command.resourceIds',
  ],
  [
    'bundle element not a bigint',
    {
      ...good,
      command: { kind: 'reserve_bundle', resourceIds: [11n, 12], holderId: 1n, ttlSlots: 1n },
    },
    'invalid_type',
    'command.resourceIds[1]',
  ],
  [
    'bundle without resourceIds',
    { ...good, command: { kind: 'reserve_bundle', holderId: 1n, ttlSlots: 1n } },
    'missing_field',
    'command.resourceIds',
  ],
  [
    'negative epoch',
    { ...good, command: { kind: 'confirm', reservationId: 3n, holderId: 1n, leaseEpoch: -1n } },
    'out_of_range',
    'command.leaseEpoch',
  ],
  [
    'release without holder',
    { ...good, command: { kind: 'release', reservationId: 3n, leaseEpoch: 1n } },
    'missing_field',
    'command.holderId',
  ],
  [
    'revoke with string id',
    { ...good, command: { kind: 'revoke', reservationId: '3' } },
    'invalid_type',
    'command.reservationId',
  ],
  [
    'expire without deadline',
    { ...good, command: { kind: 'expire', reservationId: 3n } },
    'missing_field',
    'command.deadlineSlot',
  ],
];

describe('boundary validation', () => {
  for (const [name, request, code, field] of badRequests) {
    it(`applyClient rejects ${name} (${code}) and changes nothing`, () => {
      const db = populated();
      expectRejected(db, () => db.applyClient(context, request as ClientRequest), code, field);
    });
  }

  it('applyInternal rejects malformed commands and changes nothing', () => {
    const db = populated();
    expectRejected(
      db,
      () => db.applyInternal(context, { kind: 'reclaim' } as unknown as Command),
      'missing_field',
      'command.reservationId',
    );
    expectRejected(
      db,
      () => db.applyInternal(context, { kind: 'create_resource', resourceId: 5 } as never),
      'invalid_type',
    );
  });

  it('rejects malformed apply contexts', () => {
    const db = populated();
    expectRejected(
      db,
      () => db.applyClient({ lsn: 10, requestSlot: 5n } as never, good),
      'invalid_type',
      'lsn',
    );
    expectRejected(
      db,
      () => db.applyClient({ lsn: 10n, requestSlot: U64_MAX + 1n }, good),
      'out_of_range',
      'requestSlot',
    );
    expectRejected(
      db,
      () => db.applyInternal(undefined as never, create(1n)),
      'missing_field',
      'context',
    );
  });

  it('an LSN that does not increase or a slot that goes back is an ApplyOrderError', () => {
    const db = populated();
    expectRejected(
      db,
      () => db.applyClient({ lsn: 3n, requestSlot: 5n }, good),
      'lsn_not_increasing',
      undefined,
      ApplyOrderError,
    );
    expectRejected(
      db,
      () => db.applyInternal({ lsn: 10n, requestSlot: 1n }, create(13n)),
      'request_slot_decreased',
      undefined,
      ApplyOrderError,
    );
    // The same LSN with an equal slot is still out of order; the next LSN works.
    expect(db.applyClient({ lsn: 4n, requestSlot: 2n }, good).resultCode).toBe('ok');
  });

  it('reads reject non-bigint and out-of-range arguments', () => {
    const db = populated();
    expect(() => db.getResource(11 as never)).toThrow(InvalidRequestError);
    expect(() => db.getReservation(3n, -1n)).toThrow(InvalidRequestError);
    expect(() => db.getOperation(U128_MAX + 1n, 1n)).toThrow(InvalidRequestError);
    expect(() => db.dueExpirations(1n, -1)).toThrow(InvalidRequestError);
    expect(() => db.lookupRetry(1n, 'bytes' as never, 1n)).toThrow(InvalidRequestError);
    expect(() => db.wouldSlotOverflow(1n, { kind: 'x' } as never, 'client')).toThrow(
      InvalidRequestError,
    );
  });

  it('arbitrary junk as a request is an InvalidRequestError and changes nothing', () => {
    const db = populated();
    const before = encodeSnapshotBody(db.snapshot());
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({
            operationId: fc.anything(),
            clientId: fc.anything(),
            command: fc.anything(),
          }),
          fc.record({
            operationId: fc.bigInt(),
            clientId: fc.bigInt(),
            command: fc.record({
              kind: fc.constantFrom('reserve', 'reserve_bundle', 'confirm', 'expire', 'nope'),
              resourceIds: fc.anything(),
              reservationId: fc.oneof(fc.bigInt(), fc.anything()),
              holderId: fc.anything(),
              ttlSlots: fc.bigInt(),
            }),
          }),
        ),
        (junk) => {
          expect(() => db.applyClient(context, junk as ClientRequest)).toThrow(InvalidRequestError);
        },
      ),
      { seed: SEED, numRuns: runs(500) },
    );
    expect(encodeSnapshotBody(db.snapshot())).toEqual(before);
  });
});
