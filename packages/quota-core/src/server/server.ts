/**
 * The quota engine as an HTTP/1.1 service (docs/serve.md): the routes, and the mapping between
 * JSON (u64 and u128 values as decimal strings) and the engine's requests, answers and errors.
 * It drives the engine through its public API only (the package's root export), so every
 * guarantee of the embedded engine holds over the wire: a command is acknowledged once durable,
 * and a repeated operation id is answered from the retry cache. The connection handling (limits,
 * timeouts, the token, the drain) is the copied runtime's `http-server.ts`.
 */

import { QuotaCluster } from '../cluster/cluster.js';
import {
  type ClientRequest,
  EngineClosedError,
  EngineHaltedError,
  FenceNotAppliedError,
  InvalidRequestError,
  type QuotaEngine,
  SubmissionError,
  type SubmissionErrorCode,
  type SubmitOptions,
  type SubmitResult,
} from '../index.js';
import {
  decimalAt,
  fieldPath,
  isJsonObject,
  objectAt,
  parseJsonText,
  toJsonText,
  WIRE_U64_MAX,
  WIRE_U128_MAX,
  WireError,
  withDecimals,
} from '../runtime/http-json.js';
import {
  DEFAULT_HTTP_LIMITS,
  errorReply,
  type HttpLimits,
  type HttpReply,
  type HttpRequest,
  HttpService,
  type HttpServiceMetrics,
} from '../runtime/http-server.js';

/** The request fields that hold u64/u128 values. */
const REQUEST_DECIMALS = ['operationId', 'clientId'] as const;
/** Every command field that holds u64/u128 values (a kind without one ignores it). */
const COMMAND_DECIMALS = [
  'bucketId',
  'limit',
  'initialBalance',
  'refillRatePerSlot',
  'amount',
] as const;

/** The HTTP status of each submission failure (docs/serve.md). */
const SUBMISSION_STATUS: Record<SubmissionErrorCode, number> = {
  invalid_request: 400,
  command_too_large: 400,
  slot_overflow: 400,
  slot_behind: 400,
  slot_ahead: 400,
  overloaded: 503,
  async_in_flight: 500,
  lsn_exhausted: 507,
  log_full: 507,
  engine_closed: 503,
  storage_failure: 503,
  engine_halted: 503,
  no_writer: 503,
  forward_failed: 503,
};

export interface QuotaServerOptions {
  /** The engine, or a cluster node (docs/cluster.md), whose reads may wait for `minLsn`. */
  readonly engine: QuotaEngine | QuotaCluster;
  /** How long a read on a cluster node waits for its `minLsn` to be applied (default 2,000 ms). */
  readonly readWaitMs?: number;
  readonly host?: string;
  /** 0 (the default here) picks a free port. */
  readonly port?: number;
  /** The bearer token every request must carry; undefined for none. */
  readonly token?: string;
  readonly limits?: Partial<HttpLimits>;
  /** Requests in one `POST /v1/batch` (default 1,024). */
  readonly maxBatchRequests?: number;
  /**
   * Called once when a submission finds the engine halted (a failed write or fsync): the engine
   * answers nothing more until it is reopened, so the process should stop and be restarted.
   */
  readonly onHalt?: (error: SubmissionError) => void;
  /** Called with a bug: an exception a route threw (answered `500 internal`). */
  readonly onInternalError?: (error: unknown) => void;
}

export interface QuotaServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  metrics(): HttpServiceMetrics;
  /** Stops accepting, answers what is running, closes the connections. The engine stays open. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BATCH_REQUESTS = 1_024;

function errorBody(code: string, message: string, definite: boolean, field?: string) {
  return field === undefined ? { code, message, definite } : { code, message, definite, field };
}

/** An outcome as JSON, its bucket id (on `ok`) as a string. */
function outcomeJson(outcome: SubmitResult['outcome']): string {
  return outcome.bucketId === undefined
    ? `{"resultCode":"${outcome.resultCode}"}`
    : `{"resultCode":"${outcome.resultCode}","bucketId":"${outcome.bucketId}"}`;
}

