/** Bad input at the state machine's public boundary: a typed error and no change at all. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { U64_MAX, U128_MAX } from '../../src/constants.js';
import { ApplyOrderError, InvalidRequestError } from '../../src/errors.js';
import { encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import type { QuotaDb } from '../../src/state-machine/quota-db.js';
import type { ApplyContext, ClientRequest } from '../../src/types.js';
import { create, Driver, debit } from '../support/quota.js';
import { runs, SEED } from '../support/thorough.js';

/** A db with two buckets and two operation records. */
function populated(): QuotaDb {
  const d = new Driver();
  d.client(1, 1, 1, create(11n, 10n, 5n, 1n));
  d.client(2, 2, 2, debit(11n, 3n));
  d.internal(3, 2, create(12n, 4n, 4n, 0n));
  return d.db;
}

const context: ApplyContext = { lsn: 10n, requestSlot: 5n };
const good: ClientRequest = { operationId: 9n, clientId: 1n, command: debit(11n, 1n) };

function expectRejected(
  db: QuotaDb,
  apply: () => unknown,
  code: string,
  field?: string,
  errorClass: new (...args: never[]) => Error = InvalidRequestError,
): void {
  const before = encodeSnapshotBody(db.snapshot());
  const disposition = db.lastClientDisposition;
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
  expect(db.lastClientDisposition).toBe(disposition);
}

const badRequests: [string, unknown, string, string][] = [
  ['not an object', 42, 'invalid_type', 'request'],
  ['null', null, 'invalid_type', 'request'],
  ['an array', [], 'invalid_type', 'request'],
  ['missing operationId', { clientId: 1n, command: debit(1n, 1n) }, 'missing_field', 'operationId'],
  ['number operationId', { ...good, operationId: 9 }, 'invalid_type', 'operationId'],
  ['negative operationId', { ...good, operationId: -1n }, 'out_of_range', 'operationId'],
  ['operationId 2^128', { ...good, operationId: U128_MAX + 1n }, 'out_of_range', 'operationId'],
  ['string clientId', { ...good, clientId: '1' }, 'invalid_type', 'clientId'],
  ['missing clientId', { operationId: 1n, command: debit(1n, 1n) }, 'missing_field', 'clientId'],
  ['missing command', { operationId: 1n, clientId: 1n }, 'missing_field', 'command'],
  ['array command', { ...good, command: [] }, 'invalid_type', 'command'],
  [
    'unknown kind',
    { ...good, command: { kind: 'refund' } },
    'unknown_command_kind',
    'command.kind',
  ],
  ['numeric kind', { ...good, command: { kind: 2 } }, 'unknown_command_kind', 'command.kind'],
  ['missing kind', { ...good, command: { bucketId: 1n } }, 'missing_field', 'command.kind'],
  [
    'debit without bucketId',
    { ...good, command: { kind: 'debit', amount: 1n } },
    'missing_field',
    'command.bucketId',
  ],
  [
    'debit without amount',
    { ...good, command: { kind: 'debit', bucketId: 1n } },
    'missing_field',
    'command.amount',
  ],
  ['zero debit', { ...good, command: debit(11n, 0n) }, 'zero_debit', 'command.amount'],
  ['negative debit', { ...good, command: debit(11n, -1n) }, 'out_of_range', 'command.amount'],
  [
    'debit of 2^64',
    { ...good, command: debit(11n, U64_MAX + 1n) },
    'out_of_range',
    'command.amount',
  ],
  [
    'number debit',
    { ...good, command: { kind: 'debit', bucketId: 11n, amount: 1 } },
    'invalid_type',
    'command.amount',
  ],
  [
    'bucketId 2^128',
    { ...good, command: debit(U128_MAX + 1n, 1n) },
    'out_of_range',
    'command.bucketId',
  ],
  [
    'initialBalance > limit',
    { ...good, command: create(13n, 5n, 6n, 0n) },
    'initial_balance_above_limit',
    'command.initialBalance',
  ],
  [
    'limit 2^64',
    { ...good, command: create(13n, U64_MAX + 1n, 0n, 0n) },
    'out_of_range',
    'command.limit',
  ],
  [
    'rate 2^64',
    { ...good, command: create(13n, 5n, 0n, U64_MAX + 1n) },
    'out_of_range',
    'command.refillRatePerSlot',
  ],
  [
    'create without rate',
    { ...good, command: { kind: 'create_bucket', bucketId: 13n, limit: 5n, initialBalance: 0n } },
    'missing_field',
    'command.refillRatePerSlot',
  ],
  [
    'string limit',
    { ...good, command: { ...create(13n, 5n, 0n, 0n), limit: '5' } },
    'invalid_type',
    'command.limit',
  ],
];

