/**
 * The plumbing of the engine's HTTP/1.1 server, without its routes: keep-alive connections up to
 * a cap, a body size limit, timeouts for receiving a request (slow clients) and for answering it
 * (a stuck handler), a bearer-token check before anything is read or run, JSON error bodies, and
 * a graceful drain (stop accepting, answer what is running, close the connections). The engine's
 * own `src/server/` gives it a handler: the routes and the mapping of requests and answers.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { constants } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PackageError } from './package-error.js';

export interface HttpLimits {
  /**
   * Connections open at once. A connection beyond it takes the place of the oldest idle one (no
   * request being run or answered), which is closed; when none is idle, it is closed as soon as
   * it is accepted.
   */
  readonly maxConnections: number;
  /** The largest request body, in bytes (`413 body_too_large` above it). */
  readonly maxBodyBytes: number;
  /** How long a request may run before it is answered `503 request_timeout` (indefinite). */
  readonly requestTimeoutMs: number;
  /**
   * How long a client may take to send a whole request, headers and body (a slow client is
   * answered `408` and disconnected; nothing it sent was run).
   */
  readonly receiveTimeoutMs: number;
  /** How long a client may take to send the request's headers (`408` after it). */
  readonly headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  maxConnections: 1_024,
  maxBodyBytes: 1_048_576,
  requestTimeoutMs: 10_000,
  receiveTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
});

/** The longest delay a Node timer takes: a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * The range of each limit: timeouts within what a timer can wait, a body within the longest
 * string the runtime can decode it to.
 */
export const HTTP_LIMIT_RANGES: Readonly<Record<keyof HttpLimits, readonly [number, number]>> =
  Object.freeze({
    maxConnections: [1, Number.MAX_SAFE_INTEGER],
    maxBodyBytes: [1, constants.MAX_STRING_LENGTH],
    requestTimeoutMs: [1, MAX_TIMER_MS],
    receiveTimeoutMs: [1, MAX_TIMER_MS],
    headersTimeoutMs: [1, MAX_TIMER_MS],
    keepAliveTimeoutMs: [1, MAX_TIMER_MS],
  });

/** Throws `RangeError` naming the first limit that is not an integer within its range. */
export function checkHttpLimits(limits: HttpLimits): void {
  for (const [name, [min, max]] of Object.entries(HTTP_LIMIT_RANGES)) {
    const value = limits[name as keyof HttpLimits];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(
        `the HTTP limit ${name} must be an integer from ${min} to ${max}, got ${value}`,
      );
    }
  }
}

/** A request whose body has been received whole. */
export interface HttpRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The body as UTF-8 text ('' when there is none). */
  readonly body: string;
}

/** An answer: a status and a JSON text. */
export interface HttpReply {
  readonly status: number;
  readonly body: string;
  /** Sent as `Retry-After` (seconds). */
  readonly retryAfterSeconds?: number;
}

export type HttpHandler = (request: HttpRequest) => HttpReply | Promise<HttpReply>;

/** The error body every failure carries: `{"error":{"code","message","definite","field"?}}`. */
export interface HttpErrorBody {
  readonly code: string;
  readonly message: string;
  /** True when the request certainly changed nothing; false when it may have been executed. */
  readonly definite: boolean;
  readonly field?: string;
}

/** An error answer: `status` with the error body. */
export function errorReply(
  status: number,
  error: HttpErrorBody,
  retryAfterSeconds?: number,
): HttpReply {
  return { status, body: JSON.stringify({ error }), retryAfterSeconds };
}

/** The service could not start: the address is taken, or cannot be listened on. */
export class HttpListenError extends PackageError {
  declare readonly code: 'listen_failed';
  constructor(host: string, port: number, cause: unknown) {
    const reason = (cause as { code?: string }).code ?? (cause as Error).message;
    super(
      'listen_failed',
      `cannot listen on ${host}:${port} (${reason}); choose another --port or --host, or stop what holds it`,
      { cause },
    );
  }
}

export interface HttpServiceOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The bearer token every request must carry, or undefined for none. */
  readonly token: string | undefined;
  readonly limits: HttpLimits;
  readonly handle: HttpHandler;
  /** Called with an exception a handler threw (it was answered `500 internal`). */
  readonly onHandlerError?: (error: unknown) => void;
}

export interface HttpServiceMetrics {
  readonly connections: number;
  /** Connections closed at once: every connection was taken, none idle. */
  readonly connectionsRefused: number;
  /** Idle connections closed to make room for a new one. */
  readonly connectionsEvicted: number;
  readonly requests: number;
  readonly running: number;
  readonly draining: boolean;
  /** Answers sent, by status. */
  readonly responses: Readonly<Record<string, number>>;
}

