/** Boundary validation of requests and commands: unknown keys, with a "did you mean". */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../src/errors.js';
import { encodeSnapshotBody } from '../src/snapshot/body-codec.js';
import { AllocDb } from '../src/state-machine/alloc-db.js';
import type { ClientRequest, Command } from '../src/types.js';
import { validateClientRequest, validateCommand, validateSubmission } from '../src/validate.js';
import { bundle, C0, create, Driver } from './support/alloc.js';
import { runs, SEED } from './support/thorough.js';

/** One well-formed command of every kind. */
const EVERY_KIND: readonly Command[] = [
  { kind: 'create_resource', resourceId: 11n },
  { kind: 'reserve', resourceId: 11n, holderId: 1n, ttlSlots: 3n },
  { kind: 'reserve_bundle', resourceIds: [11n, 12n], holderId: 1n, ttlSlots: 3n },
  { kind: 'confirm', reservationId: 2n, holderId: 1n, leaseEpoch: 1n },
  { kind: 'release', reservationId: 2n, holderId: 1n, leaseEpoch: 1n },
  { kind: 'revoke', reservationId: 2n },
  { kind: 'reclaim', reservationId: 2n },
  { kind: 'expire', reservationId: 2n, deadlineSlot: 5n },
];

function refusal(check: () => unknown): InvalidRequestError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return error as InvalidRequestError;
  }
  throw new Error('accepted');
}

const request = (command: unknown, extra: object = {}): ClientRequest =>
  ({ operationId: 1n, clientId: 1n, command, ...extra }) as ClientRequest;

describe('unknown keys in requests and commands', () => {
  it('every command kind refuses a key it does not have, naming the path', () => {
    for (const command of EVERY_KIND) {
      const error = refusal(() => validateCommand({ ...command, colour: 'red' }));
      expect(error.code, command.kind).toBe('unknown_field');
      expect(error.field).toBe('command.colour');
      expect(error.message).toContain(`${command.kind} has no field "colour"`);
      // With no near name, the message lists the command's fields.
      expect(error.message).toContain('"kind"');
    }
  });

  it('a misspelt field is refused with the field it probably meant', () => {
    const error = refusal(() =>
      validateCommand({ kind: 'reserve', resourceId: 11n, holderId: 1n, ttl: 3n }),
    );
    expect(error.code).toBe('unknown_field');
    expect(error.field).toBe('command.ttl');
    expect(error.message).toContain('did you mean "ttlSlots"?');

    // Both spellings present: the count is off, the extra one is named.
    const both = refusal(() =>
      validateCommand({ kind: 'reserve', resourceId: 11n, holderId: 1n, ttlSlots: 3n, ttl: 3n }),
    );
    expect(both.field).toBe('command.ttl');

    const bundle = refusal(() =>
      validateCommand({ kind: 'reserve_bundle', resourceId: 11n, holderId: 1n, ttlSlots: 3n }),
    );
    expect(bundle.field).toBe('command.resourceId');
    expect(bundle.message).toContain('did you mean "resourceIds"?');

    const epoch = refusal(() =>
      validateCommand({ kind: 'confirm', reservationId: 2n, holderId: 1n, epoch: 1n }),
    );
    expect(epoch.message).toContain('did you mean "leaseEpoch"?');
  });

  it('a missing field with no stray key is still missing_field', () => {
    const error = refusal(() =>
      validateCommand({ kind: 'reserve', resourceId: 11n, holderId: 1n }),
    );
    expect(error.code).toBe('missing_field');
    expect(error.field).toBe('command.ttlSlots');
  });

  it('the request itself refuses unknown keys, with a suggestion', () => {
    const command = EVERY_KIND[0];
    const typo = refusal(() =>
      validateClientRequest({ operationID: 1n, clientId: 1n, command } as unknown),
    );
    expect(typo.code).toBe('unknown_field');
    expect(typo.field).toBe('operationID');
    expect(typo.message).toContain('did you mean "operationId"?');
    const extra = refusal(() => validateClientRequest(request(command, { requestSlot: 5n })));
    expect(extra.field).toBe('requestSlot');
  });

  it('an unknown command kind suggests the nearest kind', () => {
    const error = refusal(() => validateCommand({ kind: 'reserv', resourceId: 1n }));
    expect(error.code).toBe('unknown_command_kind');
    expect(error.message).toContain('did you mean "reserve"?');
  });

  it('applyClient and applyInternal refuse them and change nothing', () => {
    const db = new AllocDb(C0);
    db.applyClient(
      { lsn: 1n, requestSlot: 1n },
      request({ kind: 'create_resource', resourceId: 11n }),
    );
    const before = encodeSnapshotBody(db.snapshot());
    const stray = { kind: 'reserve', resourceId: 11n, holderId: 1n, ttl: 3n };
    expect(() => db.applyClient({ lsn: 2n, requestSlot: 2n }, request(stray))).toThrow(
      /unknown_field.*command\.ttl.*did you mean "ttlSlots"/,
    );
    expect(() => db.applyInternal({ lsn: 2n, requestSlot: 2n }, stray as never)).toThrow(
      InvalidRequestError,
    );
    expect(encodeSnapshotBody(db.snapshot())).toEqual(before);
  });

  it('well-formed requests of every kind pass', () => {
    for (const command of EVERY_KIND) {
      expect(() => validateClientRequest(request(command))).not.toThrow();
    }
  });
});

