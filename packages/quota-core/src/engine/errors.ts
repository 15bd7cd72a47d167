/**
 * Errors of the durable engine. The runtime's typed errors are re-exported here so that users
 * import every engine error from one place.
 */
export {
  EngineHaltedError,
  SubmissionError,
  type SubmissionErrorCode,
} from '../runtime/commit-pipeline.js';
export { EngineLockedError } from '../runtime/lock-file.js';
export { RecoveryError, type RecoveryErrorCode } from '../runtime/replay-guard.js';
export { SnapshotFileError, type SnapshotFileReason } from '../runtime/snapshot-file.js';
export { WalCorruptionError, WalIoError, WalUnavailableError } from '../runtime/wal-file.js';

/** A strict read asked for an LSN that is not applied yet. */
export class FenceNotAppliedError extends Error {
  readonly code = 'fence_not_applied';
  readonly minLsn: bigint;
  readonly appliedLsn: bigint;
  constructor(minLsn: bigint, appliedLsn: bigint) {
    super(
      `lsn ${minLsn} is not applied yet (last applied: ${appliedLsn}); retry the read after it commits`,
    );
    this.name = 'FenceNotAppliedError';
    this.minLsn = minLsn;
    this.appliedLsn = appliedLsn;
  }
}
