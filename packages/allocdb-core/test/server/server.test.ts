/**
 * The allocator's HTTP service in-process (`src/server/server.ts` with `AllocDbClient`): the
 * routes, the JSON mapping, every error status, and that bad input changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AllocDbClient, ServiceError } from '../../src/exports/client.js';
import type { AllocDbEngine } from '../../src/index.js';
import { nodeFileSystem } from '../../src/runtime/file-system.js';
import { type AllocDbServer, startAllocDbServer } from '../../src/server/server.js';
import { openEngine } from '../engine/engine-fixtures.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const running: { server: AllocDbServer; engine: AllocDbEngine }[] = [];
afterEach(async () => {
  for (const { server, engine } of running.splice(0)) {
    await server.close();
    await engine.close();
  }
});

const fast = { minDelayMs: 1, maxDelayMs: 20, deadlineMs: 10_000 };

async function start(
  options: {
    token?: string;
    maxBodyBytes?: number;
    requestTimeoutMs?: number;
    maxBatch?: number;
  } = {},
  engineOptions: Parameters<typeof openEngine>[1] = {},
  seams: Parameters<typeof openEngine>[2] = {},
) {
  const engine = await openEngine(tempDir(), engineOptions, seams);
  const server = await startAllocDbServer({
    engine,
    token: options.token,
    limits: {
      ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
      ...(options.requestTimeoutMs === undefined
        ? {}
        : { requestTimeoutMs: options.requestTimeoutMs }),
    },
    ...(options.maxBatch === undefined ? {} : { maxBatchRequests: options.maxBatch }),
  });
  running.push({ server, engine });
  const client = new AllocDbClient({ url: server.url, token: options.token, retry: fast });
  return { engine, server, client };
}

/** A raw request: the status and the parsed body. */
async function call(
  server: AllocDbServer,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${server.url}${path}`, { method, body, headers });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Record<string, unknown> & {
      error: { code: string; message: string; definite: boolean; field?: string };
    },
  };
}

/** A file system whose async fdatasync waits for the test to open the gate. */
function gatedFileSystem() {
  let open: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let entered: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => {
    entered = resolve;
  });
  let closed = true;
  return {
    fileSystem: {
      ...nodeFileSystem,
      fdatasync: async (fd: number) => {
        if (closed) {
          entered();
          await gate;
        }
        return nodeFileSystem.fdatasync(fd);
      },
    },
    blocked,
    release: () => {
      closed = false;
      open();
      gate = Promise.resolve();
    },
  };
}

describe('allocdb serve: the API', () => {
  it('submits, reads with the minLsn fence, and answers health and metrics, bigints as strings', async () => {
    const { engine, server, client } = await start();
    const created = await client.submit({ kind: 'create_resource', resourceId: 42n });
    expect(created).toMatchObject({
      lsn: 1n,
      outcome: { resultCode: 'ok' },
      fromRetryCache: false,
    });
    expect(typeof created.operationId).toBe('bigint');
    const reserved = await client.submit({
      kind: 'reserve',
      resourceId: 42n,
      holderId: 1n,
      ttlSlots: 10n,
    });
    expect(reserved.outcome.resultCode).toBe('ok');
    if (reserved.outcome.resultCode !== 'ok') return;
    expect(reserved.outcome).toEqual({
      resultCode: 'ok',
      reservationId: 2n,
      leaseEpoch: 1n,
      deadlineSlot: 10n,
    });
    const busy = await client.submit({
      kind: 'reserve',
      resourceId: 42n,
      holderId: 2n,
      ttlSlots: 10n,
    });
    expect(busy.outcome.resultCode).toBe('resource_busy');

    expect(await client.getResource(42n, { minLsn: reserved.lsn })).toEqual(
      engine.getResource(42n),
    );
    expect(client.appliedLsn).toBe(3n);
    expect(await client.getResource(7n)).toBeUndefined();
    expect(await client.getReservation(2n)).toEqual(engine.getReservation(2n));
    expect(await client.getReservation(99n)).toEqual({ status: 'not_found' });
    expect(await client.getReservationMembers(2n)).toEqual(engine.getReservationMembers(2n));
    const operation = await client.getOperation(reserved.operationId, { minLsn: 2n });
    expect(operation).toEqual(engine.getOperation(reserved.operationId));
    expect(await client.getOperation(12345n)).toBeUndefined();
    expect(await client.health()).toEqual({ status: 'ok', engine: 'allocdb-core', appliedLsn: 3n });
    const metrics = await client.metrics();
    expect(metrics).toMatchObject({ appliedLsn: '3', engine: { framesCommitted: 3 } });

    // On the wire every u64/u128 is a decimal string.
    const raw = await call(server, 'GET', '/v1/reservations/2');
    expect(raw.status).toBe(200);
    expect(raw.body).toMatchObject({
      appliedLsn: '3',
      status: 'found',
      reservation: { reservationId: '2', resourceId: '42', holderId: '1', leaseEpoch: '1' },
    });
  });

  it('a retry with the same operation id is answered from the retry cache, never executed twice', async () => {
    const { engine, client } = await start();
    const first = await client.submit({ kind: 'create_resource', resourceId: 5n });
    const again = await client.submit(
      { kind: 'create_resource', resourceId: 5n },
      { operationId: first.operationId },
    );
    expect(again).toEqual({ ...first, requestSlot: again.requestSlot, fromRetryCache: true });
    const conflict = await client.submit(
      { kind: 'create_resource', resourceId: 6n },
      { operationId: first.operationId },
    );
    expect(conflict.outcome.resultCode).toBe('operation_conflict');
    expect(engine.lastAppliedLsn).toBe(1n);
    expect(engine.getResource(6n)).toBeUndefined();
  });

  it('the minLsn fence: a read above the applied LSN is 409 fence_not_applied', async () => {
    const { server, client } = await start();
    await client.submit({ kind: 'create_resource', resourceId: 1n });
    const error = await client.getResource(1n, { minLsn: 5n }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ code: 'fence_not_applied', status: 409, definite: true });
    const raw = await call(server, 'GET', '/v1/resources/1?minLsn=2');
    expect(raw.status).toBe(409);
  });

  it('a batch is one group commit; a bad entry gets its own error and the others run', async () => {
    const { engine, client, server } = await start({ maxBatch: 3 });
    const before = engine.metrics().batchesCommitted;
    const results = await client.submitBatch([
      { command: { kind: 'create_resource', resourceId: 1n } },
      { command: { kind: 'create_resource', resourceId: 2n, extra: 1n } as never },
      { command: { kind: 'create_resource', resourceId: 3n } },
    ]);
    expect(results[0]).toMatchObject({ lsn: 1n, outcome: { resultCode: 'ok' } });
    expect(results[1]).toBeInstanceOf(ServiceError);
    expect(results[1]).toMatchObject({
      code: 'invalid_request',
      definite: true,
      field: 'command.extra',
    });
    expect(results[2]).toMatchObject({ lsn: 2n, outcome: { resultCode: 'ok' } });
    expect(engine.metrics().batchesCommitted).toBe(before + 1);
    const tooMany = await call(
      server,
      'POST',
      '/v1/batch',
      JSON.stringify({ requests: [{}, {}, {}, {}] }),
    );
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatchObject({ code: 'invalid_request', field: 'requests' });
    expect(engine.lastAppliedLsn).toBe(2n);
  });

  it('a batch runs through submitBatch in runs (split by the engine maxBatch, by options, by a bad entry), answered in order', async () => {
    const { engine, server } = await start({}, { engine: { maxBatch: 2 } });
    const create = (
      resourceId: number,
      operationId: number,
      extra: Record<string, unknown> = {},
    ) => ({
      clientId: '1',
      operationId: String(operationId),
      command: { kind: 'create_resource', resourceId: String(resourceId) },
      ...extra,
    });
    const answer = await call(
      server,
      'POST',
      '/v1/batch',
      JSON.stringify({
        requests: [
          create(1, 11),
          create(2, 12),
          create(3, 13),
          { clientId: '1', command: { kind: 'create_resource', resourceId: '9' } },
          create(4, 14, { requestSlot: '5' }),
          create(1, 11),
        ],
      }),
    );
    expect(answer.status).toBe(200);
    const results = (answer.body as unknown as { results: Record<string, unknown>[] }).results;
    expect(results.map((r) => (r.error === undefined ? r.lsn : 'error'))).toEqual([
      '1',
      '2',
      '3',
      'error',
      '4',
      '1',
    ]);
    expect(results[3]!.error).toMatchObject({
      code: 'invalid_request',
      status: 400,
      field: 'requests[3].operationId',
    });
    expect(results[4]).toMatchObject({ requestSlot: '5', fromRetryCache: false });
    // The last entry repeats the first (same operation id, same command): it joins it, runs once.
    expect(engine.lastAppliedLsn).toBe(4n);
    expect(engine.getResource(9n)).toBeUndefined();
  });

  it('the client coalesces concurrent submits into batch requests; each caller gets its own answer', async () => {
    const { engine, server, client } = await start();
    for (let r = 1n; r <= 8n; r++) await client.submit({ kind: 'create_resource', resourceId: r });
    const requests = server.metrics().requests;
    // 32 holders contend for 8 resources: one winner each; one request is malformed.
    const reserves = Array.from({ length: 32 }, (_, i) =>
      client.submit({
        kind: 'reserve',
        resourceId: BigInt((i % 8) + 1),
        holderId: i === 5 ? -1n : BigInt(i + 1),
        ttlSlots: 4n,
      }),
    );
    const settled = await Promise.allSettled(reserves);
    expect(server.metrics().requests - requests).toBeLessThan(32);
    expect(settled[5]).toMatchObject({
      status: 'rejected',
      reason: { code: 'invalid_request', status: 400, definite: true, field: 'command.holderId' },
    });
    const won = settled.filter(
      (s) => s.status === 'fulfilled' && s.value.outcome.resultCode === 'ok',
    ) as PromiseFulfilledResult<Awaited<(typeof reserves)[number]>>[];
    expect(won).toHaveLength(8);
    for (const { value } of won) {
      expect(engine.getOperation(value.operationId)).toMatchObject({ appliedLsn: value.lsn });
    }
    expect(
      settled.filter(
        (s) => s.status === 'fulfilled' && s.value.outcome.resultCode === 'resource_busy',
      ),
    ).toHaveLength(23);
    client.close();
  });

  it('overloaded is 503 with Retry-After, definite: nothing written', async () => {
    const gated = gatedFileSystem();
    const { engine, server } = await start(
      {},
      { engine: { maxSubmissionQueue: 1 } },
      {
        fileSystem: gated.fileSystem,
      },
    );
    const submission = (id: number) =>
      JSON.stringify({
        operationId: String(id),
        clientId: '1',
        command: { kind: 'create_resource', resourceId: String(id) },
      });
    const first = call(server, 'POST', '/v1/submit', submission(1));
    await gated.blocked;
    const second = call(server, 'POST', '/v1/submit', submission(2));
    while (engine.metrics().queueDepth < 1) await new Promise((r) => setTimeout(r, 2));
    const third = await call(server, 'POST', '/v1/submit', submission(3));
    expect(third.status).toBe(503);
    expect(third.retryAfter).toBe('1');
    expect(third.body.error).toMatchObject({ code: 'overloaded', definite: true });
    gated.release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(engine.lastAppliedLsn).toBe(2n);
    expect(engine.getResource(3n)).toBeUndefined();
  });

  it('a submission slower than the request timeout is 503 request_timeout; the client retry with the same id runs it once', async () => {
    const gated = gatedFileSystem();
    const { engine, server } = await start(
      { requestTimeoutMs: 50 },
      {},
      {
        fileSystem: gated.fileSystem,
      },
    );
    const client = new AllocDbClient({ url: server.url, retry: { ...fast, minDelayMs: 5 } });
    const pending = client.submit({ kind: 'create_resource', resourceId: 9n });
    await gated.blocked;
    // Let a few attempts time out and be retried while the first is stuck in its fsync.
    while ((server.metrics().responses[503] ?? 0) < 3) await new Promise((r) => setTimeout(r, 5));
    gated.release();
    const result = await pending;
    expect(result.outcome.resultCode).toBe('ok');
    expect(result.lsn).toBe(1n);
    expect(engine.lastAppliedLsn).toBe(1n);
    expect(engine.metrics().framesCommitted).toBe(1);
  });
});

describe('allocdb serve: a halted engine', () => {
  it('a failed fsync is 503 storage_failure (indefinite), onHalt is told once, health turns 503', async () => {
    const failing = {
      ...nodeFileSystem,
      fdatasync: async () => {
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    };
    const engine = await openEngine(tempDir(), {}, { fileSystem: failing });
    const halts: unknown[] = [];
    const server = await startAllocDbServer({ engine, onHalt: (error) => halts.push(error) });
    running.push({ server, engine });
    const body = JSON.stringify({
      operationId: '1',
      clientId: '1',
      command: { kind: 'create_resource', resourceId: '1' },
    });
    const first = await call(server, 'POST', '/v1/submit', body);
    expect(first.status).toBe(503);
    expect(first.body.error).toMatchObject({ code: 'storage_failure', definite: false });
    const second = await call(server, 'POST', '/v1/submit', body);
    expect(second.body.error).toMatchObject({ code: 'engine_halted', definite: false });
    expect(halts).toHaveLength(1);
    const health = await call(server, 'GET', '/v1/health');
    expect(health.status).toBe(503);
    expect(health.body.error.code).toBe('engine_halted');
    // The client keeps retrying an unknown fate, batch entries included, then says so.
    const client = new AllocDbClient({ url: server.url, retry: { ...fast, deadlineMs: 150 } });
    const requestsBefore = server.metrics().requests;
    const results = await client.submitBatch([
      { command: { kind: 'create_resource', resourceId: 2n } },
    ]);
    expect(results[0]).toBeInstanceOf(ServiceError);
    expect(results[0]).toMatchObject({ code: 'engine_halted', definite: false });
    expect(server.metrics().requests - requestsBefore).toBeGreaterThan(1);
    await expect(client.submit({ kind: 'create_resource', resourceId: 3n })).rejects.toMatchObject({
      code: 'unavailable',
      definite: false,
    });
  });
});

describe('allocdb serve: bad input changes nothing', () => {
  it('malformed JSON, wrong shapes and bad commands are 400 with the API codes and the field', async () => {
    const { engine, server } = await start();
    const good = { operationId: '1', clientId: '1' };
    const cases: [string, string, string, string | undefined][] = [
      ['/v1/submit', '{"operationId":', 'bad_json', undefined],
      ['/v1/submit', '', 'bad_json', undefined],
      ['/v1/submit', '[1,2]', 'invalid_request', 'body'],
      [
        '/v1/submit',
        JSON.stringify({ clientId: '1', command: {} }),
        'invalid_request',
        'operationId',
      ],
      [
        '/v1/submit',
        JSON.stringify({ ...good, command: { kind: 'create_resource', resourceId: 42 } }),
        'invalid_request',
        'command.resourceId',
      ],
      [
        '/v1/submit',
        JSON.stringify({ ...good, command: { kind: 'create_resource', resourceId: '-1' } }),
        'invalid_request',
        'command.resourceId',
      ],
      [
        '/v1/submit',
        JSON.stringify({
          ...good,
          command: { kind: 'reserve', resourceId: '1', holderId: '1', ttl: '5' },
        }),
        'invalid_request',
        'command.ttl',
      ],
      [
        '/v1/submit',
        JSON.stringify({ ...good, command: { kind: 'reserv', resourceId: '1' } }),
        'invalid_request',
        'command.kind',
      ],
      [
        '/v1/submit',
        JSON.stringify({
          ...good,
          command: { kind: 'expire', reservationId: '1', deadlineSlot: '1' },
        }),
        'invalid_request',
        undefined,
      ],
      [
        '/v1/submit',
        JSON.stringify({
          ...good,
          command: { kind: 'create_resource', resourceId: String(1n << 128n) },
        }),
        'invalid_request',
        'command.resourceId',
      ],
      [
        '/v1/submit',
        JSON.stringify({
          ...good,
          command: { kind: 'create_resource', resourceId: '1' },
          strictSlot: 'yes',
        }),
        'invalid_request',
        'strictSlot',
      ],
      ['/v1/batch', '{"requests":"all"}', 'invalid_request', 'requests'],
      ['/v1/batch', '{"requests":[],"more":1}', 'invalid_request', 'more'],
      ['/v1/batch', 'nope', 'bad_json', undefined],
    ];
    for (const [path, body, code, field] of cases) {
      const answer = await call(server, 'POST', path, body);
      expect(answer.status, body).toBe(400);
      expect(answer.body.error.code, body).toBe(code);
      expect(answer.body.error.definite).toBe(true);
      expect(answer.body.error.field, body).toBe(field);
      expect(answer.body.error.message.length).toBeGreaterThan(10);
    }
    const hint = await call(
      server,
      'POST',
      '/v1/submit',
      JSON.stringify({
        ...good,
        command: { kind: 'reserve', resourceId: '1', holderId: '1', ttl: '5' },
      }),
    );
    expect(hint.body.error.message).toContain('did you mean "ttlSlots"');
    expect(engine.lastAppliedLsn).toBe(0n);
  });

  it('unknown routes are 404, wrong methods 405, bad read parameters 400', async () => {
    const { engine, server } = await start();
    for (const path of [
      '/',
      '/v2/submit',
      '/v1',
      '/v1/nothing',
      '/v1/resources/1/2/3',
      '/v1/widgets/1',
    ]) {
      const answer = await call(server, 'GET', path);
      expect(answer.status, path).toBe(404);
      expect(answer.body.error.code).toBe('not_found');
    }
    expect((await call(server, 'GET', '/v1/submit')).status).toBe(405);
    expect((await call(server, 'DELETE', '/v1/resources/1')).status).toBe(405);
    expect((await call(server, 'POST', '/v1/health', '{}')).body.error.code).toBe(
      'method_not_allowed',
    );
    const badId = await call(server, 'GET', '/v1/resources/abc');
    expect(badId.status).toBe(400);
    expect(badId.body.error.field).toBe('path.resourceId');
    const badQuery = await call(server, 'GET', '/v1/resources/1?minLSN=1');
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.error).toMatchObject({ code: 'invalid_request', field: 'query.minLSN' });
    expect((await call(server, 'GET', '/v1/health?x=1')).status).toBe(400);
    expect(engine.lastAppliedLsn).toBe(0n);
  });

  it('a body over the limit is 413 and runs nothing', async () => {
    const { engine, server } = await start({ maxBodyBytes: 256 });
    const huge = JSON.stringify({
      requests: Array.from({ length: 20 }, (_, i) => ({
        operationId: String(i + 1),
        clientId: '1',
        command: { kind: 'create_resource', resourceId: String(i) },
      })),
    });
    const answer = await call(server, 'POST', '/v1/batch', huge);
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe('body_too_large');
    expect(engine.lastAppliedLsn).toBe(0n);
  });

  it('with a token: a missing or wrong one is 401 and nothing runs; the client with it works', async () => {
    const { engine, server } = await start({ token: 'tok-123' });
    const body = JSON.stringify({
      operationId: '1',
      clientId: '1',
      command: { kind: 'create_resource', resourceId: '1' },
    });
    expect((await call(server, 'POST', '/v1/submit', body)).status).toBe(401);
    const wrong = await call(server, 'POST', '/v1/submit', body, {
      authorization: 'Bearer tok-124',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatchObject({ code: 'unauthorized', definite: true });
    expect((await call(server, 'GET', '/v1/health')).status).toBe(401);
    expect(engine.lastAppliedLsn).toBe(0n);
    const noToken = new AllocDbClient({ url: server.url, retry: fast });
    await expect(noToken.submit({ kind: 'create_resource', resourceId: 1n })).rejects.toMatchObject(
      {
        code: 'unauthorized',
        status: 401,
      },
    );
    const withToken = new AllocDbClient({ url: server.url, token: 'tok-123', retry: fast });
    expect((await withToken.submit({ kind: 'create_resource', resourceId: 1n })).lsn).toBe(1n);
  });
});
