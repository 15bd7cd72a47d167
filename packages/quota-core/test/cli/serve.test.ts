/**
 * `quota serve` as an operator runs it: the built bin in a child process, on loopback. Start,
 * serve, SIGTERM (drain, close, exit 0), and every way it refuses to start, each with one line
 * and its documented status.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { QuotaClient, ServiceError } from '../../src/exports/client.js';
import { QuotaEngine } from '../../src/index.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const bin = fileURLToPath(new URL('../../dist/bin/quota.js', import.meta.url));

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

/** Starts `quota serve` and waits for its "listening on" line. */
function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, QUOTA_TOKEN: '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve({ child, url: match[1]!, stderr: () => stderr, exited });
    });
    exited.then((code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
  });
}

function serveSync(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [bin, 'serve', ...args], {
    encoding: 'utf8',
    env: { ...process.env, QUOTA_TOKEN: '', ...env },
    timeout: 60_000,
  });
  return {
    status: result.status,
    stdout: result.stdout,
    lines: result.stderr.split('\n').filter((line) => line !== ''),
  };
}

const fast = { minDelayMs: 1, maxDelayMs: 20, deadlineMs: 2_000 };

beforeAll(() => {
  expect(existsSync(bin), 'build the package first (pnpm --filter quota-core build)').toBe(true);
});

