/**
 * Errors of the durable engine. They live in the copied runtime; they are re-exported here so
 * that users import every engine error from one place.
 */
export {
  EngineHaltedError,
  SubmissionError,
  type SubmissionErrorCode,
} from '../runtime/commit-pipeline.js';
export { FenceNotAppliedError } from '../runtime/durable-engine.js';
export { EngineLockedError } from '../runtime/lock-file.js';
export { RecoveryError, type RecoveryErrorCode } from '../runtime/replay-guard.js';
export { SnapshotFileError, type SnapshotFileReason } from '../runtime/snapshot-file.js';
export { WalCorruptionError, WalIoError, WalUnavailableError } from '../runtime/wal-file.js';
