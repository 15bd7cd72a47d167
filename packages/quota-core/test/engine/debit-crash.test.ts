/**
 * "Crash recovery neither invents nor loses a debit" (issue 5). Concurrent debits go through
 * group commit while the engine is stopped at random named points (with or without losing the
 * unsynced page cache) and reopened. After every reopen:
 *
 * - every acknowledged debit is present, with the LSN and outcome it was acknowledged with;
 * - an unacknowledged debit is either absent or present exactly once (its record exists);
 * - the balance is exactly `initial + refill − Σ debits present`;
 * - retrying each unacknowledged debit debits it only if it was absent, and retrying anything
 *   again never debits twice.
 *
 * The bucket's limit is far above anything the refill reaches and its balance far above the
 * debits, so every debit succeeds and the expected balance is a plain sum.
 */
import { existsSync, statSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QuotaEngine, SubmitResult } from '../../src/engine/engine.js';
import { SubmissionError } from '../../src/errors.js';
import { simulateCrash } from '../../src/exports/testing.js';
import type { FaultPoint } from '../../src/runtime/commit-pipeline.js';
import { useTempDirs } from '../support/temp-dir.js';
import { runs, SEED } from '../support/thorough.js';
import { createBucket, debit, openEngine, request, walPath } from './engine-fixtures.js';
import { crashAt, powerLossFileSystem, truncateTo } from './faults.js';

const tempDir = useTempDirs();

const CONFIG = { maxBuckets: 2, maxOperations: 8192, maxClientRetryWindowSlots: 1_000_000n };
const INITIAL = 1_000_000n;
const RATE = 3n;
const CREATED_AT = 1n;

interface Round {
  readonly debits: readonly bigint[];
  readonly slotStep: bigint;
  /** Re-send this many earlier debits (acknowledged or not) in the same batch. */
  readonly retries: number;
  readonly crash: { point: FaultPoint; losePageCache: boolean } | null;
}

const round: fc.Arbitrary<Round> = fc.record({
  debits: fc.array(fc.bigInt(1n, 50n), { minLength: 1, maxLength: 40 }),
  slotStep: fc.bigInt(0n, 3n),
  retries: fc.nat(4),
  crash: fc.option(
    fc.record({
      point: fc.constantFrom<FaultPoint>(
        'before_append',
        'after_append',
        'after_sync',
        'after_apply',
      ),
      losePageCache: fc.boolean(),
    }),
    { freq: 3 },
  ),
});

interface Sent {
  readonly operationId: bigint;
  readonly amount: bigint;
  acknowledged?: SubmitResult;
}

class Harness {
  engine!: QuotaEngine;
  crash = crashAt('before_append');
  power = powerLossFileSystem();
  slot = CREATED_AT;
  readonly sent = new Map<bigint, Sent>();
  nextOperationId = 1000n;
  crashes = 0;

  constructor(readonly dir: string) {}

  async open(point: FaultPoint = 'before_append'): Promise<void> {
    this.crash = crashAt(point);
    const path = walPath(this.dir);
    this.power = powerLossFileSystem(existsSync(path) ? statSync(path).size : 0);
    this.engine = await openEngine(
      this.dir,
      { config: CONFIG },
      { faults: this.crash.faults, fileSystem: this.power.fileSystem },
    );
  }

  /** Σ amounts of the debits whose records exist: what the bucket must have paid. */
  paid(): bigint {
    let total = 0n;
    for (const entry of this.sent.values()) {
      const record = this.engine.getOperation(entry.operationId);
      if (record !== undefined) {
        expect(record.outcome).toEqual({ resultCode: 'ok', bucketId: 1n });
        total += entry.amount;
      }
    }
    return total;
  }

  /** The checks every reopen must pass. */
  check(): void {
    for (const entry of this.sent.values()) {
      if (entry.acknowledged === undefined) continue;
      const record = this.engine.getOperation(entry.operationId);
      expect(record, `acknowledged debit ${entry.operationId} was lost`).toBeDefined();
      expect(record!.appliedLsn).toBe(entry.acknowledged.lsn);
      expect(record!.outcome).toEqual(entry.acknowledged.outcome);
    }
    const expected = INITIAL + RATE * (this.slot - CREATED_AT) - this.paid();
    expect(this.engine.getBucketAt(1n, { slot: this.slot })?.balance).toBe(expected);
  }