describe('validateSubmission: what the durable engine lets into its log', () => {
  const submission = (resourceIds: bigint[]) => request(bundle(resourceIds, 3n));

  it('refuses an empty bundle and a bundle naming a resource twice', () => {
    const empty = refusal(() => validateSubmission(submission([])));
    expect(empty).toMatchObject({ code: 'empty_bundle', field: 'command.resourceIds' });
    expect(empty.message).toContain('must hold at least one resource id');
    const twice = refusal(() => validateSubmission(submission([11n, 12n, 13n, 12n])));
    expect(twice).toMatchObject({ code: 'duplicate_member', field: 'command.resourceIds[3]' });
    expect(twice.message).toContain('repeats command.resourceIds[1] (resource 12)');
  });

  it('is validateClientRequest first: malformed requests fail the same way', () => {
    expect(refusal(() => validateSubmission(request({ kind: 'reserve' }))).code).toBe(
      'missing_field',
    );
    expect(() => validateSubmission(request(create(11n)))).not.toThrow();
    expect(() => validateSubmission(submission([11n, 12n]))).not.toThrow();
  });

  it('names the first repeat and the element it repeats, short or long bundles alike', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 40n }), { maxLength: 60 }), (ids) => {
        let expected: [number, number] | undefined;
        for (let at = 1; at < ids.length && expected === undefined; at++) {
          const first = ids.indexOf(ids[at]!);
          if (first < at) expected = [first, at];
        }
        if (ids.length === 0) {
          expect(refusal(() => validateSubmission(submission(ids))).code).toBe('empty_bundle');
        } else if (expected === undefined) {
          expect(() => validateSubmission(submission(ids))).not.toThrow();
        } else {
          const error = refusal(() => validateSubmission(submission(ids)));
          expect(error.field).toBe(`command.resourceIds[${expected[1]}]`);
          expect(error.message).toContain(`repeats command.resourceIds[${expected[0]}]`);
        }
      }),
      { seed: SEED, numRuns: runs(500) },
    );
  });

  it('the state machine keeps answering them as outcomes (logs written before the rule)', () => {
    const d = new Driver({ ...C0, maxBundleSize: 2 });
    d.client(1, 1, 1, create(11n));
    expect(d.client(2, 1, 2, bundle([], 3n)).resultCode).toBe('bundle_too_large');
    expect(d.client(3, 1, 3, bundle([11n, 11n], 3n)).resultCode).toBe('resource_busy');
    expect(d.db.getResource(11n)?.state).toBe('available');
  });
});
