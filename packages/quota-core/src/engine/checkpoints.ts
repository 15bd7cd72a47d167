/**
 * Checkpoint scheduling (docs/engine.md, "Checkpoints"): when a checkpoint runs (on request, or
 * when the automatic policy finds it due after an applied command), what it pins, and the steps
 * that write it beside the running submissions. The engine owns one `Checkpoints`; it hands it
 * the log, the state machine and the pipeline at open, calls `applied()` after each applied
 * command, and reads its figures for `metrics()`.
 */
import { join } from 'node:path';
import { EngineHaltedError, InvariantViolation } from '../errors.js';
import type { CommitPipeline } from '../runtime/commit-pipeline.js';
import { writeSnapshotFileBytesAsync } from '../runtime/snapshot-file.js';
import { RecordType, type WalFrame } from '../runtime/wal.js';
import type { WalFile } from '../runtime/wal-file.js';
import type { QuotaDb } from '../state-machine/quota-db.js';
import {
  type CheckpointFile,
  type CheckpointRequest,
  checkpointWorkerAvailable,
  encodeCheckpointAt,
  encodeCheckpointInWorker,
  type TableCounts,
  tableCounts,
} from './checkpoint-body.js';
import { type RecordedConfig, SNAPSHOT_FILE_NAME } from './directory.js';
import type { ResolvedEngineOptions } from './options.js';
import type { EngineSeams } from './recovery.js';

export interface CheckpointResult {
  readonly snapshotLsn: bigint;
  readonly snapshotBytes: number;
  readonly walBytes: number;
  readonly durationMs: number;
}

/** The snapshot-marker frame of a snapshot at `lsn` (docs/format.md, record type 3). */
export function markerFrame(lsn: bigint, requestSlot: bigint): WalFrame {
  return { recordType: RecordType.snapshotMarker, lsn, requestSlot, payload: new Uint8Array(0) };
}

/** What a checkpoint needs of its engine, fixed at open. */
export interface CheckpointHost {
  readonly dir: string;
  readonly recorded: RecordedConfig;
  readonly options: ResolvedEngineOptions & { readonly maxCommandBytes: number };
  readonly seams: EngineSeams;
  readonly db: QuotaDb;
  readonly wal: WalFile;
  readonly pipeline: CommitPipeline;
  /** Whether the engine is closing: no automatic checkpoint starts then. */
  readonly closing: () => boolean;
}

/** Where the log stood at open: the snapshot on disk and the frames replayed after it. */
export interface CheckpointStart {
  readonly snapshotLsn: bigint;
  readonly firstFrameAfterSnapshotOffset: number;
  readonly framesSinceCheckpoint: number;
}

/** Where a checkpoint pinned the state: between two flushes, the log ending at `lsn`'s frame. */
interface Pin {
  readonly lsn: bigint;
  readonly slot: bigint;
  readonly walEnd: number;
  readonly keepFrom: number;
  readonly frames: number;
  readonly tables: TableCounts;
}

/**
 * Throws `InvariantViolation` unless the state a checkpoint rebuilt from the files is the live
 * state at the pin: the same LSN, request slot and table counts. Otherwise the log on disk no
 * longer says what memory holds (changed under the engine, or a bug), and a snapshot of it would
 * make the difference permanent.
 */
function checkRebuilt(pin: Pin, file: CheckpointFile): void {
  const differences: string[] = [];
  if (file.lastAppliedLsn !== pin.lsn) {
    differences.push(`LSN ${file.lastAppliedLsn}, not ${pin.lsn}`);
  }
  if (file.lastRequestSlot !== pin.slot) {
    differences.push(`request slot ${file.lastRequestSlot}, not ${pin.slot}`);
  }
  for (const [table, count] of Object.entries(pin.tables)) {
    if (file.tables[table] !== count) {
      differences.push(`${file.tables[table]} ${table}, not ${count}`);
    }
  }
  if (differences.length > 0) {
    throw new InvariantViolation(
      'checkpoint_rebuild',
      `the state rebuilt from the files at the checkpoint's pin has ${differences.join(', ')} as the live state has; the log on disk no longer matches memory, so no snapshot was written and the engine halts: reopen the directory, which recovers from disk`,
    );
  }
}

export class Checkpoints {
  /** LSN of the snapshot on disk (0 when there is none). */
  snapshotLsn: bigint;
  /** Frames applied since the last checkpoint's pin (the automatic policy's count). */
  framesSinceCheckpoint: number;
  /** Checkpoints completed since open. */
  completed = 0;
  lastError: string | undefined;
  /** Byte offset of the first frame after the snapshot: where the next rewrite keeps from. */
  private firstFrameAfterSnapshotOffset: number;
  private inFlight: Promise<CheckpointResult> | undefined;

  constructor(
    private readonly host: CheckpointHost,
    start: CheckpointStart,
  ) {
    this.snapshotLsn = start.snapshotLsn;
    this.firstFrameAfterSnapshotOffset = start.firstFrameAfterSnapshotOffset;
    this.framesSinceCheckpoint = start.framesSinceCheckpoint;
  }

