import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, EXIT, runCli } from '../src/cli.js';
import { TestRepo } from './support/git-repo.js';
import { type HistoryScenario, historyScenario } from './support/scenarios.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(
  args: string[],
  options: { cwd?: string; tty?: boolean; env?: Record<string, string> } = {},
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text), isTTY: options.tty ?? false },
    stderr: { write: (text: string) => (stderr += text), isTTY: options.tty ?? false },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

let scenario: HistoryScenario;
let plain: string;
let diverged: TestRepo;

beforeAll(() => {
  scenario = historyScenario();
  scenario.engines.repo.git('branch', 'base', scenario.commits.betaFreezeHoursLater);
  plain = mkdtempSync(join(tmpdir(), 'seam-report-plain-'));
  diverged = TestRepo.create();
  diverged.commit('two engines', {
    'packages/a/src/runtime/wal.ts': WAL_TS,
    'packages/b/src/runtime/wal.ts': RETIRE_QUEUE_TS,
  });
});
afterAll(() => {
  scenario.engines.dispose();
  diverged.dispose();
  rmSync(plain, { recursive: true, force: true });
});

const root = () => scenario.engines.repo.root;

describe('exit status 0: the report was produced', () => {
  it('prints the text report of the directory given', async () => {
    const result = await cli([root()]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('Decision: Extract now: retire_queue (then reconcile wal)');
    expect(result.stdout).not.toContain('\u001b[');
    expect(result.stderr).toBe('');
  });

  it('uses the current directory by default and prints every format', async () => {
    const json = await cli(['--format', 'json'], { cwd: root() });
    expect(JSON.parse(json.stdout).schemaVersion).toBe(3);
    const markdown = await cli(['-f', 'markdown'], { cwd: root() });
    expect(markdown.stdout.startsWith('## Seam report')).toBe(true);
    const html = await cli(['-f', 'html'], { cwd: root() });
    expect(html.stdout.startsWith('<!doctype html>')).toBe(true);
    const sarif = await cli(['-f', 'sarif'], { cwd: root() });
    expect(JSON.parse(sarif.stdout)).toMatchObject({ version: '2.1.0' });
  });

  it('writes more formats of the same report with --also', async () => {
    const json = join(plain, 'also.json');
    const sarif = join(plain, 'also.sarif');
    const result = await cli([
      root(),
      '-f',
      'markdown',
      '--also',
      `json=${json}`,
      '--also',
      `sarif=${sarif}`,
    ]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout.startsWith('## Seam report')).toBe(true);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.stdout.split('\n')[0]).toBe(`## Seam report: ${report.decision.summary}`);
    expect(JSON.parse(readFileSync(sarif, 'utf8')).version).toBe('2.1.0');
    const bad = await cli([root(), '--also', 'yaml=x.yaml']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toMatch(/--also yaml=x\.yaml: expected <format>=<file>/);
  });

  it('writes to --output instead of standard output', async () => {
    const output = join(plain, 'report.html');
    const result = await cli([root(), '--format', 'html', '--output', output]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('');
    expect(readFileSync(output, 'utf8')).toContain('<title>Seam report');
  });

  it('colours text on a terminal unless NO_COLOR is set or --no-color given', async () => {
    expect((await cli([root()], { tty: true })).stdout).toContain('\u001b[');
    expect((await cli([root()], { tty: true, env: { NO_COLOR: '1' } })).stdout).not.toContain(
      '\u001b[',
    );
    expect((await cli([root(), '--no-color'], { tty: true })).stdout).not.toContain('\u001b[');
    expect((await cli([root(), '--color'])).stdout).toContain('\u001b[');
  });

  it('exits 0 when a --fail-on condition does not hold', async () => {
    const result = await cli([root(), '--fail-on', 'diverged,stable_across_slices']);
    expect(result.code).toBe(EXIT.ok);
  });

  it('answers --help and --version', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/^Usage: seam-report/);
    expect((await cli(['-v'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('exit status 1: a --fail-on condition holds', () => {
  it('fails on a named trigger, on any trigger and on extract, saying where', async () => {
    const named = await cli([root(), '--fail-on', 'repeated_fix']);
    expect(named.code).toBe(EXIT.failOn);
    expect(named.stdout).toContain('Decision:'); // the report is still printed
    expect(named.stderr).toBe('seam-report: --fail-on repeated_fix holds: wal\n');
    const any = await cli([root(), '--fail-on', 'trigger', '--fail-on', 'extract']);
    expect(any.code).toBe(EXIT.failOn);
    expect(any.stderr).toContain('trigger holds: retire_queue, wal');
    expect(any.stderr).toContain('extract holds: retire_queue');
  });

  it('fails on drift against --base', async () => {
    const result = await cli([root(), '--base', 'base', '--fail-on', 'drift', '-f', 'markdown']);
    expect(result.code).toBe(EXIT.failOn);
    expect(result.stderr).toContain('--fail-on drift holds: retire_queue, wal');
    expect(result.stdout).toContain('### ⚠️ Drift against');
  });

  it('fails on diverged copies', async () => {
    const result = await cli([diverged.root, '--fail-on', 'diverged']);
    expect(result.code).toBe(EXIT.failOn);
    expect(result.stderr).toContain('diverged holds: wal');
  });
});

describe('exit status 2: bad usage or configuration', () => {
  const usage = async (args: string[], message: RegExp, cwd?: string) => {
    const result = await cli(args, cwd ? { cwd } : {});
    expect(result.code).toBe(EXIT.usage);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    // one line: what was wrong, then (after the code) how to fix it
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/\] — \S/);
  };

  it('rejects unknown options, formats, conditions and extra arguments', async () => {
    await usage(
      [root(), '--colour'],
      /Unknown option '--colour'.*\[bad_argument\] — Run seam-report --help/,
    );
    await usage(
      [root(), '-f', 'pdf'],
      /unknown format "pdf" \[bad_argument\] — Use one of: text, markdown, json, html, sarif\./,
    );
    await usage([root(), '--fail-on', 'bugs'], /unknown --fail-on condition "bugs"/);
    await usage([root(), root()], /expected at most one directory/);
    await usage([root(), '--fail-on', 'drift'], /--fail-on drift needs --base <ref>/);
  });

  it('rejects a broken config file, naming the file and the place', async () => {
    const repo = TestRepo.create();
    try {
      repo.commit('engines', {
        'packages/a/src/runtime/wal.ts': WAL_TS,
        'packages/b/src/runtime/wal.ts': WAL_TS,
        'seam-report.config.json': '{ "never": ["snapshot"], }\n',
      });
      await usage(
        [repo.root],
        /seam-report\.config\.json: not valid JSON \(.* at line 1, column 26\) \[config_unreadable\]/,
      );
      repo.commit('fix syntax, break a value', {
        'seam-report.config.json': '{ "thresholds": { "similar": 2 } }\n',
      });
      await usage(
        [repo.root],
        /thresholds\.similar must be a number between 0 and 1, got number 2 \[config_invalid\]/,
      );
      await usage(
        [repo.root, '--config', join(repo.root, 'nope.json')],
        /nope\.json: no such file/,
      );
    } finally {
      repo.dispose();
    }
  });

  it('rejects a --base that does not exist', async () => {
    await usage(
      [root(), '--base', 'no-such-branch'],
      /--base no-such-branch: no such commit.*\[unknown_revision\] — .*git fetch/,
    );
  });
});

describe('exit status 3: git or the repository cannot be read', () => {
  it('names a directory that is not a git repository and says what to do', async () => {
    const result = await cli([plain]);
    expect(result.code).toBe(EXIT.repository);
    expect(result.stderr).toMatch(
      /not a git repository .*\[not_a_repository\] — Run seam-report inside a git work tree/,
    );
  });

  it('names a directory that does not exist', async () => {
    const result = await cli([join(plain, 'missing')]);
    expect(result.code).toBe(EXIT.repository);
    expect(result.stderr).toMatch(/is not a directory \[not_found\]/);
  });
});

describe('progress', () => {
  it('shows a progress line on a terminal during long history walks, and clears it', async () => {
    const repo = TestRepo.create();
    try {
      // 150 commits touching a seam, made at once with fast-import
      let stream = '';
      for (let i = 1; i <= 150; i++) {
        const text = WAL_TS.replace('HEADER_BYTES = 16', `HEADER_BYTES = ${16 + i}`);
        const message = `change ${i}`;
        stream += `commit refs/heads/main\ncommitter T <t@e> ${1_704_067_200 + i} +0000\ndata ${message.length}\n${message}\n`;
        stream += `M 100644 inline packages/a/src/runtime/wal.ts\ndata ${Buffer.byteLength(text)}\n${text}\n`;
        stream += `M 100644 inline packages/b/src/runtime/wal.ts\ndata ${Buffer.byteLength(text)}\n${text}\n\n`;
      }
      execFileSync('git', ['fast-import', '--quiet'], { cwd: repo.root, input: stream });
      repo.git('checkout', '-q', '-f', 'main');
      const result = await cli([repo.root], { tty: true });
      expect(result.code).toBe(EXIT.ok);
      expect(result.stderr).toContain('\rseam-report: reading history… 100 commits');
      expect(result.stderr.endsWith('\r\u001b[2K')).toBe(true);
      expect((await cli([repo.root, '--quiet'], { tty: true })).stderr).toBe('');
    } finally {
      repo.dispose();
    }
  });
});

describe('the seam-report executable', () => {
  const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

  it('runs from the built package and passes the exit status through', () => {
    if (!existsSync(bin))
      throw new Error(`${bin} is missing: run \`pnpm --filter seam-report build\` first`);
    const ok = spawnSync(process.execPath, [bin, root(), '--format', 'json'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).decision.extractNow).toBe(true);
    const notRepo = spawnSync(process.execPath, [bin, plain], { encoding: 'utf8' });
    expect(notRepo.status).toBe(3);
    const failOn = spawnSync(process.execPath, [bin, root(), '--fail-on', 'third_engine'], {
      encoding: 'utf8',
    });
    expect(failOn.status).toBe(1);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});

describe('errors name only options that exist (issue 14, item 16)', () => {
  const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
  const run = (args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: plain });

  it('says how to name the repository without a --repo option, on one line', () => {
    for (const args of [[plain], [join(plain, 'missing')], []]) {
      const result = run(args);
      expect(result.status).toBe(EXIT.repository);
      expect(result.stderr).not.toMatch(/--repo/);
      // one line: what is wrong and what to do
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/seam-report \[directory\]|the directory argument/);
      // and the hint's advice is an option the command accepts
      const help = run(['--help']).stdout;
      for (const option of result.stderr.match(/--[a-z-]+/g) ?? []) expect(help).toContain(option);
    }
  });
});
