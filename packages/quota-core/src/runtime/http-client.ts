/**
 * The client side of the engine's HTTP service, without its routes: one call over the runtime's
 * keep-alive connection pool (`http-pool.ts`) with a per-attempt timeout, the retry loop, and the
 * coalescing of concurrent submissions into batch requests. Every write the typed client sends
 * carries an operation id, so a call whose fate is unknown — the connection failed or was reset,
 * no answer came in time, the server answered 503 (overloaded, restarting, shutting down) or 408
 * — is sent again, the same request with the same id, until it gets an answer or the deadline
 * passes; the engine answers a repeated id from its retry cache instead of executing it twice.
 * Definite answers (4xx) are thrown at once as `ServiceError` with the server's code.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { isJsonObject, parseJsonText } from './http-json.js';
import { type HttpAnswer, HttpFailure, HttpPool } from './http-pool.js';
import { PackageError } from './package-error.js';

export interface RetryPolicy {
  /** How long one attempt may take, answer included, before it counts as failed. */
  readonly attemptTimeoutMs: number;
  /**
   * How long to keep retrying a call whose fate is unknown, from its first attempt. Keep it
   * below the engine's retry window (the time an operation id is remembered), or a late retry
   * may execute again.
   */
  readonly deadlineMs: number;
  /** The first pause between attempts; it doubles up to `maxDelayMs` (with jitter). */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  attemptTimeoutMs: 10_000,
  deadlineMs: 30_000,
  minDelayMs: 20,
  maxDelayMs: 1_000,
});

/**
 * A call the service answered with an error (`code` is the server's, `status` its HTTP status),
 * or that got no answer before the deadline (`code` `unavailable`, `status` undefined or the last
 * one seen). `definite` is true when the request certainly changed nothing; when it is false the
 * command may have been executed: retry it with the same operation id.
 */
export class ServiceError extends PackageError {
  readonly status: number | undefined;
  readonly definite: boolean;
  /** The path of the offending field, for a bad request. */
  readonly field: string | undefined;
  /** Attempts made (1 when the first answer was definite). */
  readonly attempts: number;
  constructor(
    code: string,
    message: string,
    details: {
      status?: number;
      definite: boolean;
      field?: string;
      attempts: number;
      cause?: unknown;
    },
  ) {
    super(code, message, { cause: details.cause });
    this.status = details.status;
    this.definite = details.definite;
    this.field = details.field;
    this.attempts = details.attempts;
  }
}

/** Statuses whose requests may or may not have run, and that a retry can clear. */
const RETRYABLE_STATUSES = new Set([408, 502, 503, 504]);

export interface ServiceEndpointOptions {
  /**
   * The server's base URL, such as `http://127.0.0.1:7470`; or every node of a cluster
   * (docs/cluster.md): a call whose attempt fails (no connection, no answer in time, 503) is
   * retried on the next node, and so is a strict read a lagging node cannot answer yet
   * (`fence_not_applied`).
   */
  readonly url: string | readonly string[];
  /** The bearer token, when the server needs one. */
  readonly token?: string;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Keep-alive connections kept per node (default 4): at most this many requests are in flight
   * to a node at once, and submissions coalesced into batches use them (`SubmitCoalescer`).
   */
  readonly connections?: number;
}

/** The default number of keep-alive connections per node. */
export const DEFAULT_CONNECTIONS = 4;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function describeFailure(error: unknown): string {
  if (error instanceof HttpFailure) {
    return error.code === 'timeout' ? 'no answer in time' : `${error.code} (${error.message})`;
  }
  return (error as Error).message ?? String(error);
}

