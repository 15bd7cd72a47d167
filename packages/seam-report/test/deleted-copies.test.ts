/**
 * A deleted copy does not link unrelated files (issue 23, item 5). A copy of `time.rs` made from
 * one engine and later deleted made the unrelated `time.rs` files of two other engines
 * `reconcile_first`, with a meaningless list of name differences. Seams are decided from the
 * copies that exist at HEAD; history only explains them. Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { DAY, TestRepo } from './support/git-repo.js';
import { FIXES } from './support/scenarios.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
function repo(): TestRepo {
  const created = TestRepo.create();
  repos.push(created);
  return created;
}
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

const time = (engine: string) => `packages/${engine}/src/runtime/time.ts`;
const fix = (text: string, name: keyof typeof FIXES) =>
  text.replace(FIXES[name][0], FIXES[name][1]);

describe('a copy made and later deleted', () => {
  it('does not make the unrelated files of other engines one seam to reconcile', async () => {
    const r = repo();
    r.commit('alpha: its time module', { [time('alpha')]: WAL_TS });
    r.advance(DAY);
    r.commit('beta: its own, unrelated time module', { [time('beta')]: RETIRE_QUEUE_TS });
    r.advance(DAY);
    r.commit('gamma: copy alpha', {
      [time('gamma')]: WAL_TS,
      'packages/gamma/src/runtime/other.ts': 'export const other = 1;\n',
    });
    // fixes made to alpha's and gamma's copies in two weeks: repeated_fix fires for the seam
    let text = WAL_TS;
    for (const name of ['bounds', 'freeze'] as const) {
      r.advance(8 * DAY);
      text = fix(text, name);
      r.commit(`alpha, gamma: ${name}`, { [time('alpha')]: text, [time('gamma')]: text });
    }
    r.advance(8 * DAY);
    r.remove(time('gamma'));
    r.commit('gamma: drop its time module');

    const report = await analyze({ root: r.root });
    const seam = report.seams.find((s) => s.name === 'time')!;
    expect(seam.copies.map((copy) => copy.engine)).toEqual(['alpha', 'beta']);
    expect(seam.comparison.classification).toBe('diverged');
    expect(seam.triggers.find((t) => t.trigger === 'repeated_fix')!.fired).toBe(true);
    // gamma's copy event (copied from alpha) explains a copy that no longer exists
    expect(seam.history!.copyEvents.map((e) => [e.engine, e.source, e.copied])).toEqual([
      ['alpha', null, false],
      ['beta', 'alpha', false],
      ['gamma', 'alpha', true],
    ]);
    expect(seam.verdict).toMatchObject({
      verdict: 'keep_local',
      decidedBy: 'name_only',
      reconcile: [],
    });
    expect(report.decision.reconcileFirst).toEqual([]);
  });

  it("still links two of today's copies made from a third that was deleted since", async () => {
    const r = repo();
    r.commit('origin: the time module', { [time('origin')]: WAL_TS });
    r.advance(DAY);
    r.commit('alpha, beta: copy origin', { [time('alpha')]: WAL_TS, [time('beta')]: WAL_TS });
    // beta is rewritten, alpha fixed: one-sided changes in two slices, and the copies diverge
    r.advance(8 * DAY);
    r.commit('beta: rewrite', {
      [time('beta')]: `${WAL_TS.slice(0, WAL_TS.indexOf('export function'))}${RETIRE_QUEUE_TS}`,
    });
    r.advance(8 * DAY);
    r.commit('alpha: bounds', { [time('alpha')]: fix(WAL_TS, 'bounds') });
    r.advance(8 * DAY);
    r.remove(time('origin'));
    r.commit('origin: drop it');
    const report = await analyze({ root: r.root });
    const seam = report.seams.find((s) => s.name === 'time')!;
    expect(seam.copies.map((copy) => copy.engine)).toEqual(['alpha', 'beta']);
    expect(seam.comparison.classification).toBe('diverged');
    // copies of one file (through the deleted origin), drifted apart: not a shared name only
    expect(seam.verdict.decidedBy).toBe('behaviour_differs');
  });

  it('files named alike around the canonical copy are not linked by two others copied from each other', async () => {
    // thirty-one unrelated utils.ts in a real monorepo, two of them made from one another: the
    // canonical copy was made from none, so there is nothing to reconcile with it
    const own = (tag: string) =>
      Array.from(
        { length: 12 },
        (_, i) =>
          `export function ${tag}${i}(x: number): number {\n  return x * ${i + 2} + ${tag.length};\n}\n`,
      ).join('');
    const r = repo();
    r.commit('alpha: its utils', {
      [time('alpha')]: 'export function clamp(x: number): number {\n  return Math.max(0, x);\n}\n',
    });
    r.advance(DAY);
    r.commit('beta: its own utils', { [time('beta')]: RETIRE_QUEUE_TS });
    r.advance(DAY);
    r.commit('gamma: its own utils', { [time('gamma')]: own('gamma') });
    r.advance(DAY);
    r.commit('delta: copy gamma', { [time('delta')]: own('gamma') });
    r.advance(8 * DAY);
    r.commit('delta: rewrite', { [time('delta')]: own('delta') });
    const report = await analyze({ root: r.root });
    const seam = report.seams.find((s) => s.name === 'time')!;
    expect(seam.comparison.classification).toBe('diverged');
    expect(seam.comparison.reference).toBe('alpha');
    expect(seam.history!.copyEvents.some((event) => event.copied)).toBe(true);
    expect(seam.verdict.decidedBy).toBe('name_only');
  });
});
