import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { render } from '../src/render/index.js';
import { TestRepo } from './support/git-repo.js';
import { RETIRE_QUEUE_TS, rustTests, WAL_RS, WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
function repo(): TestRepo {
  const created = TestRepo.create();
  repos.push(created);
  return created;
}
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

/** For each classification, a seam whose beta copy differs from alpha's in exactly that way. */
const CLASSIFIED: Record<string, [string, string]> = {
  identical: [WAL_TS, WAL_TS],
  equivalent: [
    WAL_TS,
    WAL_TS.replace('/** Frame header: magic, version, length, checksum. */\n', ''),
  ],
  renamed: [WAL_TS, WAL_TS.replaceAll('bigint', 'number')],
  similar: [
    WAL_TS,
    WAL_TS.replace(
      'offset += HEADER_BYTES',
      'if (offset > 1 << 30) break;\n    offset += HEADER_BYTES',
    ),
  ],
  diverged: [WAL_TS, RETIRE_QUEUE_TS],
};

describe('analyze (TypeScript layout)', () => {
  it('classifies each seam of two engines', async () => {
    const r = repo();
    const files: Record<string, string> = {};
    for (const [name, [alpha, beta]] of Object.entries(CLASSIFIED)) {
      files[`packages/alpha/src/runtime/${name}-seam.ts`] = alpha;
      files[`packages/beta/src/runtime/${name}-seam.ts`] = beta;
    }
    r.commit('two engines', files);
    const report = await analyze({ root: r.root });
    expect(report.seams.map((seam) => [seam.name, seam.comparison.classification])).toEqual([
      ['diverged_seam', 'diverged'],
      ['equivalent_seam', 'equivalent'],
      ['identical_seam', 'identical'],
      ['renamed_seam', 'renamed'],
      ['similar_seam', 'similar'],
    ]);
    expect(report.engines.map((e) => [e.name, e.path])).toEqual([
      ['alpha', 'packages/alpha'],
      ['beta', 'packages/beta'],
    ]);
    expect(report.seams[0]!.copies.map((c) => c.path)).toEqual([
      'packages/alpha/src/runtime/diverged-seam.ts',
      'packages/beta/src/runtime/diverged-seam.ts',
    ]);
    expect(report.decision.summary).toBe(
      'Do not extract a shared runtime yet: no extraction trigger has fired (the whole history is one open slice: every commit in one 7-day window; a fix made to several copies in it is part of writing them, so no history trigger can fire)',
    );
    expect(report.repository.branch).toBe('main');
    expect(report.notes).toEqual([]);
  });

  it('reads the working tree: untracked copies count, deleted ones do not', async () => {
    const r = repo();
    r.commit('engines', {
      'packages/alpha/src/runtime/wal.ts': WAL_TS,
      'packages/beta/src/runtime/wal.ts': WAL_TS,
      'packages/beta/src/runtime/retire-queue.ts': RETIRE_QUEUE_TS,
    });
    r.write({ 'packages/alpha/src/runtime/retire-queue.ts': RETIRE_QUEUE_TS }); // untracked
    r.remove('packages/beta/src/runtime/wal.ts'); // deleted, still in the index
    const report = await analyze({ root: r.root });
    expect(report.seams.map((s) => s.name)).toEqual(['retire_queue']);
    expect(report.seams[0]!.copies.map((c) => [c.engine, c.appeared === null])).toEqual([
      ['alpha', true],
      ['beta', false],
    ]);
    expect(report.singleCopyModules).toEqual([
      { seam: 'wal', engine: 'alpha', path: 'packages/alpha/src/runtime/wal.ts' },
    ]);
  });

  it('reports one engine as no seams, with a note, like this monorepo before quota-core exists', async () => {
    const r = repo();
    r.commit('one engine', {
      'packages/allocdb-core/src/runtime/wal.ts': WAL_TS,
      'packages/allocdb-core/src/runtime/retire-queue.ts': RETIRE_QUEUE_TS,
      'packages/seam-report/src/cli.ts': 'export {};\n',
    });
    const report = await analyze({ root: r.root });
    expect(report.seams).toEqual([]);
    expect(report.engines.map((e) => e.name)).toEqual(['allocdb-core']);
    expect(report.decision).toEqual({
      extractNow: false,
      summary:
        'Do not extract a shared runtime yet: only one engine (allocdb-core) has runtime copies, so there are no seams',
      extract: [],
      reconcileFirst: [],
      extracted: [],
      order: [],
    });
    expect(report.notes[0]).toMatch(/Only one engine \(allocdb-core\)/);
  });

  it('works in a repository without commits, and without history when asked', async () => {
    const r = repo();
    r.write({ 'packages/a/src/runtime/wal.ts': WAL_TS, 'packages/b/src/runtime/wal.ts': WAL_TS });
    const empty = await analyze({ root: r.root });
    expect(empty.repository.head).toBeNull();
    expect(empty.history).toBeNull();
    expect(empty.seams[0]!.history).toBeNull();
    expect(empty.notes).toContain(
      'The repository has no commits yet: history-based triggers cannot fire.',
    );
    r.commit('engines');
    const noHistory = await analyze({ root: r.root, history: false });
    expect(noHistory.history).toBeNull();
    expect(noHistory.notes.join(' ')).toMatch(/History was not read/);
  });

  it('follows the configuration: seams to watch and the never list', async () => {
    const r = repo();
    const files: Record<string, string> = {};
    for (const engine of ['a', 'b', 'c']) {
      files[`packages/${engine}/src/runtime/wal.ts`] = WAL_TS;
      files[`packages/${engine}/src/runtime/snapshot.ts`] = RETIRE_QUEUE_TS;
    }
    r.commit('three engines', {
      ...files,
      'seam-report.config.json': JSON.stringify({ never: ['snapshot'] }),
    });
    const report = await analyze({ root: r.root });
    expect(report.settings.source).toMatch(/seam-report\.config\.json$/);
    expect(report.seams.map((s) => [s.name, s.verdict.verdict])).toEqual([
      ['snapshot', 'never'],
      ['wal', 'extract'],
    ]);
    expect(report.decision.summary).toBe('Extract now: wal');
    expect(report.decision.order).toEqual(['wal']);
    const onlyWal = await analyze({ root: r.root, config: { seams: ['wal'] } });
    expect(onlyWal.seams.map((s) => s.name)).toEqual(['wal']);
  });

  it('is deterministic: the same repository gives the same report', async () => {
    const r = repo();
    r.commit('engines', {
      'packages/a/src/runtime/wal.ts': WAL_TS,
      'packages/b/src/runtime/wal.ts': WAL_TS,
    });
    r.commit('fix a', { 'packages/a/src/runtime/wal.ts': WAL_TS.replace('16;', '24;') });
    const first = render(await analyze({ root: r.root }), 'json');
    const second = render(await analyze({ root: r.root }), 'json');
    expect(second).toBe(first);
  });
});

describe('analyze (Rust layout)', () => {
  it('finds crates/<engine>/src/<seam>.rs copies and compares them without their test modules', async () => {
    const r = repo();
    r.commit('two crates', {
      'crates/allocdb-core/src/wal.rs': `${WAL_RS}${rustTests('tests', 'assert!(scan(&[]).is_empty());')}`,
      'crates/quota-core/src/wal.rs': `${WAL_RS}${rustTests('wal_tests', 'let f = scan(&[]); assert_eq!(f.len(), 0);')}`,
      'crates/allocdb-core/src/lib.rs': 'pub mod wal;\n',
      'crates/quota-core/src/lib.rs': 'pub mod wal;\npub mod quota;\n',
      'crates/quota-core/src/fixed_map.rs': 'pub struct FixedMap;\n',
      'crates/allocdb-core/src/fixed_map.rs':
        'pub struct FixedMap;\nimpl FixedMap { pub fn trace(&self) {} }\n',
      'crates/quota-core/src/tests.rs': '#[test] fn t() {}\n',
      'seam-report.config.json': JSON.stringify({ layout: 'rust' }),
    });
    const report = await analyze({ root: r.root });
    expect(report.settings.engines).toEqual(['crates/*']);
    expect(report.seams.map((s) => [s.name, s.comparison.classification])).toEqual([
      ['fixed_map', 'diverged'],
      ['wal', 'identical'],
    ]);
    const wal = report.seams.find((s) => s.name === 'wal')!;
    expect(wal.copies.map((c) => [c.engine, c.language])).toEqual([
      ['allocdb-core', 'rust'],
      ['quota-core', 'rust'],
    ]);
    expect(wal.comparison.declarations.total).toBe(5);
    const fixedMap = report.seams.find((s) => s.name === 'fixed_map')!;
    expect(fixedMap.comparison.declarations.differing).toEqual([
      expect.objectContaining({
        name: 'FixedMap::trace',
        status: 'partial',
        copies: [expect.objectContaining({ engine: 'quota-core', status: 'missing' })],
      }),
    ]);
  });

  it('finds Rust crates with the default (auto) layout too', async () => {
    const r = repo();
    r.commit('two crates', {
      'crates/a/src/wal.rs': WAL_RS,
      'crates/b/src/wal.rs': WAL_RS.replace('0x5741_4c31', '0x5155_4f31'),
    });
    const report = await analyze({ root: r.root });
    const wal = report.seams[0]!;
    expect(wal.comparison.classification).toBe('renamed');
    expect(wal.comparison.literalDifferences).toEqual([
      {
        declaration: 'FRAME_MAGIC',
        values: [
          { engine: 'a', text: '0x5741_4c31', line: 3 },
          { engine: 'b', text: '0x5155_4f31', line: 3 },
        ],
      },
    ]);
  });
});
