/**
 * A history that is one open slice says so in the decision line (issue 24, item 9). A repository
 * sliced by release tags that has none is one open slice: fixes made to both copies are changes
 * made while the copies were written, and no history trigger can fire; the line said only "no
 * extraction trigger has fired", as if the history had been weighed. Generated repositories with
 * fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { render } from '../src/render/index.js';
import { DAY, TestRepo } from './support/git-repo.js';
import { FIXES } from './support/scenarios.js';
import { WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

const wal = (engine: string) => `packages/${engine}/src/runtime/wal.ts`;

/** Two engines; a helper branch fixes both copies, merged; a direct fix to both on main. */
function history(): TestRepo {
  const r = TestRepo.create();
  repos.push(r);
  r.commit('two engines', { [wal('alpha')]: WAL_TS, [wal('beta')]: WAL_TS });
  let text = WAL_TS;
  r.advance(DAY);
  r.git('checkout', '-q', '-b', 'helper');
  text = text.replace(...(FIXES.bounds as unknown as [string, string]));
  r.commit('both: bounds', { [wal('alpha')]: text, [wal('beta')]: text });
  r.git('checkout', '-q', 'main');
  r.advance(DAY);
  r.git('merge', '-q', '--no-ff', '-m', "Merge branch 'helper'", 'helper');
  r.advance(DAY);
  text = text.replace(...(FIXES.freeze as unknown as [string, string]));
  r.commit('both: freeze', { [wal('alpha')]: text, [wal('beta')]: text });
  return r;
}

describe('a history that is one open slice', () => {
  it('says so in the decision line, with why', async () => {
    const r = history();
    const report = await analyze({
      root: r.root,
      config: { slices: { by: 'tags', pattern: '*@*' } },
    });
    expect(report.history!.slices.oneOpenSlice).toBe('no tag matches *@*');
    expect(report.decision.summary).toBe(
      'Do not extract a shared runtime yet: no extraction trigger has fired (the whole history is one open slice: no tag matches *@*; a fix made to several copies in it is part of writing them, so no history trigger can fire)',
    );
    expect(render(report, 'markdown').split('\n')[0]).toContain('one open slice');
  });

  it('sliced as the history is made (merges and first-parent commits), the fixes count', async () => {
    const r = history();
    const report = await analyze({ root: r.root, config: { slices: { by: 'first-parent' } } });
    expect(report.history!.slices.oneOpenSlice).toBeNull();
    expect(report.decision.summary).not.toContain('open slice');
    const seam = report.seams[0]!;
    expect(seam.triggers.find((t) => t.trigger === 'repeated_fix')!.fired).toBe(true);
  });
});
