/**
 * No verdict from size zero (issue 11): an 8-line file with no change since 2023 was told
 * "Extract now" from third_engine alone. The verdict weighs what extraction would save: the
 * duplicated lines and the churn. Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import type { SeamReport, SeamResult } from '../src/report.js';
import { DAY, TestRepo } from './support/git-repo.js';
import { WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
function repo(): TestRepo {
  const created = TestRepo.create();
  repos.push(created);
  return created;
}
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

const TINY = `export const KIB = 1024;
export const MIB = 1024 * KIB;

export function pages(bytes: number): number {
  return Math.ceil(bytes / (4 * KIB));
}

export const PAGE = 4 * KIB;
`;

const seamOf = (report: SeamReport, name: string): SeamResult =>
  report.seams.find((seam) => seam.name === name)!;

function threeEngines(r: TestRepo, sizes: string, wal = WAL_TS): void {
  const files: Record<string, string> = {};
  for (const engine of ['a', 'b', 'c']) {
    files[`packages/${engine}/src/runtime/sizes.ts`] = sizes;
    files[`packages/${engine}/src/runtime/wal.ts`] = wal;
  }
  r.commit('three engines', files);
}

describe('what extraction would save', () => {
  it('an 8-line file nobody changed for a year is not worth extracting, though third_engine fired', async () => {
    const r = repo();
    threeEngines(r, TINY);
    r.advance(500 * DAY);
    r.commit('domain work', { 'packages/a/src/domain.ts': 'export const x = 1;\n' });
    const report = await analyze({ root: r.root });
    const sizes = seamOf(report, 'sizes');
    expect(sizes.triggers.find((t) => t.trigger === 'third_engine')!.fired).toBe(true);
    expect(sizes.verdict.verdict).toBe('keep_local');
    expect(sizes.verdict.reasons).toEqual([
      'third_engine fired',
      'but extraction would save little: 3 copies with 16 duplicated lines (50 make it worth it) and no change in the last 365 days (2 slices with changes make it worth it)',
    ]);
    expect(sizes.savings).toEqual({
      duplicatedLines: 16,
      sharedLines: 6,
      changedSlices: 0,
      worthIt: false,
    });
    // a module's worth of code is worth extracting on the same trigger
    expect(seamOf(report, 'wal').verdict.verdict).toBe('extract');
    expect(report.decision.extract).toEqual(['wal']);
  });

  it('a small file that keeps changing in every copy is worth extracting', async () => {
    const r = repo();
    threeEngines(r, TINY);
    let text = TINY;
    // two changes to every copy, weeks apart: two units of work within the last year
    for (const [weeksLater, page] of [
      [30, 8],
      [10, 16],
    ] as const) {
      r.advance(weeksLater * 7 * DAY);
      text = text.replace(/PAGE = \d+ \* KIB/, `PAGE = ${page} * KIB`);
      const files: Record<string, string> = {};
      for (const engine of ['a', 'b', 'c']) files[`packages/${engine}/src/runtime/sizes.ts`] = text;
      r.commit(`all engines: page size ${page} KiB`, files);
    }
    const sizes = seamOf(await analyze({ root: r.root }), 'sizes');
    expect(sizes.savings).toMatchObject({ changedSlices: 2, worthIt: true });
    expect(sizes.verdict.verdict).toBe('extract');
  });

  it('has configurable limits', async () => {
    const r = repo();
    threeEngines(r, TINY);
    const report = await analyze({
      root: r.root,
      config: { savings: { minDuplicatedLines: 10 } },
    });
    expect(seamOf(report, 'sizes').verdict.verdict).toBe('extract');
  });
});

describe('files that share a name but not code', () => {
  it('are not told to reconcile: none was ever copied from another', async () => {
    const r = repo();
    const alphaUtils = WAL_TS;
    const betaUtils = TINY.repeat(4).replaceAll('KIB', 'UNIT');
    r.commit('alpha', { 'packages/alpha/src/runtime/utils.ts': alphaUtils });
    r.commit('beta', { 'packages/beta/src/runtime/utils.ts': betaUtils });
    for (let i = 1; i <= 3; i++) {
      r.advance(30 * DAY);
      r.commit(`alpha: utils ${i}`, {
        'packages/alpha/src/runtime/utils.ts': `${alphaUtils}export const A${i} = ${i};\n`,
      });
    }
    const utils = seamOf(await analyze({ root: r.root }), 'utils');
    expect(utils.comparison.classification).toBe('diverged');
    expect(utils.triggers.find((t) => t.trigger === 'maintenance_cost')!.fired).toBe(true);
    expect(utils.verdict.verdict).toBe('keep_local');
    expect(utils.verdict.reasons[1]).toMatch(/^but these files share a name, not code/);
  });
});