/** The query of a request without one (handlers only read it). */
const NO_QUERY = new URLSearchParams();

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Whether `host` names a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  if (bare.startsWith('::ffff:')) return isLoopbackHost(bare.slice(7));
  const parts = bare.split('.');
  return (
    parts.length === 4 &&
    parts[0] === '127' &&
    parts.every((part) => /^[0-9]{1,3}$/.test(part) && Number(part) <= 255)
  );
}

/**
 * A listening HTTP/1.1 service. Every request is checked in this order: draining (`503
 * shutting_down`), the token (`401 unauthorized`, before the body is read), the body size (`413
 * body_too_large`); then the handler runs, answered `503 request_timeout` if it takes longer than
 * the limit. A connection over the cap takes the place of the oldest idle one; when none is idle
 * it is closed at once (the client sees a reset).
 */
export class HttpService {
  readonly host: string;
  readonly port: number;
  private readonly server: Server;
  private readonly options: HttpServiceOptions;
  private readonly tokenDigest: Buffer | undefined;
  private draining = false;
  private closing: Promise<void> | undefined;
  /** Handlers running, and answers not yet flushed: the drain waits for both to reach zero. */
  private busy = 0;
  private readonly idleWaiters: (() => void)[] = [];
  /**
   * Open connections, oldest first, each with how many of its requests are being run or
   * answered (0: idle, and the first to go when a new connection needs room).
   */
  private readonly sockets = new Map<Socket, number>();
  private connectionsRefused = 0;
  private connectionsEvicted = 0;
  private requests = 0;
  private running = 0;
  private readonly responses: Record<string, number> = {};

  private constructor(server: Server, options: HttpServiceOptions, port: number) {
    this.server = server;
    this.options = options;
    this.host = options.host;
    this.port = port;
    this.tokenDigest = options.token === undefined ? undefined : digest(options.token);
  }

