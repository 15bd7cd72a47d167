/** Each restore validation rule, violated on purpose, is a typed SnapshotError. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../src/codec/command-codec.js';
import type { AllocDbConfig } from '../../src/config.js';
import { ConfigError, SnapshotError } from '../../src/errors.js';
import { decodeSnapshotBody, encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import { AllocDb } from '../../src/state-machine/alloc-db.js';
import type { AllocDbSnapshot } from '../../src/types.js';
import {
  bundle,
  C0,
  confirm,
  create,
  Driver,
  expire,
  release,
  reserve,
  revoke,
} from '../support/alloc.js';
import { runs, SEED } from '../support/thorough.js';

const CONFIG: AllocDbConfig = { ...C0, shardId: 1n, maxBundleSize: 3 };
const id = (lsn: bigint | number) => (1n << 64n) | BigInt(lsn);

/**
 * A state with every kind of record: resources 1..7; reserved 1; confirmed bundle [2, 3];
 * revoking 4; released 5 and expired 6 (both retained); a retired reservation (the watermark);
 * operation records including a successful reserve.
 */
function richSnapshot(): AllocDbSnapshot {
  const d = new Driver(CONFIG);
  for (let i = 1; i <= 7; i++) d.client(i, 1, i, create(BigInt(i)));
  d.client(8, 2, 8, reserve(7n, 2n)); // id(8), released at slot 2 below, retired at slot 5
  d.client(9, 2, 9, release(id(8), 1n, 1n));
  d.client(10, 5, 10, reserve(1n, 10n)); // id(10) reserved, deadline 15
  d.client(11, 5, 11, bundle([2n, 3n], 10n)); // id(11)
  d.client(12, 5, 12, confirm(id(11), 1n, 1n));
  d.client(13, 5, 13, reserve(4n, 10n)); // id(13)
  d.internal(14, 5, confirm(id(13), 1n, 1n));
  d.internal(15, 5, revoke(id(13)));
  d.internal(16, 5, reserve(5n, 3n)); // id(16)
  d.internal(17, 5, release(id(16), 1n, 1n));
  d.internal(18, 6, reserve(6n, 1n)); // id(18), deadline 7
  d.internal(19, 7, expire(id(18), 7n));
  const snapshot = d.db.snapshot();
  expect(snapshot.maxRetiredReservationId).toBe(id(8));
  return snapshot;
}

type Mutable = {
  -readonly [K in keyof AllocDbSnapshot]: AllocDbSnapshot[K] extends readonly (infer T)[]
    ? { -readonly [P in keyof T]: T[P] }[]
    : AllocDbSnapshot[K];
};

function mutated(change: (snapshot: Mutable) => void): AllocDbSnapshot {
  const copy = structuredClone(richSnapshot()) as Mutable;
  change(copy);
  return copy as AllocDbSnapshot;
}

function expectRestoreError(snapshot: AllocDbSnapshot, code: string, config = CONFIG): void {
  let thrown: unknown;
  try {
    AllocDb.fromSnapshot(config, snapshot);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, code).toBeInstanceOf(SnapshotError);
  expect((thrown as SnapshotError).code).toBe(code);
}

const reservationIndex = (s: Mutable, lsn: bigint) =>
  s.reservations.findIndex((r) => r.reservationId === id(lsn));

