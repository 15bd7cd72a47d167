/**
 * The triggers mean what the decision record means (issue 11): "the same fix lands in both
 * copies more than once" is more than one unit of work. The churn of the day a copy was written
 * (lockstep edits within 75 minutes of the copy appearing) fired repeated_fix and
 * maintenance_cost; lockstep edits in one pull request counted as several occurrences; a sync
 * commit counted once per copy; re-editing the same lines in one slice counted them again.
 * Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import type { SeamReport, SeamResult } from '../src/report.js';
import { DAY, HOUR, TestRepo } from './support/git-repo.js';
import { EngineRepo, FIXES, walPath } from './support/scenarios.js';
import { WAL_TS } from './support/sources.js';

const repos: { dispose(): void }[] = [];
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

const wal = (report: SeamReport): SeamResult => report.seams.find((seam) => seam.name === 'wal')!;
const trigger = (seam: SeamResult, name: string) =>
  seam.triggers.find((result) => result.trigger === name)!;

/** A function of `lines` statements, `version` making every statement different. */
function block(name: string, lines: number, version: number): string {
  const body = Array.from(
    { length: lines },
    (_, i) => `  state.slot${i} = (state.slot${i} ?? 0) + ${version * 1000 + i};`,
  );
  return `export function ${name}(state: Record<string, number>): void {\n${body.join('\n')}\n}\n`;
}

describe('the day a copy is written', () => {
  it('its lockstep edits are the copy being finished, not repeated fixes', async () => {
    const e = new EngineRepo();
    repos.push(e);
    e.set(walPath('alloc'), WAL_TS).commit('alloc engine');
    e.at(20);
    e.set(walPath('alloc'), `${WAL_TS}${block('tune', 30, 1)}`).commit('alloc: tune');
    e.at(30);
    e.set(walPath('quota'), e.text(walPath('alloc'))).commit(
      'quota engine on a copy of the runtime',
    );
    // three lockstep edits to both copies, 10, 40 and 75 minutes after the copy appeared
    for (const [gap, version] of [
      [10, 2],
      [30, 3],
      [35, 4],
    ] as const) {
      e.repo.advance(gap * 60 - HOUR); // each commit has moved the clock an hour on
      const text = `${WAL_TS}${block('tune', 30, version)}`;
      e.set(walPath('alloc'), text)
        .set(walPath('quota'), text)
        .commit(`both engines: tune v${version}`);
    }
    const seam = wal(await analyze({ root: e.repo.root }));
    expect(trigger(seam, 'repeated_fix').fired).toBe(false);
    expect(trigger(seam, 'maintenance_cost').fired).toBe(false);
    const dates = seam.history!.mirroredChanges.map((m) => m.origin.commit.date.slice(11, 16));
    expect(dates).toEqual(['00:10', '00:40', '01:15']);
    expect(
      seam.history!.mirroredChanges.map((m) => [m.kind, m.followers[0]!.whileCopying]),
    ).toEqual([
      ['same_commit', true],
      ['same_commit', true],
      ['same_commit', true],
    ]);
    expect(trigger(seam, 'repeated_fix')).toMatchObject({
      fired: false,
      observed: { slices: 0, mirroredChanges: 0, whileCopying: 3 },
    });
    expect(trigger(seam, 'repeated_fix').summary).toMatch(
      /3 more made while a copy was being written, not counted/,
    );
    expect(trigger(seam, 'maintenance_cost')).toMatchObject({
      fired: false,
      observed: { multiCopySlices: 0, oneSidedSlices: 0, repeatedLines: 0 },
    });
  });
});

