/**
 * quota-core: durable token-bucket quotas. The root export is what a service uses: the engine,
 * its configuration, the request and outcome types, and one error hierarchy under
 * `QuotaDbError`. The pure state machine and the codecs are subpath exports
 * (`quota-core/state-machine`, `quota-core/codec`).
 */
export { type QuotaConfig, resolveConfig, validateConfig } from './config.js';
export {
  DEFAULT_CONFIG,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_COMMAND_BYTES,
  DEFAULT_MAX_SNAPSHOT_BYTES,
  DEFAULT_MAX_SUBMISSION_QUEUE,
  DEFAULT_SLOT_DURATION_MS,
  MAX_TABLE_CAPACITY,
  U64_MAX,
  U128_MAX,
} from './constants.js';
export {
  type BalanceReadOptions,
  type CheckpointEvent,
  type CheckpointPolicy,
  type CheckpointResult,
  type EngineHealth,
  QuotaEngine,
  type QuotaEngineMetrics,
  type QuotaEngineOpenOptions,
  type ReadOptions,
  type RecoveryStatus,
  type SlotReadOptions,
  type SubmitOptions,
  type SubmitResult,
} from './engine/engine.js';
export type { EngineOptions } from './engine/options.js';
export type { OpenProgress, StartupKind } from './engine/recovery.js';
export {
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
  QuotaDbError,
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
