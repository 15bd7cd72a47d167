/**
 * The suites can fail: each one is pointed at a deliberately broken engine adapter (or decoder)
 * and must report it. Without these, a suite that checks nothing would look just as green.
 */
import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineAdapter, EngineHandle, OpenOptions } from '../src/adapter.js';
import { loadAdapter } from '../src/adapters.js';
import { CrashEpisode } from '../src/crash/harness.js';
import { runFuzzTarget } from '../src/fuzz/run.js';
import { MemoryFs } from '../src/memory-fs.js';
import { Simulation } from '../src/sim/driver.js';
import { runDamageSweep } from '../src/sweep/damage-sweep.js';
import { classify } from '../src/sweep/oracle.js';
import { recordScenarios } from '../src/sweep/scenarios.js';
import { runTornSweep } from '../src/sweep/torn-sweep.js';
import { tempDir } from './support.js';

/** A handle that behaves like `handle` except for the overrides. */
function override(
  handle: EngineHandle,
  overrides: Partial<Record<keyof EngineHandle, unknown>>,
): EngineHandle {
  return Object.assign(Object.create(handle) as EngineHandle, overrides);
}

describe('canaries: every suite reports a broken engine', () => {
  it('crash-kill: an engine that forgets the last run loses acknowledged operations', async () => {
    const base = await loadAdapter('allocdb-core', 'crash');
    let backup: Map<string, Buffer> | undefined;
    const forgetful: EngineAdapter = {
      ...base,
      async open(options: OpenOptions) {
        if (backup !== undefined) {
          for (const name of ['wal', 'snapshot']) rmSync(join(options.dir, name), { force: true });
          for (const [name, bytes] of backup) writeFileSync(join(options.dir, name), bytes);
        }
        const handle = await base.open(options);
        return override(handle, {
          close: async () => {
            await handle.close();
            backup = new Map();
            for (const name of ['wal', 'snapshot']) {
              const path = join(options.dir, name);
              if (existsSync(path)) backup.set(name, readFileSync(path));
            }
          },
        });
      },
    };
    const temp = tempDir('canary-crash');
    const episode = new CrashEpisode({
      adapter: forgetful,
      dir: join(temp.path, 'data'),
      seed: 1,
      episode: 0,
      rounds: 4,
      clients: 4,
      tickEvery: 30,
      replayHint: '(canary)',
    });
    await expect(episode.run()).rejects.toThrow(/lost|below|differs|executed/);
    temp.remove();
  });

  it('torn tails: an engine that cuts one frame too many is caught', async () => {
    const base = await loadAdapter('allocdb-core', 'sweep');
    const greedy: EngineAdapter = {
      ...base,
      async open(options: OpenOptions) {
        const path = join(options.dir, 'wal');
        const wal = readFileSync(path);
        const verdict = classify(wal, base.walMagic, base.maxPayloadBytes);
        if (verdict.kind === 'torn_tail' && verdict.frames > 0) {
          const frames = base.scanLog(wal.subarray(0, verdict.validUpTo)).frames;
          truncateSync(path, verdict.validUpTo - 36 - frames.at(-1)!.payload.length);
        }
        return base.open(options);
      },
    };
    const temp = tempDir('canary-torn');
    const scenarios = await recordScenarios(base, temp.path, 5, 12);
    await expect(runTornSweep(greedy, scenarios, join(temp.path, 'case'), 5, 2)).rejects.toThrow(
      /recovered LSN|differs|bytes/,
    );
    temp.remove();
  });

  it('damage: an engine that cuts damage off instead of refusing is caught', async () => {
    const base = await loadAdapter('allocdb-core', 'sweep');
    const lenient: EngineAdapter = {
      ...base,
      async open(options: OpenOptions) {
        try {
          return await base.open(options);
        } catch (error) {
          const offset = (error as { offset?: number }).offset;
          if ((error as { code?: string }).code !== 'wal_corruption' || offset === undefined)
            throw error;
          if (options.fileSystem instanceof MemoryFs) {
            options.fileSystem.put('wal', options.fileSystem.read('wal')!.subarray(0, offset));
          } else truncateSync(join(options.dir, 'wal'), offset);
          return base.open(options);
        }
      },
    };
    const temp = tempDir('canary-damage');
    const scenarios = await recordScenarios(base, temp.path, 6, 8);
    await expect(
      runDamageSweep(lenient, scenarios, join(temp.path, 'case'), {
        seed: 6,
        payloadFlips: 10,
        snapshotFlips: 10,
      }),
    ).rejects.toThrow(/instead of refusing/);
    temp.remove();
  });

  it('fuzzing: an untyped exception, an allocation from a length field and a hang are caught', async () => {
    await expect(runFuzzTarget('canary-fuzz', 0, 1, 20_000)).rejects.toThrow(
      /untyped error[\s\S]*TypeError/,
    );
    const summary = await runFuzzTarget('canary-fuzz', 1, 1, 2_000);
    expect(summary.maxArrayBufferGrowth).toBeGreaterThan(1024 * 1024);
    await expect(runFuzzTarget('canary-fuzz', 2, 1, 20_000, 3_000)).rejects.toThrow(
      /hung[\s\S]*input ab/,
    );
  });

  it('simulation: an engine that misreports an acknowledgement is caught', async () => {
    const base = await loadAdapter('allocdb-core', 'small');
    let submissions = 0;
    const liar: EngineAdapter = {
      ...base,
      async open(options: OpenOptions) {
        const handle = await base.open(options);
        return override(handle, {
          submit: async (request: unknown, slot?: bigint) => {
            const result = await handle.submit(request, slot);
            return ++submissions === 40 ? { ...result, lsn: result.lsn + 1n } : result;
          },
        });
      },
    };
    const temp = tempDir('canary-sim');
    const sim = new Simulation({
      adapter: liar,
      seed: 3,
      steps: 400,
      clients: 3,
      dir: temp.path,
      crashModes: ['torn_prefix'],
    });
    await expect(sim.run()).rejects.toThrow(/op \d+/);
    temp.remove();
  });
});