  async runRound(r: Round): Promise<void> {
    this.slot += r.slotStep;
    const batch: Sent[] = r.debits.map((amount) => ({
      operationId: this.nextOperationId++,
      amount,
    }));
    const earlier = [...this.sent.values()];
    for (let i = 0; i < r.retries && earlier.length > 0; i++) {
      batch.push(earlier[(i * 7919 + batch.length) % earlier.length]!);
    }
    for (const entry of batch) this.sent.set(entry.operationId, entry);
    if (r.crash !== null) {
      await this.engine.close();
      await this.open(r.crash.point);
      this.crash.control.armed = true;
    }
    const settled = await Promise.allSettled(
      batch.map((entry) =>
        this.engine.submit(request(debit(1n, entry.amount), entry.operationId), {
          requestSlot: this.slot,
        }),
      ),
    );
    settled.forEach((result, i) => {
      const entry = batch[i]!;
      if (result.status === 'fulfilled') {
        expect(result.value.outcome).toEqual({ resultCode: 'ok', bucketId: 1n });
        if (entry.acknowledged !== undefined) {
          // A retry of an acknowledged debit: the same answer, not a second debit.
          expect(result.value).toMatchObject({ lsn: entry.acknowledged.lsn, fromRetryCache: true });
        }
        entry.acknowledged ??= result.value;
      } else {
        expect(result.reason).toBeInstanceOf(SubmissionError);
        expect((result.reason as SubmissionError).definite).toBe(false);
      }
    });
    if (r.crash === null) return;
    this.crashes++;
    simulateCrash(this.engine);
    if (r.crash.losePageCache) truncateTo(walPath(this.dir), this.power.syncedLength());
    await this.open();
    this.check();
    await this.settleUnacknowledged();
  }

  /** Retries every unacknowledged debit: cached if it is durable, executed once if not. */
  async settleUnacknowledged(): Promise<void> {
    for (const entry of this.sent.values()) {
      if (entry.acknowledged !== undefined) continue;
      const present = this.engine.getOperation(entry.operationId) !== undefined;
      const before = this.engine.getBucketAt(1n, { slot: this.slot })!.balance;
      const retry = await this.engine.submit(request(debit(1n, entry.amount), entry.operationId), {
        requestSlot: this.slot,
      });
      expect(retry.fromRetryCache).toBe(present);
      const after = this.engine.getBucketAt(1n, { slot: this.slot })!.balance;
      expect(before - after).toBe(present ? 0n : entry.amount);
      entry.acknowledged = retry;
    }
    this.check();
  }
}

describe('crash recovery neither invents nor loses a debit', () => {
  it('across random crashes around group-committed debits', async () => {
    let totalCrashes = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(round, { minLength: 3, maxLength: 12, size: 'max' }),
        async (rounds) => {
          const harness = new Harness(tempDir());
          await harness.open();
          await harness.engine.submit(request(createBucket(1n, 10n ** 15n, INITIAL, RATE), 1n), {
            requestSlot: CREATED_AT,
          });
          for (const r of rounds) await harness.runRound(r);
          await harness.settleUnacknowledged();
          await harness.engine.close();
          totalCrashes += harness.crashes;

          // A clean reopen: every debit is there once, and every retry is answered from the cache.
          await harness.open();
          harness.check();
          let all = 0n;
          for (const entry of harness.sent.values()) {
            all += entry.amount;
            const retry = await harness.engine.submit(
              request(debit(1n, entry.amount), entry.operationId),
              { requestSlot: harness.slot },
            );
            expect(retry).toMatchObject({ fromRetryCache: true, lsn: entry.acknowledged!.lsn });
          }
          expect(harness.engine.getBucketAt(1n, { slot: harness.slot })?.balance).toBe(
            INITIAL + RATE * (harness.slot - CREATED_AT) - all,
          );
          await harness.engine.close();
        },
      ),
      { seed: SEED, numRuns: runs(12) },
    );
    expect(totalCrashes).toBeGreaterThan(5);
  });
});