const cases: [string, string, (s: Mutable) => void][] = [
  // Shapes
  [
    'a number where a bigint belongs',
    'invalid_value',
    (s) => {
      s.lastAppliedLsn = 19 as never;
    },
  ],
  [
    'an unknown resource state',
    'invalid_value',
    (s) => {
      s.resources[0]!.state = 'lost' as never;
    },
  ],
  [
    'a reservation without members',
    'invalid_value',
    (s) => {
      s.reservations[0]!.memberCount = 0;
    },
  ],
  [
    'an operation whose command is not bytes',
    'invalid_value',
    (s) => {
      s.operations[0]!.command = [1, 2] as never;
    },
  ],
  [
    'a wheel bucket without ids array',
    'invalid_value',
    (s) => {
      s.expirationWheel[0]!.reservationIds = 5n as never;
    },
  ],
  // Counts against capacities
  [
    'more resources than maxResources',
    'count_exceeds_capacity',
    (s) => {
      s.resources.push({ resourceId: 100n, state: 'available', version: 0n });
      s.resources.push({ resourceId: 101n, state: 'available', version: 0n });
    },
  ],
  [
    'a memberCount above maxBundleSize',
    'count_exceeds_capacity',
    (s) => {
      s.reservations[0]!.memberCount = 4;
    },
  ],
  [
    'more operations than maxOperations',
    'count_exceeds_capacity',
    (s) => {
      const template = s.operations[0]!;
      for (let i = 0; s.operations.length <= CONFIG.maxOperations; i++) {
        s.operations.push({ ...template, operationId: 1000n + BigInt(i) });
      }
    },
  ],
  // Order and duplicates
  [
    'a duplicate resource',
    'duplicate_key',
    (s) => {
      s.resources[1] = { ...s.resources[0]! };
    },
  ],
  [
    'resources out of order',
    'unsorted',
    (s) => {
      s.resources.reverse();
    },
  ],
  [
    'a duplicate member',
    'duplicate_key',
    (s) => {
      s.members[1] = { ...s.members[0]! };
    },
  ],
  [
    'operations out of order',
    'unsorted',
    (s) => {
      s.operations.reverse();
    },
  ],
  [
    'wheel ids out of order',
    'unsorted',
    (s) => {
      s.expirationWheel[0]!.reservationIds = [id(10), id(9)];
    },
  ],
  // LSNs and slots
  [
    'a reservation created after lastAppliedLsn',
    'lsn_after_last_applied',
    (s) => {
      s.lastAppliedLsn = 15n;
    },
  ],
  [
    'an operation applied after lastAppliedLsn',
    'lsn_after_last_applied',
    (s) => {
      s.operations[0]!.appliedLsn = 20n;
    },
  ],
  [
    'a releasedLsn after lastAppliedLsn',
    'lsn_after_last_applied',
    (s) => {
      s.reservations[reservationIndex(s, 16n)]!.releasedLsn = 25n;
    },
  ],
  [
    'a retained record past its retireAfterSlot',
    'retire_after_slot_passed',
    (s) => {
      // Reservation id(16) was released at slot 5: retireAfterSlot 9.
      s.lastRequestSlot = 10n;
    },
  ],
  [
    'a reservation of another shard',
    'wrong_shard',
    (s) => {
      s.reservations[0]!.reservationId = 10n;
    },
  ],
  // The retired watermark
  [
    'a watermark of another shard',
    'watermark_inconsistent',
    (s) => {
      s.maxRetiredReservationId = 8n;
    },
  ],
  [
    'a watermark above lastAppliedLsn',
    'watermark_inconsistent',
    (s) => {
      s.maxRetiredReservationId = id(40n);
    },
  ],
  [
    'a watermark naming a present reservation',
    'watermark_inconsistent',
    (s) => {
      s.maxRetiredReservationId = id(16n);
    },
  ],
  // Operation records
  [
    'an operation with undecodable command bytes',
    'invalid_operation_record',
    (s) => {
      s.operations[0]!.command = new Uint8Array([77]);
    },
  ],
  [
    'an operation with trailing command bytes',
    'invalid_operation_record',
    (s) => {
      s.operations[0]!.command = new Uint8Array([...s.operations[0]!.command, 0]);
    },
  ],
  [
    'a recorded slot_overflow',
    'invalid_operation_record',
    (s) => {
      s.operations[0]!.outcome = { resultCode: 'slot_overflow' };
    },
  ],
  [
    'a successful reserve without its result fields',
    'invalid_operation_record',
    (s) => {
      const index = s.operations.findIndex((o) => o.operationId === 10n);
      s.operations[index]!.outcome = { resultCode: 'ok' };
    },
  ],
  [
    'a create that records a code only confirm and release can answer',
    'invalid_operation_record',
    (s) => {
      s.operations[0]!.outcome = { resultCode: 'stale_epoch' };
    },
  ],
  [
    'a reserve that records noop (only expire answers it)',
    'invalid_operation_record',
    (s) => {
      const index = s.operations.findIndex((o) => o.operationId === 10n);
      s.operations[index]!.outcome = { resultCode: 'noop' };
    },
  ],
  [
    'result fields on a create',
    'invalid_operation_record',
    (s) => {
      s.operations[0]!.outcome = {
        resultCode: 'ok',
        reservationId: 1n,
        leaseEpoch: 1n,
        deadlineSlot: 1n,
      };
    },
  ],
  // The wheel
  [
    'a wheel missing a reserved reservation',
    'wheel_mismatch',
    (s) => {
      s.expirationWheel.length = 0;
    },
  ],
  [
    'a wheel scheduling a confirmed reservation',
    'wheel_mismatch',
    (s) => {
      s.expirationWheel[0]!.reservationIds = [id(10), id(11)];
    },
  ],
  [
    'a wheel bucket at the wrong index',
    'wheel_mismatch',
    (s) => {
      s.expirationWheel[0]!.bucket += 1n;
    },
  ],
  // Invariants
  [
    'an available resource pointing at a reservation',
    'invariant_violation',
    (s) => {
      s.resources[4]!.currentReservationId = id(16n);
    },
  ],
  [
    'a held resource pointing at a missing reservation',
    'invariant_violation',
    (s) => {
      s.resources[0]!.currentReservationId = id(3n);
    },
  ],
  [
    'a resource whose state differs from its reservation',
    'invariant_violation',
    (s) => {
      s.resources[0]!.state = 'confirmed';
    },
  ],
  [
    'a live reservation whose resource is available',
    'invariant_violation',
    (s) => {
      s.resources[0] = { resourceId: 1n, state: 'available', version: 1n };
    },
  ],
  [
    'a reservation missing a member',
    'invariant_violation',
    (s) => {
      s.members.splice(
        s.members.findIndex((m) => m.reservationId === id(11n) && m.memberIndex === 1),
        1,
      );
    },
  ],
  [
    'an orphan member',
    'invariant_violation',
    (s) => {
      s.members.push({ reservationId: id(19n), resourceId: 7n, memberIndex: 0 });
    },
  ],
  [
    'a member index beyond memberCount',
    'invariant_violation',
    (s) => {
      s.members.push({ reservationId: id(18n), resourceId: 7n, memberIndex: 1 });
    },
  ],
  [
    'member 0 that is not the anchor',
    'invariant_violation',
    (s) => {
      s.reservations[reservationIndex(s, 11n)]!.resourceId = 3n;
    },
  ],
  [
    'a member naming a missing resource',
    'invariant_violation',
    (s) => {
      const index = s.members.findIndex((m) => m.reservationId === id(16n));
      s.members[index]!.resourceId = 99n;
    },
  ],
  [
    'a terminal reservation without retireAfterSlot',
    'invariant_violation',
    (s) => {
      delete s.reservations[reservationIndex(s, 16n)]!.retireAfterSlot;
    },
  ],
  [
    'a live reservation with retireAfterSlot',
    'invariant_violation',
    (s) => {
      s.reservations[reservationIndex(s, 11n)]!.retireAfterSlot = 20n;
    },
  ],
  [
    'a revoking reservation with epoch 1',
    'invariant_violation',
    (s) => {
      s.reservations[reservationIndex(s, 13n)]!.leaseEpoch = 1n;
    },
  ],
  [
    'a released reservation without releasedLsn',
    'invariant_violation',
    (s) => {
      delete s.reservations[reservationIndex(s, 16n)]!.releasedLsn;
    },
  ],
  [
    'an id whose low bits are not its createdLsn',
    'invariant_violation',
    (s) => {
      s.reservations[reservationIndex(s, 16n)]!.createdLsn = 15n;
    },
  ],
];