/**
 * A submission's answer as JSON, written directly (the hot path: `toJsonText`'s replacer costs
 * more than the rest of the answer); the same text `toJsonText(result)` gives.
 */
export function resultJson(result: SubmitResult): string {
  return `{"lsn":"${result.lsn}","requestSlot":"${result.requestSlot}","outcome":${outcomeJson(result.outcome)},"fromRetryCache":${result.fromRetryCache}}`;
}

/** A submission's body (or one batch entry): the request and its submit options. */
export function decodeSubmission(
  value: unknown,
  prefix: string,
): { request: ClientRequest; options: SubmitOptions | undefined } {
  const object = objectAt(value, prefix === '' ? 'body' : prefix);
  const { requestSlot, strictSlot, ...fields } = object;
  if (fields.operationId === undefined) {
    throw new WireError(
      'invalid_request',
      'is required: the client draws a fresh u128 operation id per command and repeats it on every retry, so that the command runs once',
      fieldPath(prefix, 'operationId'),
    );
  }
  const request = withDecimals(fields, REQUEST_DECIMALS, prefix);
  if (isJsonObject(fields.command)) {
    request.command = withDecimals(fields.command, COMMAND_DECIMALS, fieldPath(prefix, 'command'));
  }
  let options: SubmitOptions | undefined;
  if (requestSlot !== undefined || strictSlot !== undefined) {
    if (strictSlot !== undefined && typeof strictSlot !== 'boolean') {
      throw new WireError(
        'invalid_request',
        'must be true or false',
        fieldPath(prefix, 'strictSlot'),
      );
    }
    options = {
      ...(requestSlot === undefined
        ? {}
        : { requestSlot: decimalAt(requestSlot, fieldPath(prefix, 'requestSlot'), WIRE_U64_MAX) }),
      ...(strictSlot === undefined ? {} : { strictSlot }),
    };
  }
  return { request: request as unknown as ClientRequest, options };
}

/** Decimal query parameters of a read, each a u64; anything else in the query is refused. */
function readQuery(query: URLSearchParams, allowed: readonly string[]): Record<string, bigint> {
  const values: Record<string, bigint> = {};
  for (const [name, value] of query) {
    if (!allowed.includes(name)) {
      throw new WireError(
        'invalid_request',
        `is not a parameter of this read (${allowed.length === 0 ? 'it takes none' : `it takes ${allowed.join(', ')}`})`,
        `query.${name}`,
      );
    }
    values[name] = decimalAt(value, `query.${name}`, WIRE_U64_MAX);
  }
  return values;
}

/** The reads, as `collection` or `collection/sub` of `/v1/<collection>/<id>[/<sub>]`. */
const READ_ROUTES: ReadonlySet<string> = new Set(['buckets', 'buckets/balance', 'operations']);

/** Whether `route` (the path after `/v1/`) is a read: any other path is 404 whatever the method. */
function isReadRoute(route: readonly string[]): boolean {
  if (route.length === 2) return READ_ROUTES.has(route[0]!);
  return route.length === 3 && READ_ROUTES.has(`${route[0]}/${route[2]}`);
}

const notFound = (request: HttpRequest): HttpReply =>
  errorReply(404, {
    code: 'not_found',
    message: `no route ${request.method} ${request.path}; the routes are listed in docs/serve.md`,
    definite: true,
  });

const methodNotAllowed = (request: HttpRequest, allowed: string): HttpReply =>
  errorReply(405, {
    code: 'method_not_allowed',
    message: `${request.path} takes ${allowed}, not ${request.method}`,
    definite: true,
  });

const ok = (value: unknown): HttpReply => ({ status: 200, body: toJsonText(value) });

interface ErrorAnswer {
  readonly status: number;
  readonly body: ReturnType<typeof errorBody>;
  readonly retryAfter?: number;
}

