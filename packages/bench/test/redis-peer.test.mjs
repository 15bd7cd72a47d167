// The Redis peer of the serve suite is optional on a developer's machine: without redis-server on
// the PATH the suite says so in one line and still measures the engines' servers; --require-peers
// (SQLite, LMDB) does not make Redis required, --require-redis does. Where redis-server is
// installed (CI installs it: .ci/run, which also sets REQUIRE_REDIS=1 so that these tests cannot
// be skipped there), its scripts are checked against the state machines before they are timed,
// and a broken script is caught.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEBIT_SCRIPT, findRedis, RELEASE_SCRIPT, startRedis } from '../src/peers/redis.mjs';
import { checkRedisEquivalence } from '../src/peers/redis-equivalence.mjs';

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

  it('--require-redis makes it an error: exit 1, one line', () => {
    const bin = mkdtempSync(join(tmpdir(), 'bench-path-'));
    try {
      symlinkSync(process.execPath, join(bin, 'node'));
      const result = spawnSync(
        process.execPath,
        ['--expose-gc', 'src/run.mjs', '--quick', '--suite=serve', '--require-redis'],
        { cwd: bench, encoding: 'utf8', env: { ...process.env, PATH: bin }, timeout: 110_000 },
      );
      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        'bench: the Redis peer is required (--require-redis) but redis-server is not installed (Debian: apt-get install redis-server)',
      ]);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

const redisFound = findRedis();
const required = process.env.REQUIRE_REDIS === '1';
if (!redisFound.available && !required) {
  process.stderr.write(
    `\n!!! SKIPPED: the Redis peer's equivalence tests (bench test/redis-peer.test.mjs): ${redisFound.reason}. CI (.ci/run) installs it and runs them.\n\n`,
  );
}

describe.skipIf(!redisFound.available && !required)('the Redis peer with redis-server', () => {
  it('the serve suite checks its scripts against the state machines before timing them', () => {
    const result = spawnSync(
      process.execPath,
      ['--expose-gc', 'src/run.mjs', '--quick', '--suite=serve', '--require-redis'],
      { cwd: bench, encoding: 'utf8', timeout: 110_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /^Redis peer: 480 debits and 480 reserves\/releases in 4 seeded histories each, against QuotaDb and AllocDb: the same answers$/m,
    );
    expect(result.stdout).toMatch(/^\| Redis: debit Lua script, one per round trip/m);
  });

  it('a script that breaks the semantics is caught (canaries)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
    const redis = await startRedis(dir);
    try {
      // A debit that forgets its operation ids: a retry debits again.
      const noDedupe = DEBIT_SCRIPT.replace(
        "local done = redis.call('GET', KEYS[2])",
        'local done = false',
      );
      expect(noDedupe).not.toBe(DEBIT_SCRIPT);
      await expect(
        checkRedisEquivalence(redis.port, { scripts: { debit: noDedupe } }),
      ).rejects.toThrow(/the Redis peer's debit script disagrees with the state machine/);
      // A release that does not check the holder: another holder frees the lease.
      const anyHolder = RELEASE_SCRIPT.replace("redis.call('GET', KEYS[1]) == ARGV[1] and ", '');
      expect(anyHolder).not.toBe(RELEASE_SCRIPT);
      await expect(
        checkRedisEquivalence(redis.port, { scripts: { release: anyHolder } }),
      ).rejects.toThrow(/the Redis peer's release script disagrees with the state machine/);
      // The real scripts agree.
      await expect(checkRedisEquivalence(redis.port)).resolves.toEqual({
        histories: 4,
        debits: 480,
        leases: 480,
      });
    } finally {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
