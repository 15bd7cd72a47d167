/**
 * Slices follow the repository's merge style (issue 11): on a history that moved from merge
 * commits to squash merges, slicing by merges alone took 2021's merges as the recent slices
 * although the copies changed in 2026. Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { render } from '../src/render/index.js';
import type { SeamReport } from '../src/report.js';
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

const stable = (report: SeamReport, seam: string) =>
  report.seams
    .find((result) => result.name === seam)!
    .triggers.find((trigger) => trigger.trigger === 'stable_across_slices')!;

function twoEngines(r: TestRepo): void {
  r.commit('two engines', {
    'packages/alpha/src/runtime/wal.ts': WAL_TS,
    'packages/beta/src/runtime/wal.ts': WAL_TS,
    'packages/alpha/src/runtime/fixed-map.ts': RETIRE_QUEUE_TS,
    'packages/beta/src/runtime/fixed-map.ts': RETIRE_QUEUE_TS,
  });
}

describe('a history that moved from merge commits to squash merges', () => {
  function history(r: TestRepo): void {
    twoEngines(r);
    // the merge-commit years: four pull requests merged with merge commits, none touching wal
    for (let pr = 1; pr <= 4; pr++) {
      r.advance(30 * DAY);
      r.git('checkout', '-q', '-b', `feature-${pr}`);
      r.commit(`domain work ${pr}`, {
        [`packages/alpha/src/domain-${pr}.ts`]: `export const n = ${pr};\n`,
      });
      r.git('checkout', '-q', 'main');
      r.git(
        'merge',
        '-q',
        '--no-ff',
        '-m',
        `Merge pull request #${pr} from feature-${pr}`,
        `feature-${pr}`,
      );
    }
    // years later, squash merges: one pull request is one commit naming its number
    r.advance(5 * 365 * DAY);
    r.commit('Fix negative offsets in both engines (#40)', {
      'packages/alpha/src/runtime/wal.ts': WAL_TS.replace(FIXES.bounds[0], FIXES.bounds[1]),
      'packages/beta/src/runtime/wal.ts': WAL_TS.replace(FIXES.bounds[0], FIXES.bounds[1]),
    });
    r.advance(7 * DAY);
    r.commit('Quota domain tweak (#41)', {
      'packages/beta/src/domain.ts': 'export const q = 1;\n',
    });
    r.advance(7 * DAY);
    r.commit('Alloc domain tweak (#42)', {
      'packages/alpha/src/domain.ts': 'export const a = 1;\n',
    });
  }

  it('slices by pull request throughout, so the recent slices are the squash merges', async () => {
    const r = repo();
    history(r);
    const report = await analyze({ root: r.root });
    expect(report.history!.slices).toMatchObject({ requested: 'auto', mode: 'pull-requests' });
    expect(report.history!.slices.reason).toMatch(
      /7 of the last 8 first-parent commits are merges or name a pull request/,
    );
    expect(report.history!.slices.recent.map((slice) => slice.commit.subject)).toEqual([
      'Alloc domain tweak (#42)',
      'Quota domain tweak (#41)',
      'Fix negative offsets in both engines (#40)',
    ]);
    // the copies changed in the squash era: wal is not stable; fixed_map is
    expect(stable(report, 'wal')).toMatchObject({
      fired: false,
      observed: { slicesChangingSeam: 1 },
    });
    expect(stable(report, 'fixed_map').fired).toBe(true);
    expect(render(report, 'text')).toContain('slices: auto: 7 of the last 8 first-parent commits');
  });
});

describe('time windows', () => {
  it('auto slices a history without merges, pull requests or tags into weeks, and says so', async () => {
    const r = repo();
    twoEngines(r); // Monday 2024-01-01
    r.advance(2 * DAY);
    r.commit('alpha: domain', { 'packages/alpha/src/domain.ts': 'export const a = 1;\n' });
    r.advance(7 * DAY);
    r.commit('wal fix in both', {
      'packages/alpha/src/runtime/wal.ts': WAL_TS.replace(FIXES.bounds[0], FIXES.bounds[1]),
      'packages/beta/src/runtime/wal.ts': WAL_TS.replace(FIXES.bounds[0], FIXES.bounds[1]),
    });
    r.advance(HOURS(2));
    r.commit('beta: domain', { 'packages/beta/src/domain.ts': 'export const b = 1;\n' });
    const report = await analyze({ root: r.root });
    const slices = report.history!.slices;
    expect([slices.requested, slices.mode, slices.total]).toEqual(['auto', 'time', 2]);
    expect(slices.reason).toMatch(/7-day windows/);
    expect(
      slices.recent.map((slice) => [slice.commit.subject, slice.open, slice.changedSeams]),
    ).toEqual([
      ['beta: domain', true, ['wal']],
      ['alpha: domain', false, ['fixed_map', 'wal']],
    ]);
    const daily = await analyze({ root: r.root, config: { slices: { by: 'time', days: 1 } } });
    expect(daily.history!.slices.total).toBe(3);
  });

  it('a tag pattern that matches nothing leaves one open slice, and the report says why', async () => {
    const r = repo();
    twoEngines(r);
    r.commit('alpha: domain', { 'packages/alpha/src/domain.ts': 'export const a = 1;\n' });
    const report = await analyze({
      root: r.root,
      config: { slices: { by: 'tags', pattern: '*@*' } },
    });
    expect(report.history!.slices.reason).toMatch(
      /no such tag: the whole history is one open slice/,
    );
    expect(report.history!.slices.recent.map((slice) => slice.open)).toEqual([true]);
  });
});

function HOURS(n: number): number {
  return n * 3600;
}
