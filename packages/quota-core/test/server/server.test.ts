/**
 * The quota engine's HTTP service in-process (`src/server/server.ts` with `QuotaClient`): the
 * routes, the JSON mapping, every error status, and that bad input changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { QuotaClient, ServiceError } from '../../src/exports/client.js';
import type { QuotaEngine } from '../../src/index.js';
import { nodeFileSystem } from '../../src/runtime/file-system.js';
import { type QuotaServer, startQuotaServer } from '../../src/server/server.js';
import { openEngine } from '../engine/engine-fixtures.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const running: { server: QuotaServer; engine: QuotaEngine }[] = [];
afterEach(async () => {
  for (const { server, engine } of running.splice(0)) {
    await server.close();
    await engine.close();
  }
});

const fast = { minDelayMs: 1, maxDelayMs: 20, deadlineMs: 10_000 };
let slot = 0n;

async function start(
  options: { token?: string; maxBodyBytes?: number; requestTimeoutMs?: number } = {},
  engineOptions: Parameters<typeof openEngine>[1] = {},
  seams: Parameters<typeof openEngine>[2] = {},
) {
  slot = 0n;
  const engine = await openEngine(tempDir(), { clock: () => slot, ...engineOptions }, seams);
  const server = await startQuotaServer({
    engine,
    token: options.token,
    limits: {
      ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
      ...(options.requestTimeoutMs === undefined
        ? {}
        : { requestTimeoutMs: options.requestTimeoutMs }),
    },
  });
  running.push({ server, engine });
  const client = new QuotaClient({ url: server.url, token: options.token, retry: fast });
  return { engine, server, client };
}

async function call(server: QuotaServer, method: string, path: string, body?: string) {
  const response = await fetch(`${server.url}${path}`, { method, body });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Record<string, unknown> & {
      error: { code: string; message: string; definite: boolean; field?: string };
    },
  };
}

const createBucket = {
  kind: 'create_bucket',
  bucketId: 42n,
  limit: 10n,
  initialBalance: 10n,
  refillRatePerSlot: 2n,
} as const;

describe('quota serve: the API', () => {
  it('debits exactly once per operation id and reads balances with the minLsn fence', async () => {
    const { engine, server, client } = await start();
    expect((await client.submit(createBucket)).outcome).toEqual({
      resultCode: 'ok',
      bucketId: 42n,
    });
    const debit = await client.submit({ kind: 'debit', bucketId: 42n, amount: 7n });
    expect(debit).toMatchObject({ lsn: 2n, outcome: { resultCode: 'ok', bucketId: 42n } });
    const retry = await client.submit(
      { kind: 'debit', bucketId: 42n, amount: 7n },
      { operationId: debit.operationId },
    );
    expect(retry).toMatchObject({ lsn: 2n, fromRetryCache: true });
    const short = await client.submit({ kind: 'debit', bucketId: 42n, amount: 7n });
    expect(short.outcome.resultCode).toBe('insufficient_funds');
    expect(await client.getBucket(42n, { minLsn: debit.lsn })).toEqual(engine.getBucket(42n));
    expect((await client.getBucket(42n))?.balance).toBe(3n);
    slot = 2n;
    expect((await client.getBucketAt(42n))?.balance).toBe(7n);
    expect((await client.getBucketAt(42n, { slot: 1n }))?.balance).toBe(5n);
    expect(await client.getBucket(1n)).toBeUndefined();
    expect(await client.getOperation(debit.operationId)).toEqual(
      engine.getOperation(debit.operationId),
    );
    expect(await client.health()).toEqual({ status: 'ok', engine: 'quota-core', appliedLsn: 3n });
    expect(await client.metrics()).toMatchObject({ appliedLsn: '3' });
    const fenced = await client.getBucket(42n, { minLsn: 4n }).catch((e: unknown) => e);
    expect(fenced).toBeInstanceOf(ServiceError);
    expect(fenced).toMatchObject({ code: 'fence_not_applied', status: 409 });
    const raw = await call(server, 'GET', '/v1/buckets/42/balance?slot=2');
    expect(raw.body).toMatchObject({ appliedLsn: '3', bucket: { bucketId: '42', balance: '7' } });
    expect(engine.lastAppliedLsn).toBe(3n);
  });

  it('a batch is one group commit, entry by entry', async () => {
    const { engine, client } = await start();
    await client.submit(createBucket);
    const before = engine.metrics().batchesCommitted;
    const results = await client.submitBatch([
      { command: { kind: 'debit', bucketId: 42n, amount: 4n } },
      { command: { kind: 'debit', bucketId: 42n, amount: 0n } },
      { command: { kind: 'debit', bucketId: 42n, amount: 4n } },
      { command: { kind: 'debit', bucketId: 42n, amount: 4n } },
    ]);
    expect(results.map((r) => (r instanceof ServiceError ? r.code : r.outcome.resultCode))).toEqual(
      ['ok', 'invalid_request', 'ok', 'insufficient_funds'],
    );
    expect(engine.metrics().batchesCommitted).toBe(before + 1);
    expect(engine.getBucket(42n)?.balance).toBe(2n);
  });

  it('a batch runs through submitBatch in runs (split by the engine maxBatch, by options, by a bad entry), answered in order', async () => {
    const { engine, server, client } = await start({}, { engine: { maxBatch: 2 } });
    await client.submit(createBucket);
    const debit = (amount: number, operationId: number, extra: Record<string, unknown> = {}) => ({
      clientId: '1',
      operationId: String(operationId),
      command: { kind: 'debit', bucketId: '42', amount: String(amount) },
      ...extra,
    });
    const answer = await call(
      server,
      'POST',
      '/v1/batch',
      JSON.stringify({
        requests: [
          debit(1, 11),
          debit(1, 12),
          debit(1, 13),
          { clientId: '1', command: { kind: 'debit', bucketId: '42', amount: '1' } },
          debit(1, 14, { requestSlot: '5' }),
          debit(1, 11),
        ],
      }),
    );
    expect(answer.status).toBe(200);
    const results = (answer.body as unknown as { results: Record<string, unknown>[] }).results;
    expect(results.map((r) => (r.error === undefined ? r.lsn : 'error'))).toEqual([
      '2',
      '3',
      '4',
      'error',
      '5',
      '2',
    ]);
    expect(results[3]!.error).toMatchObject({
      code: 'invalid_request',
      status: 400,
      field: 'requests[3].operationId',
    });
    expect(results[4]).toMatchObject({ requestSlot: '5', fromRetryCache: false });
    // The last entry repeats the first (same operation id, same command): it joins it, runs once.
    expect(engine.lastAppliedLsn).toBe(5n);
  });

  it('the client coalesces concurrent submits into batch requests; each caller gets its own answer', async () => {
    const { engine, server, client } = await start();
    await client.submit(createBucket);
    const requests = server.metrics().requests;
    const debits = Array.from({ length: 40 }, (_, i) =>
      client.submit({
        kind: 'debit',
        bucketId: 42n,
        amount: i === 7 ? 0n : i % 2 === 0 ? 1n : 100n,
      }),
    );
    const settled = await Promise.allSettled(debits);
    // Fewer requests than commands, each command its own answer; the bad one alone fails.
    expect(server.metrics().requests - requests).toBeLessThan(40);
    expect(settled[7]).toMatchObject({
      status: 'rejected',
      reason: { code: 'invalid_request', status: 400, definite: true, field: 'command.amount' },
    });
    const outcomes = settled.map((s) =>
      s.status === 'fulfilled' ? s.value.outcome.resultCode : 'refused',
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'insufficient_funds')).toHaveLength(29);
    for (const s of settled) {
      if (s.status !== 'fulfilled') continue;
      expect(engine.getOperation(s.value.operationId)).toMatchObject({
        appliedLsn: s.value.lsn,
        outcome: s.value.outcome,
      });
    }
    expect(engine.getBucket(42n)?.balance).toBe(0n);
    client.close();
  });

  it('overloaded is 503 with Retry-After, nothing written', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let entered: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const fileSystem = {
      ...nodeFileSystem,
      fdatasync: async (fd: number) => {
        entered();
        await gate;
        return nodeFileSystem.fdatasync(fd);
      },
    };
    const { engine, server } = await start(
      {},
      { engine: { maxSubmissionQueue: 1 } },
      { fileSystem },
    );
    const body = (id: number) =>
      JSON.stringify({
        operationId: String(id),
        clientId: '1',
        command: {
          kind: 'create_bucket',
          bucketId: String(id),
          limit: '1',
          initialBalance: '1',
          refillRatePerSlot: '0',
        },
      });
    const first = call(server, 'POST', '/v1/submit', body(1));
    await blocked;
    const second = call(server, 'POST', '/v1/submit', body(2));
    while (engine.metrics().queueDepth < 1) await new Promise((r) => setTimeout(r, 2));
    const third = await call(server, 'POST', '/v1/submit', body(3));
    expect(third.status).toBe(503);
    expect(third.retryAfter).toBe('1');
    expect(third.body.error).toMatchObject({ code: 'overloaded', definite: true });
    open();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(engine.getBucket(3n)).toBeUndefined();
  });
});

describe('quota serve: a halted engine', () => {
  it('a failed fsync is 503 storage_failure (indefinite), onHalt is told once, health turns 503', async () => {
    const failing = {
      ...nodeFileSystem,
      fdatasync: async () => {
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    };
    const engine = await openEngine(tempDir(), {}, { fileSystem: failing });
    const halts: unknown[] = [];
    const server = await startQuotaServer({ engine, onHalt: (error) => halts.push(error) });
    running.push({ server, engine });
    const client = new QuotaClient({ url: server.url, retry: { ...fast, deadlineMs: 150 } });
    await expect(client.submit(createBucket)).rejects.toMatchObject({
      code: 'unavailable',
      definite: false,
    });
    expect(halts).toHaveLength(1);
    expect((halts[0] as { code: string }).code).toBe('storage_failure');
    expect((await call(server, 'GET', '/v1/health')).status).toBe(503);
  });
});

describe('quota serve: bad input changes nothing', () => {
  it('malformed JSON, bad commands, unknown routes, huge bodies, wrong tokens', async () => {
    const { engine, server } = await start({ maxBodyBytes: 512 });
    const good = { operationId: '1', clientId: '1' };
    const cases: [string, number, string, string | undefined][] = [
      ['{', 400, 'bad_json', undefined],
      [
        JSON.stringify({ ...good, command: { kind: 'debit', bucketId: '1', amount: 5 } }),
        400,
        'invalid_request',
        'command.amount',
      ],
      [
        JSON.stringify({ ...good, command: { kind: 'debit', bucketId: '1', amount: '0' } }),
        400,
        'invalid_request',
        'command.amount',
      ],
      [
        JSON.stringify({
          ...good,
          command: { kind: 'debit', bucketId: '1', amount: String(1n << 64n) },
        }),
        400,
        'invalid_request',
        'command.amount',
      ],
      [
        JSON.stringify({ ...good, command: { kind: 'debit', bucket: '1', amount: '1' } }),
        400,
        'invalid_request',
        'command.bucket',
      ],
      [
        JSON.stringify({
          ...good,
          command: {
            ...createBucket,
            limit: '1',
            initialBalance: '2',
            bucketId: '1',
            refillRatePerSlot: '0',
          },
        }),
        400,
        'invalid_request',
        'command.initialBalance',
      ],
      [
        JSON.stringify({ clientId: '1', command: { kind: 'debit', bucketId: '1', amount: '1' } }),
        400,
        'invalid_request',
        'operationId',
      ],
      ['x'.repeat(600), 413, 'body_too_large', undefined],
    ];
    for (const [body, status, code, field] of cases) {
      const answer = await call(server, 'POST', '/v1/submit', body);
      expect(answer.status, body).toBe(status);
      expect(answer.body.error, body).toMatchObject({ code, definite: true });
      expect(answer.body.error.field, body).toBe(field);
    }
    expect((await call(server, 'GET', '/v1/buckets')).status).toBe(404);
    expect((await call(server, 'GET', '/v1/resources/1')).status).toBe(404);
    expect((await call(server, 'PUT', '/v1/buckets/1')).status).toBe(405);
    expect((await call(server, 'GET', '/v1/buckets/1/balance?slot=-1')).status).toBe(400);
    expect(engine.lastAppliedLsn).toBe(0n);
  });

  it('a missing or wrong token is 401 and nothing runs', async () => {
    const { engine, server } = await start({ token: 'q-token' });
    const body = JSON.stringify({
      operationId: '1',
      clientId: '1',
      command: {
        kind: 'create_bucket',
        bucketId: '1',
        limit: '1',
        initialBalance: '1',
        refillRatePerSlot: '0',
      },
    });
    expect((await call(server, 'POST', '/v1/submit', body)).status).toBe(401);
    const wrong = await fetch(`${server.url}/v1/submit`, {
      method: 'POST',
      body,
      headers: { authorization: 'Bearer q-tokeN' },
    });
    expect(wrong.status).toBe(401);
    expect(engine.lastAppliedLsn).toBe(0n);
    const client = new QuotaClient({ url: server.url, token: 'q-token', retry: fast });
    expect((await client.submit(createBucket)).lsn).toBe(1n);
  });
});
