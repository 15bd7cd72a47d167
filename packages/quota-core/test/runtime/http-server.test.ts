/**
 * The copied runtime's HTTP plumbing (`http-server.ts`), with a trivial handler: limits, slow
 * clients, the token, the connection cap, the handler timeout and the drain. Timeouts here are
 * short so that the cases finish quickly; the assertions are on what the server answers, never
 * on how long it took.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_HTTP_LIMITS,
  type HttpHandler,
  type HttpLimits,
  HttpListenError,
  HttpService,
  isLoopbackHost,
} from '../../src/runtime/http-server.js';

const services: HttpService[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
});

async function serve(
  handle: HttpHandler,
  limits: Partial<HttpLimits> = {},
  token?: string,
): Promise<HttpService> {
  const service = await HttpService.listen({
    host: '127.0.0.1',
    port: 0,
    token,
    limits: { ...DEFAULT_HTTP_LIMITS, ...limits },
    handle,
  });
  services.push(service);
  return service;
}

/** The error body of an answer. */
const errorOf = async (response: Response) =>
  ((await response.json()) as { error: Record<string, unknown> }).error;

const echo: HttpHandler = (request) => ({
  status: 200,
  body: JSON.stringify({ method: request.method, path: request.path, body: request.body }),
});

/** Writes raw bytes on a new connection and collects everything until the server closes it. */
function raw(service: HttpService, chunks: string[]): Promise<{ text: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(service.port, '127.0.0.1');
    let text = '';
    socket.on('data', (data) => {
      text += data.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ text, socket }));
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
  });
}

