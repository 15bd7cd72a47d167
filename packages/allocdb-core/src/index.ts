/**
 * allocdb-core: the durable lease allocator. The root export is what a service uses: the engine,
 * its configuration, the request and outcome types, and one error hierarchy under
 * `AllocDbError`. The pure state machine and the codecs are subpath exports
 * (`allocdb-core/state-machine`, `allocdb-core/codec`).
 */
export { type AllocDbConfig, resolveConfig, validateConfig } from './config.js';
export {
  DEFAULT_CONFIG,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_COMMAND_BYTES,
  DEFAULT_MAX_EXPIRATIONS_PER_TICK,
  DEFAULT_MAX_SNAPSHOT_BYTES,
  DEFAULT_MAX_SUBMISSION_QUEUE,
  DEFAULT_SLOT_DURATION_MS,
  MAX_TABLE_CAPACITY,
  U64_MAX,
  U128_MAX,
} from './constants.js';
export {
  AllocDbEngine,
  type AllocDbEngineMetrics,
  type AllocDbEngineOpenOptions,
  type CheckpointEvent,
  type CheckpointPolicy,
  type CheckpointResult,
  type EngineHealth,
  type ReadOptions,
  type RecoveryStatus,
  type SlotReadOptions,
  type SubmitOptions,
  type SubmitResult,
  type TickOptions,
  type TickResult,
} from './engine/engine.js';
export type { EngineOptions } from './engine/options.js';
export type { OpenProgress, StartupKind } from './engine/recovery.js';
export {
  AllocDbError,
  ApplyOrderError,
  type ApplyOrderErrorCode,
  AssertionError,
  CodecError,
  type CodecErrorCode,
  type ConfigDifference,
  ConfigError,
  type ConfigErrorCode,
  ConfigFileError,
  type ConfigFileReason,
  ConfigMismatchError,
  DataDirectoryError,
  type DataDirectoryErrorCode,
  EngineClosedError,
  EngineHaltedError,
  EngineLockedError,
  FenceNotAppliedError,
  InvalidRequestError,
  type InvalidRequestErrorCode,
  InvariantViolation,
  RecoveryError,
  type RecoveryErrorCode,
  SnapshotError,
  type SnapshotErrorCode,
  SnapshotFileError,
  type SnapshotFileReason,
  SubmissionError,
  type SubmissionErrorCode,
  WalCorruptionError,
  WalEncodeError,
  WalIoError,
  WalUnavailableError,
} from './errors.js';
export { newOperationId } from './runtime/operation-id.js';
export * from './types.js';