/**
 * The error answer of a failed submission, read or body: its status and body (others are bugs:
 * rethrown). One server and a cluster's writer answering a forwarded batch map alike.
 */
function errorAnswer(error: unknown): ErrorAnswer {
  if (error instanceof WireError) {
    return { status: 400, body: errorBody(error.code, error.message, true, error.field) };
  }
  if (error instanceof SubmissionError) {
    const status = SUBMISSION_STATUS[error.code];
    const field = error.cause instanceof InvalidRequestError ? error.cause.field : undefined;
    return {
      status,
      body: errorBody(error.code, error.message, error.definite, field),
      retryAfter: status === 503 ? 1 : undefined,
    };
  }
  if (error instanceof FenceNotAppliedError) {
    return { status: 409, body: errorBody(error.code, error.message, true) };
  }
  if (error instanceof EngineClosedError || error instanceof EngineHaltedError) {
    return { status: 503, body: errorBody(error.code, error.message, true), retryAfter: 1 };
  }
  throw error;
}

/** Whether two submissions' options are the same (one `submitBatch` call takes one set). */
function sameOptions(a: SubmitOptions | undefined, b: SubmitOptions | undefined): boolean {
  return a?.requestSlot === b?.requestSlot && a?.strictSlot === b?.strictSlot;
}

/**
 * Submits a batch's entries (the `requests` of `POST /v1/batch`, already checked to be an array
 * within the limit) and answers the batch's body: each entry's result, or its error with its
 * HTTP status. Consecutive entries that decode and carry the same options (most batches are one
 * such run) go to the engine's `submitBatch`, at most `maxBatch` at a time: one promise and one
 * validation pass per run rather than one per command (issue 22). Every run is queued in this
 * synchronous pass, so the whole batch joins one group commit when it has room. An entry that
 * does not decode answers its own error and splits the run. `entryError` maps an entry's error
 * (the server's own latches a halted engine).
 */
export async function runBatchEntries(
  engine: {
    submitBatch(
      requests: readonly ClientRequest[],
      options?: SubmitOptions,
    ): Promise<(SubmitResult | SubmissionError)[]>;
    readonly maxBatch: number;
  },
  entries: readonly unknown[],
  entryError: (error: unknown) => string = (error) => {
    const { status, body } = errorAnswer(error);
    return JSON.stringify({ error: { ...body, status } });
  },
): Promise<string> {
  const parts: (string | Promise<string[]>)[] = [];
  let run: ClientRequest[] = [];
  let runOptions: SubmitOptions | undefined;
  const flush = (): void => {
    if (run.length === 0) return;
    const count = run.length;
    parts.push(
      engine.submitBatch(run, runOptions).then(
        (results) =>
          results.map((result) =>
            result instanceof SubmissionError ? entryError(result) : resultJson(result),
          ),
        // The fate of every entry of the run is unknown (or the run was refused whole).
        (error: unknown) => Array.from({ length: count }, () => entryError(error)),
      ),
    );
    run = [];
  };
  for (let index = 0; index < entries.length; index++) {
    let decoded: ReturnType<typeof decodeSubmission>;
    try {
      decoded = decodeSubmission(entries[index], `requests[${index}]`);
    } catch (error) {
      flush();
      parts.push(entryError(error));
      continue;
    }
    if (
      run.length === engine.maxBatch ||
      (run.length > 0 && !sameOptions(runOptions, decoded.options))
    ) {
      flush();
    }
    if (run.length === 0) runOptions = decoded.options;
    run.push(decoded.request);
  }
  flush();
  const texts = (await Promise.all(parts)).flat();
  return `{"results":[${texts.join(',')}]}`;
}