  get inProgress(): boolean {
    return this.inFlight !== undefined;
  }

  /** Starts a checkpoint, or joins the one running (concurrent calls share one). */
  run(): Promise<CheckpointResult> {
    if (this.inFlight !== undefined) return this.inFlight;
    const run = this.checkpointNow();
    this.inFlight = run;
    const done = () => {
      if (this.inFlight === run) this.inFlight = undefined;
    };
    run.then(done, done);
    return run;
  }

  /**
   * Waits for a running checkpoint to finish (`close()`); its failure, already recorded in
   * `lastError`, is not thrown again here.
   */
  async finished(): Promise<void> {
    const running = this.inFlight;
    if (running === undefined) return;
    await running.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Counts an applied command and starts an automatic checkpoint when the policy finds one due. */
  applied(): void {
    this.framesSinceCheckpoint++;
    const policy = this.host.options.checkpointPolicy;
    if (policy === undefined || this.inFlight !== undefined || this.host.closing()) return;
    const dueByFrames =
      policy.everyFrames !== undefined && this.framesSinceCheckpoint >= policy.everyFrames;
    const dueByBytes =
      policy.everyBytes !== undefined &&
      this.host.wal.length - this.firstFrameAfterSnapshotOffset >= policy.everyBytes;
    if (dueByFrames || dueByBytes) {
      // Runs after the current flush (exclusive waits for it); a failure is reported in metrics.
      this.run().catch(() => undefined);
    }
  }

  /**
   * A checkpoint that does not stop the submitters: it pins an LSN between two flushes (the only
   * moment it pauses the pipeline, besides the final step of the log rewrite), rebuilds the state
   * at that LSN from the snapshot file and the log on a worker thread, writes the snapshot file
   * with the event loop running, then rewrites the log with the marker after that LSN's frame
   * while commands keep being committed.
   */
  private async checkpointNow(): Promise<CheckpointResult> {
    const { dir, options, seams, pipeline, wal } = this.host;
    const started = performance.now();
    const pin = await pipeline.exclusive(() => this.pin());
    try {
      const file = await this.rebuild(pin);
      if (pipeline.halted) throw new EngineHaltedError(pipeline.haltReason);
      checkRebuilt(pin, file);
      const snapshotBytes = await writeSnapshotFileBytesAsync(
        join(dir, SNAPSHOT_FILE_NAME),
        file.fileBytes,
        { maxSnapshotBytes: options.maxSnapshotBytes, fileSystem: seams.fileSystem },
      );
      seams.faults?.at('after_snapshot_write');
      const firstFrameAfterSnapshotOffset = await wal.replaceWithTailAsync(
        pin.keepFrom,
        pin.walEnd,
        markerFrame(pin.lsn, pin.slot),
        (finish) => pipeline.exclusive(finish),
      );
      this.snapshotLsn = pin.lsn;
      this.firstFrameAfterSnapshotOffset = firstFrameAfterSnapshotOffset;
      this.framesSinceCheckpoint -= pin.frames;
      this.completed++;
      this.lastError = undefined;
      seams.faults?.at('after_wal_rewrite');
      return {
        snapshotLsn: pin.lsn,
        snapshotBytes,
        walBytes: wal.length,
        durationMs: performance.now() - started,
      };
    } catch (error) {
      this.lastError = (error as Error).message;
      // A snapshot that failed to write leaves the WAL intact: the engine stays healthy. A WAL
      // rewrite that failed after its rename leaves no usable log handle, and a rebuilt state
      // that is not the live one means memory no longer matches the log: halt.
      if (!wal.writable || error instanceof InvariantViolation) pipeline.halt(error);
      throw error;
    }
  }

  /** Runs with the pipeline paused: nothing is in flight, the log ends with the pinned frame. */
  private pin(): Pin {
    const { pipeline, db, wal } = this.host;
    if (pipeline.halted) throw new EngineHaltedError(pipeline.haltReason);
    return {
      lsn: db.lastAppliedLsn ?? 0n,
      slot: db.lastRequestSlot ?? 0n,
      walEnd: wal.length,
      keepFrom: this.firstFrameAfterSnapshotOffset,
      frames: this.framesSinceCheckpoint,
      tables: tableCounts(db),
    };
  }

  /** The snapshot file of the state at the pin, rebuilt from the directory. */
  private rebuild(pin: Pin): Promise<CheckpointFile> {
    const { dir, recorded, options, seams } = this.host;
    const request: CheckpointRequest = {
      dir,
      config: recorded.config,
      maxCommandBytes: options.maxCommandBytes,
      maxSnapshotBytes: options.maxSnapshotBytes,
      walFrom: pin.keepFrom,
      walTo: pin.walEnd,
      lsn: pin.lsn,
    };
    // An injected file system (tests) is not visible from another thread: rebuild here.
    return seams.fileSystem === undefined && checkpointWorkerAvailable
      ? encodeCheckpointInWorker(request)
      : Promise.resolve(encodeCheckpointAt(request, seams.fileSystem));
  }
}
