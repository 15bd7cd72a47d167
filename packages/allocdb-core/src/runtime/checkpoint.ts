/**
 * A checkpoint (engine.md): write the snapshot file (temp, fdatasync, rename, directory fsync),
 * then rewrite the WAL keeping only the frames after the previous snapshot plus a marker frame
 * for the new one. A crash at any step leaves a directory that recovers to the same state:
 *
 * - before the snapshot's rename: the old snapshot and the full log;
 * - after it, before the WAL's rename: the new snapshot and the old log, whose frames up to the
 *   new snapshot's LSN are skipped on replay;
 * - after both: the new snapshot and the rewritten log.
 *
 * Keeping the frames since the *previous* snapshot means the first checkpoint's log still starts
 * at LSN 1 and replays with its snapshot deleted. The caller pauses its commit pipeline so the
 * state and the log stand still while this runs.
 *
 * Part of the copied runtime (see runtime.md): imports nothing outside Node built-ins and
 * `src/runtime/`.
 */
import type { RecoverySeams } from './recovery.js';
import { type SnapshotHeader, writeSnapshotFile } from './snapshot-file.js';
import { RecordType } from './wal.js';
import type { WalFile } from './wal-file.js';

export interface CheckpointInput {
  readonly wal: WalFile;
  readonly snapshotPath: string;
  readonly header: SnapshotHeader;
  readonly body: Uint8Array;
  /** Byte offset of the first WAL frame after the previous snapshot. */
  readonly previousSnapshotTailOffset: number;
  readonly maxSnapshotBytes: number;
  readonly seams: RecoverySeams;
}

/**
 * Writes the snapshot and rewrites the log; returns the snapshot file's size. (The
 * `after_wal_rewrite` fault point is the caller's, once it has recorded where the new log's
 * frames start.)
 */
export function writeCheckpoint(input: CheckpointInput): number {
  const { wal, header, seams } = input;
  const snapshotBytes = writeSnapshotFile(input.snapshotPath, header, input.body, {
    maxSnapshotBytes: input.maxSnapshotBytes,
    fileSystem: seams.fileSystem,
  });
  seams.faults?.at('after_snapshot_write');
  wal.replaceWithTail(input.previousSnapshotTailOffset, [
    {
      recordType: RecordType.snapshotMarker,
      lsn: header.lastAppliedLsn,
      requestSlot: header.lastRequestSlot,
      payload: new Uint8Array(0),
    },
  ]);
  return snapshotBytes;
}
