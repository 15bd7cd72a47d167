import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { U64_MAX } from '../../src/constants.js';
import { InvariantViolation } from '../../src/errors.js';
import { ExpirationWheel, type WheelEntry } from '../../src/state-machine/expiration-wheel.js';
import { runs, SEED } from '../support/thorough.js';

const entry = (reservationId: bigint, deadlineSlot: bigint): WheelEntry => ({
  reservationId,
  deadlineSlot,
  wheelPosition: -1,
  wheelBucket: undefined,
});

const byDeadlineThenId = (a: WheelEntry, b: WheelEntry) =>
  a.deadlineSlot !== b.deadlineSlot
    ? a.deadlineSlot < b.deadlineSlot
      ? -1
      : 1
    : a.reservationId < b.reservationId
      ? -1
      : 1;

describe('ExpirationWheel', () => {
  it('memory does not depend on maxTtlSlots: the largest legal TTL opens at once', () => {
    const wheel = new ExpirationWheel<WheelEntry>(U64_MAX - 1n, 4, 16);
    expect(wheel.bucketCount).toBe(U64_MAX);
    wheel.schedule(entry(1n, U64_MAX - 1n));
    wheel.schedule(entry(2n, 5n));
    expect(wheel.buckets()).toEqual([
      { bucket: 5n, reservationIds: [2n] },
      { bucket: U64_MAX - 1n, reservationIds: [1n] },
    ]);
  });

  it('counts ids per bucket, whatever their deadlines, and refuses a full bucket', () => {
    const wheel = new ExpirationWheel<WheelEntry>(16n, 2, 8);
    wheel.schedule(entry(1n, 5n));
    wheel.schedule(entry(2n, 22n)); // 22 mod 17 = 5: the same bucket, another lap
    expect(wheel.bucketLength(5n)).toBe(2);
    expect(wheel.hasRoom(39n)).toBe(false);
    expect(wheel.hasRoom(6n)).toBe(true);
    expect(() => wheel.schedule(entry(3n, 39n))).toThrow(InvariantViolation);
    expect(wheel.buckets()).toEqual([{ bucket: 5n, reservationIds: [1n, 2n] }]);
  });

  it('refuses to unschedule an entry it does not hold', () => {
    const wheel = new ExpirationWheel<WheelEntry>(16n, 2, 8);
    expect(() => wheel.unschedule(entry(1n, 5n))).toThrow(InvariantViolation);
  });

  it('due, backlog and buckets agree with a sorted list under random schedule/unschedule', () => {
    const operation = fc.oneof(
      fc.tuple(fc.constant('add' as const), fc.bigInt(0n, 60n)),
      fc.tuple(fc.constant('remove' as const), fc.nat()),
    );
    fc.assert(
      fc.property(
        fc.array(operation, { minLength: 20, maxLength: 200 }),
        fc.bigInt(0n, 70n),
        fc.integer({ min: 0, max: 10 }),
        (operations, slot, limit) => {
          const maxTtl = 7n;
          const wheel = new ExpirationWheel<WheelEntry>(maxTtl, 4, 64);
          const live: WheelEntry[] = [];
          let nextId = 1n;
          for (const [kind, value] of operations) {
            if (kind === 'add') {
              if (!wheel.hasRoom(value) || live.length === 64) continue;
              const added = entry(nextId++, value);
              wheel.schedule(added);
              live.push(added);
            } else if (live.length > 0) {
              const [removed] = live.splice(value % live.length, 1);
              wheel.unschedule(removed!);
              expect(removed!.wheelPosition).toBe(-1);
            }
            wheel.checkStructure();
          }
          const sorted = [...live].sort(byDeadlineThenId);
          const due = sorted.filter((e) => e.deadlineSlot <= slot);
          expect(wheel.size).toBe(live.length);
          expect(wheel.due(slot, limit)).toEqual(due.slice(0, limit));
          expect(wheel.backlog(slot)).toBe(due.length);
          const buckets = new Map<bigint, bigint[]>();
          for (const e of live) {
            const bucket = e.deadlineSlot % (maxTtl + 1n);
            buckets.set(bucket, [...(buckets.get(bucket) ?? []), e.reservationId]);
          }
          expect(wheel.buckets()).toEqual(
            [...buckets.keys()]
              .sort((a, b) => (a < b ? -1 : 1))
              .map((bucket) => ({
                bucket,
                reservationIds: buckets.get(bucket)!.sort((a, b) => (a < b ? -1 : 1)),
              })),
          );
          expect(wheel.nonEmptyBuckets).toBe(buckets.size);
        },
      ),
      { seed: SEED, numRuns: runs(300) },
    );
  });
});
