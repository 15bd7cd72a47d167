/**
 * Torn tails (src/sweep/torn-sweep.ts): the log of recorded histories (log only; snapshot and
 * rewritten log; log ending in a checkpoint marker) cut at every byte offset inside its last
 * frames, as is and zero-extended; every cut recovered on a real directory and compared with
 * the specification's classification table and the state of the prefix.
 *
 * Replay: TORN_SEED=<seed> pnpm exec vitest run --project reliability test/torn-tail.test.ts
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_NAMES, loadAdapter } from '../src/adapters.js';
import { recordScenarios } from '../src/sweep/scenarios.js';
import { runTornSweep } from '../src/sweep/torn-sweep.js';
import { envSeed, reportFigures, tier } from '../src/tiers.js';
import { tempDir } from './support.js';

const SEED = envSeed('TORN_SEED') ?? 0x7042;
const LAST_FRAMES = tier(3, 14);
const COMMANDS = tier(36, 90);

describe('torn-tail sweep', () => {
  for (const name of ENGINE_NAMES) {
    it(`${name}: every cut inside the last frames recovers exactly the complete frames`, async () => {
      const adapter = await loadAdapter(name, 'sweep');
      const temp = tempDir(`torn-${name}`);
      const scenarios = await recordScenarios(adapter, temp.path, SEED, COMMANDS);
      let figures: Awaited<ReturnType<typeof runTornSweep>>;
      try {
        figures = await runTornSweep(
          adapter,
          scenarios,
          join(temp.path, 'case'),
          SEED,
          LAST_FRAMES,
        );
      } catch (error) {
        throw new Error(
          `${(error as Error).message}\nreplay: TORN_SEED=${SEED} pnpm exec vitest run --project reliability test/torn-tail.test.ts`,
        );
      }
      temp.remove();
      reportFigures(`torn-tail ${name}`, { seed: SEED, ...figures });
      expect(figures.cuts).toBeGreaterThan(LAST_FRAMES * 3 * 40);
      expect(figures.keptCompleteFrames).toBeGreaterThan(figures.cuts);
      expect(figures.refusedPerTable).toBeGreaterThan(0);
      // Whole frames whose checksum fails but that hold a zero sector were cut as torn writes.
      if (name === 'allocdb-core') expect(figures.wholeFramesCutAsTornWrites).toBeGreaterThan(0);
    });
  }
});
