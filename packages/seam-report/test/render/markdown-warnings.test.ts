/**
 * Configuration warnings in the markdown report (issue 23, item 12): they came last, after every
 * seam's details, and named the configuration file by its absolute path (the CI runner's
 * checkout). They come first now, right under the verdict, with the path relative to the
 * repository. A generated repository with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze.js';
import { render } from '../../src/render/index.js';
import { TestRepo } from '../support/git-repo.js';
import { WAL_TS } from '../support/sources.js';

const repos: TestRepo[] = [];
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

describe('configuration warnings in markdown', () => {
  it('come right after the verdict, naming the configuration file relative to the repository', async () => {
    const r = TestRepo.create();
    repos.push(r);
    r.commit('two engines', {
      'seam-report.config.json': JSON.stringify({ never: ['snapshots'] }),
      'packages/a/src/runtime/wal.ts': WAL_TS,
      'packages/b/src/runtime/wal.ts': WAL_TS,
    });
    const report = await analyze({ root: r.root });
    expect(report.warnings).toEqual([
      'never entry "snapshots" matches no module in seam-report.config.json',
    ]);
    const md = render(report, 'markdown');
    const lines = md.split('\n');
    expect(lines[0]).toMatch(/^## Seam report: /);
    expect(lines.slice(1, 4)).toEqual([
      '',
      '> ⚠️ Configuration warning: never entry "snapshots" matches no module in seam-report.config.json',
      '',
    ]);
    // the warning is not repeated at the end, and the runner's checkout path appears nowhere
    expect(md.split('matches no module').length).toBe(2);
    expect(md).not.toContain(r.root);
  });
});
