/** Snapshot, restore and continue; determinism of the snapshot bytes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSnapshotBody, encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import { AllocDb } from '../../src/state-machine/alloc-db.js';
import { runs, SEED } from '../support/thorough.js';
import { applySteps, WORKLOAD_CONFIG, WorkloadRunner, workloadStep } from '../support/workload.js';

const config = WORKLOAD_CONFIG;
const workload = fc.array(workloadStep(config), { minLength: 30, maxLength: 250 });

describe('snapshots', () => {
  it('snapshot at a random point, restore through the body codec, continue: same outcomes and bytes', () => {
    fc.assert(
      fc.property(workload, fc.nat(), (steps, cutPick) => {
        const cut = cutPick % (steps.length + 1);
        const straight = new AllocDb(config);
        const expected = applySteps(straight, steps);

        const runner = new WorkloadRunner();
        const first = new AllocDb(config);
        const before = runner.run(first, steps.slice(0, cut));
        const body = encodeSnapshotBody(first.snapshot());
        const restored = AllocDb.fromSnapshot(config, decodeSnapshotBody(body, config));
        // Restoring is lossless: the restored state snapshots to the same bytes.
        expect(encodeSnapshotBody(restored.snapshot())).toEqual(body);
        restored.checkInvariants();
        const after = runner.run(restored, steps.slice(cut));

        expect([...before, ...after]).toEqual(expected);
        expect(encodeSnapshotBody(restored.snapshot())).toEqual(
          encodeSnapshotBody(straight.snapshot()),
        );
        // Retried operations still answer from the restored operation table.
        for (let op = 1n; op <= 16n; op++) {
          expect(restored.getOperation(op, restored.lastRequestSlot ?? 0n)).toEqual(
            straight.getOperation(op, straight.lastRequestSlot ?? 0n),
          );
        }
      }),
      { seed: SEED, numRuns: runs(150) },
    );
  });

  it('the same command sequence gives byte-identical snapshots', () => {
    fc.assert(
      fc.property(workload, (steps) => {
        const a = new AllocDb(config);
        const b = new AllocDb(config);
        expect(applySteps(a, steps)).toEqual(applySteps(b, steps));
        expect(encodeSnapshotBody(a.snapshot())).toEqual(encodeSnapshotBody(b.snapshot()));
      }),
      { seed: SEED, numRuns: runs(100) },
    );
  });

  it('records are sorted by key, so table insertion order does not show in the bytes', () => {
    const forward = new AllocDb(config);
    const backward = new AllocDb(config);
    for (let i = 1; i <= 6; i++) {
      forward.applyInternal(
        { lsn: BigInt(i), requestSlot: 1n },
        { kind: 'create_resource', resourceId: BigInt(i * 1000) },
      );
      backward.applyInternal(
        { lsn: BigInt(i), requestSlot: 1n },
        { kind: 'create_resource', resourceId: BigInt((7 - i) * 1000) },
      );
    }
    expect(encodeSnapshotBody(forward.snapshot())).toEqual(encodeSnapshotBody(backward.snapshot()));
    expect(forward.snapshot().resources.map((r) => r.resourceId)).toEqual([
      1000n,
      2000n,
      3000n,
      4000n,
      5000n,
      6000n,
    ]);
  });

  it('an empty state round-trips', () => {
    const empty = new AllocDb(config);
    const body = encodeSnapshotBody(empty.snapshot());
    const restored = AllocDb.fromSnapshotBody(config, body);
    expect(restored.lastAppliedLsn).toBeUndefined();
    expect(encodeSnapshotBody(restored.snapshot())).toEqual(body);
  });

  it('a snapshot restores into larger capacities and keeps working', () => {
    const db = new AllocDb(config);
    fc.assert(
      fc.property(workload, (steps) => {
        const source = new AllocDb(config);
        applySteps(source, steps);
        const bigger = { ...config, maxResources: 64, maxReservations: 32, maxOperations: 64 };
        const restored = AllocDb.fromSnapshotBody(bigger, encodeSnapshotBody(source.snapshot()));
        restored.checkInvariants();
        expect(restored.snapshot()).toEqual(source.snapshot());
      }),
      { seed: SEED, numRuns: runs(30) },
    );
    expect(db.lastAppliedLsn).toBeUndefined();
  });
});
