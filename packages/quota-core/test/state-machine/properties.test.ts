/**
 * The properties issue 5 names: `balance ≤ limit` always; refill is path-independent; a
 * successful debit takes its amount exactly once whatever the retries inside the window.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { U64_MAX } from '../../src/constants.js';
import { QuotaDb } from '../../src/state-machine/quota-db.js';
import { refilledBalance } from '../../src/state-machine/refill.js';
import type { Command } from '../../src/types.js';
import { A0, create, debit, ok } from '../support/quota.js';
import { runs, SEED } from '../support/thorough.js';

/** u64 values biased to the edges and to small numbers, where the interesting cases live. */
const u64 = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(0n, 1n, 2n, 3n, 2n ** 32n, 2n ** 63n, U64_MAX - 1n, U64_MAX),
  },
  { weight: 3, arbitrary: fc.bigInt(0n, 64n) },
  { weight: 3, arbitrary: fc.bigInt(0n, U64_MAX) },
);

/** A bucket's (limit, balance ≤ limit, rate). */
const bucketShape = fc.tuple(u64, u64, u64).map(([limit, balancePick, rate]) => ({
  limit,
  balance: limit === 0n ? 0n : balancePick % (limit + 1n),
  rate,
}));

/** Three slots a ≤ b ≤ c anywhere in u64. */
const slots = fc
  .tuple(u64, u64, u64)
  .map((values) => values.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)) as [bigint, bigint, bigint]);

describe('refill', () => {
  it('never leaves [balance, limit] and is exact (min(limit, balance + elapsed × rate))', () => {
    fc.assert(
      fc.property(bucketShape, u64, ({ limit, balance, rate }, elapsed) => {
        const refilled = refilledBalance(limit, balance, rate, elapsed);
        const unbounded = balance + elapsed * rate;
        expect(refilled).toBe(unbounded > limit ? limit : unbounded);
        expect(refilled >= balance && refilled <= limit).toBe(true);
      }),
      { seed: SEED, numRuns: runs(2_000) },
    );
  });

  it('is path-independent: refilling a → c equals a → b → c, for any a ≤ b ≤ c', () => {
    fc.assert(
      fc.property(bucketShape, slots, ({ limit, balance, rate }, [a, b, c]) => {
        const direct = refilledBalance(limit, balance, rate, c - a);
        const viaB = refilledBalance(
          limit,
          refilledBalance(limit, balance, rate, b - a),
          rate,
          c - b,
        );
        expect(viaB).toBe(direct);
      }),
      { seed: SEED, numRuns: runs(2_000) },
    );
  });

  it('is path-independent through the state machine: a failed debit at b changes nothing at c', () => {
    fc.assert(
      fc.property(bucketShape, slots, ({ limit, balance, rate }, [a, b, c]) => {
        const direct = new QuotaDb(A0);
        const stepped = new QuotaDb(A0);
        for (const db of [direct, stepped]) {
          db.applyInternal({ lsn: 1n, requestSlot: a }, create(7n, limit, balance, rate));
        }
        // A debit that can only fail (or take everything when the refilled balance is 2^64−1)
        // refills the bucket to b and keeps that refill.
        const probe = stepped.applyInternal({ lsn: 2n, requestSlot: b }, debit(7n, U64_MAX));
        const expectedAtC = direct.getBucketAt(7n, c)!;
        if (probe.resultCode === 'ok') {
          // Only a bucket refilled to 2^64−1 at b can pay 2^64−1: it is empty afterwards.
          expect(stepped.getBucket(7n)).toMatchObject({ balance: 0n, lastRefillSlot: b });
          expect(direct.getBucketAt(7n, b)!.balance).toBe(U64_MAX);
          return;
        }
        expect(stepped.getBucket(7n)!.lastRefillSlot).toBe(b);
        expect(stepped.getBucketAt(7n, c)).toEqual(expectedAtC);
        // And the same with the refill to c applied for real on both.
        direct.applyInternal({ lsn: 2n, requestSlot: c }, debit(7n, U64_MAX));
        stepped.applyInternal({ lsn: 3n, requestSlot: c }, debit(7n, U64_MAX));
        expect(stepped.getBucket(7n)).toEqual(direct.getBucket(7n));
      }),
      { seed: SEED, numRuns: runs(1_000) },
    );
  });
});