describe('HttpService', () => {
  it('answers with the handler, keeps the connection alive, and counts what it did', async () => {
    const service = await serve(echo);
    const first = await fetch(`${service.url}/a?x=1`, { method: 'POST', body: '{"k":1}' });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ method: 'POST', path: '/a', body: '{"k":1}' });
    expect(first.headers.get('content-type')).toMatch(/^application\/json/);
    expect(first.headers.get('connection')).toBe('keep-alive');
    const second = await fetch(`${service.url}/b`);
    expect(await second.json()).toEqual({ method: 'GET', path: '/b', body: '' });
    expect(service.metrics()).toMatchObject({ requests: 2, running: 0, responses: { 200: 2 } });
  });

  it('a body over the limit is 413 body_too_large, and the handler never runs', async () => {
    let ran = 0;
    const service = await serve(
      (request) => {
        ran++;
        return echo(request);
      },
      { maxBodyBytes: 64 },
    );
    const declared = await fetch(service.url, { method: 'POST', body: 'x'.repeat(65) });
    expect(declared.status).toBe(413);
    expect(await errorOf(declared)).toMatchObject({ code: 'body_too_large', definite: true });
    // Chunked (no content-length): refused once the bytes received pass the limit.
    const { text } = await raw(service, [
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
      `40\r\n${'y'.repeat(64)}\r\n`,
      `40\r\n${'y'.repeat(64)}\r\n`,
    ]);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toContain('"code":"body_too_large"');
    // A declared length over the limit is refused before any of the body arrives.
    const early = await raw(service, [
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n',
    ]);
    expect(early.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(ran).toBe(0);
    const fits = await fetch(service.url, { method: 'POST', body: 'x'.repeat(64) });
    expect(fits.status).toBe(200);
    expect(ran).toBe(1);
  });

  it('a client that sends its headers too slowly is answered 408 and disconnected (slow-loris)', async () => {
    let ran = 0;
    const service = await serve(
      () => {
        ran++;
        return { status: 200, body: '{}' };
      },
      { headersTimeoutMs: 200, receiveTimeoutMs: 400 },
    );
    // Headers never finished.
    const headers = await raw(service, ['GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a']);
    expect(headers.text).toMatch(/^HTTP\/1\.1 408 /);
    // Headers sent, the body never finished.
    const body = await raw(service, [
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n',
      '{"partial":',
    ]);
    expect(body.text).toMatch(/^HTTP\/1\.1 408 /);
    // A connection that sends nothing at all is answered and closed too.
    const silent = await raw(service, []);
    expect(silent.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(ran).toBe(0);
  });

  it('a wrong or missing token is 401 unauthorized before the body is read; the right one passes', async () => {
    let ran = 0;
    const service = await serve(
      (request) => {
        ran++;
        return echo(request);
      },
      {},
      's3cret',
    );
    const missing = await fetch(service.url, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await errorOf(missing)).toMatchObject({ code: 'unauthorized', definite: true });
    for (const authorization of ['Bearer wrong', 'Bearer s3cre', 'Basic s3cret', 'Bearer ']) {
      const wrong = await fetch(service.url, {
        method: 'POST',
        body: '{}',
        headers: { authorization },
      });
      expect(wrong.status, authorization).toBe(401);
    }
    expect(ran).toBe(0);
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const right = await fetch(service.url, {
        method: 'POST',
        body: '{}',
        headers: { authorization: `${scheme} s3cret` },
      });
      expect(right.status, scheme).toBe(200);
    }
    expect(ran).toBe(4);
  });

  it('at the cap, a new connection takes the place of the oldest idle one', async () => {
    const service = await serve(echo, { maxConnections: 2 });
    const open: Socket[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 2; i++) {
      const socket = connect(service.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.once('close', () => {
        closed[i] = true;
      });
      await new Promise((resolve) => socket.once('connect', resolve));
      open.push(socket);
    }
    while (service.metrics().connections < 2) await new Promise((r) => setTimeout(r, 5));
    const served = await raw(service, ['GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    expect(served.text).toMatch(/^HTTP\/1\.1 200/);
    expect(service.metrics()).toMatchObject({ connectionsEvicted: 1, connectionsRefused: 0 });
    // The oldest idle connection went; the other stays.
    expect(closed[0]).toBe(true);
    expect(closed[1]).toBeUndefined();
    for (const socket of open) socket.destroy();
  });

  it('at the cap with every connection running a request, a new one is closed as soon as it is accepted', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const service = await serve(
      async () => {
        await held;
        return { status: 200, body: '{}' };
      },
      { maxConnections: 2 },
    );
    const running = [0, 1].map(() =>
      raw(service, [
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
      ]),
    );
    while (service.metrics().running < 2) await new Promise((r) => setTimeout(r, 5));
    const refused = await raw(service, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(refused.text).toBe('');
    expect(service.metrics()).toMatchObject({ connectionsRefused: 1, connectionsEvicted: 0 });
    release();
    for (const answer of await Promise.all(running)) expect(answer.text).toMatch(/^HTTP\/1\.1 200/);
  });

  it('refuses limits out of range: a timer past 2^31 - 1 ms would fire after 1 ms', async () => {
    for (const limits of [
      { requestTimeoutMs: 3_000_000_000 },
      { receiveTimeoutMs: 0 },
      { maxConnections: 1.5 },
      { maxBodyBytes: 2 ** 40 },
    ]) {
      await expect(serve(echo, limits), JSON.stringify(limits)).rejects.toThrow(
        new RegExp(`the HTTP limit ${Object.keys(limits)[0]} must be an integer from 1 to \\d+`),
      );
    }
  });

  it('a handler slower than the request timeout is answered 503 request_timeout (indefinite)', async () => {
    let release: () => void = () => undefined;
    const service = await serve(
      () =>
        new Promise((resolve) => {
          release = () => resolve({ status: 200, body: '{}' });
        }),
      { requestTimeoutMs: 100 },
    );
    const response = await fetch(service.url, { method: 'POST', body: '{}' });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await errorOf(response)).toMatchObject({
      code: 'request_timeout',
      definite: false,
    });
    release();
  });

  it('a handler that throws is 500 internal, reported to onHandlerError', async () => {
    const seen: unknown[] = [];
    const service = await HttpService.listen({
      host: '127.0.0.1',
      port: 0,
      token: undefined,
      limits: DEFAULT_HTTP_LIMITS,
      handle: () => {
        throw new Error('boom');
      },
      onHandlerError: (error) => seen.push(error),
    });
    services.push(service);
    const response = await fetch(service.url);
    expect(response.status).toBe(500);
    expect(await errorOf(response)).toMatchObject({ code: 'internal', definite: false });
    expect(seen).toHaveLength(1);
  });

  it('close drains: running handlers are answered, new requests get 503 shutting_down', async () => {
    let release: () => void = () => undefined;
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const service = await serve((request) => {
      if (request.path === '/slow') {
        started();
        return new Promise((resolve) => {
          release = () => resolve({ status: 200, body: '{"done":true}' });
        });
      }
      return echo(request);
    });
    // A keep-alive connection that stays open across the drain.
    const socket = connect(service.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const slow = fetch(`${service.url}/slow`, { method: 'POST', body: '{}' });
    await running;
    const closed = service.close();
    let closedYet = false;
    closed.then(() => {
      closedYet = true;
    });
    expect(service.isDraining).toBe(true);
    // New connections are no longer accepted.
    await expect(fetch(`${service.url}/x`)).rejects.toThrow();
    // A request on a connection opened before the drain: refused, nothing run.
    const refused = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (data) => {
        text += data.toString();
      });
      socket.on('close', () => resolve(text));
      socket.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toContain('"code":"shutting_down"');
    expect(closedYet).toBe(false);
    release();
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ done: true });
    await closed;
    expect(service.metrics().running).toBe(0);
  });

  it('an address in use is HttpListenError listen_failed', async () => {
    const service = await serve(echo);
    const error = await HttpService.listen({
      host: '127.0.0.1',
      port: service.port,
      token: undefined,
      limits: DEFAULT_HTTP_LIMITS,
      handle: echo,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpListenError);
    expect((error as HttpListenError).code).toBe('listen_failed');
    expect((error as Error).message).toContain('EADDRINUSE');
  });

  it('isLoopbackHost: 127.0.0.0/8, ::1 and localhost only', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '128.0.0.1',
      '127.0.0.256',
      'example.com',
      '',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});
