/**
 * Comparison details (issue 11): literal and name differences after an inserted block, and what
 * a copy says about its commit when history is not read. Generated repositories, fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { render } from '../src/render/index.js';
import { TestRepo } from './support/git-repo.js';
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

const CHECK_RS = `pub fn check(v: u32) -> u32 {
    assert_eq!(v % 2, 0, "odd value");
    if v > 100 {
        panic!("too big: {}", v);
    }
    v / 2
}

pub fn scale(v: u32) -> u32 {
    assert!(v < 1000);
    v * 3
}
`;

describe('literal and name differences', () => {
  it('treat a block only one copy has as an insertion, not as renamed names and literals', async () => {
    const r = repo();
    const withMacro = CHECK_RS.replace(
      '    assert_eq!',
      '    debug_assert!(v != 7, "seven");\n    assert_eq!',
    );
    r.commit('two crates', {
      'crates/a/src/check.rs': CHECK_RS,
      'crates/b/src/check.rs': withMacro,
    });
    const [seam] = (await analyze({ root: r.root })).seams;
    expect(seam!.comparison.classification).toBe('similar');
    expect(seam!.comparison.nameDifferences).toEqual([]);
    expect(seam!.comparison.literalDifferences).toEqual([]);
  });

  it('still pairs the literals and names that differ in place, around the inserted block', async () => {
    const r = repo();
    const other = CHECK_RS.replace(
      '    assert_eq!',
      '    debug_assert!(v != 7, "seven");\n    assert_eq!',
    )
      .replace('v > 100', 'v > 250')
      .replace('v * 3', 'w * 3')
      .replace('scale(v: u32)', 'scale(w: u32)')
      .replace('assert!(v < 1000)', 'assert!(w < 1000)');
    r.commit('two crates', { 'crates/a/src/check.rs': CHECK_RS, 'crates/b/src/check.rs': other });
    const [seam] = (await analyze({ root: r.root })).seams;
    expect(seam!.comparison.literalDifferences).toEqual([
      {
        declaration: 'check',
        values: [
          { engine: 'a', text: '100', line: 3 },
          { engine: 'b', text: '250', line: 4 },
        ],
      },
    ]);
    expect(seam!.comparison.nameDifferences).toEqual([
      { reference: 'v', renamed: [{ engine: 'b', name: 'w' }], occurrences: 3 },
    ]);
  });
});

describe('without history', () => {
  it('does not call committed copies "not committed"', async () => {
    const r = repo();
    r.commit('two engines', {
      'packages/a/src/runtime/wal.ts': WAL_TS,
      'packages/b/src/runtime/wal.ts': WAL_TS,
    });
    r.write({ 'packages/c/src/runtime/wal.ts': WAL_TS }); // not committed
    const report = await analyze({ root: r.root, history: false });
    expect(report.seams[0]!.copies.map((copy) => [copy.engine, copy.committed])).toEqual([
      ['a', true],
      ['b', true],
      ['c', false],
    ]);
    const text = render(report, 'text');
    expect(text).toContain(
      'packages/a/src/runtime/wal.ts (43 lines, 353 tokens; canonical), committed (history not read)',
    );
    expect(text).toContain(
      'packages/c/src/runtime/wal.ts (43 lines, 353 tokens; identical), not committed',
    );
    expect(render(report, 'markdown')).not.toMatch(/`a`: .*not committed/);
  });
});
