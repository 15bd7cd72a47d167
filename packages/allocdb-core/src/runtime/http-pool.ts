/**
 * The typed clients' HTTP/1.1 transport: a small pool of keep-alive connections per server, each
 * carrying one request at a time, on `node:net` (or `node:tls` for `https:`), with the answer
 * parsed within bounds. It replaces `fetch` in the clients (issue 22): a call through `fetch`
 * cost the client process far more CPU than the request itself, and a client that coalesces
 * concurrent submissions wants to own how many connections it keeps and when each is free.
 *
 * What the parser accepts: a status line `HTTP/1.x <3 digits> …`, header lines, a head of at most
 * `MAX_HEAD_BYTES`; a body framed by `content-length` (at most `maxBodyBytes`), by `chunked`
 * transfer coding (chunk sizes in hex, at most the same total; trailers skipped), or, for an
 * answer that has neither, by the end of the connection. Informational answers (1xx) are
 * skipped. Anything else (a malformed status line or length, a body over the bound, bytes after
 * the answer on a connection with one request in flight) is a `bad_response` failure and the
 * connection is closed: the client never grows memory with what a server sends.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** The longest answer head the client reads (status line and headers). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** The largest answer body the client reads by default. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** A parsed answer. */
export interface HttpAnswer {
  readonly status: number;
  /** Header values by lower-case name (a repeated header: the last one). */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/**
 * Why a request got no answer (the request may or may not have run). `reused`: it went out on a
 * keep-alive connection opened for an earlier request; `answered`: some bytes of an answer had
 * arrived. A reused connection that fails before any answer is most often one the server closed
 * while it sat idle, so the caller tries once more at once on a fresh connection.
 */
export class HttpFailure extends Error {
  readonly code: string;
  readonly reused: boolean;
  readonly answered: boolean;
  constructor(code: string, message: string, details: { reused: boolean; answered: boolean }) {
    super(message);
    this.name = 'HttpFailure';
    this.code = code;
    this.reused = details.reused;
    this.answered = details.answered;
  }
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

interface Pending {
  readonly resolve: (answer: HttpAnswer) => void;
  readonly reject: (failure: HttpFailure) => void;
  readonly timer: NodeJS.Timeout;
  readonly head: boolean;
}

/** Where the body of the current answer stands. */
type BodyState =
  | { readonly kind: 'head' }
  | {
      readonly kind: 'length';
      readonly status: number;
      readonly headers: Map<string, string>;
      readonly length: number;
    }
  | {
      kind: 'chunked';
      readonly status: number;
      readonly headers: Map<string, string>;
      parts: Buffer[];
      total: number;
    }
  | { readonly kind: 'close'; readonly status: number; readonly headers: Map<string, string> };

/** One keep-alive connection to one server; one request in flight at a time. */
export class HttpConnection {
  private socket: Socket | undefined;
  private connected = false;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private state: BodyState = { kind: 'head' };
  private closeAfter = false;
  /** Whether the request in flight went out on a connection opened earlier. */
  private reusedNow = false;

  constructor(
    private readonly url: URL,
    private readonly maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
  ) {}