describe('mirrored changes count per slice', () => {
  /** Two engines made long ago, then pull requests merged with merge commits. */
  function pullRequests(prs: (keyof typeof FIXES)[][]): TestRepo {
    const r = TestRepo.create();
    repos.push(r);
    r.commit('two engines', {
      'packages/alpha/src/runtime/wal.ts': WAL_TS,
      'packages/beta/src/runtime/wal.ts': WAL_TS,
    });
    let text = WAL_TS;
    prs.forEach((fixes, i) => {
      r.advance(30 * DAY);
      r.git('checkout', '-q', '-b', `pr-${i}`);
      if (fixes.length === 0)
        r.commit('domain work', { [`packages/alpha/src/domain-${i}.ts`]: 'export {};\n' });
      for (const fix of fixes) {
        text = text.replace(FIXES[fix][0], FIXES[fix][1]);
        r.commit(`both: ${fix}`, {
          'packages/alpha/src/runtime/wal.ts': text,
          'packages/beta/src/runtime/wal.ts': text,
        });
      }
      r.git('checkout', '-q', 'main');
      r.git('merge', '-q', '--no-ff', '-m', `Merge pull request #${i + 1}`, `pr-${i}`);
    });
    return r;
  }

  it('two lockstep fixes in one pull request are one occurrence, both listed as evidence', async () => {
    const r = pullRequests([[], ['bounds', 'freeze']]);
    const report = await analyze({ root: r.root });
    expect(report.history!.slices.mode).toBe('pull-requests');
    const result = trigger(wal(report), 'repeated_fix');
    expect(result).toMatchObject({
      fired: false,
      observed: { slices: 1, mirroredChanges: 2 },
    });
    expect(result.evidence.map((commit) => commit.subject)).toEqual([
      'both: bounds',
      'both: freeze',
    ]);
    expect(
      wal(report).history!.occurrences.map((o) => [o.mirroredChanges, o.commit.subject]),
    ).toEqual([[2, 'both: freeze']]);
  });

  it('fires when a second unit of work repeats a fix', async () => {
    const r = pullRequests([[], ['bounds', 'freeze'], ['magicError']]);
    const result = trigger(wal(await analyze({ root: r.root })), 'repeated_fix');
    expect(result).toMatchObject({ fired: true, observed: { slices: 2, mirroredChanges: 3 } });
  });

  it('counts a sync commit carrying three earlier fixes once', async () => {
    const e = new EngineRepo();
    repos.push(e);
    e.repo.write({ 'seam-report.config.json': JSON.stringify({ slices: { by: 'first-parent' } }) });
    for (const name of ['alpha', 'beta', 'gamma']) e.set(walPath(name), WAL_TS);
    e.commit('three engines');
    e.at(1);
    e.fix('bounds', 'alpha').commit('alpha: bounds');
    e.at(2);
    e.fix('freeze', 'beta').commit('beta: freeze');
    e.at(3);
    e.fix('magicError', 'gamma').commit('gamma: RangeError');
    e.at(10);
    const synced = ['bounds', 'freeze', 'magicError'].reduce(
      (text, fix) => text.replace(FIXES[fix as 'bounds'][0], FIXES[fix as 'bounds'][1]),
      WAL_TS,
    );
    for (const name of ['alpha', 'beta', 'gamma']) e.set(walPath(name), synced);
    e.commit('sync all copies');
    const seam = wal(await analyze({ root: e.repo.root }));
    expect(seam.history!.mirroredChanges).toHaveLength(3);
    expect(trigger(seam, 'repeated_fix')).toMatchObject({ fired: false, observed: { slices: 1 } });
    expect(trigger(seam, 'maintenance_cost')).toMatchObject({
      fired: false,
      observed: { multiCopySlices: 1, oneSidedSlices: 0 },
    });
  });
});

describe('repeated lines count per slice', () => {
  it('re-editing the same lines of both copies in one slice counts them once', async () => {
    const e = new EngineRepo();
    repos.push(e);
    e.repo.write({
      'seam-report.config.json': JSON.stringify({ slices: { by: 'time', days: 7 } }),
    });
    const start = `${WAL_TS}${block('tune', 30, 1)}`;
    e.set(walPath('alpha'), start).set(walPath('beta'), start).commit('two engines'); // week 1
    e.at(14); // two weeks later, one week of work rewriting the same 30 lines three times
    for (const version of [2, 3, 4]) {
      const text = `${WAL_TS}${block('tune', 30, version)}`;
      e.set(walPath('alpha'), text).set(walPath('beta'), text).commit(`both: tune v${version}`);
    }
    const seam = wal(await analyze({ root: e.repo.root }));
    // each commit repeats 60 lines in beta (30 removed, 30 added): 180 as commits; 60 as a week
    expect(seam.history!.mirroredChanges.map((m) => m.repeatedLines)).toEqual([60, 60, 60]);
    expect(seam.history!.occurrences.map((o) => o.repeatedLines)).toEqual([60]);
    expect(trigger(seam, 'maintenance_cost')).toMatchObject({
      fired: false,
      observed: { multiCopySlices: 1, repeatedLines: 60 },
    });
    expect(trigger(seam, 'repeated_fix').fired).toBe(false);
  });
});
