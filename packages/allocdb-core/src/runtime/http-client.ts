/**
 * The client side of the engine's HTTP service, without its routes: one call on Node's `fetch`
 * with a per-attempt timeout, and the retry loop. Every write the typed client sends carries an
 * operation id, so a call whose fate is unknown — the connection failed or was reset, no answer
 * came in time, the server answered 503 (overloaded, restarting, shutting down) or 408 — is sent
 * again, the same request with the same id, until it gets an answer or the deadline passes; the
 * engine answers a repeated id from its retry cache instead of executing it twice. Definite
 * answers (4xx) are thrown at once as `ServiceError` with the server's code.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { isJsonObject, parseJsonText } from './http-json.js';
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
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function describeFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError') return 'no answer in time';
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
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
  private readonly headers: Record<string, string>;
  /** The node calls go to, until an attempt on it fails. */
  private current = 0;

  constructor(options: ServiceEndpointOptions) {
    const given = typeof options.url === 'string' ? [options.url] : options.url;
    if (!Array.isArray(given) || given.length === 0) {
      throw new TypeError('url must be a URL, or a non-empty array of the nodes of one cluster');
    }
    this.urls = given.map(baseUrl);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.headers = { 'content-type': 'application/json' };
    if (options.token !== undefined) this.headers.authorization = `Bearer ${options.token}`;
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
    const { attemptTimeoutMs, deadlineMs, minDelayMs, maxDelayMs } = this.retry;
    let attempts = 0;
    let delay = minDelayMs;
    for (;;) {
      attempts++;
      const node = this.current;
      let retryAfterMs = 0;
      let failure: string;
      let lastStatus: number | undefined;
      let lastError: unknown;
      // The attempt's own timer, not AbortSignal.timeout(): that one is unref'd, and while fetch
      // waits with no socket of its own (a connection it is about to retry) nothing else keeps
      // the process alive, so a caller awaiting this call would see its process exit instead.
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new DOMException('no answer in time', 'TimeoutError')),
        attemptTimeoutMs,
      );
      try {
        const response = await fetch(`${this.urls[node]}${path}`, {
          method,
          headers: this.headers,
          body,
          signal: controller.signal,
        });
        const text = await response.text();
        clearTimeout(timer);
        if (response.ok) {
          try {
            return parseJsonText(text);
          } catch (error) {
            throw new ServiceError(
              'bad_response',
              `${method} ${path}: the server answered ${response.status} with a body that is not JSON; the command may have been executed: retry with the same operation id`,
              { status: response.status, definite: false, attempts, cause: error },
            );
          }
        }
        lastStatus = response.status;
        let error: Record<string, unknown> | undefined;
        try {
          const parsed = parseJsonText(text);
          if (isJsonObject(parsed) && isJsonObject(parsed.error)) error = parsed.error;
        } catch {
          // Not ours (a proxy's page): judged by the status alone.
        }
        // A lagging node of a cluster cannot answer a strict read yet: another one may.
        const lagging =
          response.status === 409 && error?.code === 'fence_not_applied' && this.urls.length > 1;
        if (!RETRYABLE_STATUSES.has(response.status) && !lagging) {
          const code = typeof error?.code === 'string' ? error.code : `http_${response.status}`;
          const message = typeof error?.message === 'string' ? error.message : text.slice(0, 200);
          throw new ServiceError(code, message, {
            status: response.status,
            definite: error?.definite !== false,
            field: typeof error?.field === 'string' ? error.field : undefined,
            attempts,
          });
        }
        const seconds = Number(response.headers.get('retry-after'));
        if (Number.isFinite(seconds) && seconds > 0) retryAfterMs = seconds * 1_000;
        failure = `${response.status} ${typeof error?.code === 'string' ? error.code : ''}`.trim();
      } catch (error) {
        clearTimeout(timer);
        if (error instanceof ServiceError) throw error;
        // fetch rejects with a TypeError for a network failure, and with a TimeoutError when
        // the attempt's time is up: either way the request may or may not have run.
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