describe('applyClient boundary validation', () => {
  for (const [name, request, code, field] of badRequests) {
    it(`${name}: ${code} at ${field}, nothing changed`, () => {
      const db = populated();
      expectRejected(db, () => db.applyClient(context, request as ClientRequest), code, field);
    });
  }

  it('bad contexts: missing, non-bigint or out of range lsn / requestSlot', () => {
    const db = populated();
    for (const [bad, code, field] of [
      [undefined, 'missing_field', 'context'],
      [{ lsn: 10n }, 'missing_field', 'requestSlot'],
      [{ lsn: 10, requestSlot: 5n }, 'invalid_type', 'lsn'],
      [{ lsn: 10n, requestSlot: U64_MAX + 1n }, 'out_of_range', 'requestSlot'],
      [{ lsn: -1n, requestSlot: 5n }, 'out_of_range', 'lsn'],
    ] as const) {
      expectRejected(db, () => db.applyClient(bad as unknown as ApplyContext, good), code, field);
      expectRejected(
        db,
        () => db.applyInternal(bad as unknown as ApplyContext, debit(11n, 1n)),
        code,
        field,
      );
    }
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
      () => db.applyInternal({ lsn: 4n, requestSlot: 1n }, debit(11n, 1n)),
      'request_slot_decreased',
      undefined,
      ApplyOrderError,
    );
  });

  it('LSNs start at 1, as in allocdb-core: LSN 0 is refused before the first apply too', () => {
    const db = new Driver().db;
    expect(() =>
      db.applyClient({ lsn: 0n, requestSlot: 0n }, { ...good, command: create(1n, 5n, 5n, 0n) }),
    ).toThrow(ApplyOrderError);
    expect(() => db.applyInternal({ lsn: 0n, requestSlot: 3n }, create(1n, 5n, 5n, 0n))).toThrow(
      ApplyOrderError,
    );
    expect(db.lastAppliedLsn).toBeUndefined();
    expect(db.getBucket(1n)).toBeUndefined();
  });

  it('applyInternal applies the same command validation', () => {
    const db = populated();
    expectRejected(
      db,
      () => db.applyInternal(context, debit(11n, 0n)),
      'zero_debit',
      'command.amount',
    );
    expectRejected(
      db,
      () => db.applyInternal(context, create(13n, 1n, 2n, 0n)),
      'initial_balance_above_limit',
      'command.initialBalance',
    );
  });

  it('reads and helpers validate their arguments', () => {
    const db = populated();
    expectRejected(db, () => db.getBucket(-1n), 'out_of_range', 'bucketId');
    expectRejected(db, () => db.getBucket(1 as unknown as bigint), 'invalid_type', 'bucketId');
    expectRejected(db, () => db.getBucketAt(11n, U64_MAX + 1n), 'out_of_range', 'slot');
    expectRejected(db, () => db.getOperation(1n, -1n), 'out_of_range', 'currentSlot');
    expectRejected(
      db,
      () => db.lookupRetry(1n, 'x' as unknown as Uint8Array, 1n),
      'invalid_type',
      'commandBytes',
    );
    expectRejected(db, () => db.wouldSlotOverflow(1n, debit(1n, 0n), 'client'), 'zero_debit');
    expectRejected(db, () => db.logicalSlotLag(-5n), 'out_of_range', 'now');
  });

  it('random junk never changes the state: a typed error or a valid outcome', () => {
    const junkValue = fc.oneof(
      fc.bigInt(-(2n ** 130n), 2n ** 130n),
      fc.integer(),
      fc.string(),
      fc.constant(undefined),
      fc.constant(null),
    );
    const junkCommand = fc.record(
      {
        kind: fc.oneof(fc.constantFrom('debit', 'create_bucket', 'expire', ''), junkValue),
        bucketId: junkValue,
        amount: junkValue,
        limit: junkValue,
        initialBalance: junkValue,
        refillRatePerSlot: junkValue,
      },
      { requiredKeys: [] },
    );
    const junkRequest = fc.record(
      { operationId: junkValue, clientId: junkValue, command: fc.oneof(junkCommand, junkValue) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(junkRequest, (request) => {
        const db = populated();
        const before = encodeSnapshotBody(db.snapshot());
        try {
          db.applyClient(context, request as unknown as ClientRequest);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidRequestError);
          expect(encodeSnapshotBody(db.snapshot())).toEqual(before);
        }
        db.checkInvariants();
      }),
      { seed: SEED, numRuns: runs(500) },
    );
  });
});
