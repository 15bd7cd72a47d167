/** Snapshot, restore and continue; determinism of the snapshot bytes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSnapshotBody, encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import { QuotaDb } from '../../src/state-machine/quota-db.js';
import { runs, SEED } from '../support/thorough.js';
import { applySteps, WORKLOAD_CONFIG, workloadStep } from '../support/workload.js';

const config = WORKLOAD_CONFIG;
const workload = fc.array(workloadStep, { minLength: 30, maxLength: 250, size: 'max' });

describe('snapshots', () => {
  it('snapshot at a random point, restore through the body codec, continue: same outcomes and bytes', () => {
    fc.assert(
      fc.property(workload, fc.nat(), (steps, cutPick) => {
        const cut = cutPick % (steps.length + 1);
        const straight = new QuotaDb(config);
        const expected = applySteps(straight, steps);

        const first = new QuotaDb(config);
        const before = applySteps(first, steps.slice(0, cut));
        const body = encodeSnapshotBody(first.snapshot());
        const restored = QuotaDb.fromSnapshot(config, decodeSnapshotBody(body, config));
        // Restoring is lossless: the restored state snapshots to the same bytes.
        expect(encodeSnapshotBody(restored.snapshot())).toEqual(body);
        restored.checkInvariants();
        const after = applySteps(restored, steps.slice(cut));

        expect([...before, ...after]).toEqual(expected);
        expect(encodeSnapshotBody(restored.snapshot())).toEqual(
          encodeSnapshotBody(straight.snapshot()),
        );
        const slot = straight.lastRequestSlot ?? 0n;
        for (let op = 1n; op <= 14n; op++) {
          expect(restored.getOperation(op, slot)).toEqual(straight.getOperation(op, slot));
        }
        for (let id = 1n; id <= 5n; id++) {
          expect(restored.getBucketAt(id, slot + 3n)).toEqual(straight.getBucketAt(id, slot + 3n));
        }
      }),
      { seed: SEED, numRuns: runs(150) },
    );
  });

  it('the same command sequence gives byte-identical snapshots', () => {
    fc.assert(
      fc.property(workload, (steps) => {
        const a = new QuotaDb(config);
        const b = new QuotaDb(config);
        expect(applySteps(a, steps)).toEqual(applySteps(b, steps));
        expect(encodeSnapshotBody(a.snapshot())).toEqual(encodeSnapshotBody(b.snapshot()));
      }),
      { seed: SEED, numRuns: runs(100) },
    );
  });

  it('records are sorted by id, so table insertion order does not show in the bytes', () => {
    const forward = new QuotaDb(config);
    const backward = new QuotaDb(config);
    const create = (bucketId: bigint) => ({
      kind: 'create_bucket' as const,
      bucketId,
      limit: 5n,
      initialBalance: 1n,
      refillRatePerSlot: 0n,
    });
    for (let i = 1; i <= 4; i++) {
      forward.applyInternal({ lsn: BigInt(i), requestSlot: 1n }, create(BigInt(i * 1000)));
      backward.applyInternal({ lsn: BigInt(i), requestSlot: 1n }, create(BigInt((5 - i) * 1000)));
    }
    expect(encodeSnapshotBody(forward.snapshot())).toEqual(encodeSnapshotBody(backward.snapshot()));
    expect(forward.snapshot().buckets.map((b) => b.bucketId)).toEqual([1000n, 2000n, 3000n, 4000n]);
  });

  it('an empty state round-trips with its watermarks absent', () => {
    const empty = new QuotaDb(config);
    const body = encodeSnapshotBody(empty.snapshot());
    expect(empty.snapshot()).toEqual({ buckets: [], operations: [] });
    const restored = QuotaDb.fromSnapshotBody(config, body);
    expect(restored.lastAppliedLsn).toBeUndefined();
    expect(restored.lastRequestSlot).toBeUndefined();
    expect(encodeSnapshotBody(restored.snapshot())).toEqual(body);
  });

  it('a snapshot restores into larger capacities and keeps working', () => {
    fc.assert(
      fc.property(workload, workload, (steps, more) => {
        const source = new QuotaDb(config);
        applySteps(source, steps);
        const bigger = { ...config, maxBuckets: 64, maxOperations: 64 };
        const restored = QuotaDb.fromSnapshotBody(bigger, encodeSnapshotBody(source.snapshot()));
        restored.checkInvariants();
        expect(restored.snapshot()).toEqual(source.snapshot());
        applySteps(restored, more);
        restored.checkInvariants();
      }),
      { seed: SEED, numRuns: runs(30) },
    );
  });
});
