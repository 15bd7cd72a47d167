/**
 * The copied runtime's client retry loop (`http-client.ts`) against a scripted `node:http`
 * server: what is retried (with the very same request), what is thrown at once, and what is
 * given up on.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceEndpoint, ServiceError } from '../../src/runtime/http-client.js';

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
    // A fetch that holds no socket of its own and only ends when aborted: the attempt's timer is
    // all that keeps the process alive (an unref'd one would let it exit silently mid-call).
    const script = `
      import { ServiceEndpoint } from ${JSON.stringify(new URL('../../dist/runtime/http-client.js', import.meta.url).href)};
      globalThis.fetch = (_url, { signal }) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      const endpoint = new ServiceEndpoint({
        url: 'http://127.0.0.1:9',
        retry: { attemptTimeoutMs: 50, deadlineMs: 120, minDelayMs: 1, maxDelayMs: 5 },
      });
      endpoint.call('GET', '/v1/health').catch((error) => console.log('gave up:', error.code));
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
