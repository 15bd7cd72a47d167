/**
 * Damage (src/sweep/damage-sweep.ts): bit flips in every frame header, sampled payload, checksum
 * and snapshot bits, and structured damage with valid checksums, each recovered and judged by
 * the classification table and the prefix states of the recorded history.
 *
 * Replay: DAMAGE_SEED=<seed> pnpm exec vitest run --project reliability test/damage.test.ts
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_NAMES, loadAdapter } from '../src/adapters.js';
import { runDamageSweep } from '../src/sweep/damage-sweep.js';
import { recordScenarios } from '../src/sweep/scenarios.js';
import { envSeed, reportFigures, tier } from '../src/tiers.js';
import { tempDir } from './support.js';

const SEED = envSeed('DAMAGE_SEED') ?? 0xda3a6e;
const COMMANDS = tier(14, 60);

describe('damage sweep', () => {
  for (const name of ENGINE_NAMES) {
    it(`${name}: damage is refused with a typed error or cut only as a torn final write`, async () => {
      const adapter = await loadAdapter(name, 'sweep');
      const temp = tempDir(`damage-${name}`);
      const scenarios = await recordScenarios(adapter, temp.path, SEED, COMMANDS);
      let figures: Awaited<ReturnType<typeof runDamageSweep>>;
      try {
        figures = await runDamageSweep(adapter, scenarios, join(temp.path, 'case'), {
          seed: SEED,
          payloadFlips: tier(600, 12_000),
          snapshotFlips: tier(400, 8_000),
        });
      } catch (error) {
        throw new Error(
          `${(error as Error).message}\nreplay: DAMAGE_SEED=${SEED} pnpm exec vitest run --project reliability test/damage.test.ts`,
        );
      }
      temp.remove();
      reportFigures(`damage ${name}`, { seed: SEED, ...figures });
      expect(figures.refused).toBeGreaterThan(figures.headerBitsFlipped);
      for (const code of [
        'wal_corruption',
        'snapshot_invalid',
        'lsn_not_contiguous',
        'undecodable_frame',
        'wrong_engine',
        'slot_rewind',
        'lsn_gap',
      ]) {
        expect(figures.codes[code] ?? 0, `no case ended in ${code}`).toBeGreaterThan(0);
      }
      expect(figures.recoveredAsPrefix).toBeGreaterThan(0);
    });
  }
});
