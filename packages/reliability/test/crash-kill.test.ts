/**
 * Crash-kill with real processes (see src/crash/harness.ts): a child runs the durable engine
 * under concurrent load and is killed with SIGKILL at seeded random moments; after each kill the
 * directory is reopened in this process and checked against the child's acknowledgements, the
 * journal of what it handed to the WAL, and the reference model.
 *
 * Replay one episode: CRASH_SEED=<seed> CRASH_EPISODE=<n> pnpm exec vitest run --project reliability test/crash-kill.test.ts
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_NAMES, loadAdapter } from '../src/adapters.js';
import { CrashEpisode, type EpisodeFigures } from '../src/crash/harness.js';
import { envSeed, reportFigures, tier } from '../src/tiers.js';
import { tempDir } from './support.js';

const SEED = envSeed('CRASH_SEED') ?? 0xc4a54;
const ONLY_EPISODE = envSeed('CRASH_EPISODE');
const EPISODES = tier(2, 20);
const ROUNDS = tier(10, 13);

describe('crash-kill with real processes', () => {
  for (const name of ENGINE_NAMES) {
    it(`${name}: every acknowledged operation survives SIGKILL exactly once`, async () => {
      const adapter = await loadAdapter(name, 'crash');
      const total: EpisodeFigures = {
        kills: 0,
        killsBeforeReady: 0,
        acknowledged: 0,
        retriesVerified: 0,
        unacknowledgedDurable: 0,
        unacknowledgedLost: 0,
        indefiniteRetried: 0,
        tornBytesTruncated: 0,
        recoveredFromSnapshot: 0,
        checkpoints: 0,
        ticks: 0,
        framesReplayedByModel: 0,
      };
      const episodes = ONLY_EPISODE === undefined ? [...Array(EPISODES).keys()] : [ONLY_EPISODE];
      for (const episode of episodes) {
        const temp = tempDir(`crash-${name}`);
        const figures = await new CrashEpisode({
          adapter,
          dir: join(temp.path, 'data'),
          seed: SEED,
          episode,
          rounds: ROUNDS,
          clients: 6,
          tickEvery: name === 'allocdb-core' ? 30 : 0,
          replayHint: `CRASH_SEED=${SEED} CRASH_EPISODE=${episode} pnpm exec vitest run --project reliability test/crash-kill.test.ts (data kept in ${temp.path})`,
        }).run();
        temp.remove();
        for (const key of Object.keys(total) as (keyof EpisodeFigures)[])
          total[key] += figures[key];
      }
      reportFigures(`crash-kill ${name}`, { seed: SEED, ...total });
      // The runs really exercised what they claim.
      expect(total.kills).toBe(episodes.length * ROUNDS);
      expect(total.acknowledged).toBeGreaterThan(total.kills * 20);
      expect(total.retriesVerified).toBeGreaterThan(total.acknowledged);
      expect(total.checkpoints).toBeGreaterThan(0);
      expect(total.recoveredFromSnapshot).toBeGreaterThan(0);
      if (name === 'allocdb-core') expect(total.ticks).toBeGreaterThan(0);
      expect(total.unacknowledgedDurable + total.unacknowledgedLost).toBeGreaterThan(0);
    });
  }
});