describe('snapshot restore validation', () => {
  it('accepts the unmodified rich snapshot, object and bytes', () => {
    const snapshot = richSnapshot();
    const db = AllocDb.fromSnapshot(CONFIG, snapshot);
    db.checkInvariants();
    expect(db.snapshot()).toEqual(snapshot);
    expect(AllocDb.fromSnapshotBody(CONFIG, encodeSnapshotBody(snapshot)).snapshot()).toEqual(
      snapshot,
    );
  });

  for (const [name, code, change] of cases) {
    it(`rejects ${name} (${code})`, () => {
      expectRestoreError(mutated(change), code);
    });
  }

  it('rejects a snapshot whose records exceed a smaller configuration', () => {
    expectRestoreError(richSnapshot(), 'count_exceeds_capacity', {
      ...CONFIG,
      maxResources: 6,
      maxBundleSize: 3,
    });
    expect(() => AllocDb.fromSnapshot({ ...CONFIG, maxResources: 0 }, richSnapshot())).toThrow(
      ConfigError,
    );
  });

  it('refuses a snapshot written with a longer retry window: a record would outlive the window', () => {
    // Written under W = maxTtlSlots + maxClientRetryWindowSlots = 24: the reserve at slot 5
    // (operation 13) keeps its record until slot 29. Under W = 17 it may live until 7 + 17 = 24
    // at most; restored as it was, it answered a retry at slot 25 from the retry cache (the quota
    // engine compares each record's deadline; this one did not).
    const shorter = { ...CONFIG, maxClientRetryWindowSlots: 1n };
    expectRestoreError(richSnapshot(), 'invariant_violation', shorter);
    expect(() => AllocDb.fromSnapshot(shorter, richSnapshot())).toThrow(
      /beyond slot 7 \+ the window 17/,
    );
    // the same snapshot under its own window restores, and the record answers until slot 29
    const db = AllocDb.fromSnapshot(CONFIG, richSnapshot());
    expect(db.getOperation(13n, 29n)?.outcome.resultCode).toBe('ok');
  });

  it('refuses a snapshot written with a longer reservation history window', () => {
    // Released at slot 5 under a history window of 4, reservation 16 is kept until slot 9; a
    // window of 1 allows 7 + 1 = 8 at most.
    expectRestoreError(richSnapshot(), 'invariant_violation', {
      ...CONFIG,
      reservationHistoryWindowSlots: 1n,
    });
  });

  it('a wheel bucket longer than maxExpirationBucketLen is refused', () => {
    const d = new Driver({ ...CONFIG, maxExpirationBucketLen: 2 });
    d.client(1, 1, 1, create(1n));
    d.client(2, 1, 2, create(2n));
    d.client(3, 1, 3, reserve(1n, 4n));
    d.client(4, 1, 4, reserve(2n, 4n));
    expectRestoreError(d.db.snapshot(), 'count_exceeds_capacity', {
      ...CONFIG,
      maxExpirationBucketLen: 1,
    });
  });

  it('rebuilds the reservation retire queue by (retireAfterSlot, createdLsn)', () => {
    const history = { ...CONFIG, reservationHistoryWindowSlots: 2n };
    const d = new Driver(history);
    d.client(1, 1, 1, create(1n));
    d.client(2, 1, 2, create(2n));
    d.client(3, 1, 3, reserve(1n, 5n)); // created first, released last
    d.client(4, 1, 4, reserve(2n, 5n));
    d.client(5, 2, 5, release(id(4n), 1n, 1n)); // retires after slot 4
    d.client(6, 3, 6, release(id(3n), 1n, 1n)); // retires after slot 5
    const restored = AllocDb.fromSnapshotBody(history, encodeSnapshotBody(d.db.snapshot()));
    for (const db of [d.db, restored]) {
      db.applyInternal({ lsn: 7n, requestSlot: 5n }, create(3n));
      expect(db.metrics().reservations.used).toBe(1);
      expect(db.maxRetiredReservationId).toBe(id(4n));
      db.applyInternal({ lsn: 8n, requestSlot: 6n }, create(4n));
      expect(db.metrics().reservations.used).toBe(0);
      expect(db.maxRetiredReservationId).toBe(id(4n));
    }
  });

  it('a failed restore leaves nothing behind: the valid snapshot still restores', () => {
    expectRestoreError(
      mutated((s) => s.resources.reverse()),
      'unsorted',
    );
    expect(AllocDb.fromSnapshot(CONFIG, richSnapshot()).lastAppliedLsn).toBe(19n);
  });
});

