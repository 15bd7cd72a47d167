/**
 * Deterministic simulation (src/sim/driver.ts): seeded runs over the real engine with injected
 * write and fsync failures, crashes at named points, power losses and restarts, several clients
 * retrying indefinite outcomes, checked against the reference model after every step.
 *
 * Replay one seed (its transcript is printed on failure):
 *   SIM_SEED=<seed> pnpm exec vitest run --project reliability test/simulation.test.ts
 */
import { describe, expect, it } from 'vitest';
import { ENGINE_NAMES, loadAdapter } from '../src/adapters.js';
import { deriveSeed } from '../src/random.js';
import { type SimFigures, Simulation } from '../src/sim/driver.js';
import { envSeed, reportFigures, tier } from '../src/tiers.js';
import { tempDir } from './support.js';

const BASE = 0x51a1;
const ONLY = envSeed('SIM_SEED');
const SEEDS = tier(40, 500);
const STEPS = tier(400, 800);
const CRASH_MODES = ['torn_prefix', 'drop_unsynced', 'keep_all'] as const;

async function simulate(name: string, seed: number, steps: number) {
  const adapter = await loadAdapter(name, 'small');
  const temp = tempDir(`sim-${name}`);
  try {
    const sim = new Simulation({
      adapter,
      seed,
      steps,
      clients: 4,
      dir: temp.path,
      crashModes: CRASH_MODES,
    });
    const figures = await sim.run();
    return { figures, transcript: sim.transcript.join('\n') };
  } finally {
    temp.remove();
  }
}

describe('deterministic simulation', () => {
  for (const name of ENGINE_NAMES) {
    it(`${name}: the same seed replays the same transcript, byte for byte`, async () => {
      const seed = ONLY ?? deriveSeed(BASE, 0);
      const first = await simulate(name, seed, STEPS);
      const second = await simulate(name, seed, STEPS);
      expect(second.transcript.length).toBeGreaterThan(1000);
      expect(second.transcript === first.transcript, 'two runs of one seed diverged').toBe(true);
      const other = await simulate(name, seed + 1, STEPS);
      expect(other.transcript).not.toBe(first.transcript);
    });

    it(`${name}: seeded runs keep every invariant and agree with the model after every step`, async () => {
      const seeds =
        ONLY === undefined ? Array.from({ length: SEEDS }, (_, i) => deriveSeed(BASE, i)) : [ONLY];
      const total: Partial<SimFigures> = {};
      for (const seed of seeds) {
        const { figures } = await simulate(name, seed, STEPS);
        for (const [key, value] of Object.entries(figures) as [keyof SimFigures, number][]) {
          total[key] = (total[key] ?? 0) + value;
        }
      }
      reportFigures(`simulation ${name}`, { seeds: seeds.length, base: BASE, ...total });
      if (ONLY !== undefined) return;
      // Every kind of event really happened across the seeds.
      for (const key of [
        'answeredFromCache',
        'indefinite',
        'retriedFoundDurable',
        'retriedExecuted',
        'injectedWriteFailures',
        'injectedSyncFailures',
        'faultCrashes',
        'powerLosses',
        'cleanRestarts',
        'tornBytesCut',
        'checkpoints',
      ] as const) {
        expect(total[key] ?? 0, `${key} never happened`).toBeGreaterThan(0);
      }
      if (name === 'allocdb-core') expect(total.ticks ?? 0).toBeGreaterThan(0);
    });
  }
});
