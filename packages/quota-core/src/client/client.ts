/**
 * `QuotaClient`: the typed client of `quota serve` (docs/serve.md), over a few keep-alive
 * connections (the runtime's `http-pool.ts`). It draws an operation id for every command, and
 * when a call's fate is unknown (the connection was reset, no answer in time, 503 while the server
 * restarts) sends the same command with the same id again, so that it executes once; definite
 * errors are thrown at once as `ServiceError` with the server's code. Concurrent `submit` calls
 * are coalesced into `POST /v1/batch` requests (the runtime's `SubmitCoalescer`). Answers come
 * back with the engine's own types (bigints, outcome unions).
 */
import type { SubmitResult } from '../engine/jobs.js';
import {
  type CoalesceOptions,
  type RetryPolicy,
  ServiceEndpoint,
  type ServiceEndpointOptions,
  ServiceError,
  SubmitCoalescer,
} from '../runtime/http-client.js';
import {
  decimalAt,
  fromHex,
  isJsonObject,
  objectAt,
  toJsonText,
  WireError,
} from '../runtime/http-json.js';
import { newOperationId } from '../runtime/operation-id.js';
import type {
  BucketRecord,
  Command,
  CommandKind,
  CommandOf,
  OperationRecord,
  Outcome,
  OutcomeOf,
} from '../types.js';

export interface QuotaClientOptions extends ServiceEndpointOptions {
  /** The client id sent with every command (default 1). It plays no part in deduplication. */
  readonly clientId?: bigint;
  /**
   * Whether concurrent `submit` calls are coalesced into `POST /v1/batch` requests (default:
   * yes, with `maxEntries` 256 and `maxBodyBytes` 256 KiB per request); `false` sends each one
   * as its own `POST /v1/submit`.
   */
  readonly coalesce?: boolean | Partial<CoalesceOptions>;
}

export interface ClientSubmitOptions {
  /** The operation id to use (default: a fresh one). Pass the same id to retry a command. */
  readonly operationId?: bigint;
  readonly requestSlot?: bigint;
  readonly strictSlot?: boolean;
}

/** One command of a batch, with its options. */
export interface BatchEntry extends ClientSubmitOptions {
  readonly command: Command;
}

/** An answer, with the operation id it was submitted under. */
export type ClientSubmitResult<O extends Outcome = Outcome> = SubmitResult<O> & {
  readonly operationId: bigint;
};

export interface ReadOptions {
  /** Fail with `fence_not_applied` (409) unless the server has applied this LSN. */
  readonly minLsn?: bigint;
}

export interface SlotReadOptions extends ReadOptions {
  readonly currentSlot?: bigint;
}

export interface BalanceReadOptions extends ReadOptions {
  /** The slot to refill to (default: the server's current slot). */
  readonly slot?: bigint;
}

export interface Health {
  readonly status: 'ok';
  readonly engine: 'quota-core';
  readonly appliedLsn: bigint;
}

/** A body the server sent that is not the answer it should be. */
function badResponse(path: string, error: unknown): ServiceError {
  return new ServiceError(
    'bad_response',
    `the server's answer to ${path} is not what this client expects (${(error as Error).message}); is the server another version?`,
    { definite: false, attempts: 1, cause: error },
  );
}

function decodeBigints<T>(value: unknown, field: string, names: readonly string[]): T {
  const object = { ...objectAt(value, field) };
  for (const name of names) {
    if (object[name] !== undefined) object[name] = decimalAt(object[name], `${field}.${name}`);
  }
  return object as T;
}

const OUTCOME_FIELDS = ['bucketId'];
const BUCKET_FIELDS = ['bucketId', 'limit', 'balance', 'lastRefillSlot', 'refillRatePerSlot'];

function decodeOutcome(value: unknown, field: string): Outcome {
  return Object.freeze(decodeBigints<Outcome>(value, field, OUTCOME_FIELDS));
}

