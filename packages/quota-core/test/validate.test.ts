/** Boundary validation of requests and commands: unknown keys, with a "did you mean". */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../src/errors.js';
import { encodeSnapshotBody } from '../src/snapshot/body-codec.js';
import { QuotaDb } from '../src/state-machine/quota-db.js';
import type { ClientRequest, Command } from '../src/types.js';
import { validateClientRequest, validateCommand } from '../src/validate.js';
import { A0 } from './support/quota.js';

/** One well-formed command of every kind. */
const EVERY_KIND: readonly Command[] = [
  { kind: 'create_bucket', bucketId: 11n, limit: 10n, initialBalance: 5n, refillRatePerSlot: 1n },
  { kind: 'debit', bucketId: 11n, amount: 2n },
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
      expect(error.message).toContain('"bucketId"');
    }
  });

  it('a misspelt field is refused with the field it probably meant', () => {
    const amount = refusal(() => validateCommand({ kind: 'debit', bucketId: 11n, amout: 2n }));
    expect(amount.code).toBe('unknown_field');
    expect(amount.field).toBe('command.amout');
    expect(amount.message).toContain('did you mean "amount"?');

    const rate = refusal(() =>
      validateCommand({
        kind: 'create_bucket',
        bucketId: 11n,
        limit: 10n,
        initialBalance: 5n,
        refillRate: 1n,
      }),
    );
    expect(rate.field).toBe('command.refillRate');
    expect(rate.message).toContain('did you mean "refillRatePerSlot"?');

    const both = refusal(() =>
      validateCommand({ kind: 'debit', bucketId: 11n, amount: 2n, bucket_id: 11n }),
    );
    expect(both.field).toBe('command.bucket_id');
    expect(both.message).toContain('did you mean "bucketId"?');
  });

  it('a missing field with no stray key is still missing_field', () => {
    const error = refusal(() => validateCommand({ kind: 'debit', bucketId: 11n }));
    expect(error.code).toBe('missing_field');
    expect(error.field).toBe('command.amount');
  });

  it('the request itself refuses unknown keys, with a suggestion', () => {
    const command = EVERY_KIND[1];
    const typo = refusal(() =>
      validateClientRequest({ operationId: 1n, clientID: 1n, command } as unknown),
    );
    expect(typo.code).toBe('unknown_field');
    expect(typo.field).toBe('clientID');
    expect(typo.message).toContain('did you mean "clientId"?');
    const extra = refusal(() => validateClientRequest(request(command, { requestSlot: 5n })));
    expect(extra.field).toBe('requestSlot');
  });

  it('an unknown command kind suggests the nearest kind', () => {
    const error = refusal(() => validateCommand({ kind: 'debt', bucketId: 1n, amount: 1n }));
    expect(error.code).toBe('unknown_command_kind');
    expect(error.message).toContain('did you mean "debit"?');
  });

  it('applyClient and applyInternal refuse them and change nothing', () => {
    const db = new QuotaDb(A0);
    db.applyClient({ lsn: 1n, requestSlot: 1n }, request(EVERY_KIND[0]));
    const before = encodeSnapshotBody(db.snapshot());
    const stray = { kind: 'debit', bucketId: 11n, amout: 2n };
    expect(() => db.applyClient({ lsn: 2n, requestSlot: 2n }, request(stray))).toThrow(
      /unknown_field.*command\.amout.*did you mean "amount"/,
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
