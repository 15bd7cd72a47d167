/**
 * Fuzzed decoders: each engine's WAL scanner (checked three ways: scanLog, the streaming
 * FrameScanner, and the specification's table), its client-request, internal-command and command
 * codecs (decoded requests must re-encode to the same bytes), its snapshot body decoder and
 * restore, and its snapshot file loader, fed random bytes and mutations of valid encodings (with
 * checksums sometimes repaired so that mutations reach the checks behind them). Each decoder runs
 * in a worker thread under a watchdog. Only the decoder's typed errors may escape; no call may
 * hang; no call may grow the process's ArrayBuffer memory by more than its input.
 *
 * Replay: FUZZ_SEED=<seed> pnpm exec vitest run --project reliability test/fuzz.test.ts
 */
import { describe, expect, it } from 'vitest';
import { ENGINE_NAMES, loadAdapter } from '../src/adapters.js';
import { runFuzzTarget } from '../src/fuzz/run.js';
import { deriveSeed, Rng } from '../src/random.js';
import { envSeed, reportFigures, tier } from '../src/tiers.js';

const SEED = envSeed('FUZZ_SEED') ?? 0xf022;
const INPUTS = tier(5_000, 90_000);
/** Growth of arrayBuffers across one call beyond the input's own size: far below any length field. */
const MAX_GROWTH = 256 * 1024;

describe('fuzzed decoders', () => {
  for (const name of ENGINE_NAMES) {
    it(`${name}: random and mutated inputs raise only typed errors, never hang or over-allocate`, async () => {
      const adapter = await loadAdapter(name, 'small');
      const targets = adapter.fuzzTargets(new Rng(0));
      let total = 0;
      for (const [index, target] of targets.entries()) {
        const seed = deriveSeed(SEED, index);
        const summary = await runFuzzTarget(name, index, seed, INPUTS);
        total += summary.inputs;
        const where = `${target.name} (FUZZ_SEED=${SEED})`;
        expect(summary.inputs, where).toBe(INPUTS);
        expect(
          summary.maxArrayBufferGrowth,
          `${where}: a call grew arrayBuffers by more than its input`,
        ).toBeLessThan(MAX_GROWTH);
        expect(summary.maxCallMs, `${where}: slowest call`).toBeLessThan(2_000);
        expect(
          summary.arrayBuffersAfter - summary.arrayBuffersBefore,
          `${where}: arrayBuffers grew over the run`,
        ).toBeLessThan(16 * 1024 * 1024);
        // The inputs reach both sides: some decode, many are refused for varied reasons.
        expect(summary.decoded, `${where}: nothing decoded`).toBeGreaterThan(0);
        expect(
          Object.keys(summary.typedErrors).length,
          `${where}: ${JSON.stringify(summary.typedErrors)}`,
        ).toBeGreaterThan(2);
        reportFigures(`fuzz ${name}`, { seed, ...summary });
      }
      expect(total).toBe(INPUTS * targets.length);
    });
  }
});
