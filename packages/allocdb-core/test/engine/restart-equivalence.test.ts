import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AllocDbEngine, SubmitResult } from '../../src/engine/engine.js';
import { encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import type { ClientRequest, Command } from '../../src/types.js';
import { useTempDirs } from '../support/temp-dir.js';
import { runs, SEED } from '../support/thorough.js';
import { openEngine, SMALL_CONFIG } from './engine-fixtures.js';

const tempDir = useTempDirs();
/** How long an operation id is remembered: maxTtlSlots + maxClientRetryWindowSlots. */
const RETRY_WINDOW = SMALL_CONFIG.maxTtlSlots + SMALL_CONFIG.maxClientRetryWindowSlots;

function stateBytes(engine: AllocDbEngine): Uint8Array {
  return encodeSnapshotBody((engine as unknown as { db: { snapshot(): never } }).db.snapshot());
}

type Step =
  | { kind: 'submit'; command: Command; slotStep: number; retryOf?: number }
  | { kind: 'tick' }
  | { kind: 'checkpoint' }
  | { kind: 'restart' };

const resource = fc.bigInt(1n, 6n);
const reservation = fc.bigInt(1n, 40n); // reservation ids are LSNs on shard 0
const holder = fc.bigInt(1n, 3n);
const epoch = fc.bigInt(1n, 2n);
const command: fc.Arbitrary<Command> = fc.oneof(
  resource.map((resourceId) => ({ kind: 'create_resource' as const, resourceId })),
  fc
    .record({ resourceId: resource, holderId: holder, ttlSlots: fc.bigInt(1n, 6n) })
    .map((c) => ({ kind: 'reserve' as const, ...c })),
  fc
    .record({
      // The engine refuses a bundle that names a resource twice (invalid_request).
      resourceIds: fc.uniqueArray(resource, { minLength: 1, maxLength: 3 }),
      holderId: holder,
      ttlSlots: fc.bigInt(1n, 6n),
    })
    .map((c) => ({ kind: 'reserve_bundle' as const, ...c })),
  fc
    .record({ reservationId: reservation, holderId: holder, leaseEpoch: epoch })
    .map((c) => ({ kind: 'confirm' as const, ...c })),
  fc
    .record({ reservationId: reservation, holderId: holder, leaseEpoch: epoch })
    .map((c) => ({ kind: 'release' as const, ...c })),
  reservation.map((reservationId) => ({ kind: 'revoke' as const, reservationId })),
  reservation.map((reservationId) => ({ kind: 'reclaim' as const, reservationId })),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      command,
      slotStep: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      command,
      slotStep: fc.constant(0),
      retryOf: fc.nat(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'tick' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

describe('restart equivalence', () => {
  it(
    'reopening after random workloads with checkpoints gives the same state and the original results on retry',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 60 }), async (steps) => {
          const dir = tempDir();
          let engine = await openEngine(dir);
          let slot = 1n;
          const committed: { request: ClientRequest; result: SubmitResult }[] = [];
          // The latest executed result per operation: a retry after the window executes again.
          const latest = new Map<bigint, SubmitResult>();
          let nextOp = 1n;
          for (const s of steps) {
            if (s.kind === 'submit') {
              slot += BigInt(s.slotStep);
              const original =
                s.retryOf === undefined || committed.length === 0
                  ? undefined
                  : committed[s.retryOf % committed.length]!;
              const request = original?.request ?? {
                operationId: nextOp++,
                clientId: 1n,
                command: s.command,
              };
              const result = await engine.submit(request, { requestSlot: slot });
              if (original !== undefined) {
                // Inside the retry window the retry is answered from the cache with the
                // original result; past it, it runs again. Checked both ways: a re-execution
                // inside the window must fail the test, not skip the check.
                const stored = latest.get(request.operationId)!;
                if (slot <= stored.requestSlot + RETRY_WINDOW) {
                  expect(result).toMatchObject({
                    fromRetryCache: true,
                    lsn: stored.lsn,
                    outcome: stored.outcome,
                  });
                } else {
                  expect(result.fromRetryCache).toBe(false);
                }
              }
              if (!result.fromRetryCache) {
                committed.push({ request, result });
                latest.set(request.operationId, result);
              }
            } else if (s.kind === 'tick') {
              await engine.tickExpirations({ requestSlot: slot });
            } else if (s.kind === 'checkpoint') {
              await engine.checkpoint();
            } else {
              const before = stateBytes(engine);
              await engine.close();
              engine = await openEngine(dir);
              expect(stateBytes(engine)).toEqual(before);
            }
          }
          const before = stateBytes(engine);
          await engine.close();
          engine = await openEngine(dir);
          expect(stateBytes(engine)).toEqual(before);
          // Every operation whose record is still live answers its latest result from the cache.
          for (const { request } of committed) {
            const result = latest.get(request.operationId)!;
            if (engine.getOperation(request.operationId, { currentSlot: slot }) === undefined)
              continue;
            const retried = await engine.submit(request, { requestSlot: slot });
            expect(retried).toMatchObject({
              fromRetryCache: true,
              lsn: result.lsn,
              outcome: result.outcome,
            });
          }
          await engine.close();
        }),
        { seed: SEED, numRuns: runs(25, 400) },
      );
      // Each checkpoint rebuilds its snapshot on a worker thread (tens of milliseconds to start):
      // the thorough tier's 400 runs take minutes, not the default minute.
    },
    runs(60_000, 900_000),
  );
});
