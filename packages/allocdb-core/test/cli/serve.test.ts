/**
 * `allocdb serve` as an operator runs it: the built bin in a child process, on loopback. Start,
 * serve, SIGTERM (drain, close, exit 0), and every way it refuses to start, each with one line
 * and its documented status.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { AllocDbClient, ServiceError } from '../../src/exports/client.js';
import { AllocDbEngine } from '../../src/index.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const bin = fileURLToPath(new URL('../../dist/bin/allocdb.js', import.meta.url));

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

/** Starts `allocdb serve` and waits for its "listening on" line. */
function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ALLOCDB_TOKEN: '', ...env },
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
    env: { ...process.env, ALLOCDB_TOKEN: '', ...env },
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
  expect(existsSync(bin), 'build the package first (pnpm --filter allocdb-core build)').toBe(true);
});

describe('allocdb serve (the built bin)', () => {
  it('a long recovery reports its progress on stderr, then serves what it recovered', async () => {
    // 4,000 resources reserved and released 14 times over (the last round stays reserved):
    // 112,000 frames, about 11 MiB of log, over the 8 MiB from which recovery shows progress
    const dir = join(tempDir(), 'data');
    // (4,000 reservations share a deadline: the wheel's bucket is sized for them; the recorded
    // configuration is what the server opens with)
    const engine = await AllocDbEngine.open({ dir, config: { maxExpirationBucketLen: 4_096 } });
    const RESOURCES = 4_000;
    let operationId = 1n;
    const request = (command: Parameters<AllocDbEngine['submitSync']>[0]['command']) => ({
      operationId: operationId++,
      clientId: 1n,
      command,
    });
    engine.submitBatchSync(
      Array.from({ length: RESOURCES }, (_, r) =>
        request({ kind: 'create_resource', resourceId: BigInt(r) }),
      ),
    );
    for (let round = 0; round < 14; round++) {
      const reserved = engine.submitBatchSync(
        Array.from({ length: RESOURCES }, (_, r) =>
          request({ kind: 'reserve', resourceId: BigInt(r), holderId: 1n, ttlSlots: 1_000n }),
        ),
      );
      const reservationIds = reserved.map((result) => {
        const reservationId = 'outcome' in result ? result.outcome.reservationId : undefined;
        if (reservationId === undefined) {
          throw new Error(
            `reserve: ${JSON.stringify(result, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`,
          );
        }
        return reservationId;
      });
      if (round === 13) break;
      engine.submitBatchSync(
        reservationIds.map((reservationId) =>
          request({ kind: 'release', reservationId, holderId: 1n, leaseEpoch: 1n }),
        ),
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
    const progress = lines.filter((line) => line.startsWith('allocdb serve: recovering: '));
    expect(progress.length).toBeGreaterThan(0);
    for (const line of progress) {
      expect(line).toMatch(
        /^allocdb serve: recovering: \d0% of the log scanned, [\d,]+ frames replayed$/,
      );
    }
    expect(lines.filter((line) => line.startsWith('allocdb serve: recovered: '))).toEqual([
      expect.stringMatching(
        /^allocdb serve: recovered: 112,000 frames replayed, \d+\.\d MiB of log scanned$/,
      ),
    ]);
    const client = new AllocDbClient({ url: served.url, retry: fast });
    // (the last round's leases may already have expired: the server's tick runs on the clock)
    expect((await client.getResource(0n))?.resourceId).toBe(0n);
    expect((await client.getResource(3_999n))?.resourceId).toBe(3_999n);
    expect(await client.getResource(4_000n)).toBeUndefined();
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
    const client = new AllocDbClient({ url: served.url, retry: fast });
    await client.submit({ kind: 'create_resource', resourceId: 1n });
    const reserved = await client.submit({
      kind: 'reserve',
      resourceId: 1n,
      holderId: 5n,
      ttlSlots: 60n,
    });
    expect(reserved.outcome.resultCode).toBe('ok');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.stderr()).toContain('SIGTERM received; draining');
    expect(served.stderr()).toMatch(/stopped at lsn 2\n$/);
    // The lock is released and every acknowledged command is durable.
    const engine = await AllocDbEngine.open({ dir });
    expect(engine.getResource(1n)?.state).toBe('reserved');
    await engine.close();
  });

  it('the expiration tick runs on its own: an unconfirmed lease past its deadline expires', async () => {
    const dir = join(tempDir(), 'data');
    const served = await serve(['--dir', dir, '--tick-ms', '20']);
    try {
      const client = new AllocDbClient({ url: served.url, retry: fast });
      await client.submit({ kind: 'create_resource', resourceId: 1n });
      const lease = await client.submit({
        kind: 'reserve',
        resourceId: 1n,
        holderId: 5n,
        ttlSlots: 1n,
      });
      if (lease.outcome.resultCode !== 'ok') throw new Error(lease.outcome.resultCode);
      const { reservationId } = lease.outcome;
      // No command is sent: only the server's own tick can expire it (one-second slots).
      let state: string | undefined;
      for (let polls = 0; polls < 600 && state !== 'expired'; polls++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        const found = await client.getReservation(reservationId);
        state = found.status === 'found' ? found.reservation.state : found.status;
      }
      expect(state).toBe('expired');
      expect((await client.getResource(1n))?.state).toBe('available');
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });

  it('a client cannot move the clock: a requestSlot far ahead is refused (400 slot_ahead), and other holders keep their leases', async () => {
    const dir = join(tempDir(), 'data');
    const served = await serve(['--dir', dir, '--tick-ms', '20']);
    try {
      const honest = new AllocDbClient({ url: served.url, retry: fast });
      const hostile = new AllocDbClient({ url: served.url, retry: fast });
      await honest.submit({ kind: 'create_resource', resourceId: 1n });
      await honest.submit({ kind: 'create_resource', resourceId: 2n });
      const lease = await honest.submit({
        kind: 'reserve',
        resourceId: 1n,
        holderId: 5n,
        ttlSlots: 600n,
      });
      if (lease.outcome.resultCode !== 'ok') throw new Error(lease.outcome.resultCode);
      for (const requestSlot of [lease.requestSlot + 1_000n, (1n << 64n) - 2n]) {
        await expect(
          hostile.submit(
            { kind: 'reserve', resourceId: 2n, holderId: 6n, ttlSlots: 1n },
            { requestSlot },
          ),
        ).rejects.toMatchObject({ code: 'slot_ahead', status: 400, definite: true });
      }
      // several ticks later the honest lease is still held: the engine's slot did not jump
      await new Promise((resolve) => setTimeout(resolve, 200));
      const found = await honest.getReservation(lease.outcome.reservationId);
      expect(found.status).toBe('found');
      if (found.status === 'found') expect(found.reservation.state).toBe('reserved');
      expect((await honest.getResource(1n))?.state).toBe('reserved');
      expect((await honest.getResource(2n))?.state).toBe('available');
      const retry = await honest.submit(
        { kind: 'reserve', resourceId: 1n, holderId: 5n, ttlSlots: 600n },
        { operationId: lease.operationId },
      );
      expect(retry.fromRetryCache).toBe(true);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });

  it('SIGTERM under load: every acknowledged command is durable, no answer is cut', async () => {
    const dir = join(tempDir(), 'data');
    const served = await serve(['--dir', dir]);
    const client = new AllocDbClient({ url: served.url, retry: fast });
    const acked: bigint[] = [];
    let first: () => void = () => undefined;
    const firstAck = new Promise<void>((resolve) => {
      first = resolve;
    });
    const all = Array.from({ length: 300 }, (_, i) =>
      client.submit({ kind: 'create_resource', resourceId: BigInt(i) }).then(
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
    const engine = await AllocDbEngine.open({ dir });
    for (const id of acked) expect(engine.getResource(id), `resource ${id}`).toBeDefined();
    expect(engine.lastAppliedLsn).toBeGreaterThanOrEqual(BigInt(acked.length));
    await engine.close();
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
      let resourceId = 1;
      const create = () => ({
        operationId: String(operationId++),
        clientId: '1',
        command: { kind: 'create_resource', resourceId: String(resourceId++) },
      });
      let full: { status: number; body: Record<string, never> } | undefined;
      for (let round = 0; round < 20 && full === undefined; round++) {
        const batch = await post('/v1/batch', { requests: Array.from({ length: 50 }, create) });
        expect(batch.status).toBe(200);
        const answer = await post('/v1/submit', create());
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
        /^allocdb serve: checkpoint failed \(1 in a row\): .*EISDIR.*; the log is [\d.]+ KiB( \(new writes are refused at 16\.0 KiB\)|, at its limit: new writes are refused \(507 log_full\) until a checkpoint succeeds); next attempt in 1 s$/,
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
        engine: 'allocdb-core',
        appliedLsn: expect.any(String),
      });
      expect(served.stderr()).toMatch(
        /allocdb serve: checkpoint succeeded after \d+ failures?; the log is [\d.]+ KiB/,
      );
      expect((await post('/v1/submit', create())).status).toBe(200);
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
        /^allocdb serve: --max-wal-bytes must be at least twice --checkpoint-every-bytes/,
      ),
    ]);
  }, 150_000);

  it('with --token-file every request needs the token', async () => {
    const base = tempDir();
    const tokenFile = join(base, 'token');
    writeFileSync(tokenFile, 'file-token\n');
    const served = await serve(['--dir', join(base, 'data'), '--token-file', tokenFile]);
    try {
      const anonymous = new AllocDbClient({ url: served.url, retry: fast });
      await expect(anonymous.health()).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
      const client = new AllocDbClient({ url: served.url, token: 'file-token', retry: fast });
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
    writeFileSync(invalid, JSON.stringify({ maxResources: 0 }));
    const cases: [string, RegExp][] = [
      [join(base, 'missing.json'), /cannot read the config file .*missing\.json: ENOENT/],
      [notJson, /cannot read the config file .*not-json\.json: .*JSON/],
      [array, /must hold a JSON object/],
      [invalid, /--config: .*maxResources/],
    ];
    for (const [file, message] of cases) {
      const dir = join(base, 'data');
      const result = serveSync(['--dir', dir, '--config', file]);
      expect(result.status, file).toBe(3);
      expect(result.lines, file).toHaveLength(1);
      expect(result.lines[0], file).toMatch(/^allocdb serve: /);
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
      ['--tick-ms', '2147483648'],
    ]) {
      const result = serveSync(['--dir', join(tempDir(), 'data'), flag!, value!]);
      expect(result.status, flag).toBe(3);
      expect(result.lines, flag).toHaveLength(1);
      expect(result.lines[0], flag).toMatch(
        new RegExp(`^allocdb serve: ${flag} must be an integer from \\d+ to [\\d,]+, got ${value}`),
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
        expect(await status(method, '/v1/resources/1/x'), `${method} /v1/resources/1/x`).toBe(404);
        expect(await status(method, '/v1/nothing/1'), `${method} /v1/nothing/1`).toBe(404);
      }
      expect(await status('POST', '/v1/resources/1')).toBe(405);
      expect(await status('GET', '/v1/submit')).toBe(405);
      expect(await status('GET', '/v1/resources/1')).toBe(200);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    }
  });

  it('reads with ids or query values out of range are 400 invalid_request naming the field, not 500', async () => {
    const served = await serve(['--dir', join(tempDir(), 'data')]);
    try {
      for (const [path, field] of [
        [`/v1/resources/${2n ** 128n}`, 'path.resourceId'],
        [`/v1/reservations/${2n ** 128n}`, 'path.reservationId'],
        [`/v1/reservations/${2n ** 128n}/members`, 'path.reservationId'],
        [`/v1/operations/${2n ** 128n}`, 'path.operationId'],
        [`/v1/resources/1?minLsn=${2n ** 64n}`, 'query.minLsn'],
        [`/v1/reservations/1?currentSlot=${2n ** 64n}`, 'query.currentSlot'],
        [`/v1/reservations/1/members?minLsn=${2n ** 64n}`, 'query.minLsn'],
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
        (await fetch(`${served.url}/v1/reservations/1?currentSlot=18446744073709551615`)).status,
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
    expect(result.lines[0]).toContain('ALLOCDB_TOKEN');
  });

  it('refusals to start: usage, locked directory, port in use, a file as --dir', async () => {
    const base = tempDir();
    expect(serveSync([]).status).toBe(3);
    expect(serveSync([]).lines[0]).toContain('--dir <dir> is required');
    expect(serveSync(['--dir', base, '--port', 'x']).status).toBe(3);
    expect(serveSync(['--dir', base, '--bogus']).status).toBe(3);
    const help = serveSync(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: allocdb serve --dir <dir>');

    const file = join(base, 'file');
    writeFileSync(file, 'x');
    const notDir = serveSync(['--dir', file]);
    expect(notDir.status).toBe(4);
    expect(notDir.lines).toHaveLength(1);

    const locked = join(base, 'locked');
    const engine = await AllocDbEngine.open({ dir: locked });
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
    const reopened = await AllocDbEngine.open({ dir: join(base, 'd2') });
    await reopened.close();
  });
});
