/**
 * Flattened directory trees (issue 23, item 7). One commit moves several identical copies at once
 * (`crates/tools/x/src/fmt.rs → crates/tools-x/src/fmt.rs`, …): the old paths are not watched (the
 * engines are `crates/*` now), git may pair identical files arbitrarily, and the report said the
 * copies were "copied from" another engine in a commit that only moved files, losing their
 * history. A move from a flattened path is followed (the engine's name is the old directories
 * joined), identical files are paired by the same path tail, and a pure move is never a copy.
 * Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { namesEngine, pairByPathTail } from '../src/history.js';
import { DAY, TestRepo } from './support/git-repo.js';
import { WAL_RS } from './support/sources.js';

const repos: TestRepo[] = [];
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

const TOOLS = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta'];
const CONFIG = { engines: ['crates/*'], seamPaths: ['src/<seam>.rs'] };

describe('a commit that flattens a directory tree', () => {
  it('moves each copy to its own new place, keeping its history; nothing is copied', async () => {
    const r = TestRepo.create();
    repos.push(r);
    r.commit('core: the fmt module', {
      'seam-report.config.json': JSON.stringify(CONFIG),
      'crates/core/src/fmt.rs': WAL_RS,
    });
    r.advance(30 * DAY);
    const copied = r.commit(
      'tools: copy core',
      Object.fromEntries(TOOLS.map((tool) => [`crates/tools/${tool}/src/fmt.rs`, WAL_RS])),
    );
    // years of work on the tools' copies, in step
    let text = WAL_RS;
    for (let year = 0; year < 3; year++) {
      r.advance(365 * DAY);
      text = text
        .replace('pub const', `/// year ${year}\npub const`)
        .replace(/16|17|18/, `${17 + year}`);
      r.commit(
        `tools: year ${year}`,
        Object.fromEntries(TOOLS.map((tool) => [`crates/tools/${tool}/src/fmt.rs`, text])),
      );
    }
    r.advance(DAY);
    for (const tool of TOOLS) r.git('mv', `crates/tools/${tool}`, `crates/tools-${tool}`);
    const flatten = r.commit('flatten the tools');

    const report = await analyze({ root: r.root });
    const fmt = report.seams.find((seam) => seam.name === 'fmt')!;
    expect(fmt.copies.map((copy) => copy.engine)).toEqual([
      'core',
      ...TOOLS.map((tool) => `tools-${tool}`).sort(),
    ]);
    const history = fmt.history!;
    // no copy appeared in the commit that only moved files
    expect(history.copyEvents.filter((event) => event.commit.hash === flatten)).toEqual([]);
    // each copy keeps its history: it appeared when the tools copied core
    for (const copy of fmt.copies.filter((c) => c.engine !== 'core'))
      expect(copy.appeared?.hash, copy.engine).toBe(copied);
    // each copy moved to the place with its own name
    const moves = history.moves.filter((move) => move.commit.hash === flatten);
    expect(moves.map((move) => [move.from, move.to]).sort()).toEqual(
      TOOLS.map((tool) => [
        `crates/tools/${tool}/src/fmt.rs`,
        `crates/tools-${tool}/src/fmt.rs`,
      ]).sort(),
    );
    // the years of lockstep changes are the tools' own history
    expect(history.mirroredChanges.length).toBeGreaterThanOrEqual(3);
  });

  it('pairs identical files moved at once by their path tail, whatever git paired', () => {
    const oid = 'a'.repeat(40);
    const move = (from: string, to: string) => ({
      status: 'R',
      oldOid: oid,
      newOid: oid,
      oldPath: `crates/tools/${from}/src/fmt.rs`,
      path: `crates/tools-${to}/src/fmt.rs`,
    });
    // git's pairing: x → tools-y, y → tools-z, z → tools-x
    const paired = pairByPathTail([move('x', 'y'), move('y', 'z'), move('z', 'x')]);
    expect(paired.map((change) => [change.oldPath, change.path])).toEqual([
      ['crates/tools/y/src/fmt.rs', 'crates/tools-y/src/fmt.rs'],
      ['crates/tools/z/src/fmt.rs', 'crates/tools-z/src/fmt.rs'],
      ['crates/tools/x/src/fmt.rs', 'crates/tools-x/src/fmt.rs'],
    ]);
    // a file whose content changed is git's pairing to keep
    const edited = { ...move('x', 'y'), newOid: 'b'.repeat(40) };
    expect(pairByPathTail([edited])).toEqual([edited]);
  });

  it("reads a flattened directory as the engine's old place", () => {
    expect(namesEngine('crates/tools/x/src/fmt.rs', 'tools-x')).toBe(true);
    expect(namesEngine('crates/tools/x/src/fmt.rs', 'tools_x')).toBe(true);
    expect(namesEngine('engines/alloc/src/wal.ts', 'alloc')).toBe(true);
    expect(namesEngine('crates/tools/x/src/fmt.rs', 'tools-y')).toBe(false);
  });
});
