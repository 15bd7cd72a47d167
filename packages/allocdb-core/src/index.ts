/**
 * allocdb-core: the lease allocator's state machine, its command codec and snapshot body.
 * (The durable engine, WAL and snapshot files are exported here too once they exist.)
 */
export {
  CLIENT_REQUEST_COMMAND_OFFSET,
  decodeClientRequest,
  decodeCommand,
  decodeInternalCommand,
  encodeClientRequest,
  encodeCommand,
  encodeInternalCommand,
  INTERNAL_COMMAND_OFFSET,
} from './codec/command-codec.js';
export {
  type AllocDbConfig,
  type DerivedConfig,
  resolveConfig,
  validateConfig,
} from './config.js';
export {
  COMMAND_CODEC_VERSION,
  DEFAULT_CONFIG,
  MAX_TABLE_CAPACITY,
  SNAPSHOT_SCHEMA_VERSION,
  U64_MAX,
  U128_MAX,
} from './constants.js';
export {
  AllocDbError,
  ApplyOrderError,
  type ApplyOrderErrorCode,
  CodecError,
  type CodecErrorCode,
  ConfigError,
  type ConfigErrorCode,
  InvalidRequestError,
  type InvalidRequestErrorCode,
  InvariantViolation,
  SnapshotError,
  type SnapshotErrorCode,
} from './errors.js';
export { newOperationId } from './operation-id.js';
export { decodeSnapshotBody, encodeSnapshotBody } from './snapshot/body-codec.js';
export { AllocDb } from './state-machine/alloc-db.js';
export * from './types.js';
export {
  isClientSubmittable,
  validateApplyContext,
  validateClientRequest,
  validateCommand,
} from './validate.js';