  /** Whether a request is in flight. */
  get busy(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Sends one request (`head` is the request line and headers without the final blank line; the
   * body, if any, follows) and resolves with the answer, or rejects with `HttpFailure` after
   * `timeoutMs` or when the connection fails.
   */
  request(head: string, body: string | undefined, timeoutMs: number): Promise<HttpAnswer> {
    if (this.pending !== undefined) throw new Error('one request at a time per connection');
    const reused = this.socket !== undefined && this.connected && !this.socket.destroyed;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new HttpFailure('timeout', 'no answer in time', this.details(reused))),
        timeoutMs,
      );
      this.pending = { resolve, reject, timer, head: head.startsWith('HEAD ') };
      this.reusedNow = reused;
      const socket = reused ? this.socket! : this.open();
      socket.ref();
      socket.write(
        body === undefined
          ? `${head}\r\n\r\n`
          : `${head}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
  }

  private details(reused: boolean): { reused: boolean; answered: boolean } {
    return { reused, answered: this.buffer.length > 0 || this.state.kind !== 'head' };
  }

  private open(): Socket {
    this.buffer = Buffer.alloc(0);
    this.state = { kind: 'head' };
    this.closeAfter = false;
    this.connected = false;
    const port = Number(this.url.port) || (this.url.protocol === 'https:' ? 443 : 80);
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const socket =
      this.url.protocol === 'https:'
        ? tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host })
        : netConnect({ host, port });
    socket.setNoDelay(true);
    socket.once(this.url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      this.connected = true;
    });
    socket.on('data', (chunk: Buffer) => this.receive(socket, chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (socket !== this.socket) return;
      this.fail(
        new HttpFailure(error.code ?? 'socket_error', error.message, this.details(this.reusedNow)),
      );
    });
    socket.on('close', () => {
      if (socket !== this.socket) return;
      this.socket = undefined;
      if (this.state.kind === 'close' && this.pending !== undefined) {
        this.finish(this.state.status, this.state.headers, this.buffer);
        return;
      }
      this.fail(
        new HttpFailure('ECONNRESET', 'the connection closed', this.details(this.reusedNow)),
      );
    });
    this.socket = socket;
    return socket;
  }

  /** Closes the connection; a request in flight fails. */
  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    if (this.pending !== undefined) {
      this.fail(new HttpFailure('closed', 'the client was closed', this.details(this.reusedNow)));
    }
  }

  private fail(failure: HttpFailure): void {
    const pending = this.pending;
    this.pending = undefined;
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    this.buffer = Buffer.alloc(0);
    this.state = { kind: 'head' };
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    pending.reject(failure);
  }

  private receive(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    if (this.pending === undefined) {
      // Nothing was asked: a server that talks out of turn is not one to keep.
      this.fail(
        new HttpFailure(
          'bad_response',
          'bytes arrived with no request in flight',
          this.details(true),
        ),
      );
      return;
    }
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      this.parse();
    } catch (error) {
      this.fail(
        new HttpFailure('bad_response', (error as Error).message, {
          reused: this.reusedNow,
          answered: true,
        }),
      );
    }
  }

  /** Parses what has arrived: the head, then the body as its framing says. */
  private parse(): void {
    for (;;) {
      const state = this.state;
      if (state.kind === 'head') {
        const end = this.buffer.indexOf(CRLF_CRLF);
        if (end < 0) {
          if (this.buffer.length > MAX_HEAD_BYTES) throw new Error('the answer head is too long');
          return;
        }
        if (end > MAX_HEAD_BYTES) throw new Error('the answer head is too long');
        const { status, headers } = parseHead(this.buffer.toString('latin1', 0, end));
        this.buffer = this.buffer.subarray(end + 4);
        if (status >= 100 && status < 200) continue; // informational: the real answer follows
        if (headers.get('connection')?.toLowerCase() === 'close') this.closeAfter = true;
        const encoding = headers.get('transfer-encoding');
        const declared = headers.get('content-length');
        if (this.pending!.head || status === 204 || status === 304) {
          this.state = { kind: 'length', status, headers, length: 0 };
        } else if (encoding !== undefined) {
          if (encoding.toLowerCase() !== 'chunked') {
            throw new Error(`unsupported transfer-encoding ${encoding}`);
          }
          this.state = { kind: 'chunked', status, headers, parts: [], total: 0 };
        } else if (declared !== undefined) {
          if (!/^\d{1,15}$/.test(declared)) throw new Error(`bad content-length ${declared}`);
          const length = Number(declared);
          if (length > this.maxBodyBytes) {
            throw new Error(`the answer body (${length} bytes) is over ${this.maxBodyBytes}`);
          }
          this.state = { kind: 'length', status, headers, length };
        } else {
          this.closeAfter = true;
          this.state = { kind: 'close', status, headers };
        }
        continue;
      }
      if (state.kind === 'length') {
        if (this.buffer.length < state.length) return;
        const body = this.buffer.subarray(0, state.length);
        const rest = this.buffer.subarray(state.length);
        if (rest.length > 0) throw new Error('bytes after the answer');
        this.finish(state.status, state.headers, body);
        return;
      }
      if (state.kind === 'close') {
        if (this.buffer.length > this.maxBodyBytes) {
          throw new Error(`the answer body is over ${this.maxBodyBytes} bytes`);
        }
        return; // completed when the server closes the connection
      }
      // chunked: <hex size>[;ext]\r\n<data>\r\n … 0\r\n[trailers]\r\n
      const lineEnd = this.buffer.indexOf(CRLF);
      if (lineEnd < 0) {
        if (this.buffer.length > MAX_HEAD_BYTES) throw new Error('a chunk size line is too long');
        return;
      }
      const sizeText = this.buffer.toString('latin1', 0, lineEnd).split(';')[0]!.trim();
      if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new Error(`bad chunk size ${sizeText}`);
      const size = Number.parseInt(sizeText, 16);
      if (size === 0) {
        // The last chunk; then trailers (ignored) up to a blank line.
        const trailerEnd = this.buffer.indexOf(CRLF_CRLF, lineEnd);
        const bare = this.buffer.length >= lineEnd + 4 && this.buffer[lineEnd + 2] === 13;
        if (!bare && trailerEnd < 0) {
          if (this.buffer.length > MAX_HEAD_BYTES) throw new Error('the trailers are too long');
          return;
        }
        const end = bare ? lineEnd + 4 : trailerEnd + 4;
        if (this.buffer.length > end) throw new Error('bytes after the answer');
        this.finish(state.status, state.headers, Buffer.concat(state.parts, state.total));
        return;
      }
      if (state.total + size > this.maxBodyBytes) {
        throw new Error(`the answer body is over ${this.maxBodyBytes} bytes`);
      }
      const dataStart = lineEnd + 2;
      if (this.buffer.length < dataStart + size + 2) return;
      if (this.buffer[dataStart + size] !== 13 || this.buffer[dataStart + size + 1] !== 10) {
        throw new Error('a chunk does not end with CRLF');
      }
      state.parts.push(this.buffer.subarray(dataStart, dataStart + size));
      state.total += size;
      this.buffer = this.buffer.subarray(dataStart + size + 2);
    }
  }

  private finish(status: number, headers: Map<string, string>, body: Buffer): void {
    const pending = this.pending!;
    this.pending = undefined;
    clearTimeout(pending.timer);
    this.state = { kind: 'head' };
    this.buffer = Buffer.alloc(0);
    if (this.closeAfter) {
      const socket = this.socket;
      this.socket = undefined;
      socket?.destroy();
    } else {
      // An idle keep-alive connection does not keep the process alive.
      this.socket?.unref();
    }
    pending.resolve({ status, headers, body: body.toString('utf8') });
  }
}

/** The status and headers of an answer head (the text before the blank line). */
export function parseHead(text: string): { status: number; headers: Map<string, string> } {
  const lines = text.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]!);
  if (match === null) throw new Error(`not an HTTP/1.1 status line: ${lines[0]!.slice(0, 80)}`);
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`a malformed header line: ${line.slice(0, 80)}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), headers };
}

/**
 * A few connections to one server. `acquire` hands out an idle connection (opening one while
 * fewer than `size` exist) or waits for one to be released, in order.
 */
export class HttpPool {
  private readonly idle: HttpConnection[] = [];
  private readonly waiting: ((connection: HttpConnection) => void)[] = [];
  private opened = 0;
  private closed = false;

  constructor(
    private readonly url: URL,
    readonly size: number,
    private readonly maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
  ) {}

  /** Connections free right now (idle, or not opened yet). */
  get free(): number {
    return this.idle.length + (this.size - this.opened);
  }

  acquire(): Promise<HttpConnection> {
    const connection = this.idle.pop();
    if (connection !== undefined) return Promise.resolve(connection);
    if (this.opened < this.size) {
      this.opened++;
      return Promise.resolve(new HttpConnection(this.url, this.maxBodyBytes));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(connection: HttpConnection): void {
    const next = this.waiting.shift();
    if (this.closed) {
      connection.close();
      if (next !== undefined) next(new HttpConnection(this.url, this.maxBodyBytes));
      else this.opened--;
      return;
    }
    if (next !== undefined) next(connection);
    else this.idle.push(connection);
  }

  /**
   * Closes every idle connection; one in use closes when it is released. Acquiring still works
   * (a new connection), so a closed pool only stops keeping connections.
   */
  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.close();
  }
}