  /** Starts listening; rejects with `HttpListenError` when the address cannot be used. */
  static async listen(options: HttpServiceOptions): Promise<HttpService> {
    const { limits } = options;
    checkHttpLimits(limits);
    const server = createServer({
      requestTimeout: limits.receiveTimeoutMs,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.receiveTimeoutMs),
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often the request and headers timeouts are checked.
      connectionsCheckingInterval: Math.max(
        10,
        Math.min(1_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.receiveTimeoutMs) / 4)),
      ),
      noDelay: true,
    });
    // A connection silent for this long (no request in progress, no keep-alive) is destroyed.
    server.timeout = limits.receiveTimeoutMs + limits.requestTimeoutMs;
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', (error) =>
        reject(new HttpListenError(options.host, options.port, error)),
      );
      server.listen(options.port, options.host, () =>
        resolve((server.address() as AddressInfo).port),
      );
    });
    const service = new HttpService(server, options, port);
    server.on('connection', (socket: Socket) => service.onConnection(socket));
    server.on('request', (request, response) => service.onRequest(request, response));
    return service;
  }

  /** `http://host:port`, with an IPv6 host in brackets. */
  get url(): string {
    const host =
      this.host.includes(':') && !this.host.startsWith('[') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}`;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  metrics(): HttpServiceMetrics {
    return {
      connections: this.sockets.size,
      connectionsRefused: this.connectionsRefused,
      connectionsEvicted: this.connectionsEvicted,
      requests: this.requests,
      running: this.running,
      draining: this.draining,
      responses: { ...this.responses },
    };
  }

  /**
   * Drains and stops: no new connection is accepted, every request that arrives from now on is
   * answered `503 shutting_down` (nothing run), the handlers already running finish and are
   * answered, then every connection is closed. Harmless twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.draining = true;
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      await this.whenIdle();
      // Every answer is flushed; what is left is idle, or a client still sending a request that
      // will not be run.
      this.server.closeAllConnections();
      await stopped;
    })();
    return this.closing;
  }

  private whenIdle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly releaseOne = (): void => this.release();

  private release(): void {
    this.busy--;
    if (this.busy === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /**
   * Admits a connection. At the cap, the oldest idle connection (none of its requests being run
   * or answered: a keep-alive client between requests, or one that has not sent a whole request)
   * is closed to make room, so that idle connections cannot lock other clients out; when every
   * connection is running a request, the new one is closed instead.
   */
  private onConnection(socket: Socket): void {
    if (this.sockets.size >= this.options.limits.maxConnections) {
      let idle: Socket | undefined;
      for (const [open, running] of this.sockets) {
        if (running === 0) {
          idle = open;
          break;
        }
      }
      if (idle === undefined) {
        this.connectionsRefused++;
        socket.destroy();
        return;
      }
      this.connectionsEvicted++;
      this.sockets.delete(idle);
      idle.destroy();
    }
    this.sockets.set(socket, 0);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Counts a request of `socket` being run or answered (`by` 1), or done (`by` -1). */
  private markRunning(socket: Socket, by: 1 | -1): void {
    const running = this.sockets.get(socket);
    if (running !== undefined) this.sockets.set(socket, running + by);
  }

  private authorized(header: string | undefined): boolean {
    if (this.tokenDigest === undefined) return true;
    // The scheme is case-insensitive (RFC 9110, section 11.1).
    if (header === undefined || header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ')
      return false;
    return timingSafeEqual(digest(header.slice(7).trim()), this.tokenDigest);
  }

  /** Sends `reply`; `close` ends the connection after it (a body left unread, or a drain). */
  private send(response: ServerResponse, reply: HttpReply, close: boolean): void {
    if (response.headersSent || response.destroyed) return;
    this.busy++;
    // 'close' follows 'finish' on a flushed answer, and comes alone on a dropped connection.
    response.once('close', this.releaseOne);
    this.responses[reply.status] = (this.responses[reply.status] ?? 0) + 1;
    // Headers as a flat array: the cheapest form for node:http to write.
    const headers: string[] = [
      'content-type',
      'application/json; charset=utf-8',
      'content-length',
      String(Buffer.byteLength(reply.body)),
    ];
    if (reply.retryAfterSeconds !== undefined) {
      headers.push('retry-after', String(reply.retryAfterSeconds));
    }
    if (close || this.draining) headers.push('connection', 'close');
    if (reply.status === 401) headers.push('www-authenticate', 'Bearer');
    response.writeHead(reply.status, headers);
    response.end(reply.body);
  }

  private shuttingDown(response: ServerResponse, close: boolean): void {
    this.send(
      response,
      errorReply(
        503,
        {
          code: 'shutting_down',
          message:
            'the server is shutting down; nothing was run; retry (with the same operation id) once it is back',
          definite: true,
        },
        1,
      ),
      close,
    );
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    this.requests++;
    if (this.draining) {
      this.shuttingDown(response, true);
      return;
    }
    if (!this.authorized(request.headers.authorization)) {
      this.send(
        response,
        errorReply(401, {
          code: 'unauthorized',
          message:
            request.headers.authorization === undefined
              ? 'this server needs a bearer token (Authorization: Bearer <token>); nothing was run'
              : 'the bearer token is wrong; nothing was run',
          definite: true,
        }),
        true,
      );
      return;
    }
    const max = this.options.limits.maxBodyBytes;
    const tooLarge = () =>
      this.send(
        response,
        errorReply(413, {
          code: 'body_too_large',
          message: `the body is over the server's limit of ${max} bytes; nothing was run; send smaller batches`,
          definite: true,
        }),
        true,
      );
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > max) {
        refused = true;
        chunks.length = 0;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      if (this.draining) {
        this.shuttingDown(response, false);
        return;
      }
      const url = request.url ?? '/';
      const mark = url.indexOf('?');
      this.run(response, {
        method: request.method ?? 'GET',
        path: mark < 0 ? url : url.slice(0, mark),
        query: mark < 0 ? NO_QUERY : new URLSearchParams(url.slice(mark + 1)),
        body:
          chunks.length === 1
            ? chunks[0]!.toString('utf8')
            : Buffer.concat(chunks).toString('utf8'),
      });
    });
  }

  private run(response: ServerResponse, request: HttpRequest): void {
    this.busy++;
    this.running++;
    // Not idle until the answer is flushed (or the connection dropped).
    const socket = response.socket;
    if (socket !== null) {
      this.markRunning(socket, 1);
      response.once('close', () => this.markRunning(socket, -1));
    }
    let answered = false;
    const timer = setTimeout(() => {
      answered = true;
      this.send(
        response,
        errorReply(
          503,
          {
            code: 'request_timeout',
            message: `no answer within ${this.options.limits.requestTimeoutMs} ms; the command may still be executed: retry with the same operation id`,
            definite: false,
          },
          1,
        ),
        false,
      );
    }, this.options.limits.requestTimeoutMs);
    const finish = (reply: HttpReply) => {
      clearTimeout(timer);
      this.running--;
      if (!answered) this.send(response, reply, false);
      this.release();
    };
    let result: HttpReply | Promise<HttpReply>;
    try {
      result = this.options.handle(request);
    } catch (error) {
      finish(this.internal(error));
      return;
    }
    if (result instanceof Promise) {
      result.then(finish, (error: unknown) => finish(this.internal(error)));
    } else {
      finish(result);
    }
  }

  private internal(error: unknown): HttpReply {
    this.options.onHandlerError?.(error);
    return errorReply(500, {
      code: 'internal',
      message: `internal error (a bug; please report it): ${(error as Error)?.message ?? String(error)}`,
      definite: false,
    });
  }
}
