/**
 * Output size with many copies: markdown under a pull-request comment's limit with the summary
 * first and the details folded, text with every list capped, JSON growing with the number of
 * copies and not with its square.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze.js';
import { render } from '../../src/render/index.js';
import { MARKDOWN_LIMIT } from '../../src/render/markdown.js';
import type { SeamReport } from '../../src/report.js';
import { TestRepo } from '../support/git-repo.js';
import { manyCopies } from '../support/many-copies.js';

const SEAMS = 40;

/** `seams` seams, each with the thirty copies of `manyCopies()` (or the first `copies` of them). */
async function report(seams: number, copies = 30): Promise<SeamReport> {
  const repo = TestRepo.create();
  repos.push(repo);
  const files: Record<string, string> = {};
  const texts = [...manyCopies().texts].slice(0, copies);
  for (let s = 0; s < seams; s++) {
    for (const [engine, text] of texts) {
      // each seam its own names, so that no two seams' details are alike
      files[`packages/${engine}/src/runtime/module-${s}.ts`] = text.replaceAll(
        'Frame',
        `Frame${s}`,
      );
    }
  }
  repo.commit('many seams', files);
  return analyze({ root: repo.root, history: false });
}

const repos: TestRepo[] = [];
let big: SeamReport;
beforeAll(async () => {
  big = await report(SEAMS);
});
afterAll(() => {
  for (const repo of repos) repo.dispose();
});

describe('markdown with many seams and copies', () => {
  it(`stays under ${MARKDOWN_LIMIT} characters, summary first, details folded`, () => {
    const md = render(big, 'markdown');
    expect(md.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(md.split('\n')[0]).toMatch(/^## Seam report: /);
    // every seam is in the summary table
    expect(md.match(/^\| `module_\d+` \| 30 \| similar \|/gm)).toHaveLength(SEAMS);
    expect(md.indexOf('<details>')).toBeGreaterThan(md.lastIndexOf('| `module_'));
    expect(md.split('<details>').length).toBe(md.split('</details>').length);
    expect(md.split('```').length % 2).toBe(1);
    expect(md).toMatch(
      /> the details of \d+ seams are cut to their clusters, outliers and first reconcile items to keep this report under 60,000 characters/,
    );
  });
});

describe('text with many copies', () => {
  it('caps every list: a seam of thirty copies takes a bounded number of lines', () => {
    const text = render(big, 'text');
    const lines = text.split('\n').length;
    expect(lines / SEAMS).toBeLessThan(90);
    expect(text).toContain('  … and 16 more identical (e-06, e-07, e-08, e-09, e-10 and 11 more)');
  });
});

describe('JSON with many copies', () => {
  it('grows with the number of copies, not with its square', async () => {
    const half = render(await report(4, 15), 'json').length;
    const full = render(await report(4, 30), 'json').length;
    expect(full / half).toBeLessThan(2.5);
    const allPairs = await analyze({ root: repos.at(-1)!.root, history: false, pairs: 'all' });
    expect(allPairs.seams[0]!.comparison.pairs).toHaveLength(435);
  });
});
