import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SubmitResult } from '../../src/engine/engine.js';
import type { ClientRequest, Command } from '../../src/types.js';
import { useTempDirs } from '../support/temp-dir.js';
import { runs, SEED } from '../support/thorough.js';
import { openEngine, SMALL_CONFIG, stateBytes } from './engine-fixtures.js';

const tempDir = useTempDirs();
/** How long an operation id is remembered (the small configuration's retry window). */
const RETRY_WINDOW = SMALL_CONFIG.maxClientRetryWindowSlots;

type Step =
  | { kind: 'submit'; command: Command; slotStep: number; retryOf?: number }
  | { kind: 'checkpoint' }
  | { kind: 'restart' };

const bucket = fc.bigInt(1n, 5n);
const command: fc.Arbitrary<Command> = fc.oneof(
  fc
    .record({
      bucketId: bucket,
      limit: fc.bigInt(0n, 40n),
      fraction: fc.bigInt(0n, 4n),
      rate: fc.bigInt(0n, 3n),
    })
    .map(({ bucketId, limit, fraction, rate }) => ({
      kind: 'create_bucket' as const,
      bucketId,
      limit,
      initialBalance: (limit * fraction) / 4n,
      refillRatePerSlot: rate,
    })),
  fc
    .record({ bucketId: bucket, amount: fc.bigInt(1n, 15n) })
    .map((c) => ({ kind: 'debit' as const, ...c })),
  fc
    .record({ bucketId: bucket, amount: fc.bigInt(1n, 15n) })
    .map((c) => ({ kind: 'debit' as const, ...c })),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      command,
      slotStep: fc.integer({ min: 0, max: 3 }),
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
  { weight: 1, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

describe('restart equivalence', () => {
  it(
    'reopening after random workloads with checkpoints gives the same state and the original results on retry',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(step, { minLength: 10, maxLength: 60, size: 'max' }),
          async (steps) => {
            const dir = tempDir();
            let engine = await openEngine(dir);
            let slot = 1n;
            // The latest executed result per operation: a retry after the window executes again.
            const committed: { request: ClientRequest; result: SubmitResult }[] = [];
            const latest = new Map<bigint, { request: ClientRequest; result: SubmitResult }>();
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
                  const stored = latest.get(request.operationId)!.result;
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
                  const entry = { request, result };
                  committed.push(entry);
                  latest.set(request.operationId, entry);
                }
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
            const balances = [1n, 2n, 3n, 4n, 5n].map((id) =>
              engine.getBucketAt(id, { slot: slot + 2n }),
            );
            await engine.close();
            engine = await openEngine(dir);
            expect(stateBytes(engine)).toEqual(before);
            expect(
              [1n, 2n, 3n, 4n, 5n].map((id) => engine.getBucketAt(id, { slot: slot + 2n })),
            ).toEqual(balances);
            // Every operation whose record is still live answers its original result from the cache.
            let answered = 0;
            for (const { request, result } of latest.values()) {
              if (engine.getOperation(request.operationId, { currentSlot: slot }) === undefined)
                continue;
              const retried = await engine.submit(request, { requestSlot: slot });
              expect(retried).toMatchObject({
                fromRetryCache: true,
                lsn: result.lsn,
                outcome: result.outcome,
              });
              answered++;
            }
            expect(answered).toBeGreaterThan(0);
            await engine.close();
          },
        ),
        { seed: SEED, numRuns: runs(25, 400) },
      );
      // Each checkpoint rebuilds its snapshot on a worker thread (tens of milliseconds to start):
      // the thorough tier's 400 runs take minutes, not the default minute.
    },
    runs(60_000, 900_000),
  );
});
