/** Each restore validation rule, violated on purpose, is a typed SnapshotError; and fuzzing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../src/codec/command-codec.js';
import { U64_MAX } from '../../src/constants.js';
import { CodecError, ConfigError, SnapshotError } from '../../src/errors.js';
import { decodeSnapshotBody, encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import { QuotaDb } from '../../src/state-machine/quota-db.js';
import type { Outcome, QuotaDbSnapshot } from '../../src/types.js';
import { A0, create, Driver, debit } from '../support/quota.js';
import { runs, SEED } from '../support/thorough.js';
import { applySteps, WORKLOAD_CONFIG, workloadStep } from '../support/workload.js';

/**
 * A state with every kind of record: buckets 11 (refilling), 12 and 13; operation records for
 * ok, already_exists, insufficient_funds and bucket_not_found.
 */
function richSnapshot(): QuotaDbSnapshot {
  const d = new Driver();
  d.client(1, 1, 1, create(11n, 10n, 2n, 1n));
  d.client(2, 2, 2, create(11n, 10n, 2n, 1n)); // op 2: already_exists
  d.client(3, 3, 3, debit(11n, 50n)); // insufficient_funds, refilled to slot 3
  d.client(4, 3, 4, debit(99n, 1n)); // bucket_not_found
  d.internal(5, 4, create(12n, 5n, 5n, 0n));
  d.client(6, 5, 5, debit(12n, 2n)); // ok
  d.internal(7, 6, create(13n, 3n, 0n, 0n));
  return d.db.snapshot();
}

/** A debit of zero from bucket 0: tag 2 and zeros, which the codec refuses. */
function zeroDebitBytes(): Uint8Array {
  const bytes = new Uint8Array(25);
  bytes[0] = 2;
  return bytes;
}

type Mutable = {
  -readonly [K in keyof QuotaDbSnapshot]-?: QuotaDbSnapshot[K] extends
    | readonly (infer T)[]
    | undefined
    ? { -readonly [P in keyof T]: T[P] }[]
    : QuotaDbSnapshot[K];
};

function mutated(change: (snapshot: Mutable) => void): QuotaDbSnapshot {
  const copy = structuredClone(richSnapshot()) as Mutable;
  change(copy);
  return copy as QuotaDbSnapshot;
}

