import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepositoryError } from '../src/errors.js';
import { gitFields, LOG_FORMAT, logCommits, ObjectReader, repositoryRoot } from '../src/git.js';
import { EPOCH, HOUR, TestRepo } from './support/git-repo.js';
import { rejectionOf } from './support/rejection.js';

let repo: TestRepo;
let first: string;
let second: string;

beforeAll(() => {
  repo = TestRepo.create();
  first = repo.commit('add files', { 'a.txt': 'alpha\n', 'dir/b.txt': 'beta\n' });
  second = repo.commit('change, delete | odd subject \u001f with separators', {
    'a.txt': 'alpha 2\n',
  });
  repo.remove('dir/b.txt');
  repo.git('add', '-A');
  repo.git('commit', '--amend', '-q', '--no-edit');
  second = repo.git('rev-parse', 'HEAD').trim();
});
afterAll(() => repo.dispose());

describe('logCommits', () => {
  it('streams commits with hash, parents, time, subject and raw changes', async () => {
    const commits = [];
    for await (const commit of logCommits(repo.root, ['--reverse', LOG_FORMAT, 'HEAD']))
      commits.push(commit);
    expect(commits).toHaveLength(2);
    expect(commits[0]).toMatchObject({
      hash: first,
      parents: [],
      time: EPOCH,
      subject: 'add files',
    });
    expect(commits[0]!.changes.map((c) => `${c.status} ${c.path}`)).toEqual([
      'A a.txt',
      'A dir/b.txt',
    ]);
    // the amend re-committed it an hour later on the test clock
    expect(commits[1]).toMatchObject({ hash: second, parents: [first], time: EPOCH + 2 * HOUR });
    expect(commits[1]!.subject).toBe('change, delete | odd subject \u001f with separators');
    const modified = commits[1]!.changes.find((c) => c.path === 'a.txt')!;
    expect(modified.status).toBe('M');
    expect(modified.oldOid).toMatch(/^[0-9a-f]{40}$/);
    expect(commits[1]!.changes.find((c) => c.path === 'dir/b.txt')!.status).toBe('D');
  });

  it('limits to pathspecs placed after the output options', async () => {
    const commits = [];
    for await (const commit of logCommits(repo.root, [LOG_FORMAT, 'HEAD', '--', 'dir']))
      commits.push(commit);
    expect(commits.map((c) => c.changes.map((x) => x.path))).toEqual([
      ['dir/b.txt'],
      ['dir/b.txt'],
    ]);
  });

  it('reads headers only without --raw', async () => {
    const commits = [];
    for await (const commit of logCommits(repo.root, [LOG_FORMAT, 'HEAD'], { raw: false }))
      commits.push(commit);
    expect(commits.map((c) => [c.hash, c.changes.length])).toEqual([
      [second, 0],
      [first, 0],
    ]);
  });

  it('fails with a RepositoryError for an unknown revision', async () => {
    const consume = async () => {
      for await (const _ of gitFields(repo.root, ['log', '-z', 'no-such-branch'])) {
        // drain
      }
    };
    await expect(consume()).rejects.toMatchObject({ name: 'RepositoryError', code: 'git_failed' });
  });
});

describe('ObjectReader', () => {
  it('answers pipelined reads in order, including rev:path specs and missing objects', async () => {
    const reader = new ObjectReader(repo.root);
    try {
      const reads = [
        reader.readText(`${first}:a.txt`),
        reader.readText(`${second}:a.txt`),
        reader.readText(`${second}:dir/b.txt`),
        reader.read(`${first}:dir`),
        reader.readText('HEAD:a.txt'),
      ];
      const [a1, a2, gone, tree, head] = await Promise.all(reads);
      expect(a1).toBe('alpha\n');
      expect(a2).toBe('alpha 2\n');
      expect(gone).toBeNull();
      expect(tree).toMatchObject({ type: 'tree', oid: expect.stringMatching(/^[0-9a-f]{40}$/) });
      expect(head).toBe('alpha 2\n');
    } finally {
      await reader.close();
    }
  });

  it('reads large blobs that arrive in many chunks', async () => {
    const big = `${'x'.repeat(1023)}\n`.repeat(2048); // 2 MiB
    const local = TestRepo.create();
    try {
      local.commit('big', { 'big.txt': big, 'small.txt': 'small\n' });
      const reader = new ObjectReader(local.root);
      const [large, small] = await Promise.all([
        reader.readText('HEAD:big.txt'),
        reader.readText('HEAD:small.txt'),
      ]);
      await reader.close();
      expect(large).toBe(big);
      expect(small).toBe('small\n');
    } finally {
      local.dispose();
    }
  });
});

describe('repositoryRoot', () => {
  it('finds the top level from a subdirectory', async () => {
    const sub = join(repo.root, 'dir');
    repo.write({ 'dir/keep.txt': 'x' });
    await expect(repositoryRoot(sub)).resolves.toBe(
      repo.git('rev-parse', '--show-toplevel').trim(),
    );
  });

  it('says a directory is not a repository, and a missing one is not a directory', async () => {
    const plain = mkdtempSync(join(tmpdir(), 'seam-report-plain-'));
    try {
      const error = (await rejectionOf(repositoryRoot(plain))) as RepositoryError;
      expect(error).toBeInstanceOf(RepositoryError);
      expect(error.code).toBe('not_a_repository');
      expect(error.hint).toMatch(/git init/);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
    await expect(repositoryRoot(join(plain, 'nope'))).rejects.toMatchObject({ code: 'not_found' });
  });
});
