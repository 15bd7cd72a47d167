import { afterEach, describe, expect, it } from 'vitest';
import { ObjectReader } from '../src/git.js';
import type { SliceMode } from '../src/report.js';
import { planSlices, summarizeSlices } from '../src/slices.js';
import { TestRepo } from './support/git-repo.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.dispose();
});

const ENGINES = ['alpha', 'beta'];
const walPath = (engine: string) => `packages/${engine}/src/runtime/wal.ts`;
const queuePath = (engine: string) => `packages/${engine}/src/runtime/retire-queue.ts`;

function twoEngines(): TestRepo {
  const repo = TestRepo.create();
  repos.push(repo);
  const files: Record<string, string> = {};
  for (const engine of ENGINES) {
    files[walPath(engine)] = WAL_TS;
    files[queuePath(engine)] = RETIRE_QUEUE_TS;
  }
  repo.commit('two engines', files);
  return repo;
}

async function slices(repo: TestRepo, mode: SliceMode = { by: 'first-parent' }, recent = 3) {
  const reader = new ObjectReader(repo.root);
  try {
    return await summarizeSlices({
      cwd: repo.root,
      reader,
      plan: await planSlices(repo.root, mode),
      engineDirs: ENGINES.map((engine) => `packages/${engine}`),
      seams: [
        {
          seam: 'wal',
          copies: ENGINES.map((e) => ({ path: walPath(e), language: 'typescript' as const })),
        },
        {
          seam: 'retire_queue',
          copies: ENGINES.map((e) => ({ path: queuePath(e), language: 'typescript' as const })),
        },
      ],
      recent,
    });
  } finally {
    await reader.close();
  }
}

describe('findSlices (first-parent)', () => {
  it('counts commits that touch engine code, lists the recent ones with the seams they changed', async () => {
    const repo = twoEngines();
    repo.commit('docs only', { 'README.md': 'hello\n' }); // not engine code
    repo.commit('alpha domain code', { 'packages/alpha/src/state.ts': 'export const s = 1;\n' });
    repo.commit('wal fix in alpha', { [walPath('alpha')]: WAL_TS.replace('16;', '24;') });
    repo.commit('comment in beta queue', { [queuePath('beta')]: `// note\n${RETIRE_QUEUE_TS}` });
    const summary = await slices(repo);
    expect(summary.mode).toBe('first-parent');
    expect(summary.total).toBe(4);
    expect(summary.recent.map((s) => [s.commit.subject, s.changedSeams])).toEqual([
      ['comment in beta queue', []], // comment-only: not a normalised change
      ['wal fix in alpha', ['wal']],
      ['alpha domain code', []],
    ]);
    expect(summary.recent[0]!.from).toMatch(/^[0-9a-f]{40}$/);
  });

  it('treats the root commit as a slice that adds every copy', async () => {
    const repo = twoEngines();
    const summary = await slices(repo);
    expect(summary.recent.map((s) => [s.from, s.changedSeams])).toEqual([
      [null, ['wal', 'retire_queue']],
    ]);
  });

  it('uses merge commits as slices when asked, direct commits after the last one an open slice', async () => {
    const repo = twoEngines();
    for (const [branch, change] of [
      ['feature-a', { [walPath('beta')]: WAL_TS.replace('16;', '32;') }],
      ['feature-b', { 'packages/beta/src/other.ts': 'export {};\n' }],
    ] as const) {
      repo.git('checkout', '-q', '-b', branch);
      repo.commit(`work on ${branch}`, change);
      repo.commit(`more work on ${branch}`, {
        [`packages/alpha/src/${branch}.ts`]: 'export {};\n',
      });
      repo.git('checkout', '-q', 'main');
      repo.git('merge', '-q', '--no-ff', '-m', `Merge ${branch}`, branch);
    }
    repo.commit('direct commit on main', { 'packages/alpha/src/direct.ts': 'export {};\n' });
    const summary = await slices(repo, { by: 'merges' });
    expect(summary.mode).toBe('merges');
    expect(summary.total).toBe(3);
    expect(summary.recent.map((s) => [s.commit.subject, s.open, s.changedSeams])).toEqual([
      ['direct commit on main', true, []],
      ['Merge feature-b', false, []],
      // the first slice holds everything up to the first merge, the copies' creation included
      ['Merge feature-a', false, ['wal', 'retire_queue']],
    ]);
    const auto = await slices(repo, { by: 'auto' });
    expect([auto.requested, auto.mode]).toEqual(['auto', 'pull-requests']);
    expect(auto.reason).toMatch(/^auto: 2 of the last 4 first-parent commits are merges/);
  });
});

describe('findSlices (tags and release commits)', () => {
  it('runs slices from tag to tag, skipping ranges without engine changes', async () => {
    const repo = twoEngines();
    repo.git('tag', 'v1');
    repo.commit('wal change', { [walPath('alpha')]: WAL_TS.replace('16;', '20;') });
    repo.git('tag', '-a', '-m', 'release 2', 'v2');
    repo.commit('docs', { 'README.md': 'x\n' });
    repo.git('tag', 'v3');
    repo.commit('queue change', {
      [queuePath('beta')]: RETIRE_QUEUE_TS.replace('Math.max(1', 'Math.max(2'),
    });
    repo.git('tag', 'v4');
    repo.git('tag', 'not-a-release');
    const summary = await slices(repo, { by: 'tags', pattern: 'v*' });
    expect(summary.mode).toBe('tags');
    expect(summary.recent.map((s) => [s.commit.subject, s.changedSeams])).toEqual([
      ['queue change', ['retire_queue']],
      ['wal change', ['wal']],
      ['two engines', ['wal', 'retire_queue']],
    ]);
    expect(summary.total).toBe(3); // v3 (docs only) is not a slice
  });

  it('runs slices between release commits found by their subject', async () => {
    const repo = twoEngines();
    repo.commit('release 1.0');
    repo.commit('wal change', { [walPath('beta')]: WAL_TS.replace('16;', '20;') });
    repo.commit('release 1.1');
    repo.commit('unreleased wal change', { [walPath('alpha')]: WAL_TS.replace('16;', '28;') });
    const summary = await slices(repo, { by: 'release-commits', subject: '^release ' });
    expect(summary.recent.map((s) => [s.commit.subject, s.open, s.changedSeams])).toEqual([
      ['unreleased wal change', true, ['wal']],
      ['release 1.1', false, ['wal']],
      ['release 1.0', false, ['wal', 'retire_queue']],
    ]);
  });
});
