/**
 * `allocdb-core/client`: the typed client of `allocdb serve` (docs/serve.md), with no engine
 * inside: it draws operation ids, coalesces concurrent submissions into batch requests over a few
 * keep-alive connections, retries a call whose fate is unknown with the same id (so a command
 * executes once), and throws definite errors as `ServiceError` with the server's code.
 */
export {
  AllocDbClient,
  type AllocDbClientOptions,
  type BatchEntry,
  type ClientSubmitOptions,
  type ClientSubmitResult,
  type Health,
  type ReadOptions,
  type SlotReadOptions,
} from '../client/client.js';
export type { SubmitResult } from '../engine/jobs.js';
export {
  type CoalesceOptions,
  DEFAULT_COALESCE_OPTIONS,
  DEFAULT_CONNECTIONS,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  ServiceError,
} from '../runtime/http-client.js';
export { newOperationId } from '../runtime/operation-id.js';
export type * from '../types.js';
