/**
 * The copied runtime's HTTP/1.1 client transport (`http-pool.ts`) against raw `node:net`
 * servers that send exactly the bytes a test chooses: every framing the parser accepts (also
 * delivered one byte at a time), every bound it enforces, keep-alive reuse, `connection: close`,
 * the pool's size, and that an idle connection does not keep the process alive.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HttpConnection,
  HttpFailure,
  HttpPool,
  MAX_HEAD_BYTES,
} from '../../src/runtime/http-pool.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    await new Promise((resolve) => server.close(resolve));
  }
});

interface Raw {
  readonly url: URL;
  /** Every request received (head and body as text), per connection. */
  readonly requests: string[];
  readonly sockets: Socket[];
}

/**
 * A server that answers each complete request (head, and a body of its content-length) with
 * `answer(index)`'s bytes, split into `pieces` writes; `null` closes the connection instead.
 */
async function raw(answer: (index: number) => string | Buffer | null, pieces = 1): Promise<Raw> {
  const requests: string[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    let buffer = '';
    socket.on('data', async (chunk) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        requests.push(buffer.slice(0, end + 4 + length));
        buffer = buffer.slice(end + 4 + length);
        const bytes = answer(requests.length - 1);
        if (bytes === null) {
          socket.destroy();
          return;
        }
        const data = Buffer.from(bytes);
        const size = Math.ceil(data.length / pieces);
        for (let at = 0; at < data.length; at += size) {
          socket.write(data.subarray(at, at + size));
          if (pieces > 1) await new Promise((resolve) => setImmediate(resolve));
        }
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: new URL(`http://127.0.0.1:${port}`), requests, sockets };
}

const ok = (body: string, extra = '') =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const head = (url: URL, path = '/x') => `POST ${path} HTTP/1.1\r\nhost: ${url.host}`;

async function failure(promise: Promise<unknown>): Promise<HttpFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpFailure);
  return error as HttpFailure;
}

