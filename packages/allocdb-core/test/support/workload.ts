/**
 * Concrete random workloads (no model needed): a list of client and internal commands with
 * slot steps, for tests that compare the engine with itself (snapshot/restore, determinism).
 * Ids are small so that commands often hit existing resources and reservations.
 */
import fc from 'fast-check';
import type { AllocDbConfig } from '../../src/config.js';
import type { AllocDb } from '../../src/state-machine/alloc-db.js';
import type { Command, Outcome } from '../../src/types.js';

export interface WorkloadStep {
  readonly internal: boolean;
  readonly slotStep: bigint;
  readonly operationId: bigint;
  /** Builds the command; reservation targets are picked among recently created ids. */
  readonly build: (recent: readonly bigint[], shard: bigint) => Command;
  readonly label: string;
}

export const WORKLOAD_CONFIG: AllocDbConfig = Object.freeze({
  shardId: 2n,
  maxResources: 6,
  maxReservations: 5,
  maxBundleSize: 3,
  maxOperations: 12,
  maxTtlSlots: 6n,
  maxClientRetryWindowSlots: 3n,
  reservationHistoryWindowSlots: 2n,
  maxExpirationBucketLen: 2,
});

export function workloadStep(config: AllocDbConfig): fc.Arbitrary<WorkloadStep> {
  const resource = fc.integer({ min: 1, max: config.maxResources + 1 }).map(BigInt);
  const ttl = fc.integer({ min: 0, max: Number(config.maxTtlSlots) + 1 }).map(BigInt);
  const holder = fc.integer({ min: 1, max: 2 }).map(BigInt);
  const epoch = fc.integer({ min: 1, max: 2 }).map(BigInt);
  const back = fc.integer({ min: 0, max: 7 });
  /** One of the last six reservations created, or (for 7) an id that never existed. */
  const target = (recent: readonly bigint[], shard: bigint, pick: number) =>
    pick < 6 && recent.length > 0
      ? recent[Math.max(0, recent.length - 1 - pick)]!
      : (shard << 64n) | 999_999n;
  type Builder = { build: WorkloadStep['build']; label: string };
  const command: fc.Arbitrary<Builder> = fc.oneof(
    resource.map((id) => ({
      build: () => ({ kind: 'create_resource', resourceId: id }) as Command,
      label: `create ${id}`,
    })),
    fc.tuple(resource, holder, ttl).map(([id, h, t]) => ({
      build: () => ({ kind: 'reserve', resourceId: id, holderId: h, ttlSlots: t }) as Command,
      label: `reserve ${id} h${h} ttl${t}`,
    })),
    fc
      .tuple(fc.array(resource, { maxLength: config.maxBundleSize + 1 }), holder, ttl)
      .map(([ids, h, t]) => ({
        build: () =>
          ({ kind: 'reserve_bundle', resourceIds: ids, holderId: h, ttlSlots: t }) as Command,
        label: `bundle [${ids}] h${h} ttl${t}`,
      })),
    fc
      .tuple(fc.constantFrom('confirm' as const, 'release' as const), back, holder, epoch)
      .map(([kind, b, h, e]) => ({
        build: (recent: readonly bigint[], shard: bigint) =>
          ({
            kind,
            reservationId: target(recent, shard, b),
            holderId: h,
            leaseEpoch: e,
          }) as Command,
        label: `${kind} -${b} h${h} e${e}`,
      })),
    fc.tuple(fc.constantFrom('revoke' as const, 'reclaim' as const), back).map(([kind, b]) => ({
      build: (recent: readonly bigint[], shard: bigint) =>
        ({ kind, reservationId: target(recent, shard, b) }) as Command,
      label: `${kind} -${b}`,
    })),
    fc.tuple(back, fc.integer({ min: 0, max: 12 }).map(BigInt)).map(([b, deadline]) => ({
      build: (recent: readonly bigint[], shard: bigint) =>
        ({
          kind: 'expire',
          reservationId: target(recent, shard, b),
          deadlineSlot: deadline,
        }) as Command,
      label: `expire -${b} @${deadline}`,
    })),
  );
  return fc
    .record({
      builder: command,
      internal: fc.boolean(),
      slotStep: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0n) },
        { weight: 2, arbitrary: fc.bigInt(1n, 2n) },
        { weight: 1, arbitrary: fc.bigInt(3n, 12n) },
      ),
      operationId: fc.bigInt(1n, 16n),
    })
    .map(({ builder, internal, slotStep, operationId }) => ({
      internal,
      slotStep,
      operationId,
      build: builder.build,
      label: `${internal ? 'internal' : `op${operationId}`} +${slotStep} ${builder.label}`,
    }));
}

/**
 * Applies workload steps to a db, continuing LSNs and slots from its watermarks. The runner
 * remembers the reservations created so far, so one runner can drive a db up to a snapshot and
 * then the restored db, exactly as if nothing had happened in between.
 */
export class WorkloadRunner {
  private readonly recent: bigint[] = [];

  run(db: AllocDb, steps: readonly WorkloadStep[]): Outcome[] {
    const outcomes: Outcome[] = [];
    for (const step of steps) {
      const lsn = (db.lastAppliedLsn ?? 0n) + 1n;
      const requestSlot = (db.lastRequestSlot ?? 0n) + step.slotStep;
      const command = step.build(this.recent, db.config.shardId);
      const outcome = step.internal
        ? db.applyInternal({ lsn, requestSlot }, command)
        : db.applyClient(
            { lsn, requestSlot },
            { operationId: step.operationId, clientId: 3n, command },
          );
      if (outcome.reservationId !== undefined && !this.recent.includes(outcome.reservationId)) {
        this.recent.push(outcome.reservationId);
      }
      outcomes.push(outcome);
    }
    return outcomes;
  }
}

/** Runs steps on a fresh runner. */
export function applySteps(db: AllocDb, steps: readonly WorkloadStep[]): Outcome[] {
  return new WorkloadRunner().run(db, steps);
}