describe('quota serve (the built bin)', () => {
  it('a long recovery reports its progress on stderr, then serves what it recovered', async () => {
    // 100,000 debits: about 9 MiB of log, over the 8 MiB from which recovery shows progress
    const dir = join(tempDir(), 'data');
    const engine = await QuotaEngine.open({ dir });
    const create = {
      kind: 'create_bucket' as const,
      bucketId: 1n,
      limit: 10n ** 9n,
      initialBalance: 10n ** 9n,
      refillRatePerSlot: 0n,
    };
    engine.submitBatchSync([{ operationId: 1n, clientId: 1n, command: create }]);
    let operationId = 2n;
    for (let batch = 0; batch < 25; batch++) {
      engine.submitBatchSync(
        Array.from({ length: 4_000 }, () => ({
          operationId: operationId++,
          clientId: 1n,
          command: { kind: 'debit' as const, bucketId: 1n, amount: 1n },
        })),
      );
    }
    await engine.close();
    const served = await serve(['--dir', dir]);
    // stderr and stdout are two pipes: the progress lines, written before "listening on", may
    // still be on their way
    for (let wait = 0; wait < 100 && !served.stderr().includes('recovered:'); wait++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lines = served.stderr().split('\n');
    const progress = lines.filter((line) => line.startsWith('quota serve: recovering: '));
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress) {
      expect(line).toMatch(
        /^quota serve: recovering: \d0% of the log scanned, [\d,]+ frames replayed$/,
      );
    }
    expect(lines.filter((line) => line.startsWith('quota serve: recovered: '))).toEqual([
      expect.stringMatching(
        /^quota serve: recovered: 100,001 frames replayed, \d+\.\d MiB of log scanned$/,
      ),
    ]);
    const client = new QuotaClient({ url: served.url, retry: fast });
    expect((await client.getBucket(1n))?.balance).toBe(10n ** 9n - 100_000n);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  });

  it('a short recovery prints no progress', async () => {
    const dir = join(tempDir(), 'data');
    const served = await serve(['--dir', dir]);
    expect(served.stderr()).not.toMatch(/recover/);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  });

  it('serves until SIGTERM, then drains, closes the engine and exits 0; the data is there', async () => {
    const dir = join(tempDir(), 'data');
    const served = await serve(['--dir', dir]);
    const client = new QuotaClient({ url: served.url, retry: fast });
    await client.submit({
      kind: 'create_bucket',
      bucketId: 1n,
      limit: 100n,
      initialBalance: 100n,
      refillRatePerSlot: 0n,
    });
    const debit = await client.submit({ kind: 'debit', bucketId: 1n, amount: 30n });
    expect(debit.outcome.resultCode).toBe('ok');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.stderr()).toContain('SIGTERM received; draining');
    expect(served.stderr()).toMatch(/stopped at lsn 2\n$/);
    // The lock is released and every acknowledged command is durable.
    const engine = await QuotaEngine.open({ dir });
    expect(engine.getBucket(1n)?.balance).toBe(70n);
    await engine.close();
  });

  it('SIGTERM under load: every acknowledged command is durable, no answer is cut', async () => {
    const dir = join(tempDir(), 'data');
    const served = await serve(['--dir', dir]);
    const client = new QuotaClient({ url: served.url, retry: fast });
    const acked: bigint[] = [];
    let first: () => void = () => undefined;
    const firstAck = new Promise<void>((resolve) => {
      first = resolve;
    });
    const all = Array.from({ length: 300 }, (_, i) =>
      client
        .submit({
          kind: 'create_bucket',
          bucketId: BigInt(i),
          limit: 1n,
          initialBalance: 1n,
          refillRatePerSlot: 0n,
        })
        .then(
          (result) => {
            acked.push(BigInt(i));
            first();
            return result;
          },
          (error: unknown) => error,
        ),
    );
    await firstAck;
    served.child.kill('SIGTERM');
    const settled = await Promise.all(all);
    expect(await served.exited).toBe(0);
    for (const entry of settled) {
      if (entry instanceof Error) {
        expect(entry).toBeInstanceOf(ServiceError);
        expect((entry as ServiceError).code).toBe('unavailable');
      }
    }
    const engine = await QuotaEngine.open({ dir });
    for (const id of acked) expect(engine.getBucket(id), `bucket ${id}`).toBeDefined();
    expect(engine.lastAppliedLsn).toBeGreaterThanOrEqual(BigInt(acked.length));
    await engine.close();
  });

  it("a client cannot move the clock: a requestSlot far ahead is refused (400 slot_ahead), so another client's retry stays exactly-once", async () => {
    const dir = join(tempDir(), 'data');
    const served = await serve(['--dir', dir]);
    try {
      const honest = new QuotaClient({ url: served.url, retry: fast });
      const hostile = new QuotaClient({ url: served.url, retry: fast });
      await honest.submit({
        kind: 'create_bucket',
        bucketId: 1n,
        limit: 100n,
        initialBalance: 100n,
        refillRatePerSlot: 0n,
      });
      const debit = await honest.submit({ kind: 'debit', bucketId: 1n, amount: 10n });
      expect(debit.outcome.resultCode).toBe('ok');
      // 1,000 slots ahead: past the 120-slot retry window of the honest client's debit
      for (const requestSlot of [debit.requestSlot + 1_000n, (1n << 64n) - 2n]) {
        await expect(
          hostile.submit({ kind: 'debit', bucketId: 2n, amount: 1n }, { requestSlot }),
        ).rejects.toMatchObject({ code: 'slot_ahead', status: 400, definite: true });
      }
      // the honest client's retry of its acknowledged debit is answered, not run again
      const retry = await honest.submit(
        { kind: 'debit', bucketId: 1n, amount: 10n },
        { operationId: debit.operationId },
      );
      expect(retry.fromRetryCache).toBe(true);
      expect(retry.lsn).toBe(debit.lsn);
      expect((await honest.getBucket(1n))?.balance).toBe(90n);
      // a slot within the bound is taken as the command's slot
      const near = await hostile.submit(
        { kind: 'debit', bucketId: 1n, amount: 1n },
        { requestSlot: debit.requestSlot + 1n },
      );
      expect(near.requestSlot).toBe(debit.requestSlot + 1n);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });

  it('--max-slot-skew sets the bound (0: no slot ahead of the clock), and a bad value is a usage error', async () => {
    const served = await serve(['--dir', join(tempDir(), 'data'), '--max-slot-skew', '0']);
    try {
      const client = new QuotaClient({ url: served.url, retry: fast });
      const first = await client.submit({ kind: 'debit', bucketId: 9n, amount: 1n });
      await expect(
        client.submit(
          { kind: 'debit', bucketId: 9n, amount: 1n },
          { requestSlot: first.requestSlot + 5n },
        ),
      ).rejects.toMatchObject({ code: 'slot_ahead', status: 400 });
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
    for (const bad of ['-1', 'x', '1.5', String(2 ** 53)]) {
      const result = serveSync(['--dir', join(tempDir(), 'data'), `--max-slot-skew=${bad}`]);
      expect(result.status, bad).toBe(3);
      expect(result.lines, bad).toHaveLength(1);
      expect(result.lines[0]).toContain('--max-slot-skew');
    }
  });

  it('failing checkpoints: a stderr line each, degraded health with the error, 507 log_full past --max-wal-bytes, and recovery once the disk takes snapshots', async () => {
    const dir = join(tempDir(), 'data');
    // A directory where the snapshot's temporary file should go: every snapshot write fails.
    mkdirSync(join(dir, 'snapshot.tmp'), { recursive: true });
    const served = await serve([
      '--dir',
      dir,
      '--checkpoint-every-bytes',
      '2048',
      '--max-wal-bytes',
      '16384',
    ]);
    try {
      const post = async (path: string, body: unknown) => {
        const response = await fetch(`${served.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as Record<string, never> };
      };
      let operationId = 1;
      const debit = () => ({
        operationId: String(operationId++),
        clientId: '1',
        command: { kind: 'debit', bucketId: '1', amount: '1' },
      });
      const created = await post('/v1/submit', {
        operationId: String(operationId++),
        clientId: '1',
        command: {
          kind: 'create_bucket',
          bucketId: '1',
          limit: '1000000',
          initialBalance: '1000000',
          refillRatePerSlot: '0',
        },
      });
      expect(created.status).toBe(200);
      let full: { status: number; body: Record<string, never> } | undefined;
      for (let round = 0; round < 20 && full === undefined; round++) {
        const batch = await post('/v1/batch', { requests: Array.from({ length: 50 }, debit) });
        expect(batch.status).toBe(200);
        const answer = await post('/v1/submit', debit());
        if (answer.status !== 200) full = answer;
      }
      expect(full?.status).toBe(507);
      expect(full?.body).toMatchObject({
        error: {
          code: 'log_full',
          definite: true,
          message: expect.stringMatching(/maxWalBytes 16384/),
        },
      });
      // The first checkpoint (its snapshot rebuilt on a worker thread) may still be running.
      const health = async () =>
        (await (await fetch(`${served.url}/v1/health`)).json()) as Record<string, unknown>;
      let degraded = await health();
      const first = performance.now() + 30_000;
      while (degraded.checkpointFailures === 0 && performance.now() < first) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        degraded = await health();
      }
      expect(degraded).toMatchObject({
        status: 'degraded',
        logFull: true,
        checkpointFailures: expect.any(Number),
        lastCheckpointError: expect.stringMatching(/EISDIR/),
      });
      expect(degraded.problems).toHaveLength(2);
      const failures = served
        .stderr()
        .split('\n')
        .filter((line) => line.includes('checkpoint failed'));
      expect(failures.length).toBeGreaterThan(0);
      expect(failures[0]).toMatch(
        /^quota serve: checkpoint failed \(1 in a row\): .*EISDIR.*; the log is [\d.]+ KiB( \(new writes are refused at 16\.0 KiB\)|, at its limit: new writes are refused \(507 log_full\) until a checkpoint succeeds); next attempt in 1 s$/,
      );

      // The disk takes snapshots again: the next attempt succeeds and writes are accepted again.
      rmdirSync(join(dir, 'snapshot.tmp'));
      // The next attempt comes after the backoff the last failure announced (it doubles with
      // each failure in a row: a loaded machine fails more times before this point).
      const announced = [...served.stderr().matchAll(/next attempt in (\d+) s/g)].at(-1);
      const deadline = performance.now() + Number(announced?.[1] ?? 1) * 1_000 + 20_000;
      while ((await health()).status !== 'ok' && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await health()).toEqual({
        status: 'ok',
        engine: 'quota-core',
        appliedLsn: expect.any(String),
      });
      expect(served.stderr()).toMatch(
        /quota serve: checkpoint succeeded after \d+ failures?; the log is [\d.]+ KiB/,
      );
      expect((await post('/v1/submit', debit())).status).toBe(200);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
    const tooSmall = serveSync([
      '--dir',
      join(tempDir(), 'data'),
      '--checkpoint-every-bytes',
      '4096',
      '--max-wal-bytes',
      '8191',
    ]);
    expect(tooSmall.status).toBe(3);
    expect(tooSmall.lines).toEqual([
      expect.stringMatching(
        /^quota serve: --max-wal-bytes must be at least twice --checkpoint-every-bytes/,
      ),
    ]);
  }, 150_000);

  it('with --token-file every request needs the token', async () => {
    const base = tempDir();
    const tokenFile = join(base, 'token');
    writeFileSync(tokenFile, 'file-token\n');
    const served = await serve(['--dir', join(base, 'data'), '--token-file', tokenFile]);
    try {
      const anonymous = new QuotaClient({ url: served.url, retry: fast });
      await expect(anonymous.health()).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
      const client = new QuotaClient({ url: served.url, token: 'file-token', retry: fast });
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const response = await fetch(`${served.url}/v1/health`, {
          headers: { authorization: `${scheme} file-token` },
        });
        expect(response.status, scheme).toBe(200);
      }
      expect((await client.health()).status).toBe('ok');
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });

  it('a bad --config (missing, not JSON, not an object, an invalid value) is a usage error: exit 3, one line, no directory created', () => {
    const base = tempDir();
    const notJson = join(base, 'not-json.json');
    writeFileSync(notJson, '{ maxOperations: 1');
    const array = join(base, 'array.json');
    writeFileSync(array, '[]');
    const invalid = join(base, 'invalid.json');
    writeFileSync(invalid, JSON.stringify({ maxBuckets: 0 }));
    const cases: [string, RegExp][] = [
      [join(base, 'missing.json'), /cannot read the config file .*missing\.json: ENOENT/],
      [notJson, /cannot read the config file .*not-json\.json: .*JSON/],
      [array, /must hold a JSON object/],
      [invalid, /--config: .*maxBuckets/],
    ];
    for (const [file, message] of cases) {
      const dir = join(base, 'data');
      const result = serveSync(['--dir', dir, '--config', file]);
      expect(result.status, file).toBe(3);
      expect(result.lines, file).toHaveLength(1);
      expect(result.lines[0], file).toMatch(/^quota serve: /);
      expect(result.lines[0], file).toMatch(message);
      expect(result.lines[0], file).not.toMatch(/internal error| {4}at /);
      expect(existsSync(dir), `${file} left a data directory`).toBe(false);
    }
  });

  it('numeric flags out of range are usage errors (a timeout past 2^31 - 1 ms would fire at once)', () => {
    for (const [flag, value] of [
      ['--request-timeout-ms', '3000000000'],
      ['--receive-timeout-ms', '2147483648'],
      ['--max-body-bytes', '1099511627776'],
      ['--port', '65536'],
    ]) {
      const result = serveSync(['--dir', join(tempDir(), 'data'), flag!, value!]);
      expect(result.status, flag).toBe(3);
      expect(result.lines, flag).toHaveLength(1);
      expect(result.lines[0], flag).toMatch(
        new RegExp(`^quota serve: ${flag} must be an integer from \\d+ to [\\d,]+, got ${value}`),
      );
    }
  });

  it('routes: an unknown path is 404 whatever the method; a known one with another method is 405', async () => {
    const served = await serve(['--dir', join(tempDir(), 'data')]);
    try {
      const status = async (method: string, path: string) =>
        (
          await fetch(`${served.url}${path}`, {
            method,
            ...(method === 'POST' ? { body: '{}' } : {}),
          })
        ).status;
      for (const method of ['GET', 'POST', 'DELETE']) {
        expect(await status(method, '/v1/submit/x'), `${method} /v1/submit/x`).toBe(404);
        expect(await status(method, '/v1/buckets/1/x'), `${method} /v1/buckets/1/x`).toBe(404);
        expect(await status(method, '/v1/nothing/1'), `${method} /v1/nothing/1`).toBe(404);
      }
      expect(await status('POST', '/v1/buckets/1')).toBe(405);
      expect(await status('GET', '/v1/submit')).toBe(405);
      expect(await status('GET', '/v1/buckets/1')).toBe(200);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });

  it('reads with ids or query values out of range are 400 invalid_request naming the field, not 500', async () => {
    const served = await serve(['--dir', join(tempDir(), 'data')]);
    try {
      for (const [path, field] of [
        [`/v1/buckets/${2n ** 128n}`, 'path.bucketId'],
        [`/v1/buckets/${2n ** 128n}/balance`, 'path.bucketId'],
        [`/v1/operations/${2n ** 128n}`, 'path.operationId'],
        [`/v1/buckets/1?minLsn=${2n ** 64n}`, 'query.minLsn'],
        [`/v1/buckets/1/balance?slot=${2n ** 64n}`, 'query.slot'],
        [`/v1/buckets/1/balance?minLsn=${2n ** 64n}`, 'query.minLsn'],
        [`/v1/operations/1?currentSlot=${2n ** 64n}`, 'query.currentSlot'],
      ] as const) {
        const response = await fetch(`${served.url}${path}`);
        expect(response.status, path).toBe(400);
        expect(await response.json(), path).toMatchObject({
          error: { code: 'invalid_request', field, definite: true },
        });
      }
      // The largest values are in range.
      expect(
        (await fetch(`${served.url}/v1/buckets/1/balance?slot=18446744073709551615`)).status,
      ).toBe(200);
      expect((await fetch(`${served.url}/v1/operations/${2n ** 128n - 1n}`)).status).toBe(200);
      expect(served.stderr()).not.toMatch(/internal error/);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });

  it('idle connections cannot lock clients out: when every connection is taken, an idle one is closed for the newcomer', async () => {
    const served = await serve(['--dir', join(tempDir(), 'data'), '--max-connections', '8']);
    const idle: Socket[] = [];
    try {
      const port = Number(new URL(served.url).port);
      for (let i = 0; i < 8; i++) {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        idle.push(socket);
      }
      // Within the header timeout (10 s) of those idle connections:
      const response = await fetch(`${served.url}/v1/health`, {
        signal: AbortSignal.timeout(3_000),
      });
      expect(response.status).toBe(200);
      const metrics = (await (
        await fetch(`${served.url}/v1/metrics`, { signal: AbortSignal.timeout(3_000) })
      ).json()) as {
        server: { connectionsEvicted: number };
      };
      expect(metrics.server.connectionsEvicted).toBeGreaterThanOrEqual(1);
    } finally {
      for (const socket of idle) socket.destroy();
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });

  it('a non-loopback host without a token is refused (exit 3, one line)', () => {
    const result = serveSync(['--dir', join(tempDir(), 'data'), '--host', '0.0.0.0']);
    expect(result.status).toBe(3);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toContain('not a loopback address');
    expect(result.lines[0]).toContain('QUOTA_TOKEN');
  });

  it('refusals to start: usage, locked directory, port in use, a file as --dir', async () => {
    const base = tempDir();
    expect(serveSync([]).status).toBe(3);
    expect(serveSync([]).lines[0]).toContain('--dir <dir> is required');
    expect(serveSync(['--dir', base, '--port', 'x']).status).toBe(3);
    expect(serveSync(['--dir', base, '--bogus']).status).toBe(3);
    const help = serveSync(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: quota serve --dir <dir>');

    const file = join(base, 'file');
    writeFileSync(file, 'x');
    const notDir = serveSync(['--dir', file]);
    expect(notDir.status).toBe(4);
    expect(notDir.lines).toHaveLength(1);

    const locked = join(base, 'locked');
    const engine = await QuotaEngine.open({ dir: locked });
    try {
      const result = serveSync(['--dir', locked]);
      expect(result.status).toBe(7);
      expect(result.lines).toHaveLength(1);
    } finally {
      await engine.close();
    }

    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const result = serveSync(['--dir', join(base, 'd2'), '--port', String(port)]);
      expect(result.status).toBe(8);
      expect(result.lines).toHaveLength(1);
      expect(result.lines[0]).toContain('EADDRINUSE');
    } finally {
      holder.close();
    }
    // The directory refused by the port is not left locked.
    const reopened = await QuotaEngine.open({ dir: join(base, 'd2') });
    await reopened.close();
  });
});
