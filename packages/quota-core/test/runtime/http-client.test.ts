/**
 * The copied runtime's client retry loop (`http-client.ts`) against a scripted `node:http`
 * server: what is retried (with the very same request), what is thrown at once, and what is
 * given up on.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceEndpoint, ServiceError, SubmitCoalescer } from '../../src/runtime/http-client.js';

type Step = (request: IncomingMessage, response: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server that plays `steps` in order (the last one again for every later request). */
async function scripted(steps: Step[]): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      bodies.push(
        `${request.method} ${request.url} ${request.headers.authorization ?? ''} ${body}`,
      );
      steps[Math.min(bodies.length - 1, steps.length - 1)]!(request, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

const json =
  (status: number, value: unknown, headers: Record<string, string> = {}): Step =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(value));
  };
const reset: Step = (request) => request.socket.destroy();
const silent: Step = () => undefined;

const fast = { minDelayMs: 1, maxDelayMs: 5, attemptTimeoutMs: 2_000, deadlineMs: 20_000 };

describe('ServiceEndpoint', () => {
  it('retries a reset connection, a 503, a 408 and a lost answer with the same request', async () => {
    const { url, bodies } = await scripted([
      reset,
      json(
        503,
        { error: { code: 'overloaded', message: 'busy', definite: true } },
        { 'retry-after': '1' },
      ),
      json(408, {}),
      silent,
      json(200, { answer: '42' }),
    ]);
    const endpoint = new ServiceEndpoint({
      url,
      token: 't',
      retry: { ...fast, attemptTimeoutMs: 300 },
    });
    const answer = await endpoint.call('POST', '/v1/submit', '{"operationId":"7"}');
    expect(answer).toEqual({ answer: '42' });
    expect(bodies).toHaveLength(5);
    expect(new Set(bodies)).toEqual(new Set(['POST /v1/submit Bearer t {"operationId":"7"}']));
  });

  it('a definite error answer is thrown at once with the server code, status and field', async () => {
    const { url, bodies } = await scripted([
      json(400, {
        error: { code: 'invalid_request', message: 'bad', definite: true, field: 'command.x' },
      }),
    ]);
    const error = await new ServiceEndpoint({ url, retry: fast })
      .call('POST', '/v1/submit', '{}')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({
      code: 'invalid_request',
      status: 400,
      definite: true,
      field: 'command.x',
      attempts: 1,
      message: 'bad',
    });
    expect(bodies).toHaveLength(1);
  });

  it('an error answer that is not ours is thrown with http_<status>', async () => {
    const { url } = await scripted([
      (_request, response) => {
        response.writeHead(404, { 'content-type': 'text/html' });
        response.end('<h1>nope</h1>');
      },
    ]);
    const error = await new ServiceEndpoint({ url, retry: fast }).call('GET', '/x').catch((e) => e);
    expect(error).toMatchObject({ code: 'http_404', status: 404, definite: true });
  });

  it('gives up after the deadline with unavailable, definite: false', async () => {
    const { url, bodies } = await scripted([
      json(503, { error: { code: 'shutting_down', message: 'x', definite: true } }),
    ]);
    const error = await new ServiceEndpoint({ url, retry: { ...fast, deadlineMs: 200 } })
      .call('POST', '/v1/submit', '{}')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ code: 'unavailable', status: 503, definite: false });
    expect((error as ServiceError).attempts).toBe(bodies.length);
    expect(bodies.length).toBeGreaterThan(1);
  });

  it('a server that is not there is retried, then unavailable', async () => {
    const { url } = await scripted([json(200, {})]);
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const error = await new ServiceEndpoint({ url, retry: { ...fast, deadlineMs: 100 } })
      .call('GET', '/v1/health')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unavailable', definite: false });
    expect((error as ServiceError).attempts).toBeGreaterThan(1);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('a 2xx answer that is not JSON is bad_response, definite: false', async () => {
    const { url } = await scripted([
      (_request, response) => {
        response.writeHead(200);
        response.end('not json');
      },
    ]);
    const error = await new ServiceEndpoint({ url, retry: fast }).call('GET', '/').catch((e) => e);
    expect(error).toMatchObject({ code: 'bad_response', definite: false, status: 200 });
  });

  it('a pending call keeps its process alive until it is answered or given up', () => {
    // A server in the same process that never answers and keeps nothing alive itself: the
    // client's attempt (its socket and its timer) and its pause between attempts are all that
    // keep the process alive (an unref'd one would let it exit silently mid-call).
    const script = `
      import { createServer } from 'node:net';
      import { ServiceEndpoint } from ${JSON.stringify(new URL('../../dist/runtime/http-client.js', import.meta.url).href)};
      const server = createServer((socket) => socket.unref());
      server.listen(0, '127.0.0.1', () => {
        server.unref();
        const endpoint = new ServiceEndpoint({
          url: 'http://127.0.0.1:' + server.address().port,
          retry: { attemptTimeoutMs: 50, deadlineMs: 120, minDelayMs: 1, maxDelayMs: 5 },
        });
        endpoint.call('GET', '/v1/health').catch((error) => console.log('gave up:', error.code));
      });
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('gave up: unavailable');
  });

  it('refuses a URL that is not absolute http(s)', () => {
    expect(() => new ServiceEndpoint({ url: 'localhost:7470' })).toThrow(TypeError);
    expect(() => new ServiceEndpoint({ url: 'ftp://x' })).toThrow(/http: or https:/);
    expect(new ServiceEndpoint({ url: 'http://127.0.0.1:1/' }).url).toBe('http://127.0.0.1:1');
  });
});

/**
 * A server of `POST /v1/batch`: each entry (its JSON text) is answered by `entry(text, seen)`
 * (`seen`: how often that very text arrived before), after `delayMs`; `whole(count)` may answer
 * a request as a whole instead (a status and body), or `'reset'` to drop the connection.
 */
async function batchServer(
  entry: (text: string, seen: number) => unknown,
  options: {
    delayMs?: number;
    whole?: (count: number, index: number) => [number, unknown] | 'reset' | undefined;
  } = {},
): Promise<{ url: string; batches: string[][] }> {
  const batches: string[][] = [];
  const seen = new Map<string, number>();
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      const requests = (JSON.parse(body) as { requests: unknown[] }).requests.map((r) =>
        JSON.stringify(r),
      );
      batches.push(requests);
      const whole = options.whole?.(requests.length, batches.length - 1);
      setTimeout(() => {
        if (whole === 'reset') return request.socket.destroy();
        if (whole !== undefined) {
          response.writeHead(whole[0], { 'content-type': 'application/json' });
          return response.end(JSON.stringify(whole[1]));
        }
        const results = requests.map((text) => {
          const count = seen.get(text) ?? 0;
          seen.set(text, count + 1);
          return entry(text, count);
        });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ results }));
      }, options.delayMs ?? 0);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, batches };
}

const echo = (text: string) => ({ lsn: JSON.parse(text).operationId });
const submission = (id: number) => JSON.stringify({ operationId: String(id), command: {} });

describe('SubmitCoalescer', () => {
  it('sends what accumulated while the previous request was in flight, each caller its own answer', async () => {
    const { url, batches } = await batchServer(echo, { delayMs: 40 });
    const endpoint = new ServiceEndpoint({ url, retry: fast, connections: 1 });
    const coalescer = new SubmitCoalescer(endpoint);
    const first = [1, 2, 3].map((id) => coalescer.submit(submission(id)));
    await new Promise((resolve) => setTimeout(resolve, 10)); // the first batch is in flight
    const second = Array.from({ length: 20 }, (_, i) => coalescer.submit(submission(100 + i)));
    expect(await Promise.all(first)).toEqual([{ lsn: '1' }, { lsn: '2' }, { lsn: '3' }]);
    expect(await Promise.all(second)).toEqual(
      Array.from({ length: 20 }, (_, i) => ({ lsn: String(100 + i) })),
    );
    expect(batches.map((batch) => batch.length)).toEqual([3, 20]);
    endpoint.close();
  });

  it('spreads a crowd over the free connections, at least 16 a request, at most maxEntries', async () => {
    const { url, batches } = await batchServer(echo, { delayMs: 20 });
    const endpoint = new ServiceEndpoint({ url, retry: fast, connections: 4 });
    const crowd = Array.from({ length: 64 }, (_, i) => i);
    await Promise.all(crowd.map((id) => new SubmitCoalescer(endpoint).submit(submission(id))));
    const coalescer = new SubmitCoalescer(endpoint);
    batches.length = 0;
    await Promise.all(crowd.map((id) => coalescer.submit(submission(id))));
    expect(batches.map((batch) => batch.length)).toEqual([16, 16, 16, 16]);
    batches.length = 0;
    await Promise.all(crowd.slice(0, 20).map((id) => coalescer.submit(submission(id))));
    expect(batches.map((batch) => batch.length)).toEqual([16, 4]);
    batches.length = 0;
    const small = new SubmitCoalescer(new ServiceEndpoint({ url, retry: fast, connections: 1 }), {
      maxEntries: 5,
    });
    await Promise.all(crowd.slice(0, 12).map((id) => small.submit(submission(id))));
    expect(batches.map((batch) => batch.length)).toEqual([5, 5, 2]);
    endpoint.close();
  });

  it("an entry's definite error goes to its caller alone, with the server's code, status and field", async () => {
    const { url } = await batchServer((text) =>
      text.includes('"13"')
        ? {
            error: {
              code: 'invalid_request',
              message: 'bad amount',
              definite: true,
              field: 'command.amount',
              status: 400,
            },
          }
        : echo(text),
    );
    const coalescer = new SubmitCoalescer(new ServiceEndpoint({ url, retry: fast }));
    const settled = await Promise.allSettled(
      [12, 13, 14].map((id) => coalescer.submit(submission(id))),
    );
    expect(settled[0]).toEqual({ status: 'fulfilled', value: { lsn: '12' } });
    expect(settled[2]).toEqual({ status: 'fulfilled', value: { lsn: '14' } });
    expect(settled[1]).toMatchObject({
      status: 'rejected',
      reason: {
        code: 'invalid_request',
        status: 400,
        definite: true,
        field: 'command.amount',
        attempts: 1,
      },
    });
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(ServiceError);
  });

  it('sends an entry answered 503, or whose fate is unknown, again with the same text until answered', async () => {
    const { url, batches } = await batchServer((text, seen) => {
      if (text.includes('"21"') && seen < 2) {
        return { error: { code: 'overloaded', message: 'busy', definite: true, status: 503 } };
      }
      if (text.includes('"22"') && seen < 1) {
        return { error: { code: 'engine_halted', message: 'halted', definite: false } };
      }
      return echo(text);
    });
    const coalescer = new SubmitCoalescer(new ServiceEndpoint({ url, retry: fast }));
    const answers = await Promise.all([20, 21, 22].map((id) => coalescer.submit(submission(id))));
    expect(answers).toEqual([{ lsn: '20' }, { lsn: '21' }, { lsn: '22' }]);
    const sent = batches.flat();
    expect(sent.filter((text) => text === submission(21))).toHaveLength(3);
    expect(sent.filter((text) => text === submission(22))).toHaveLength(2);
    expect(sent.filter((text) => text === submission(20))).toHaveLength(1);
  });

  it('gives an entry up at its deadline: unavailable, definite: false', async () => {
    const { url } = await batchServer((text) =>
      text.includes('"31"')
        ? { error: { code: 'overloaded', message: 'busy', definite: true, status: 503 } }
        : echo(text),
    );
    const coalescer = new SubmitCoalescer(
      new ServiceEndpoint({ url, retry: { ...fast, deadlineMs: 100 } }),
    );
    const settled = await Promise.allSettled(
      [30, 31].map((id) => coalescer.submit(submission(id))),
    );
    expect(settled[0]).toMatchObject({ status: 'fulfilled' });
    expect(settled[1]).toMatchObject({
      status: 'rejected',
      reason: { code: 'unavailable', definite: false },
    });
    expect((settled[1] as PromiseRejectedResult).reason.message).toContain('overloaded');
  });

  it('a batch request whose fate is unknown is sent again whole, the same body, on the next node', async () => {
    const first = await batchServer(echo, { whole: () => 'reset' });
    const second = await batchServer(echo, {
      whole: (_n, index) => (index === 0 ? 'reset' : undefined),
    });
    const endpoint = new ServiceEndpoint({ url: [first.url, second.url], retry: fast });
    const coalescer = new SubmitCoalescer(endpoint);
    const answers = await Promise.all([40, 41].map((id) => coalescer.submit(submission(id))));
    expect(answers).toEqual([{ lsn: '40' }, { lsn: '41' }]);
    // node 1 reset it, node 2 reset it, then node 1 again (reset), node 2 answered
    const all = [...first.batches, ...second.batches];
    expect(new Set(all.map((batch) => JSON.stringify(batch)))).toEqual(
      new Set([JSON.stringify([submission(40), submission(41)])]),
    );
    expect(second.batches.length).toBeGreaterThanOrEqual(2);
    expect(endpoint.url).toBe(second.url);
  });

  it('a batch over the server body limit (413) is sent again in halves; a single one fails', async () => {
    const tooLarge = {
      error: { code: 'body_too_large', message: 'too large', definite: true },
    };
    const { url, batches } = await batchServer(echo, {
      whole: (count) => (count > 2 ? [413, tooLarge] : undefined),
    });
    const coalescer = new SubmitCoalescer(
      new ServiceEndpoint({ url, retry: fast, connections: 1 }),
    );
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map((id) => coalescer.submit(submission(id))),
    );
    expect(answers.map((a) => (a as { lsn: string }).lsn)).toEqual(['1', '2', '3', '4', '5']);
    expect(batches.map((batch) => batch.length)).toEqual([5, 3, 2, 2, 1]);
  });
});
