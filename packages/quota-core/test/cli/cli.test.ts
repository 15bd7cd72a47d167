import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EXIT_CLEAN,
  EXIT_CORRUPTION,
  EXIT_TORN_TAIL,
  EXIT_USAGE,
  runCli,
  toJson,
} from '../../src/cli/cli.js';
import { encodeFrames } from '../../src/runtime/wal.js';
import {
  createBucket,
  debit,
  openEngine,
  request,
  SMALL_CONFIG,
  walPath,
} from '../engine/engine-fixtures.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { status, out, err };
}

/** A bucket, a debit, a checkpoint, then one more debit after it. */
async function directory(): Promise<{ dir: string; configPath: string }> {
  const dir = tempDir();
  const engine = await openEngine(dir);
  await engine.submit(request(createBucket(11n, 10n, 10n, 1n)), { requestSlot: 1n });
  await engine.submit(request(debit(11n, 4n)), { requestSlot: 2n });
  await engine.checkpoint();
  await engine.submit(request(debit(11n, 3n)), { requestSlot: 3n });
  await engine.close();
  const configPath = join(tempDir(), 'config.json');
  writeFileSync(configPath, toJson(SMALL_CONFIG));
  return { dir, configPath };
}

describe('quota command', () => {
  it('verify: 0 for a clean directory, with and without the config', async () => {
    const { dir, configPath } = await directory();
    expect(run('verify', dir).status).toBe(EXIT_CLEAN);
    const full = run('verify', dir, '--config', configPath);
    expect(full.status).toBe(EXIT_CLEAN);
    expect(full.out.join('\n')).toContain('recovery: snapshot_and_wal, replayed 1 frames');
  });

  it('verify: 1 for a torn tail, and it leaves the tail in place', async () => {
    const { dir, configPath } = await directory();
    appendFileSync(walPath(dir), Uint8Array.of(1, 2, 3));
    const before = readFileSync(walPath(dir));
    expect(run('verify', dir).status).toBe(EXIT_TORN_TAIL);
    expect(run('verify', dir, '--config', configPath).status).toBe(EXIT_TORN_TAIL);
    expect(readFileSync(walPath(dir))).toEqual(before);
  });

  it('verify: 2 for corruption, naming the offset and reason', async () => {
    const { dir } = await directory();
    const bytes = Buffer.from(readFileSync(walPath(dir)));
    bytes[10]! ^= 4;
    writeFileSync(walPath(dir), bytes);
    const result = run('verify', dir, '--json');
    expect(result.status).toBe(EXIT_CORRUPTION);
    expect(JSON.parse(result.out[0]!).problem).toMatchObject({ code: 'wal_corruption', offset: 0 });
    expect(run('verify', dir).out.join('\n')).toContain('damaged (opening would refuse it)');
  });

  it('verify: 2 for a directory of the other engine', async () => {
    const dir = tempDir();
    const allocFrame = {
      recordType: 1 as const,
      lsn: 1n,
      requestSlot: 1n,
      payload: Uint8Array.of(1),
    };
    writeFileSync(walPath(dir), encodeFrames([allocFrame], { maxPayloadBytes: 64, magic: 'ADBW' }));
    const result = run('verify', dir, '--json');
    expect(result.status).toBe(EXIT_CORRUPTION);
    expect(JSON.parse(result.out[0]!).problem).toMatchObject({ code: 'wrong_engine' });
  });

  it('inspect: recovery status, snapshot LSN, WAL size and frames, table use', async () => {
    const { dir, configPath } = await directory();
    const result = run('inspect', dir, '--config', configPath, '--json');
    expect(result.status).toBe(EXIT_CLEAN);
    const report = JSON.parse(result.out[0]!);
    expect(report.snapshot).toMatchObject({ lastAppliedLsn: '2' });
    expect(report.wal).toMatchObject({ frames: 4, stop: { kind: 'clean' } });
    expect(report.recovery).toMatchObject({ startupKind: 'snapshot_and_wal', replayedFrames: 1 });
    expect(report.tables.buckets).toEqual({ used: 1, capacity: SMALL_CONFIG.maxBuckets });
    expect(report.tables.operations).toEqual({ used: 3, capacity: SMALL_CONFIG.maxOperations });
    const text = run('inspect', dir).out.join('\n');
    expect(text).toContain('snapshot: lsn 2');
    expect(text).toContain('configuration: recorded: maxBuckets 64');
    expect(run('inspect', dir, '--config', configPath).out.join('\n')).toContain('buckets: 1 / 64');
  });

  it('dump: one JSON line per frame, decoded', async () => {
    const { dir } = await directory();
    const result = run('dump', dir);
    expect(result.status).toBe(EXIT_CLEAN);
    const frames = result.out.map((line) => JSON.parse(line));
    expect(frames.map((f) => [f.lsn, f.record])).toEqual([
      ['1', 'client'],
      ['2', 'client'],
      ['2', 'snapshot_marker'],
      ['3', 'client'],
    ]);
    expect(frames[1].command).toEqual({ kind: 'debit', bucketId: '11', amount: '4' });
    expect(frames[0].command).toEqual({
      kind: 'create_bucket',
      bucketId: '11',
      limit: '10',
      initialBalance: '10',
      refillRatePerSlot: '1',
    });
  });

  it('3 for bad usage and unreadable configs, with a message saying what is wrong', () => {
    expect(run().status).toBe(EXIT_USAGE);
    expect(run('explode', '/tmp').err[0]).toContain("unknown command 'explode'");
    expect(run('verify', '/tmp', '--config', '/nonexistent.json').err[0]).toContain(
      'cannot read the config file',
    );
    const badConfig = join(tempDir(), 'bad.json');
    writeFileSync(badConfig, JSON.stringify({ ...toJsonObject(SMALL_CONFIG), maxBuckets: 0 }));
    expect(run('verify', tempDir(), '--config', badConfig)).toMatchObject({ status: EXIT_USAGE });
    expect(run('verify', '/tmp', '--bogus').status).toBe(EXIT_USAGE);
    expect(run('--help').status).toBe(EXIT_CLEAN);
    expect(run('--help').out[0]).toContain('usage: quota');
  });

  it('the built bin runs (quota --help, and verify on a directory)', async () => {
    const bin = fileURLToPath(new URL('../../dist/bin/quota.js', import.meta.url));
    expect(existsSync(bin), 'build the package first (pnpm --filter quota-core build)').toBe(true);
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: quota');
    const { dir } = await directory();
    expect(spawnSync(process.execPath, [bin, 'verify', dir]).status).toBe(0);
    appendFileSync(walPath(dir), Uint8Array.of(9));
    expect(spawnSync(process.execPath, [bin, 'verify', dir]).status).toBe(1);
  });
});

function toJsonObject(value: unknown): Record<string, unknown> {
  return JSON.parse(toJson(value));
}
