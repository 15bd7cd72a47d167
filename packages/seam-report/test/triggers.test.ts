import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { resolveConfig } from '../src/config.js';
import type {
  ChangeRef,
  MirroredChange,
  SeamCopy,
  SeamHistory,
  SeamReport,
  SliceSummary,
} from '../src/report.js';
import { evaluateTriggers } from '../src/triggers.js';
import { DAY, EPOCH } from './support/git-repo.js';
import { EngineRepo, type HistoryScenario, historyScenario } from './support/scenarios.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const FIRST_PARENT = { slices: { by: 'first-parent' } } as const;

let scenario: HistoryScenario;
let report: SeamReport;

beforeAll(async () => {
  scenario = historyScenario();
  // every commit of the scenario is its own unit of work
  report = await analyze({ root: scenario.engines.repo.root, config: FIRST_PARENT });
});
afterAll(() => scenario.engines.dispose());

const trigger = (seam: string, name: string) =>
  report.seams.find((s) => s.name === seam)!.triggers.find((t) => t.trigger === name)!;

describe('triggers on a synthetic history', () => {
  it('repeated_fix: fires on three mirrored fixes, listing their commits', () => {
    const result = trigger('wal', 'repeated_fix');
    expect(result.fired).toBe(true);
    expect(result.observed).toEqual({
      slices: 3,
      mirroredChanges: 3,
      latePropagations: 1,
      whileCopying: 0,
    });
    expect(result.evidence.map((c) => c.hash)).toEqual([
      scenario.commits.sameCommitFix,
      scenario.commits.alphaFix,
      scenario.commits.betaFixWeekLater,
      scenario.commits.alphaFreeze,
      scenario.commits.betaFreezeHoursLater,
    ]);
    expect(trigger('retire_queue', 'repeated_fix').fired).toBe(false);
  });

  it('third_engine: fires with the commit where the third copy appeared', () => {
    const result = trigger('wal', 'third_engine');
    expect(result.fired).toBe(true);
    expect(result.observed).toEqual({ copies: 3 });
    expect(result.evidence).toEqual([
      {
        hash: scenario.commits.gammaAppears,
        date: '2024-01-15T00:00:00Z',
        subject: 'gamma engine from alpha',
      },
    ]);
    expect(result.summary).toMatch(/gamma brought copy number 3/);
  });

  it('maintenance_cost: counts multi-copy and one-sided changes and repeated lines', () => {
    const result = trigger('wal', 'maintenance_cost');
    expect(result.fired).toBe(true);
    // repeated in beta: one line gained tokens (bounds, freeze), one line replaced (byteLength:
    // one removed plus one added, as git counts it)
    expect(result.observed).toEqual({ multiCopySlices: 3, oneSidedSlices: 1, repeatedLines: 4 });
    expect(result.evidence.map((c) => c.hash)).toContain(scenario.commits.betaOneSided);
  });

  it('stable_across_slices: a seam changed in recent slices does not fire, one left alone does', () => {
    const wal = trigger('wal', 'stable_across_slices');
    expect(wal.fired).toBe(false);
    expect(wal.observed).toEqual({ slices: 3, slicesChangingSeam: 2 });
    expect(wal.evidence.map((c) => c.hash)).toEqual([
      scenario.commits.gammaAppears,
      scenario.commits.betaOneSided,
    ]);
    // retire_queue is not in the default list of the trigger
    expect(trigger('retire_queue', 'stable_across_slices')).toMatchObject({
      applicable: false,
      fired: false,
    });
  });

  it('stable_across_slices fires for a listed seam that the last slices did not touch', async () => {
    const engines = new EngineRepo();
    try {
      engines
        .set('packages/alpha/src/runtime/wal.ts', WAL_TS)
        .set('packages/beta/src/runtime/wal.ts', WAL_TS)
        .set('packages/alpha/src/runtime/fixed-map.ts', RETIRE_QUEUE_TS)
        .set('packages/beta/src/runtime/fixed-map.ts', RETIRE_QUEUE_TS)
        .commit('two engines');
      engines.fix('bounds', 'alpha').commit('wal fix in alpha');
      for (const n of [1, 2, 3]) {
        engines
          .set(`packages/beta/src/state-${n}.ts`, `export const n = ${n};\n`)
          .commit(`beta slice ${n}`);
      }
      const stable = await analyze({ root: engines.repo.root, config: FIRST_PARENT });
      const byName = (name: string) => stable.seams.find((s) => s.name === name)!.triggers[1]!;
      expect(byName('fixed_map')).toMatchObject({
        fired: true,
        observed: { slices: 3, slicesChangingSeam: 0 },
      });
      expect(byName('fixed_map').evidence.map((c) => c.subject)).toEqual([
        'beta slice 3',
        'beta slice 2',
        'beta slice 1',
      ]);
      // wal changed four slices ago: stable over three, not over four
      expect(byName('wal').fired).toBe(true);
      const longer = await analyze({
        root: engines.repo.root,
        config: { ...FIRST_PARENT, triggers: { stable_across_slices: { slices: 4 } } },
      });
      expect(longer.seams.find((s) => s.name === 'wal')!.triggers[1]).toMatchObject({
        fired: false,
        observed: { slicesChangingSeam: 1 },
      });
    } finally {
      engines.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// evaluateTriggers on hand-made inputs: thresholds and windows

const commit = (day: number) => ({
  hash: `${day}`.padStart(40, 'a'),
  date: new Date((EPOCH + day * DAY) * 1000).toISOString(),
  subject: `day ${day}`,
});
const change = (engine: string, day: number, lines = 10): ChangeRef => ({
  engine,
  path: `packages/${engine}/src/runtime/wal.ts`,
  commit: commit(day),
  lines,
  tokens: lines * 3,
  slice: day,
  whileCopying: false,
});
const mirrored = (day: number, lines: number): MirroredChange => ({
  kind: 'same_commit',
  origin: change('a', day, lines),
  followers: [{ ...change('b', day, lines), delaySeconds: 0, match: 1, how: 'exact' }],
  match: 1,
  repeatedLines: lines,
});
const copies = (n: number): SeamCopy[] =>
  Array.from({ length: n }, (_, i) => ({
    engine: `e${i}`,
    path: `packages/e${i}/src/runtime/wal.ts`,
    language: 'typescript',
    lines: 10,
    tokens: 50,
    appeared: i < 2 ? commit(0) : null,
    committed: i < 2,
    cluster: i === 0 ? 'canonical' : 'identical',
    similarity: 1,
  }));
/** Each day is its own slice, as `matchChanges` tallies them. */
const occurrences = (mirroredChanges: MirroredChange[], oneSidedChanges: ChangeRef[]) =>
  [
    ...mirroredChanges.map((m) => ({
      slice: m.followers[0]!.slice,
      commit: m.followers[0]!.commit,
      mirroredChanges: 1,
      oneSidedChanges: 0,
      repeatedLines: m.repeatedLines,
    })),
    ...oneSidedChanges.map((c) => ({
      slice: c.slice,
      commit: c.commit,
      mirroredChanges: 0,
      oneSidedChanges: 1,
      repeatedLines: 0,
    })),
  ].sort((x, y) => x.slice! - y.slice!);
const history = (mirroredChanges: MirroredChange[], oneSidedChanges: ChangeRef[]): SeamHistory => ({
  occurrences: occurrences(mirroredChanges, oneSidedChanges),
  changes: mirroredChanges.length * 2 + oneSidedChanges.length,
  copyEvents: [],
  moves: [],
  mirroredChanges,
  oneSidedChanges,
  reverts: [],
  convergences: [],
  timeline: [],
});
const noSlices: SliceSummary = {
  requested: 'first-parent',
  mode: 'first-parent',
  reason: 'configured',
  oneOpenSlice: null,
  total: 0,
  recent: [],
};

describe('evaluateTriggers thresholds', () => {
  const config = resolveConfig({}, 'defaults');
  const run = (h: SeamHistory | null, n = 2, overrides = config) =>
    Object.fromEntries(
      evaluateTriggers({
        seam: 'wal',
        copies: copies(n),
        history: h,
        slices: noSlices,
        now: EPOCH + 100 * DAY,
        config: overrides,
      }).map((t) => [t.trigger, t]),
    );

  it('repeated_fix needs two mirrored changes by default', () => {
    expect(run(history([mirrored(1, 5)], [])).repeated_fix!.fired).toBe(false);
    expect(run(history([mirrored(1, 5), mirrored(2, 5)], [])).repeated_fix!.fired).toBe(true);
  });

  it('maintenance_cost fires on two one-sided changes, or 100 repeated lines', () => {
    expect(run(history([], [change('a', 1)])).maintenance_cost!.fired).toBe(false);
    expect(run(history([], [change('a', 1), change('b', 2)])).maintenance_cost!.fired).toBe(true);
    expect(run(history([mirrored(1, 99)], [])).maintenance_cost!.fired).toBe(false);
    expect(run(history([mirrored(1, 100)], [])).maintenance_cost!.fired).toBe(true);
  });

  it('maintenance_cost only counts changes inside its window (measured back from HEAD)', () => {
    const windowed = resolveConfig({ triggers: { maintenance_cost: { windowDays: 30 } } }, 'x');
    const old = history([], [change('a', 10), change('b', 20)]); // HEAD is day 100
    expect(run(old, 2, windowed).maintenance_cost!).toMatchObject({
      fired: false,
      observed: { oneSidedSlices: 0 },
    });
    const recent = history([], [change('a', 80), change('b', 90)]);
    expect(run(recent, 2, windowed).maintenance_cost!.fired).toBe(true);
  });

  it('third_engine counts copies, and reports an uncommitted third copy', () => {
    expect(run(null, 2).third_engine!.fired).toBe(false);
    const three = run(null, 3).third_engine!;
    expect(three.fired).toBe(true);
    expect(three.summary).toMatch(/not committed yet/);
    expect(three.evidence).toEqual([]);
  });

  it('history-based triggers do not fire without history', () => {
    const results = run(null);
    expect(results.repeated_fix!.fired).toBe(false);
    expect(results.maintenance_cost!.summary).toMatch(/no history/);
  });

  it('stable_across_slices needs enough slices', () => {
    const slices: SliceSummary = {
      ...noSlices,
      total: 2,
      recent: [
        { commit: commit(3), from: null, open: false, changedSeams: [] },
        { commit: commit(2), from: null, open: false, changedSeams: [] },
      ],
    };
    const [, stable] = evaluateTriggers({
      seam: 'wal',
      copies: copies(2),
      history: null,
      slices,
      now: null,
      config,
    });
    expect(stable).toMatchObject({
      fired: false,
      summary: 'only 2 slices changed engine code; 3 needed',
    });
  });
});