/** Starts serving `engine` over HTTP. The caller owns the engine (and closes it after `close`). */
export async function startQuotaServer(options: QuotaServerOptions): Promise<QuotaServer> {
  const { engine } = options;
  const cluster = engine instanceof QuotaCluster ? engine : undefined;
  const readWaitMs = options.readWaitMs ?? 2_000;
  const maxBatch = options.maxBatchRequests ?? DEFAULT_MAX_BATCH_REQUESTS;
  // A single engine that halted answers nothing more until it is reopened; a cluster node
  // reopens by itself (it steps down), so its failures are per request.
  let halted = false;

  /** The error answer of a failed submission, read or body (others are bugs: rethrown). */
  function failure(error: unknown): ErrorAnswer {
    if (error instanceof SubmissionError && !error.definite && !halted && cluster === undefined) {
      halted = true;
      options.onHalt?.(error);
    }
    return errorAnswer(error);
  }

  function failed(error: unknown): HttpReply {
    const { status, body, retryAfter } = failure(error);
    return errorReply(status, body, retryAfter);
  }

  async function submit(body: string): Promise<HttpReply> {
    try {
      const { request, options: submitOptions } = decodeSubmission(parseJsonText(body), '');
      return { status: 200, body: resultJson(await engine.submit(request, submitOptions)) };
    } catch (error) {
      return failed(error);
    }
  }

  /**
   * A batch entry's error: the error body `POST /v1/submit` would answer, with the HTTP status it
   * would answer it with, so that a client treats both alike (a 503 entry is retried).
   */
  function entryError(error: unknown): string {
    const { status, body } = failure(error);
    return JSON.stringify({ error: { ...body, status } });
  }

  async function batch(body: string): Promise<HttpReply> {
    let entries: unknown[];
    try {
      const object = objectAt(parseJsonText(body), 'body');
      if (!Array.isArray(object.requests)) {
        throw new WireError('invalid_request', 'must be an array of submissions', 'requests');
      }
      for (const key of Object.keys(object)) {
        if (key !== 'requests') {
          throw new WireError(
            'invalid_request',
            'is not a field of a batch (it has only requests)',
            key,
          );
        }
      }
      entries = object.requests;
      if (entries.length > maxBatch) {
        throw new WireError(
          'invalid_request',
          `holds ${entries.length} submissions, over this server's limit of ${maxBatch}; split the batch`,
          'requests',
        );
      }
    } catch (error) {
      return failed(error);
    }
    // A follower hands the whole batch to the writer (one forwarded request, not one per entry).
    if (cluster !== undefined && !cluster.isWriter) {
      try {
        return { status: 200, body: JSON.stringify(await cluster.forwardBatch(entries)) };
      } catch (error) {
        return failed(error);
      }
    }
    return { status: 200, body: await runBatchEntries(engine, entries, entryError) };
  }

  /** On a cluster node, a strict read first waits (bounded) for its `minLsn` to be applied. */
  async function read(request: HttpRequest, parts: readonly string[]): Promise<HttpReply> {
    if (cluster !== undefined) {
      const minLsn = request.query.get('minLsn');
      if (minLsn !== null && /^\d{1,20}$/.test(minLsn)) {
        await cluster.waitForLsn(BigInt(minLsn), readWaitMs);
      }
    }
    try {
      const [collection, id, sub] = parts;
      if (collection === 'buckets' && sub === undefined) {
        const { minLsn } = readQuery(request.query, ['minLsn']);
        const bucket = engine.getBucket(decimalAt(id, 'path.bucketId', WIRE_U128_MAX), { minLsn });
        return ok({ appliedLsn: engine.lastAppliedLsn, bucket: bucket ?? null });
      }
      if (collection === 'buckets' && sub === 'balance') {
        const { minLsn, slot } = readQuery(request.query, ['minLsn', 'slot']);
        const bucket = engine.getBucketAt(decimalAt(id, 'path.bucketId', WIRE_U128_MAX), {
          minLsn,
          slot,
        });
        return ok({ appliedLsn: engine.lastAppliedLsn, bucket: bucket ?? null });
      }
      if (collection === 'operations' && sub === undefined) {
        const { minLsn, currentSlot } = readQuery(request.query, ['minLsn', 'currentSlot']);
        const operation = engine.getOperation(decimalAt(id, 'path.operationId', WIRE_U128_MAX), {
          minLsn,
          currentSlot,
        });
        return ok({ appliedLsn: engine.lastAppliedLsn, operation: operation ?? null });
      }
      return notFound(request);
    } catch (error) {
      return failed(error);
    }
  }

  let service: HttpService | undefined;

  function handle(request: HttpRequest): HttpReply | Promise<HttpReply> {
    const parts = request.path.split('/');
    if (parts[0] !== '' || parts[1] !== 'v1' || parts.length < 3) return notFound(request);
    const route = parts.slice(2);
    const [first] = route;
    if (route.length === 1 && (first === 'submit' || first === 'batch')) {
      if (request.method !== 'POST') return methodNotAllowed(request, 'POST');
      return first === 'submit' ? submit(request.body) : batch(request.body);
    }
    if (route.length === 1 && first === 'cluster') {
      if (request.method !== 'GET') return methodNotAllowed(request, 'GET');
      if (cluster === undefined) {
        return errorReply(404, {
          code: 'not_found',
          message: 'this server is not a cluster node (start it with --cluster; docs/cluster.md)',
          definite: true,
        });
      }
      return cluster.clusterStatus().then(ok, failed);
    }
    if (route.length === 1 && (first === 'health' || first === 'metrics')) {
      if (request.method !== 'GET') return methodNotAllowed(request, 'GET');
      if (request.query.size > 0) {
        return failed(new WireError('invalid_request', 'this route takes no parameters', 'query'));
      }
      if (first === 'health') {
        const failure = cluster?.failure;
        if (failure !== undefined) {
          return errorReply(503, errorBody('cluster_node_failed', failure.message, true), 1);
        }
        const health = engine.health();
        // A cluster node whose engine halted is stepping down and reopening it: not stopped.
        const stopped = cluster === undefined && (halted || health.status === 'halted');
        if (stopped || health.status === 'closed') {
          return errorReply(
            503,
            errorBody(
              stopped ? 'engine_halted' : 'engine_closed',
              stopped
                ? 'the engine halted after a failure; restart the server (recovery replays the log)'
                : 'the engine is closed; the server is stopping',
              true,
            ),
            1,
          );
        }
        // Degraded is still serving (200): each problem says what is wrong and what follows.
        const problems =
          health.status === 'ok'
            ? {}
            : {
                problems: health.problems,
                checkpointFailures: health.checkpointFailures,
                lastCheckpointError: health.lastCheckpointError,
                logFull: health.logFull,
              };
        if (cluster !== undefined) {
          const status = cluster.status();
          return ok({
            status: health.status,
            engine: 'quota-core',
            appliedLsn: engine.lastAppliedLsn,
            ...problems,
            cluster: {
              node: status.node,
              role: status.role,
              writer: status.writer ?? null,
              term: status.term,
              appliedSeq: status.appliedSeq,
              lagMessages: status.lagMessages,
            },
          });
        }
        return ok({
          status: health.status,
          engine: 'quota-core',
          appliedLsn: engine.lastAppliedLsn,
          ...problems,
        });
      }
      try {
        return ok({
          appliedLsn: engine.lastAppliedLsn,
          engine: engine.metrics(),
          server: service?.metrics(),
        });
      } catch (error) {
        return failed(error);
      }
    }
    if (isReadRoute(route)) {
      if (request.method !== 'GET') return methodNotAllowed(request, 'GET');
      return read(request, route);
    }
    return notFound(request);
  }

  service = await HttpService.listen({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    token: options.token,
    limits: { ...DEFAULT_HTTP_LIMITS, ...options.limits },
    handle,
    onHandlerError: options.onInternalError,
  });
  const listening = service;
  return {
    url: listening.url,
    host: listening.host,
    port: listening.port,
    metrics: () => listening.metrics(),
    close: () => listening.close(),
  };
}