function expectSnapshotError(snapshot: unknown, code: string, config = A0): SnapshotError {
  let thrown: unknown;
  try {
    QuotaDb.fromSnapshot(config, snapshot as QuotaDbSnapshot);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(SnapshotError);
  expect((thrown as SnapshotError).code).toBe(code);
  return thrown as SnapshotError;
}

describe('restore validation', () => {
  it('the rich snapshot itself restores, and round-trips through the body codec', () => {
    const snapshot = richSnapshot();
    const db = QuotaDb.fromSnapshot(A0, snapshot);
    db.checkInvariants();
    expect(db.snapshot()).toEqual(snapshot);
    expect(decodeSnapshotBody(encodeSnapshotBody(snapshot), A0)).toEqual(snapshot);
  });

  const rejections: [string, (s: Mutable) => void, string][] = [
    [
      'only lastAppliedLsn present',
      (s) => delete (s as { lastRequestSlot?: bigint }).lastRequestSlot,
      'watermark_inconsistent',
    ],
    [
      'lastAppliedLsn 0, which is not an LSN (LSNs start at 1)',
      (s) => {
        s.lastAppliedLsn = 0n;
        s.lastRequestSlot = 0n;
        s.buckets.length = 0;
        s.operations.length = 0;
      },
      'watermark_inconsistent',
    ],
    [
      'records without watermarks',
      (s) => {
        delete (s as { lastRequestSlot?: bigint }).lastRequestSlot;
        delete (s as { lastAppliedLsn?: bigint }).lastAppliedLsn;
      },
      'watermark_inconsistent',
    ],
    [
      'more buckets than capacity',
      (s) => {
        for (let i = 0; i < 6; i++)
          s.buckets.push({ ...s.buckets[2]!, bucketId: 100n + BigInt(i) });
      },
      'count_exceeds_capacity',
    ],
    ['a duplicate bucket id', (s) => s.buckets.splice(1, 0, { ...s.buckets[0]! }), 'duplicate_key'],
    ['buckets out of order', (s) => s.buckets.reverse(), 'unsorted'],
    [
      'a duplicate operation id',
      (s) => s.operations.splice(1, 0, { ...s.operations[0]! }),
      'duplicate_key',
    ],
    ['operations out of order', (s) => s.operations.reverse(), 'unsorted'],
    [
      'balance above the limit',
      (s) => (s.buckets[0]!.balance = s.buckets[0]!.limit + 1n),
      'balance_above_limit',
    ],
    [
      'a refill after the last request slot',
      (s) => (s.buckets[0]!.lastRefillSlot = s.lastRequestSlot + 1n),
      'refill_slot_after_last_request',
    ],
    [
      'a record applied after lastAppliedLsn',
      (s) => (s.operations[0]!.appliedLsn = s.lastAppliedLsn + 1n),
      'lsn_after_last_applied',
    ],
    [
      'a record that should have retired',
      (s) => (s.operations[0]!.retireAfterSlot = s.lastRequestSlot - 1n),
      'retire_after_slot_passed',
    ],
    [
      'two records with one LSN',
      (s) => (s.operations[1]!.appliedLsn = s.operations[0]!.appliedLsn),
      'invalid_operation_record',
    ],
    [
      'undecodable command bytes',
      (s) => (s.operations[0]!.command = Uint8Array.of(9, 9)),
      'invalid_operation_record',
    ],
    [
      'a zero-debit command',
      (s) => (s.operations[2]!.command = zeroDebitBytes()),
      'invalid_operation_record',
    ],
    [
      'a never-recorded result code',
      (s) => (s.operations[0]!.outcome = { resultCode: 'operation_conflict' }),
      'invalid_operation_record',
    ],
    [
      'a create answered insufficient_funds',
      (s) => (s.operations[0]!.outcome = { resultCode: 'insufficient_funds' }),
      'invalid_operation_record',
    ],
    [
      'ok without its bucket id',
      (s) => (s.operations[0]!.outcome = { resultCode: 'ok' } as Outcome),
      'invalid_operation_record',
    ],
    [
      'ok with another bucket id',
      (s) => (s.operations[0]!.outcome = { resultCode: 'ok', bucketId: 12n }),
      'invalid_operation_record',
    ],
    [
      'a bucket id on a failure',
      (s) =>
        (s.operations[1]!.outcome = {
          resultCode: 'already_exists',
          bucketId: 11n,
        } as unknown as Outcome),
      'invalid_operation_record',
    ],
    ['ok on a bucket that is gone', (s) => s.buckets.splice(0, 1), 'invalid_operation_record'],
    ['a u64 field out of range', (s) => (s.buckets[0]!.limit = U64_MAX + 1n), 'invalid_value'],
    [
      'a non-bigint field',
      (s) => ((s.buckets[0] as { balance: unknown }).balance = 3),
      'invalid_value',
    ],
    [
      'command bytes that are not bytes',
      (s) => ((s.operations[0] as { command: unknown }).command = [1, 2]),
      'invalid_value',
    ],
    [
      'an unknown result code',
      (s) => ((s.operations[0]!.outcome as { resultCode: string }).resultCode = 'maybe'),
      'invalid_value',
    ],
    ['buckets not an array', (s) => ((s as { buckets: unknown }).buckets = {}), 'invalid_value'],
  ];
  for (const [name, change, code] of rejections) {
    it(`rejects ${name} (${code})`, () => {
      expectSnapshotError(mutated(change), code);
    });
  }

  it('rejects command bytes with a trailing byte after the command', () => {
    expectSnapshotError(
      mutated((s) => {
        s.operations[2]!.command = new Uint8Array([...encodeCommand(debit(11n, 50n)), 0]);
      }),
      'invalid_operation_record',
    );
  });

  it('rejects more operations than capacity', () => {
    expectSnapshotError(richSnapshot(), 'count_exceeds_capacity', { ...A0, maxOperations: 2 });
  });

  it('never returns a half-restored instance and leaves the input snapshot unchanged', () => {
    const snapshot = mutated((s) => (s.buckets[2]!.balance = 99n));
    const copy = structuredClone(snapshot);
    expect(() => QuotaDb.fromSnapshot(A0, snapshot)).toThrow(SnapshotError);
    expect(snapshot).toEqual(copy);
  });

  it('validates the config first', () => {
    expect(() => QuotaDb.fromSnapshot({ ...A0, maxBuckets: 0 }, richSnapshot())).toThrow(
      ConfigError,
    );
    expect(() => decodeSnapshotBody(new Uint8Array(0), { ...A0, maxOperations: 0 })).toThrow(
      ConfigError,
    );
  });
});

describe('snapshot body decoding', () => {
  it('counts are checked against capacity and the bytes left before allocating', () => {
    const body = encodeSnapshotBody({ buckets: [], operations: [] });
    const lying = body.slice();
    new DataView(lying.buffer).setUint32(3, 0xffff_ffff, true); // bucket count
    expect(() => decodeSnapshotBody(lying, A0)).toThrow(
      expect.objectContaining({ code: 'count_exceeds_capacity', offset: 3 }),
    );
    new DataView(lying.buffer).setUint32(3, 8, true); // within capacity, but no bytes for them
    expect(() => decodeSnapshotBody(lying, A0)).toThrow(
      expect.objectContaining({ code: 'truncated', offset: 7 }),
    );
  });

  it('rejects another schema version, bad flags, unknown result codes and trailing bytes', () => {
    const body = encodeSnapshotBody(richSnapshot());
    const other = body.slice();
    other[0] = 2;
    expect(() => decodeSnapshotBody(other, A0)).toThrow(
      expect.objectContaining({ code: 'unsupported_schema_version', offset: 0 }),
    );
    const flag = body.slice();
    flag[2] = 2;
    expect(() => decodeSnapshotBody(flag, A0)).toThrow(
      expect.objectContaining({ code: 'invalid_value', offset: 2 }),
    );
    expect(() => decodeSnapshotBody(new Uint8Array([...body, 0]), A0)).toThrow(
      expect.objectContaining({ code: 'trailing_bytes', offset: body.length }),
    );
    // The first operation record starts after the header (19 bytes), the bucket count, three
    // buckets (3 × 48) and the operation count; its result code follows the id (16), the length
    // (4) and the 41 command bytes.
    const code = body.slice();
    const at = 19 + 4 + 3 * 48 + 4 + 16 + 4 + 41;
    expect(code[at]).toBe(0); // ok
    code[at] = 8;
    expect(() => decodeSnapshotBody(code, A0)).toThrow(
      expect.objectContaining({ code: 'invalid_value', offset: at }),
    );
  });

  const isTyped = (error: unknown) => error instanceof SnapshotError || error instanceof CodecError;

  it('random bytes give only typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          QuotaDb.fromSnapshotBody(A0, bytes);
        } catch (error) {
          expect(isTyped(error)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: runs(2000) },
    );
  });

  it('mutated real snapshots give typed errors or a state that passes every invariant', () => {
    let restoredCount = 0;
    const mutation = fc.record({
      steps: fc.array(workloadStep, { minLength: 5, maxLength: 60 }),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 3,
      }),
      cut: fc.option(fc.nat(), { freq: 4 }),
    });
    fc.assert(
      fc.property(mutation, ({ steps, flips, cut }) => {
        const db = new QuotaDb(WORKLOAD_CONFIG);
        applySteps(db, steps);
        let bytes = encodeSnapshotBody(db.snapshot());
        for (const [at, xor] of flips) bytes[at % bytes.length]! ^= xor;
        if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.length + 1));
        try {
          const restored = QuotaDb.fromSnapshotBody(WORKLOAD_CONFIG, bytes);
          restored.checkInvariants();
          expect(encodeSnapshotBody(restored.snapshot())).toEqual(bytes);
          restoredCount++;
        } catch (error) {
          expect(isTyped(error)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: runs(1500) },
    );
    // Some flips land in values that stay valid (a balance, an id): those states restore.
    expect(restoredCount).toBeGreaterThan(0);
  });
});