describe('HttpConnection', () => {
  it('reads content-length, chunked and read-to-close answers, also one byte at a time', async () => {
    const chunked =
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\n{"a"\r\n6\r\n:"é"}\r\n0\r\nx-trailer: 1\r\n\r\n';
    const answers = [ok('{"n":1}', 'retry-after: 2\r\n'), chunked, ok('')];
    for (const pieces of [1, 7, 1_000]) {
      const server = await raw((i) => answers[i]!, pieces);
      const connection = new HttpConnection(server.url);
      const first = await connection.request(head(server.url), '{"q":1}', 5_000);
      expect(first).toMatchObject({ status: 200, body: '{"n":1}' });
      expect(first.headers.get('retry-after')).toBe('2');
      expect((await connection.request(head(server.url), undefined, 5_000)).body).toBe('{"a":"é"}');
      expect((await connection.request(head(server.url), '', 5_000)).body).toBe('');
      // One connection carried all three, one at a time.
      expect(server.sockets).toHaveLength(1);
      expect(server.requests[0]).toContain('content-length: 7\r\n\r\n{"q":1}');
      connection.close();
    }
    const closing = await raw(
      () => 'HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\n\r\n<h1>no</h1>',
    );
    // No length: the body ends with the connection (the server keeps it open here, so the
    // answer completes only when the server closes it).
    const connection = new HttpConnection(closing.url);
    const pending = connection.request(head(closing.url), undefined, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    closing.sockets[0]!.end();
    expect(await pending).toMatchObject({ status: 404, body: '<h1>no</h1>' });
  });

  it('skips informational answers and reads no body for 204 and 304', async () => {
    const server = await raw((i) =>
      i === 0
        ? `HTTP/1.1 100 Continue\r\n\r\n${ok('{}')}`
        : 'HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n',
    );
    const connection = new HttpConnection(server.url);
    expect((await connection.request(head(server.url), '{}', 5_000)).body).toBe('{}');
    expect((await connection.request(head(server.url), '{}', 5_000)).status).toBe(204);
    connection.close();
  });

  it('honours connection: close, and opens a new connection for the next request', async () => {
    const server = await raw(() => ok('{}', 'connection: close\r\n'));
    const connection = new HttpConnection(server.url);
    await connection.request(head(server.url), undefined, 5_000);
    await connection.request(head(server.url), undefined, 5_000);
    expect(server.sockets).toHaveLength(2);
  });

  it('refuses what it cannot trust, as bad_response, and closes the connection', async () => {
    const cases: [string | Buffer, RegExp][] = [
      ['HTTP/2 200 OK\r\n\r\n', /status line/],
      ['HTTP/1.1 2000 OK\r\n\r\n', /status line/],
      ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /header line/],
      ['HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n', /content-length/],
      ['HTTP/1.1 200 OK\r\ncontent-length: 1e3\r\n\r\n', /content-length/],
      ['HTTP/1.1 200 OK\r\ncontent-length: 999999999999\r\n\r\n', /over/],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n', /transfer-encoding/],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', /chunk size/],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n', /CRLF/],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nffffffffff\r\n', /over/],
      [`HTTP/1.1 200 OK\r\nx: ${'a'.repeat(MAX_HEAD_BYTES)}`, /head is too long/],
      [`${ok('{}')}HTTP/1.1 200 OK\r\n`, /bytes after the answer/],
    ];
    for (const [bytes, reason] of cases) {
      const server = await raw(() => bytes);
      const connection = new HttpConnection(server.url, 1 << 20);
      const error = await failure(connection.request(head(server.url), undefined, 5_000));
      expect(error.code).toBe('bad_response');
      expect(error.message).toMatch(reason);
      expect(error.answered).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(server.sockets[0]!.destroyed || server.sockets[0]!.readableEnded).toBe(true);
    }
  });

  it('fails a request whose connection is reset or refused, or whose answer does not come in time', async () => {
    const server = await raw((i) => (i === 0 ? ok('{}') : null));
    const connection = new HttpConnection(server.url);
    expect((await connection.request(head(server.url), undefined, 5_000)).status).toBe(200);
    const reset = await failure(connection.request(head(server.url), undefined, 5_000));
    expect(reset).toMatchObject({ code: 'ECONNRESET', reused: true, answered: false });
    const silent = await raw(() => '');
    const timeout = await failure(
      new HttpConnection(silent.url).request(head(silent.url), undefined, 50),
    );
    expect(timeout).toMatchObject({ code: 'timeout', reused: false });
    const gone = silent.url;
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const refused = await failure(new HttpConnection(gone).request(head(gone), undefined, 5_000));
    expect(refused.code).toBe('ECONNREFUSED');
  });

  it('an idle keep-alive connection does not keep the process alive; a pending request does', () => {
    const module = JSON.stringify(new URL('../../dist/runtime/http-pool.js', import.meta.url).href);
    const script = `
      import { createServer } from 'node:net';
      import { HttpConnection } from ${module};
      // Nothing of the server's keeps the process alive: only the client can.
      const server = createServer((socket) => {
        socket.unref();
        socket.on('data', () =>
          setTimeout(() => socket.write('HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\n{}'), 100).unref());
      });
      server.listen(0, '127.0.0.1', async () => {
        const url = new URL('http://127.0.0.1:' + server.address().port);
        server.unref();
        const answer = await new HttpConnection(url).request('GET / HTTP/1.1\\r\\nhost: x', undefined, 5000);
        console.log('answered', answer.status);
      });
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.stderr).toBe('');
    // The request's socket kept the process alive until the answer; the idle one then did not.
    expect(result.stdout.trim()).toBe('answered 200');
    expect(result.status).toBe(0);
  });
});

describe('HttpPool', () => {
  it('opens at most size connections and hands them out in order', async () => {
    const server = await raw(() => ok('{}'));
    const pool = new HttpPool(server.url, 2);
    expect(pool.free).toBe(2);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(pool.free).toBe(0);
    const order: string[] = [];
    const c = pool.acquire().then((connection) => {
      order.push('c');
      return connection;
    });
    const d = pool.acquire().then((connection) => {
      order.push('d');
      return connection;
    });
    pool.release(b);
    expect(await c).toBe(b);
    pool.release(a);
    expect(await d).toBe(a);
    expect(order).toEqual(['c', 'd']);
    // Each connection keeps its socket between requests.
    await (await c).request(head(server.url), undefined, 5_000);
    await (await c).request(head(server.url), undefined, 5_000);
    expect(server.sockets).toHaveLength(1);
    pool.release(await c);
    pool.release(await d);
    pool.close();
  });
});
