import { describe, expect, it } from 'vitest';
import { compareCopies } from '../src/compare.js';
import { resolveConfig } from '../src/config.js';
import type { TriggerResult } from '../src/report.js';
import { prepareSource } from '../src/source.js';
import { decide, seamVerdict } from '../src/verdict.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const config = resolveConfig({ never: ['snapshot'] }, 'x');
const ts = (engine: string, text: string) => ({
  engine,
  source: prepareSource(text, 'typescript'),
});
const fired = (name: TriggerResult['trigger']): TriggerResult => ({
  trigger: name,
  applicable: true,
  fired: true,
  summary: '',
  observed: {},
  thresholds: {},
  evidence: [],
});
const quiet = (name: TriggerResult['trigger']): TriggerResult => ({ ...fired(name), fired: false });

const renamed = compareCopies(
  [ts('a', WAL_TS), ts('b', WAL_TS.replaceAll('bigint', 'number'))],
  0.8,
).comparison;
const behaviour = compareCopies(
  [
    ts('a', WAL_TS),
    ts(
      'b',
      WAL_TS.replace('offset < HEADER_BYTES', 'offset <= HEADER_BYTES').replace('= 12;', '= 8;'),
    ),
  ],
  0.8,
).comparison;

/** The seam copies a verdict sees, from a comparison of sources. */
function seamCopies(sources: { engine: string; text: string }[]) {
  const { comparison, copies } = compareCopies(
    sources.map(({ engine, text }) => ts(engine, text)),
    0.8,
  );
  return {
    comparison,
    copies: sources.map(({ engine, text }, i) => ({
      engine,
      path: `packages/${engine}/src/runtime/wal.ts`,
      language: 'typescript' as const,
      lines: text.split('\n').length - 1,
      tokens: 100,
      appeared: null,
      committed: true,
      ...copies[i]!,
    })),
  };
}

describe('seamVerdict', () => {
  it('keeps a seam local when no trigger fired', () => {
    expect(seamVerdict('wal', renamed, [quiet('repeated_fix')], config)).toMatchObject({
      verdict: 'keep_local',
    });
  });

  it('extracts when a trigger fired and the move is mechanical', () => {
    const verdict = seamVerdict('wal', renamed, [fired('third_engine')], config);
    expect(verdict.verdict).toBe('extract');
    expect(verdict.reasons.join(' ')).toMatch(
      /third_engine fired.*renamed.*type or constant parameters/,
    );
  });

  it('asks to reconcile first when the copies differ in behaviour, listing what differs', () => {
    const verdict = seamVerdict('wal', behaviour, [fired('repeated_fix')], config);
    expect(verdict.verdict).toBe('reconcile_first');
    expect(verdict.reconcile).toContain('decodeFrame differs (similarity 0.99)');
    expect(verdict.reconcile).toContain('literal in CHECKSUM_OFFSET: a: 12, b: 8');
  });

  it('takes the verdict from the main cluster and lists the outliers apart', () => {
    const { comparison, copies } = seamCopies([
      { engine: 'a', text: RETIRE_QUEUE_TS },
      { engine: 'b', text: WAL_TS },
      { engine: 'c', text: WAL_TS },
      { engine: 'd', text: WAL_TS },
    ]);
    expect(comparison.classification).toBe('identical');
    const verdict = seamVerdict(
      'wal',
      comparison,
      [fired('third_engine')],
      config,
      null,
      undefined,
      copies,
    );
    expect(verdict.verdict).toBe('extract');
    expect(verdict.reasons.at(-1)).toMatch(
      /^1 outlier outside the main cluster \(a 0\.\d+\): not part of the move; reconcile it first or keep it local$/,
    );
  });

  it('lists what to reconcile in the main cluster once, and not the outliers', () => {
    const lacks = WAL_TS.replace(/export function scan[\s\S]*$/, '');
    const { comparison, copies } = seamCopies([
      { engine: 'a', text: RETIRE_QUEUE_TS },
      { engine: 'b', text: lacks },
      { engine: 'c', text: lacks },
      { engine: 'd', text: WAL_TS },
      { engine: 'e', text: WAL_TS },
      { engine: 'f', text: WAL_TS },
    ]);
    const verdict = seamVerdict(
      'wal',
      comparison,
      [fired('repeated_fix')],
      config,
      null,
      undefined,
      copies,
    );
    expect(verdict.verdict).toBe('reconcile_first');
    expect(verdict.reconcile).toEqual(['scan is missing in 2 copies (b, c)']);
  });

  it('never extracts a seam on the never list, and says which triggers it ignores', () => {
    const verdict = seamVerdict('snapshot', renamed, [fired('maintenance_cost')], config);
    expect(verdict).toMatchObject({ verdict: 'never', reconcile: [] });
    expect(verdict.reasons[0]).toMatch(/although maintenance_cost fired/);
  });
});

describe('decide', () => {
  const seam = (
    name: string,
    verdict: 'extract' | 'reconcile_first' | 'keep_local' | 'never',
    tokens = 100,
  ) => ({
    name,
    verdict,
    classification: 'identical' as const,
    tokens,
  });

  it('says "Do not extract … yet" when nothing is ready, and orders by priority', () => {
    const decision = decide(
      [
        seam('wal', 'keep_local'),
        seam('fixed_map', 'keep_local'),
        seam('retire_queue', 'keep_local'),
      ],
      config,
      { engines: ['a', 'b'] },
    );
    expect(decision.extractNow).toBe(false);
    expect(decision.summary).toBe(
      'Do not extract a shared runtime yet: no extraction trigger has fired',
    );
    expect(decision.order).toEqual(['retire_queue', 'fixed_map', 'wal']);
  });

  it('says "Extract now" with the mechanical seams in order, then what to reconcile', () => {
    const decision = decide(
      [
        seam('wal', 'reconcile_first'),
        seam('zeta', 'extract', 10),
        seam('retire_queue', 'extract'),
        seam('snapshot', 'never'),
      ],
      config,
      { engines: ['a', 'b'] },
    );
    expect(decision.summary).toBe('Extract now: retire_queue, zeta (then reconcile wal)');
    expect(decision.order).toEqual(['retire_queue', 'wal', 'zeta']);
    expect(decision.extract).toEqual(['retire_queue', 'zeta']);
    expect(decision.reconcileFirst).toEqual(['wal']);
  });

  it('orders seams outside the priority list smallest first', () => {
    const decision = decide([seam('b', 'keep_local', 500), seam('a', 'keep_local', 50)], config, {
      engines: ['x', 'y'],
    });
    expect(decision.order).toEqual(['a', 'b']);
  });

  it('explains the absence of seams', () => {
    expect(decide([], config, { engines: ['allocdb-core'] }).summary).toBe(
      'Do not extract a shared runtime yet: only one engine (allocdb-core) has runtime copies, so there are no seams',
    );
    expect(decide([], config, { engines: [] }).summary).toMatch(/no engine has runtime copies/);
    expect(decide([], config, { engines: ['a', 'b'] }).summary).toMatch(/share no module/);
  });

  it('holds back when triggers fired only for seams that differ in behaviour', () => {
    expect(decide([seam('wal', 'reconcile_first')], config, { engines: ['a', 'b'] }).summary).toBe(
      'Do not extract a shared runtime yet: triggers fired for wal, but the copies differ in behaviour; reconcile them first',
    );
  });
});
