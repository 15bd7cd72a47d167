// The Redis peer of the serve suite is optional: CI machines have only Node and npm. Without
// redis-server on the PATH the suite says so in one line and still measures the engines' servers;
// --require-peers (SQLite) does not make Redis required.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bench = fileURLToPath(new URL('..', import.meta.url));

describe('the serve suite without redis-server', () => {
  it('skips the Redis peer in one line, runs the engines, exits 0 even with --require-peers', () => {
    // A PATH that holds node and nothing else.
    const bin = mkdtempSync(join(tmpdir(), 'bench-path-'));
    try {
      symlinkSync(process.execPath, join(bin, 'node'));
      const result = spawnSync(
        process.execPath,
        ['--expose-gc', 'src/run.mjs', '--quick', '--suite=serve', '--require-peers'],
        { cwd: bench, encoding: 'utf8', env: { ...process.env, PATH: bin }, timeout: 110_000 },
      );
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const skips = result.stdout.split('\n').filter((line) => line.includes('Redis peer'));
      expect(skips).toEqual([
        'skipping the Redis peer: redis-server is not installed (Debian: apt-get install redis-server); its rows are left out',
      ]);
      expect(result.stdout).toMatch(/^\| quota serve: debit, one per request/m);
      expect(result.stdout).toMatch(/^\| allocdb serve: reserve\/release, 64 per request/m);
      expect(result.stdout).not.toMatch(/^\| Redis/m);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
