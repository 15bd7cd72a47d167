/**
 * allocdb-core: the lease allocator's state machine, its command codec and snapshot body,
 * and the durable engine around them.
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
// The durable engine.
export {
  AllocDbEngine,
  type AllocDbEngineMetrics,
  type AllocDbEngineOpenOptions,
  type CheckpointResult,
  type ReadOptions,
  type SlotReadOptions,
  type SubmitOptions,
  type SubmitResult,
  type TickOptions,
  type TickResult,
} from './engine/engine.js';
export {
  EngineHaltedError,
  EngineLockedError,
  FenceNotAppliedError,
  RecoveryError,
  type RecoveryErrorCode,
  SnapshotFileError,
  type SnapshotFileReason,
  SubmissionError,
  type SubmissionErrorCode,
  WalCorruptionError,
  WalIoError,
  WalUnavailableError,
} from './engine/errors.js';
export {
  type CheckpointPolicy,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_COMMAND_BYTES,
  DEFAULT_MAX_EXPIRATIONS_PER_TICK,
  DEFAULT_MAX_SNAPSHOT_BYTES,
  DEFAULT_MAX_SUBMISSION_QUEUE,
  DEFAULT_SLOT_DURATION_MS,
  type EngineOptions,
} from './engine/options.js';
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
export type { RecoveryStatus, StartupKind } from './runtime/recovery.js';
export { decodeSnapshotBody, encodeSnapshotBody } from './snapshot/body-codec.js';
export { AllocDb } from './state-machine/alloc-db.js';
export * from './types.js';
export {
  isClientSubmittable,
  validateApplyContext,
  validateClientRequest,
  validateCommand,
  validateSubmission,
} from './validate.js';