/** A base URL, checked and without its trailing slashes. */
function baseUrl(url: unknown): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new TypeError(`url must be an absolute URL such as http://127.0.0.1:7470, got ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`url must be http: or https:, got ${parsed.protocol}`);
  }
  return parsed.href.replace(/\/+$/, '');
}

/** One server (or the nodes of one cluster), called with retries. */
export class ServiceEndpoint {
  /** Every node, in the order given. */
  readonly urls: readonly string[];
  readonly retry: RetryPolicy;
  /** Keep-alive connections per node. */
  readonly connections: number;
  /** Each node's connections, its base path, and the header lines every request to it carries. */
  private readonly pools: HttpPool[];
  private readonly basePaths: string[];
  private readonly headerLines: string[];
  /** The node calls go to, until an attempt on it fails. */
  private current = 0;

  constructor(options: ServiceEndpointOptions) {
    const given = typeof options.url === 'string' ? [options.url] : options.url;
    if (!Array.isArray(given) || given.length === 0) {
      throw new TypeError('url must be a URL, or a non-empty array of the nodes of one cluster');
    }
    this.urls = given.map(baseUrl);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    const connections = options.connections ?? DEFAULT_CONNECTIONS;
    if (!Number.isSafeInteger(connections) || connections < 1 || connections > 1024) {
      throw new TypeError(`connections must be an integer from 1 to 1024, got ${connections}`);
    }
    this.connections = connections;
    const token = options.token;
    if (token !== undefined && (typeof token !== 'string' || /[\r\n]/.test(token))) {
      throw new TypeError('token must be a string without line breaks');
    }
    const parsed = this.urls.map((url) => new URL(url));
    this.pools = parsed.map((url) => new HttpPool(url, connections));
    this.basePaths = parsed.map((url) => (url.pathname === '/' ? '' : url.pathname));
    this.headerLines = parsed.map(
      (url) =>
        `host: ${url.host}\r\ncontent-type: application/json` +
        (token === undefined ? '' : `\r\nauthorization: Bearer ${token}`),
    );
  }

  /** Closes the idle keep-alive connections (they never keep the process alive anyway). */
  close(): void {
    for (const pool of this.pools) pool.close();
  }

  /**
   * One attempt on `node`: sends the request on one of its pooled connections and returns the
   * answer, or throws `HttpFailure`. A kept-alive connection that fails before any answer (most
   * often one the server closed while it sat idle) is tried once more on a fresh connection.
   */
  private async attempt(
    node: number,
    method: string,
    path: string,
    body: string | undefined,
  ): Promise<HttpAnswer> {
    const pool = this.pools[node]!;
    const head = `${method} ${this.basePaths[node]}${path} HTTP/1.1\r\n${this.headerLines[node]}`;
    const connection = await pool.acquire();
    try {
      try {
        return await connection.request(head, body, this.retry.attemptTimeoutMs);
      } catch (failure) {
        if (
          !(failure instanceof HttpFailure) ||
          !failure.reused ||
          failure.answered ||
          failure.code === 'timeout'
        ) {
          throw failure;
        }
        return await connection.request(head, body, this.retry.attemptTimeoutMs);
      }
    } finally {
      pool.release(connection);
    }
  }

  /** The node calls go to now. */
  get url(): string {
    return this.urls[this.current]!;
  }

  /** After an attempt on `node` failed, calls go to the next node (one node: itself). */
  private moveOn(node: number): void {
    if (this.current === node) this.current = (node + 1) % this.urls.length;
  }

  /**
   * Sends `method path` with `body` (JSON text) and returns the parsed JSON of a 2xx answer. A
   * failure that may be cleared by a retry is retried, the same request each time, until the
   * deadline; then `ServiceError` `unavailable` (`definite: false`). An error answer is thrown as
   * `ServiceError` with the server's code.
   */
  async call(method: 'GET' | 'POST', path: string, body?: string): Promise<unknown> {
    const started = Date.now();
    const { deadlineMs, minDelayMs, maxDelayMs } = this.retry;
    let attempts = 0;
    let delay = minDelayMs;
    for (;;) {
      attempts++;
      const node = this.current;
      let retryAfterMs = 0;
      let failure: string;
      let lastStatus: number | undefined;
      let lastError: unknown;
      try {
        const answer = await this.attempt(node, method, path, body);
        const text = answer.body;
        if (answer.status >= 200 && answer.status < 300) {
          try {
            return parseJsonText(text);
          } catch (error) {
            throw new ServiceError(
              'bad_response',
              `${method} ${path}: the server answered ${answer.status} with a body that is not JSON; the command may have been executed: retry with the same operation id`,
              { status: answer.status, definite: false, attempts, cause: error },
            );
          }
        }
        lastStatus = answer.status;
        let error: Record<string, unknown> | undefined;
        try {
          const parsed = parseJsonText(text);
          if (isJsonObject(parsed) && isJsonObject(parsed.error)) error = parsed.error;
        } catch {
          // Not ours (a proxy's page): judged by the status alone.
        }
        // A lagging node of a cluster cannot answer a strict read yet: another one may.
        const lagging =
          answer.status === 409 && error?.code === 'fence_not_applied' && this.urls.length > 1;
        if (!RETRYABLE_STATUSES.has(answer.status) && !lagging) {
          const code = typeof error?.code === 'string' ? error.code : `http_${answer.status}`;
          const message = typeof error?.message === 'string' ? error.message : text.slice(0, 200);
          throw new ServiceError(code, message, {
            status: answer.status,
            definite: error?.definite !== false,
            field: typeof error?.field === 'string' ? error.field : undefined,
            attempts,
          });
        }
        const seconds = Number(answer.headers.get('retry-after'));
        if (Number.isFinite(seconds) && seconds > 0) retryAfterMs = seconds * 1_000;
        failure = `${answer.status} ${typeof error?.code === 'string' ? error.code : ''}`.trim();
      } catch (error) {
        if (error instanceof ServiceError) throw error;
        // The connection failed, was reset, or no answer came in time (or the answer could not
        // be read): the request may or may not have run.
        failure = describeFailure(error);
        lastError = error;
      }
      this.moveOn(node);
      const elapsed = Date.now() - started;
      const pause = Math.min(maxDelayMs, Math.max(delay, retryAfterMs)) * (0.5 + Math.random() / 2);
      if (elapsed + pause >= deadlineMs) {
        throw new ServiceError(
          'unavailable',
          `${method} ${path}: no answer after ${attempts} attempts in ${elapsed} ms (last: ${failure}); the command may have been executed: retry it with the same operation id`,
          { status: lastStatus, definite: false, attempts, cause: lastError },
        );
      }
      await sleep(pause);
      delay = Math.min(maxDelayMs, delay * 2);
    }
  }
}

/** How the typed clients coalesce concurrent submissions into batch requests. */
export interface CoalesceOptions {
  /** Submissions in one batch request, at most (default 256; the server takes up to 1,024). */
  readonly maxEntries: number;
  /** Bytes of one batch request's body, at most (default 256 KiB; the server's limit is 1 MiB). */
  readonly maxBodyBytes: number;
}

export const DEFAULT_COALESCE_OPTIONS: CoalesceOptions = Object.freeze({
  maxEntries: 256,
  maxBodyBytes: 256 * 1024,
});

/**
 * Entry errors of a batch answer that `POST /v1/submit` would have answered 503, and that a
 * submission therefore retries, for a server whose entries carry no `status`: the engine was
 * overloaded or closing, had no writer, or the entry's fate is unknown (`definite: false`).
 */
const RETRYABLE_ENTRY_CODES: ReadonlySet<string> = new Set([
  'overloaded',
  'engine_closed',
  'no_writer',
]);

/**
 * A batch spreads over the free connections, but is never cut below this many submissions: a
 * request costs the server more than a submission does.
 */
const MIN_SPLIT = 16;

/** A submission waiting for its batch, or in one. */
interface Waiting {
  /** The submission as `POST /v1/submit` takes it (JSON text), which is also a batch entry. */
  readonly text: string;
  readonly started: number;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: ServiceError) => void;
  /** Entry errors retried so far, and the pause before the next retry. */
  attempts: number;
  delay: number;
}

/**
 * Coalesces concurrent submissions into `POST /v1/batch` requests (issue 22), as TigerBeetle's
 * clients do: callers submit one command at a time; the submissions that arrive while the
 * endpoint's connections are all busy wait, and each connection that comes free carries what
 * accumulated (spread over the free connections, at least `MIN_SPLIT` each, at most
 * `maxEntries` or `maxBodyBytes` per request) as one request, so that a busy client sends few,
 * large requests and an idle one sends each submission at once. Every submission keeps its
 * operation id in its text, so a retry sends the very same command:
 * - a batch request whose fate is unknown is retried whole by the endpoint (on the next node of
 *   a cluster), until the deadline;
 * - each entry's answer goes to its own caller: its result, or its definite error (to that
 *   caller alone; the batch's other entries are unaffected); an entry that `POST /v1/submit`
 *   would have retried (503: overloaded, closing, no writer, or a fate unknown) is sent again in
 *   a later batch after a pause, until its own deadline, then `unavailable`.
 */
export class SubmitCoalescer {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly options: CoalesceOptions;

  constructor(
    private readonly endpoint: ServiceEndpoint,
    options: Partial<CoalesceOptions> = {},
  ) {
    this.options = { ...DEFAULT_COALESCE_OPTIONS, ...options };
    const { maxEntries, maxBodyBytes } = this.options;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError(`coalesce.maxEntries must be a positive integer, got ${maxEntries}`);
    }
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) {
      throw new TypeError(`coalesce.maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
    }
  }

  /**
   * Submits one command (`text`: its JSON as `POST /v1/submit` takes it) in the next batch; resolves
   * with its entry of the batch answer (a JSON value) or rejects with its `ServiceError`.
   */
  submit(text: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        text,
        started: Date.now(),
        resolve,
        reject,
        attempts: 0,
        delay: this.endpoint.retry.minDelayMs,
      });
      this.schedule();
    });
  }

  /**
   * Sends what waits at the next turn of the event loop, so that every submission made by the
   * callbacks of one turn (the callers an answer just woke up) joins one batch.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const connections = this.endpoint.connections;
    while (this.queue.length > 0 && this.inFlight < connections) {
      const free = connections - this.inFlight;
      const share = Math.max(MIN_SPLIT, Math.ceil(this.queue.length / free));
      const batch = this.take(share);
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.schedule();
      });
    }
  }

  /** Takes up to `count` waiting submissions within the body limit (always at least one). */
  private take(count: number): Waiting[] {
    const limit = Math.min(count, this.options.maxEntries);
    let bytes = 16;
    let n = 0;
    while (n < this.queue.length && n < limit) {
      bytes += this.queue[n]!.text.length + 1;
      if (n > 0 && bytes > this.options.maxBodyBytes) break;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async send(batch: Waiting[]): Promise<void> {
    let answer: unknown;
    try {
      let body = '{"requests":[';
      for (let i = 0; i < batch.length; i++)
        body += i === 0 ? batch[i]!.text : `,${batch[i]!.text}`;
      answer = await this.endpoint.call('POST', '/v1/batch', `${body}]}`);
    } catch (error) {
      if (error instanceof ServiceError && error.status === 413 && batch.length > 1) {
        // Over the server's body limit: the halves go again, each as its own request.
        const half = Math.ceil(batch.length / 2);
        await Promise.all([this.send(batch.slice(0, half)), this.send(batch.slice(half))]);
        return;
      }
      for (const waiting of batch) waiting.reject(error as ServiceError);
      return;
    }
    const results = isJsonObject(answer) ? answer.results : undefined;
    if (!Array.isArray(results) || results.length !== batch.length) {
      const error = new ServiceError(
        'bad_response',
        `POST /v1/batch: the server answered ${Array.isArray(results) ? `${results.length} results for ${batch.length} submissions` : 'without a results list'}; the commands may have been executed: retry with the same operation ids`,
        { definite: false, attempts: 1 },
      );
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const waiting = batch[i]!;
      const result: unknown = results[i];
      if (!isJsonObject(result) || !isJsonObject(result.error)) {
        waiting.resolve(result);
        continue;
      }
      const error = result.error;
      const code = typeof error.code === 'string' ? error.code : 'bad_response';
      const definite = error.definite !== false;
      // A field the server named inside the batch (`requests[3].command.amount`) is, for the
      // caller who sent one command, the field of that command (`command.amount`).
      const prefix = `requests[${i}].`;
      const unprefix = (text: string) => text.replaceAll(prefix, '');
      const message = typeof error.message === 'string' ? unprefix(error.message) : code;
      const status = typeof error.status === 'number' ? error.status : undefined;
      waiting.attempts++;
      const retry =
        status === undefined
          ? !definite || RETRYABLE_ENTRY_CODES.has(code)
          : RETRYABLE_STATUSES.has(status);
      if (retry) {
        this.retryLater(waiting, `${status ?? ''} ${code} (${message})`.trim());
        continue;
      }
      waiting.reject(
        new ServiceError(code, message, {
          status,
          definite,
          field: typeof error.field === 'string' ? unprefix(error.field) : undefined,
          attempts: waiting.attempts,
        }),
      );
    }
  }

  /** Queues an entry again after its pause, or gives up on it at its deadline. */
  private retryLater(waiting: Waiting, failure: string): void {
    const { deadlineMs, maxDelayMs } = this.endpoint.retry;
    const pause = waiting.delay * (0.5 + Math.random() / 2);
    const elapsed = Date.now() - waiting.started;
    if (elapsed + pause >= deadlineMs) {
      waiting.reject(
        new ServiceError(
          'unavailable',
          `POST /v1/batch: no answer for this command after ${waiting.attempts} attempts in ${elapsed} ms (last: ${failure}); the command may have been executed: retry it with the same operation id`,
          { definite: false, attempts: waiting.attempts },
        ),
      );
      return;
    }
    waiting.delay = Math.min(maxDelayMs, waiting.delay * 2);
    setTimeout(() => {
      this.queue.push(waiting);
      this.schedule();
    }, pause);
  }
}