describe('balance ≤ limit', () => {
  it('holds after every command of random sequences with any values', () => {
    const step = fc.record({
      create: fc.boolean(),
      bucket: fc.bigInt(1n, 4n),
      shape: bucketShape,
      amount: fc.oneof(fc.bigInt(1n, 40n), fc.bigInt(1n, U64_MAX)),
      slotStep: fc.oneof(fc.bigInt(0n, 3n), fc.bigInt(0n, 1n << 62n)),
      internal: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 50, maxLength: 300, size: 'max' }), (steps) => {
        const db = new QuotaDb({ ...A0, maxOperations: 64, maxClientRetryWindowSlots: 4n });
        let slot = 0n;
        let lsn = 0n;
        let operationId = 0n;
        for (const s of steps) {
          slot = slot + s.slotStep > U64_MAX - 4n ? slot : slot + s.slotStep;
          lsn++;
          const command: Command = s.create
            ? create(s.bucket, s.shape.limit, s.shape.balance, s.shape.rate)
            : debit(s.bucket, s.amount);
          if (s.internal) db.applyInternal({ lsn, requestSlot: slot }, command);
          else
            db.applyClient(
              { lsn, requestSlot: slot },
              { operationId: ++operationId, clientId: 1n, command },
            );
          for (let id = 1n; id <= 4n; id++) {
            const bucket = db.getBucket(id);
            if (bucket !== undefined) expect(bucket.balance <= bucket.limit).toBe(true);
            const later = db.getBucketAt(id, U64_MAX);
            if (later !== undefined) expect(later.balance <= later.limit).toBe(true);
          }
        }
        db.checkInvariants();
      }),
      { seed: SEED, numRuns: runs(60) },
    );
  });
});

describe('a successful debit takes its amount exactly once', () => {
  it('whatever the retries inside the window: the balance equals a run without retries', () => {
    const WINDOW = 6n;
    const debitStep = fc.record({
      amount: fc.bigInt(1n, 30n),
      slotStep: fc.bigInt(0n, 2n),
      // Retries of this debit, each at some slot inside its window (0..WINDOW after it).
      retries: fc.array(fc.bigInt(0n, WINDOW), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(debitStep, { minLength: 20, maxLength: 120, size: 'max' }),
        fc.bigInt(0n, 3n),
        (steps, rate) => {
          const config = { ...A0, maxOperations: 1024, maxClientRetryWindowSlots: WINDOW };
          const withRetries = new QuotaDb(config);
          const once = new QuotaDb(config);
          const bucket = create(1n, 200n, 100n, rate);
          withRetries.applyInternal({ lsn: 1n, requestSlot: 0n }, bucket);
          once.applyInternal({ lsn: 1n, requestSlot: 0n }, bucket);
          let lsnA = 1n;
          let lsnB = 1n;
          let slot = 0n;
          let taken = 0n;
          // Retries wait in slot order and are sent before the next original that is later.
          let pending: { slot: bigint; operationId: bigint; command: Command; first: string }[] =
            [];
          const sendDue = (upTo: bigint) => {
            pending.sort((x, y) => (x.slot < y.slot ? -1 : x.slot > y.slot ? 1 : 0));
            while (pending.length > 0 && pending[0]!.slot <= upTo) {
              const retry = pending.shift()!;
              const outcome = withRetries.applyClient(
                { lsn: ++lsnA, requestSlot: retry.slot > slot ? retry.slot : slot },
                { operationId: retry.operationId, clientId: 2n, command: retry.command },
              );
              expect(withRetries.lastClientDisposition).toBe('retry_cache');
              expect(outcome.resultCode).toBe(retry.first);
              if (retry.slot > slot) slot = retry.slot;
            }
          };
          steps.forEach((step, i) => {
            const operationId = BigInt(i + 1);
            const command = debit(1n, step.amount);
            const at = slot + step.slotStep;
            sendDue(at);
            slot = at;
            const before = withRetries.getBucketAt(1n, slot)!.balance;
            const first = withRetries.applyClient(
              { lsn: ++lsnA, requestSlot: slot },
              { operationId, clientId: 1n, command },
            );
            const reference = once.applyClient(
              { lsn: ++lsnB, requestSlot: slot },
              { operationId, clientId: 1n, command },
            );
            expect(first).toEqual(reference);
            const after = withRetries.getBucket(1n)!.balance;
            if (first.resultCode === 'ok') {
              expect(first).toEqual(ok(1n));
              expect(before - after).toBe(step.amount);
              taken += step.amount;
            } else {
              expect(after).toBe(before);
            }
            for (const delta of step.retries) {
              pending.push({ slot: slot + delta, operationId, command, first: first.resultCode });
            }
          });
          sendDue(U64_MAX);
          pending = [];
          expect(withRetries.getBucket(1n)).toEqual(once.getBucket(1n));
          if (rate === 0n) expect(withRetries.getBucket(1n)!.balance).toBe(100n - taken);
        },
      ),
      { seed: SEED, numRuns: runs(100) },
    );
  });
});
