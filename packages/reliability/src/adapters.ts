/**
 * The adapters by engine name, for the crash-kill child (which is told which engine to run) and
 * for suites that loop over every available engine.
 */
import type { EngineAdapter } from './adapter.js';

export type Profile = 'crash' | 'small' | 'sweep';

export const ENGINE_NAMES = ['allocdb-core', 'quota-core'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export async function loadAdapter(name: string, profile: Profile): Promise<EngineAdapter> {
  switch (name) {
    case 'allocdb-core': {
      const alloc = await import('./allocdb/adapter.js');
      return alloc.allocdbAdapter(
        profile === 'crash'
          ? alloc.ALLOC_CRASH_CONFIG
          : profile === 'sweep'
            ? alloc.ALLOC_SWEEP_CONFIG
            : alloc.ALLOC_SMALL_CONFIG,
      );
    }
    case 'quota-core': {
      const quota = await import('./quota/adapter.js');
      return quota.quotaAdapter(
        profile === 'crash'
          ? quota.QUOTA_CRASH_CONFIG
          : profile === 'sweep'
            ? quota.QUOTA_SWEEP_CONFIG
            : quota.QUOTA_SMALL_CONFIG,
      );
    }
    case 'canary-fuzz': {
      // Broken decoders for the canary test (loaded by name inside fuzz workers).
      const { CANARY_FUZZ_TARGETS } = await import('./fuzz/canary-targets.js');
      const base = await loadAdapter('allocdb-core', profile);
      return { ...base, name, fuzzTargets: () => CANARY_FUZZ_TARGETS };
    }
    default:
      throw new Error(`no adapter for engine ${JSON.stringify(name)}`);
  }
}
