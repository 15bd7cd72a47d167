/**
 * Exactly-once across server crashes, over the network (src/serve/harness.ts): client processes
 * debit or reserve/release in a loop through the typed client while the real server bin is
 * SIGKILLed and restarted on the same loopback port; afterwards every acknowledged command is
 * applied exactly once, the state matches the clients' logs, and minLsn reads never went back.
 *
 * Replay: SERVE_SEED=<seed> pnpm exec vitest run --project reliability test/serve-crash.test.ts
 */
import { describe, expect, it } from 'vitest';
import { runServeCrash } from '../src/serve/harness.js';
import { envSeed, reportFigures, tier } from '../src/tiers.js';
import { tempDir } from './support.js';

const SEED = envSeed('SERVE_SEED') ?? 0x5e7e;
const KILLS = tier(6, 100);
const CLIENTS = tier(3, 8);

describe('serve: exactly-once across crashes', () => {
  for (const engine of ['quota-core', 'allocdb-core'] as const) {
    it(`${engine}: ${CLIENTS} client processes, ${KILLS} SIGKILLs of the server`, async () => {
      const temp = tempDir(`serve-${engine}`);
      const figures = await runServeCrash({
        engine,
        work: temp.path,
        seed: SEED,
        clients: CLIENTS,
        kills: KILLS,
        replayHint: `SERVE_SEED=${SEED} pnpm exec vitest run --project reliability test/serve-crash.test.ts (data kept in ${temp.path})`,
      });
      temp.remove();
      reportFigures(`serve crash-kill ${engine}`, { seed: SEED, ...figures });
      expect(figures.kills).toBe(KILLS);
      // Some kills landed while the restarted server was still starting (recovering).
      expect(figures.killsBeforeListening).toBeGreaterThan(0);
      // The run really crossed restarts with traffic on both sides of them.
      expect(figures.acknowledged).toBeGreaterThan(KILLS * 10);
      expect(figures.reads).toBeGreaterThan(0);
    });
  }

  it('canary: clients that retry under a fresh operation id are caught applying a debit twice', async () => {
    const temp = tempDir('serve-canary');
    try {
      const error = await runServeCrash({
        engine: 'quota-core',
        work: temp.path,
        seed: SEED,
        clients: 3,
        kills: 20,
        replayHint: 'canary',
        canaryFreshIds: true,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(
        /holds \d+; the acknowledged debits leave|was acknowledged ok at LSN/,
      );
    } finally {
      temp.remove();
    }
  });
});
