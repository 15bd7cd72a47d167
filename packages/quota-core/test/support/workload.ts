/**
 * Concrete random workloads (no model needed): client and internal commands with slot steps,
 * for tests that compare the state machine with itself (snapshot/restore, determinism).
 * Bucket ids and operation ids are small so that commands often meet existing buckets, retries
 * and conflicts.
 */
import fc from 'fast-check';
import type { QuotaConfig } from '../../src/config.js';
import { U64_MAX } from '../../src/constants.js';
import type { QuotaDb } from '../../src/state-machine/quota-db.js';
import type { Command, Outcome } from '../../src/types.js';

export interface WorkloadStep {
  readonly internal: boolean;
  readonly slotStep: bigint;
  readonly operationId: bigint;
  readonly command: Command;
}

export const WORKLOAD_CONFIG: QuotaConfig = Object.freeze({
  maxBuckets: 4,
  maxOperations: 10,
  maxClientRetryWindowSlots: 4n,
});

const bucketId = fc.bigInt(1n, 5n);
const amount = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt(1n, 12n) },
  { weight: 1, arbitrary: fc.constantFrom(U64_MAX - 1n, U64_MAX) },
);

export const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc
      .record({ bucketId, limit: amount, fraction: fc.bigInt(0n, 4n), rate: fc.bigInt(0n, 3n) })
      .map(({ bucketId, limit, fraction, rate }) => ({
        kind: 'create_bucket' as const,
        bucketId,
        limit,
        initialBalance: (limit * fraction) / 4n,
        refillRatePerSlot: rate,
      })),
  },
  {
    weight: 3,
    arbitrary: fc.record({ bucketId, amount }).map((c) => ({ kind: 'debit' as const, ...c })),
  },
);

export const workloadStep: fc.Arbitrary<WorkloadStep> = fc.record({
  command: commandArbitrary,
  internal: fc.integer({ min: 0, max: 9 }).map((roll) => roll < 2),
  slotStep: fc.oneof(
    { weight: 3, arbitrary: fc.constant(0n) },
    { weight: 2, arbitrary: fc.bigInt(1n, 2n) },
    { weight: 1, arbitrary: fc.bigInt(3n, 12n) },
  ),
  operationId: fc.bigInt(1n, 14n),
});

/** Applies steps to a db, continuing LSNs and slots from its watermarks. */
export function applySteps(db: QuotaDb, steps: readonly WorkloadStep[]): Outcome[] {
  return steps.map((step) => {
    const lsn = (db.lastAppliedLsn ?? 0n) + 1n;
    const requestSlot = (db.lastRequestSlot ?? 0n) + step.slotStep;
    return step.internal
      ? db.applyInternal({ lsn, requestSlot }, step.command)
      : db.applyClient(
          { lsn, requestSlot },
          { operationId: step.operationId, clientId: 3n, command: step.command },
        );
  });
}
