/**
 * The `allocdb` bin as an operator runs it: the built file in a child process, with its exit
 * status, stdout and stderr.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { openEngine, request, snapshotPath, walPath } from '../engine/engine-fixtures.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const bin = fileURLToPath(new URL('../../dist/bin/allocdb.js', import.meta.url));
const packageVersion = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'),
).version;

function allocdb(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    errLines: result.stderr.split('\n').filter((line) => line !== ''),
  };
}

/** Two resources, a checkpoint, one more: a snapshot and a log that still starts at LSN 1. */
async function directory(): Promise<string> {
  const dir = tempDir();
  const engine = await openEngine(dir);
  await engine.submit(request({ kind: 'create_resource', resourceId: 1n }), { requestSlot: 1n });
  await engine.submit(request({ kind: 'create_resource', resourceId: 2n }), { requestSlot: 2n });
  await engine.checkpoint();
  await engine.submit(request({ kind: 'create_resource', resourceId: 3n }), { requestSlot: 3n });
  await engine.close();
  return dir;
}

function oneLine(result: ReturnType<typeof allocdb>): string {
  expect(result.errLines, result.stderr).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return result.errLines[0]!;
}

beforeAll(() => {
  expect(existsSync(bin), 'build the package first (pnpm --filter allocdb-core build)').toBe(true);
});

describe('allocdb (the built bin)', () => {
  it('verify and inspect read the recorded configuration: no --config needed', async () => {
    const dir = await directory();
    const result = allocdb('verify', dir);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('configuration: recorded: shardId 0, maxResources 64');
    expect(result.stdout).toContain('recovery: snapshot_and_wal, replayed 1 frames');
    expect(result.stdout).toContain('resources: 3 / 64');
  });

  it('a missing path, a plain file or an empty directory is not a data directory: exit 4', () => {
    const missing = join(tempDir(), 'missing');
    const file = join(tempDir(), 'file');
    writeFileSync(file, 'not a directory');
    const empty = tempDir();
    for (const [command, path, says] of [
      ['verify', missing, 'does not exist'],
      ['dump', missing, 'does not exist'],
      ['inspect', missing, 'does not exist'],
      ['verify', file, 'is a file'],
      ['dump', file, 'is a file'],
      ['verify', empty, 'holds no allocdb data'],
    ] as const) {
      const result = allocdb(command, path);
      expect(result.status, `${command} ${path}`).toBe(4);
      expect(result.stdout).toBe('');
      expect(oneLine(result)).toContain(says);
    }
  });

  it('a log that cannot be read is an I/O error: one line, exit 5, no stack trace', async () => {
    const dir = await directory();
    rmSync(walPath(dir));
    mkdirSync(walPath(dir));
    const result = allocdb('verify', dir);
    expect(result.status).toBe(5);
    expect(oneLine(result)).toMatch(/^allocdb: WAL .* failed on .*wal: EISDIR/);
  });

  it('dump into a pipe that closes early ends quietly', async () => {
    const dir = await directory();
    const result = spawnSync(
      'bash',
      ['-o', 'pipefail', '-c', `"${process.execPath}" "${bin}" dump "${dir}" | head -1`],
      { encoding: 'utf8' },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).lsn).toBe('1');
  });

  it('-v and -V print the version; without a command, every command is named, serve and unlock too', () => {
    for (const flag of ['-v', '-V', '--version']) {
      const result = allocdb(flag);
      expect(result.status, flag).toBe(0);
      expect(result.stdout.trim(), flag).toBe(packageVersion);
    }
    const none = allocdb();
    expect(none.status).toBe(3);
    expect(oneLine(none)).toMatch(/a command is needed: inspect, verify, dump, serve or unlock/);
  });

  it('--version, and usage errors in one line with a pointer to --help', () => {
    const version = allocdb('--version');
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(packageVersion);
    for (const args of [[], ['explode', '/tmp'], ['verify'], ['verify', '/tmp', '--bogus']]) {
      const result = allocdb(...args);
      expect(result.status, args.join(' ')).toBe(3);
      expect(oneLine(result)).toContain("run 'allocdb --help' for usage");
      expect(result.stdout).toBe('');
    }
  });

  it('--config: typos and wrong fields are named; a mismatch is not called corruption', async () => {
    const dir = await directory();
    const write = (name: string, value: unknown) => {
      const path = join(tempDir(), name);
      writeFileSync(path, JSON.stringify(value));
      return path;
    };
    const typo = allocdb('verify', dir, '--config', write('typo.json', { maxResource: 64 }));
    expect(typo.status).toBe(3);
    expect(oneLine(typo)).toContain("unknown field 'maxResource'");

    const wrong = allocdb('verify', dir, '--config', write('wrong.json', { maxResources: 'lots' }));
    expect(wrong.status).toBe(3);
    expect(oneLine(wrong)).toContain('maxResources');

    const smaller = allocdb('verify', dir, '--config', write('small.json', { maxResources: 32 }));
    expect(smaller.status).toBe(6);
    const line = oneLine(smaller);
    expect(line).toContain('maxResources recorded 64, --config 32');
    expect(line).not.toMatch(/corrupt|damaged/);

    const agreeing = allocdb('verify', dir, '--config', write('same.json', { maxResources: 64 }));
    expect(agreeing.status).toBe(0);
  });

  it('a directory written before configurations were recorded takes a partial --config', async () => {
    const dir = await directory();
    rmSync(join(dir, 'config'));
    const bare = allocdb('inspect', dir);
    expect(bare.status).toBe(0);
    expect(bare.stdout).toContain('pass --config to replay');
    const config = join(tempDir(), 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        maxResources: 64,
        maxReservations: 64,
        maxBundleSize: 4,
        maxOperations: 256,
        maxTtlSlots: '16',
        maxClientRetryWindowSlots: 8,
        reservationHistoryWindowSlots: '4',
        maxExpirationBucketLen: 16,
      }),
    );
    const replayed = allocdb('inspect', dir, '--config', config);
    expect(replayed.status).toBe(0);
    expect(replayed.stdout).toContain('from --config');
    expect(replayed.stdout).toContain('resources: 3 / 64');
  });

  it('a damaged snapshot is shown as damaged, with the fix', async () => {
    const dir = await directory();
    const bytes = Buffer.from(readFileSync(snapshotPath(dir)));
    bytes[40]! ^= 0xff;
    writeFileSync(snapshotPath(dir), bytes);
    const result = allocdb('verify', dir);
    expect(result.status).toBe(2);
    expect(result.stdout).not.toContain('snapshot: none');
    expect(result.stdout).toContain(
      'snapshot: damaged; fix: the log still holds the whole history from lsn 1',
    );
    expect(result.stdout).toContain(`mv ${snapshotPath(dir)} ${snapshotPath(dir)}.damaged`);
    expect(result.stdout).toContain('problem: recovery failed (snapshot_invalid)');
  });
});
