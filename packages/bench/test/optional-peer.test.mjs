// The SQLite peer is optional: better-sqlite3 is a native addon whose install may fail (no
// prebuilt binary and no C++ toolchain), and nobody who only installs and tests the engines
// should need it. Without it the bench says so in one line and runs the rest; with
// --require-peers (CI) it fails instead. The module hooks in fixtures/ make better-sqlite3 absent
// or unbuilt for the child process, whatever is installed here.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bench = fileURLToPath(new URL('..', import.meta.url));

function runBench(mode, args, env = { BETTER_SQLITE3: mode }) {
  return spawnSync(
    process.execPath,
    ['--expose-gc', '--import', './test/fixtures/register.mjs', 'src/run.mjs', '--quick', ...args],
    { cwd: bench, encoding: 'utf8', env: { ...process.env, ...env } },
  );
}

const REASONS = {
  absent: "Cannot find package 'better-sqlite3'",
  unbuilt: 'Could not locate the bindings file',
};

describe.each(['absent', 'unbuilt'])('better-sqlite3 %s', (mode) => {
  it('the bench skips the SQLite peer with a one-line reason and runs the rest', () => {
    const result = runBench(mode, ['--suite=equivalence,state-machine']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const skips = result.stdout.split('\n').filter((line) => line.includes('SQLite peer:'));
    expect(skips).toHaveLength(1);
    expect(skips[0]).toMatch(/^skipping the SQLite peer: better-sqlite3 did not load \(/);
    expect(skips[0]).toContain(REASONS[mode]);
    expect(result.stdout).toContain('equivalence of the SQLite peers: skipped');
    // Our own rows are there; no SQLite row is.
    expect(result.stdout).toMatch(/^\| allocdb-core AllocDb: reserve → confirm → release \|/m);
    expect(result.stdout).not.toMatch(/^\| SQLite/m);
  });

  it('with --require-peers (as CI runs it) the bench fails instead of skipping', () => {
    const result = runBench(mode, ['--suite=equivalence', '--require-peers']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('the SQLite peer is required (--require-peers)');
    expect(result.stderr).toContain(REASONS[mode]);
    expect(result.stdout).toBe('');
  });
});

describe('lmdb absent', () => {
  const env = { LMDB: 'absent' };
  it('the bench leaves the LMDB peer out and runs the rest', () => {
    const result = runBench(undefined, ['--suite=equivalence'], env);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('- LMDB: not loaded');
    expect(result.stdout).toContain('equivalence of the LMDB peers: skipped (lmdb not loaded)');
  });

  it('with --require-peers (as CI runs it) the bench fails instead of skipping', () => {
    const result = runBench(undefined, ['--suite=equivalence', '--require-peers'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('the LMDB peer is required (--require-peers)');
    expect(result.stderr).toContain("Cannot find package 'lmdb'");
  });
});