export function decodeResult(
  value: unknown,
  operationId: bigint,
  field: string,
): ClientSubmitResult {
  const object = objectAt(value, field);
  return {
    operationId,
    lsn: decimalAt(object.lsn, `${field}.lsn`),
    requestSlot: decimalAt(object.requestSlot, `${field}.requestSlot`),
    outcome: decodeOutcome(object.outcome, `${field}.outcome`),
    fromRetryCache: object.fromRetryCache === true,
  };
}

function errorOf(entry: Record<string, unknown>): ServiceError {
  const error = objectAt(entry.error, 'error');
  return new ServiceError(String(error.code), String(error.message), {
    definite: error.definite !== false,
    field: typeof error.field === 'string' ? error.field : undefined,
    attempts: 1,
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class QuotaClient {
  readonly clientId: bigint;
  private readonly endpoint: ServiceEndpoint;
  private readonly coalescer: SubmitCoalescer | undefined;
  private lastAppliedLsn = 0n;

  constructor(options: QuotaClientOptions) {
    this.endpoint = new ServiceEndpoint(options);
    this.clientId = options.clientId ?? 1n;
    const coalesce = options.coalesce ?? true;
    this.coalescer =
      coalesce === false
        ? undefined
        : new SubmitCoalescer(this.endpoint, coalesce === true ? {} : coalesce);
  }

  /** Closes the idle keep-alive connections (they never keep the process alive anyway). */
  close(): void {
    this.endpoint.close();
  }

  get url(): string {
    return this.endpoint.url;
  }

  get retry(): RetryPolicy {
    return this.endpoint.retry;
  }

  /** The applied LSN the server reported with the latest read or health answer (0 before one). */
  get appliedLsn(): bigint {
    return this.lastAppliedLsn;
  }

  private body(command: Command, options: ClientSubmitOptions | undefined, operationId: bigint) {
    return {
      operationId,
      clientId: this.clientId,
      command,
      ...(options?.requestSlot === undefined ? {} : { requestSlot: options.requestSlot }),
      ...(options?.strictSlot === undefined ? {} : { strictSlot: options.strictSlot }),
    };
  }

  /**
   * Submits one command; resolves once it is durable and applied, with its outcome (a domain
   * answer such as `insufficient_funds` is an outcome). Concurrent calls travel together in batch
   * requests; each keeps its own answer or error. Throws `ServiceError`: definite ones at once
   * (`invalid_request`, …), `unavailable` when no answer came before the retry deadline.
   */
  async submit<K extends CommandKind>(
    command: CommandOf<K> & { readonly kind: K },
    options?: ClientSubmitOptions,
  ): Promise<ClientSubmitResult<OutcomeOf<K>>> {
    const operationId = options?.operationId ?? newOperationId();
    const text = toJsonText(this.body(command, options, operationId));
    const answer =
      this.coalescer === undefined
        ? await this.endpoint.call('POST', '/v1/submit', text)
        : await this.coalescer.submit(text);
    try {
      return decodeResult(answer, operationId, 'body') as ClientSubmitResult<OutcomeOf<K>>;
    } catch (error) {
      throw badResponse('/v1/submit', error);
    }
  }

  /**
   * Submits commands as one request (one group commit on the server). Each entry's answer is its
   * result or its definite `ServiceError`; entries whose fate is unknown (the engine halted) are
   * sent again with their operation ids until the retry deadline, then answered `unavailable`.
   */
  async submitBatch(
    entries: readonly BatchEntry[],
  ): Promise<(ClientSubmitResult | ServiceError)[]> {
    const started = Date.now();
    const ids = entries.map((entry) => entry.operationId ?? newOperationId());
    const results: (ClientSubmitResult | ServiceError | undefined)[] = new Array(entries.length);
    let open = entries.map((_, index) => index);
    let delay = this.endpoint.retry.minDelayMs;
    for (;;) {
      const body = toJsonText({
        requests: open.map((index) =>
          this.body(entries[index]!.command, entries[index], ids[index]!),
        ),
      });
      const answer = await this.endpoint.call('POST', '/v1/batch', body);
      const unknown: number[] = [];
      try {
        const list = objectAt(answer, 'body').results;
        if (!Array.isArray(list) || list.length !== open.length) {
          throw new WireError('invalid_request', `must list ${open.length} results`, 'results');
        }
        list.forEach((entry, position) => {
          const index = open[position]!;
          const field = `results[${position}]`;
          if (isJsonObject(entry) && entry.error !== undefined) {
            const error = errorOf(entry);
            results[index] = error;
            if (!error.definite) unknown.push(index);
          } else {
            results[index] = decodeResult(entry, ids[index]!, field);
          }
        });
      } catch (error) {
        throw badResponse('/v1/batch', error);
      }
      if (unknown.length === 0 || Date.now() - started > this.endpoint.retry.deadlineMs) break;
      open = unknown;
      await sleep(delay);
      delay = Math.min(this.endpoint.retry.maxDelayMs, delay * 2);
    }
    return results as (ClientSubmitResult | ServiceError)[];
  }

  private async read(
    path: string,
    query: Record<string, bigint | undefined>,
  ): Promise<Record<string, unknown>> {
    const parameters = Object.entries(query)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${name}=${value}`);
    const full = parameters.length === 0 ? path : `${path}?${parameters.join('&')}`;
    const answer = await this.endpoint.call('GET', full);
    try {
      const object = objectAt(answer, 'body');
      const applied = decimalAt(object.appliedLsn, 'appliedLsn');
      this.lastAppliedLsn = applied;
      return object;
    } catch (error) {
      throw badResponse(path, error);
    }
  }

  private async bucket(path: string, query: Record<string, bigint | undefined>) {
    const body = await this.read(path, query);
    try {
      return body.bucket === null
        ? undefined
        : decodeBigints<BucketRecord>(body.bucket, 'bucket', BUCKET_FIELDS);
    } catch (error) {
      throw badResponse(path, error);
    }
  }

  /** The bucket as stored (balance as of its last refill), or undefined when there is none. */
  getBucket(bucketId: bigint, options?: ReadOptions): Promise<BucketRecord | undefined> {
    return this.bucket(`/v1/buckets/${bucketId}`, { minLsn: options?.minLsn });
  }

  /**
   * The bucket refilled to `options.slot` (default: the server's current slot), without changing
   * anything: the balance a debit submitted now would see.
   */
  getBucketAt(bucketId: bigint, options?: BalanceReadOptions): Promise<BucketRecord | undefined> {
    return this.bucket(`/v1/buckets/${bucketId}/balance`, {
      minLsn: options?.minLsn,
      slot: options?.slot,
    });
  }

  /** The stored answer of an operation id, or undefined when none is remembered. */
  async getOperation(
    operationId: bigint,
    options?: SlotReadOptions,
  ): Promise<OperationRecord | undefined> {
    const path = `/v1/operations/${operationId}`;
    const body = await this.read(path, {
      minLsn: options?.minLsn,
      currentSlot: options?.currentSlot,
    });
    try {
      if (body.operation === null) return undefined;
      const record = decodeBigints<Record<string, unknown>>(body.operation, 'operation', [
        'operationId',
        'appliedLsn',
        'retireAfterSlot',
      ]);
      return {
        ...record,
        command: fromHex(record.command, 'operation.command'),
        outcome: decodeOutcome(record.outcome, 'operation.outcome'),
      } as OperationRecord;
    } catch (error) {
      throw badResponse(path, error);
    }
  }

  /** `GET /v1/health`: the server is up and its engine serving. */
  async health(): Promise<Health> {
    await this.read('/v1/health', {});
    return { status: 'ok', engine: 'quota-core', appliedLsn: this.lastAppliedLsn };
  }

  /** `GET /v1/metrics`: the engine's and the server's figures, as JSON (bigints as strings). */
  async metrics(): Promise<Record<string, unknown>> {
    return this.read('/v1/metrics', {});
  }
}
