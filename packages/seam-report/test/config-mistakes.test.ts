/**
 * Configuration mistakes are loud (issue 11): each case below was silent before. Every test
 * builds its repository from scratch with fixed dates (see support/git-repo.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { type CliIo, EXIT, runCli } from '../src/cli.js';
import { resolveConfig, seamName } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { TestRepo } from './support/git-repo.js';
import { rejectionOf } from './support/rejection.js';
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

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: process.cwd(),
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe('one naming rule for seam names', () => {
  it('a snake_case seams entry finds the camelCase and PascalCase files it names', async () => {
    const r = repo();
    r.commit('two engines', {
      'packages/a/src/runtime/WorkLoop.ts': WAL_TS,
      'packages/b/src/runtime/WorkLoop.ts': WAL_TS,
      'packages/a/src/runtime/retireQueue.ts': RETIRE_QUEUE_TS,
      'packages/b/src/runtime/retire-queue.ts': RETIRE_QUEUE_TS,
      'seam-report.config.json': JSON.stringify({ seams: ['work_loop', 'retire_queue'] }),
    });
    const report = await analyze({ root: r.root });
    expect(report.seams.map((seam) => [seam.name, seam.copies.map((c) => c.path)])).toEqual([
      [
        'retire_queue',
        ['packages/a/src/runtime/retireQueue.ts', 'packages/b/src/runtime/retire-queue.ts'],
      ],
      ['work_loop', ['packages/a/src/runtime/WorkLoop.ts', 'packages/b/src/runtime/WorkLoop.ts']],
    ]);
    expect(report.warnings).toEqual([]);
  });

  it('is the same rule for files and configuration', () => {
    for (const name of ['wal_file', 'wal-file', 'walFile', 'WalFile'])
      expect(seamName(name)).toBe('wal_file');
    expect(seamName('CRC32C')).toBe('crc32c');
    expect(seamName('HTTPServer')).toBe('http_server');
    expect(seamName('crc32c')).toBe('crc32c');
    expect(resolveConfig({ never: ['CommandCodec'] }, 'x').never).toEqual(['command_codec']);
  });
});

describe('entries that match nothing are warnings, and errors with --strict', () => {
  function engines(r: TestRepo, config: unknown) {
    r.commit('engines', {
      'packages/a/src/runtime/snapshot.ts': WAL_TS,
      'packages/b/src/runtime/snapshot.ts': WAL_TS,
      'packages/c/src/runtime/snapshot.ts': WAL_TS,
      'seam-report.config.json': JSON.stringify(config),
    });
  }

  it('warns about a never entry that names no module, suggesting the one it meant', async () => {
    const r = repo();
    engines(r, { never: ['snapshots'] });
    const report = await analyze({ root: r.root });
    expect(report.warnings).toEqual([
      `never entry "snapshots" matches no module in seam-report.config.json; did you mean snapshot?`,
    ]);
    const plain = await cli([r.root]);
    expect(plain.code).toBe(EXIT.ok);
    expect(plain.stderr).toContain('seam-report: warning: never entry "snapshots"');
    expect(plain.stdout).toContain('Configuration warnings');
    const strict = await cli([r.root, '--strict']);
    expect(strict.code).toBe(EXIT.usage);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toMatch(/matches nothing \(--strict\) \[config_warnings\] — /);
  });

  it('warns about every kind of entry the user wrote that finds nothing', async () => {
    const r = repo();
    engines(r, {
      engines: ['packages/*', 'engines/*', '!packages/legacy'],
      seamPaths: ['src/runtime/<seam>.ts', 'lib/<seam>.ts'],
      seams: ['snapshot', 'wall'],
      exclude: ['index', 'prelude'],
      priority: ['snapshot', 'fixedmap'],
      triggers: { stable_across_slices: { seams: ['snapshot', 'wal_file'] } },
    });
    const report = await analyze({ root: r.root });
    expect(report.warnings.map((w) => w.replace(/ in seam-report\.config\.json/, ''))).toEqual([
      'engines entry "engines/*" matches no directory with a copy under the seam paths',
      'engines entry "!packages/legacy" leaves out no engine directory',
      'seamPaths entry "lib/<seam>.ts" matches no file in any engine',
      'exclude entry "index" leaves out no module',
      'exclude entry "prelude" leaves out no module',
      'seams entry "wall" matches no module',
      'priority entry "fixedmap" matches no module',
      'triggers.stable_across_slices.seams entry "wal_file" matches no module',
    ]);
  });

  it('warns about an alias whose old path never appears in history', async () => {
    const r = repo();
    engines(r, { aliases: { 'engines/snapshot': 'packages/a' } });
    const report = await analyze({ root: r.root });
    expect(report.warnings.map((w) => w.replace(/ in seam-report\.config\.json$/, ''))).toEqual([
      'aliases entry "engines/snapshot" matches no path in the history of HEAD',
    ]);
  });

  it('does not warn about defaults that do not apply (a TypeScript repository has no crates)', async () => {
    const r = repo();
    engines(r, {});
    expect((await analyze({ root: r.root })).warnings).toEqual([]);
  });
});

describe('negated engine patterns', () => {
  it('"!pattern" in engines leaves those engine directories out', async () => {
    const r = repo();
    r.commit('three engines, one retired', {
      'packages/a/src/runtime/wal.ts': WAL_TS,
      'packages/b/src/runtime/wal.ts': WAL_TS,
      'packages/legacy-c/src/runtime/wal.ts': WAL_TS,
      'seam-report.config.json': JSON.stringify({ engines: ['packages/*', '!packages/legacy-*'] }),
    });
    const report = await analyze({ root: r.root });
    expect(report.engines.map((engine) => engine.name)).toEqual(['a', 'b']);
    expect(report.seams[0]!.copies.map((copy) => copy.engine)).toEqual(['a', 'b']);
    expect(report.warnings).toEqual([]);
  });

  it('is refused where it cannot mean anything', () => {
    for (const config of [
      { seamPaths: ['!src/runtime/<seam>.ts'] },
      { never: ['!snapshot'] },
      { seams: ['!wal'] },
    ]) {
      expect(() => resolveConfig(config, 'x'), JSON.stringify(config)).toThrow(ConfigError);
    }
    expect(() => resolveConfig({ engines: ['!'] }, 'x')).toThrow(/after "!"/);
  });
});

describe('every copy is kept or the report stops with a clear error', () => {
  it('refuses two seam paths matching in one engine instead of dropping one copy', async () => {
    const r = repo();
    r.commit('an engine with wal.ts and wal.mjs', {
      'packages/a/src/runtime/wal.ts': WAL_TS,
      'packages/a/src/runtime/wal.mjs': WAL_TS,
      'packages/b/src/runtime/wal.ts': WAL_TS,
    });
    const error = (await rejectionOf(analyze({ root: r.root }))) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('config_invalid');
    expect(error.message).toBe(
      'engine a has two copies of wal in the working tree: packages/a/src/runtime/wal.mjs and packages/a/src/runtime/wal.ts',
    );
    expect(error.hint).toMatch(/narrow "seamPaths"/);
    const result = await cli([r.root]);
    expect(result.code).toBe(EXIT.usage);
  });
});

describe('explicit seams as file groups', () => {
  it('compares a same-directory fork and follows its history', async () => {
    const r = repo();
    const config = {
      engines: [],
      seams: [{ name: 'WorkLoop', files: ['src/WorkLoop.new.js', 'src/WorkLoop.old.js'] }],
    };
    r.commit('the old work loop', {
      'src/WorkLoop.old.js': WAL_TS,
      'seam-report.config.json': JSON.stringify(config),
    });
    r.commit('fork it', { 'src/WorkLoop.new.js': WAL_TS });
    r.commit('fix the new one', {
      'src/WorkLoop.new.js': WAL_TS.replace(
        'if (bytes.length - offset < HEADER_BYTES) return undefined;',
        'if (offset < 0 || bytes.length - offset < HEADER_BYTES) return undefined;',
      ),
    });
    const report = await analyze({ root: r.root });
    expect(report.warnings).toEqual([]);
    expect(report.seams).toHaveLength(1);
    const [seam] = report.seams;
    expect(seam!.name).toBe('work_loop');
    expect(seam!.copies.map((copy) => [copy.engine, copy.path])).toEqual([
      ['WorkLoop.new.js', 'src/WorkLoop.new.js'],
      ['WorkLoop.old.js', 'src/WorkLoop.old.js'],
    ]);
    expect(seam!.comparison.classification).toBe('similar');
    expect(seam!.history!.copyEvents.map((e) => [e.engine, e.source, e.copied])).toEqual([
      ['WorkLoop.old.js', null, false],
      ['WorkLoop.new.js', 'WorkLoop.old.js', true],
    ]);
    expect(seam!.history!.oneSidedChanges.map((c) => [c.engine, c.commit.subject])).toEqual([
      ['WorkLoop.new.js', 'fix the new one'],
    ]);
  });

  it('validates file groups and warns about missing files', async () => {
    expect(() => resolveConfig({ seams: [{ name: 'x', files: ['a.ts'] }] }, 'x')).toThrow(
      /two or more files/,
    );
    expect(() => resolveConfig({ seams: [{ name: 'x', files: ['a.ts', 'b.py'] }] }, 'x')).toThrow(
      /unsupported file extension/,
    );
    const r = repo();
    r.commit('one file', {
      'src/a.ts': WAL_TS,
      'seam-report.config.json': JSON.stringify({
        seams: [{ name: 'x', files: ['src/a.ts', 'src/b.ts'] }],
      }),
    });
    const report = await analyze({ root: r.root });
    expect(report.seams).toEqual([]);
    expect(report.warnings.map((w) => w.replace(/ in seam-report\.config\.json$/, ''))).toEqual([
      'seams entry "x": file src/b.ts does not exist',
      'seams entry "x" has fewer than two files, so it is not compared',
    ]);
  });
});

describe('modules that are merely not configured', () => {
  it('calls copies in three engines left out by "seams" what they are, not single-copy modules', async () => {
    const r = repo();
    const files: Record<string, string> = {
      'seam-report.config.json': JSON.stringify({ seams: ['wal'] }),
      'packages/a/src/runtime/only-here.ts': RETIRE_QUEUE_TS,
    };
    for (const engine of ['a', 'b', 'c']) {
      files[`packages/${engine}/src/runtime/wal.ts`] = WAL_TS;
      files[`packages/${engine}/src/runtime/retire-queue.ts`] = RETIRE_QUEUE_TS;
    }
    r.commit('three engines', files);
    const report = await analyze({ root: r.root });
    expect(report.seams.map((seam) => seam.name)).toEqual(['wal']);
    expect(report.singleCopyModules.map((m) => m.seam)).toEqual(['only_here']);
    expect(report.unwatchedModules).toEqual([
      {
        seam: 'retire_queue',
        copies: ['a', 'b', 'c'].map((engine) => ({
          engine,
          path: `packages/${engine}/src/runtime/retire-queue.ts`,
        })),
      },
    ]);
  });
});