describe('snapshot body decoding', () => {
  it('pins the header: schema version, then the three watermarks', () => {
    const body = encodeSnapshotBody(richSnapshot());
    const view = new DataView(body.buffer, body.byteOffset);
    expect(view.getUint16(0, true)).toBe(1);
    expect(view.getBigUint64(2, true)).toBe(19n);
    expect(view.getBigUint64(10, true)).toBe(7n);
    expect(view.getBigUint64(18, true)).toBe(8n);
    expect(view.getBigUint64(26, true)).toBe(1n);
  });

  it('every truncation is a truncated SnapshotError with its offset', () => {
    const body = encodeSnapshotBody(richSnapshot());
    for (let cut = 0; cut < body.length; cut++) {
      let thrown: unknown;
      try {
        decodeSnapshotBody(body.subarray(0, cut), CONFIG);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SnapshotError);
      const { code, offset } = thrown as SnapshotError;
      expect(code).toBe('truncated');
      expect(offset).toBeLessThanOrEqual(cut);
    }
  });

  it('rejects trailing bytes, another schema version and unknown enum values', () => {
    const body = encodeSnapshotBody(richSnapshot());
    expect(() => decodeSnapshotBody(new Uint8Array([...body, 0]), CONFIG)).toThrow(
      expect.objectContaining({ code: 'trailing_bytes', offset: body.length }),
    );
    const other = body.slice();
    other[0] = 2;
    expect(() => decodeSnapshotBody(other, CONFIG)).toThrow(
      expect.objectContaining({ code: 'unsupported_schema_version', offset: 0 }),
    );
    // The first resource's state byte sits after the header (34) + count (4) + id (16).
    const badState = body.slice();
    badState[34 + 4 + 16] = 9;
    expect(() => decodeSnapshotBody(badState, CONFIG)).toThrow(
      expect.objectContaining({ code: 'invalid_value', offset: 54 }),
    );
  });

  it('a count above the capacity is refused before reading the records', () => {
    const body = new Uint8Array(38);
    new DataView(body.buffer).setUint16(0, 1, true);
    new DataView(body.buffer).setUint32(34, 0xffff_ffff, true);
    expect(() => decodeSnapshotBody(body, CONFIG)).toThrow(
      expect.objectContaining({ code: 'count_exceeds_capacity', offset: 34 }),
    );
    new DataView(body.buffer).setUint32(34, CONFIG.maxResources, true);
    expect(() => decodeSnapshotBody(body, CONFIG)).toThrow(
      expect.objectContaining({ code: 'truncated', offset: 38 }),
    );
  });

  it('random and mutated bodies give only typed errors', () => {
    const valid = encodeSnapshotBody(richSnapshot());
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc
        .tuple(
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
            minLength: 1,
            maxLength: 3,
          }),
          fc.option(fc.nat()),
        )
        .map(([flips, cut]) => {
          const bytes = valid.slice();
          for (const [at, xor] of flips) bytes[at % bytes.length]! ^= xor;
          return cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
        }),
    );
    fc.assert(
      fc.property(input, (bytes) => {
        try {
          const db = AllocDb.fromSnapshotBody(CONFIG, bytes);
          // A mutation that still decodes to a consistent state must round-trip exactly.
          expect(encodeSnapshotBody(db.snapshot())).toEqual(bytes);
        } catch (error) {
          if (!(error instanceof SnapshotError)) throw error;
        }
      }),
      { seed: SEED, numRuns: runs(2000) },
    );
  });

  it('restore checks operation commands with the command codec', () => {
    const snapshot = mutated((s) => {
      s.operations[0]!.command = encodeCommand({ kind: 'revoke', reservationId: 1n });
    });
    // A different but valid command is not detectable, and it is not an error.
    expect(() => AllocDb.fromSnapshot(CONFIG, snapshot)).not.toThrow();
  });
});
