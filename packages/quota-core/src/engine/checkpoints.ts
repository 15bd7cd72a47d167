/**
 * Checkpoint scheduling (docs/engine.md, "Checkpoints"): when a checkpoint runs (on request, or
 * when the automatic policy finds it due after an applied command), what it pins, and the steps
 * that write it beside the running submissions. The engine owns one `Checkpoints`; it hands it
 * the log, the state machine and the pipeline at open, calls `applied()` after each applied
 * command, and reads its figures for `metrics()`.
 */
import { join } from 'node:path';
import { EngineHaltedError, InvariantViolation, SubmissionError } from '../errors.js';
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
  readonly onCheckpoint: ((event: CheckpointEvent) => void) | undefined;
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

/**
 * After a failed checkpoint, automatic ones wait before the next attempt: this long after the
 * first failure, doubling with each failure in a row, at most `CHECKPOINT_RETRY_MAX_MS`.
 */
export const CHECKPOINT_RETRY_MIN_MS = 1_000;
export const CHECKPOINT_RETRY_MAX_MS = 60_000;

/** What `onCheckpoint` hears after each checkpoint (docs/engine.md, "When checkpoints fail"). */
export type CheckpointEvent =
  | {
      readonly ok: true;
      readonly result: CheckpointResult;
      /** The failures in a row this success ends (0 when the previous one succeeded). */
      readonly afterFailures: number;
    }
  | {
      readonly ok: false;
      readonly error: Error;
      /** Failures in a row, this one included. */
      readonly consecutiveFailures: number;
      /** When the next automatic attempt comes; undefined when the engine halted. */
      readonly retryInMs: number | undefined;
      readonly walBytes: number;
      /** Whether new writes are refused (`log_full`) until a checkpoint succeeds. */
      readonly logFull: boolean;
    };

/** What `health()` reports of the checkpoints and the log. */
export interface CheckpointHealth {
  /** One line per problem: what is wrong and what follows. Empty when all is well. */
  readonly problems: readonly string[];
  readonly checkpointFailures: number;
  readonly lastCheckpointError: string | undefined;
  readonly logFull: boolean;
}

/** The failure of an automatic checkpoint is counted, kept and reported by `run` itself. */
const REPORTED_BY_RUN = () => undefined;

export class Checkpoints {
  /** LSN of the snapshot on disk (0 when there is none). */
  snapshotLsn: bigint;
  /** Frames applied since the last checkpoint's pin (the automatic policy's count). */
  framesSinceCheckpoint: number;
  /** Checkpoints completed since open. */
  completed = 0;
  lastError: string | undefined;
  /** Checkpoints that failed in a row (0 after a success). */
  consecutiveFailures = 0;
  /** Byte offset of the first frame after the snapshot: where the next rewrite keeps from. */
  private firstFrameAfterSnapshotOffset: number;
  private inFlight: Promise<CheckpointResult> | undefined;
  /** `performance.now()` before which no automatic checkpoint starts (the backoff). */
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;

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
    run.then(
      (result) => this.succeeded(run, result),
      (error: unknown) => this.failed(run, error),
    );
    return run;
  }

  /**
   * Waits for a running checkpoint to finish and stops the retries (`close()`); the running
   * one's failure, already recorded in `lastError`, is not thrown again here.
   */
  async finished(): Promise<void> {
    this.stopRetrying();
    const running = this.inFlight;
    if (running === undefined) return;
    await running.then(REPORTED_BY_RUN, REPORTED_BY_RUN);
  }

  /** Cancels a scheduled retry (close, crash). */
  stopRetrying(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Counts an applied command and starts an automatic checkpoint when one is due. */
  applied(): void {
    this.framesSinceCheckpoint++;
    if (this.inFlight === undefined) this.startIfDue();
  }

  /**
   * The definite refusal of a new write while the log is at its hard limit (`maxWalBytes`), or
   * undefined. Commands already queued still commit: the log can pass the limit by at most a
   * queue of commands.
   */
  logFull(): SubmissionError | undefined {
    const limit = this.host.options.maxWalBytes;
    const walBytes = this.host.wal.length;
    if (limit === undefined || walBytes < limit) return undefined;
    return new SubmissionError(
      'log_full',
      `the log is ${walBytes} bytes, at its limit maxWalBytes ${limit}, ${this.why()}; nothing was written; retry once a checkpoint has brought the log under the limit (health() says when)`,
    );
  }

  /** The problems `health()` reports, with the figures behind them. */
  health(): CheckpointHealth {
    const problems: string[] = [];
    if (this.consecutiveFailures > 0) {
      const automatic =
        this.host.options.checkpointPolicy !== undefined ||
        this.host.options.maxWalBytes !== undefined;
      const next = automatic
        ? `the next attempt in ${Math.max(0, Math.ceil(this.retryAt - performance.now()))} ms`
        : 'call checkpoint() again';
      problems.push(
        `checkpoints are failing (${this.consecutiveFailures} in a row; the last: ${this.lastError}); the log grows until one succeeds; ${next}`,
      );
    }
    const full = this.logFull();
    if (full !== undefined) problems.push(`new writes are refused: ${full.message}`);
    return {
      problems,
      checkpointFailures: this.consecutiveFailures,
      lastCheckpointError: this.lastError,
      logFull: full !== undefined,
    };
  }

  /** Why the log is as long as it is, for `log_full`. */
  private why(): string {
    if (this.consecutiveFailures > 0) {
      return `because checkpoints fail (${this.consecutiveFailures} in a row; the last: ${this.lastError})`;
    }
    return this.inFlight !== undefined
      ? 'while a checkpoint runs'
      : 'and a checkpoint is due (it starts at once)';
  }

  /** Whether the policy finds a checkpoint due, or the log has reached its hard limit. */
  private due(): boolean {
    const { options, wal } = this.host;
    if (options.maxWalBytes !== undefined && wal.length >= options.maxWalBytes) return true;
    const policy = options.checkpointPolicy;
    if (policy === undefined) return false;
    return (
      (policy.everyFrames !== undefined && this.framesSinceCheckpoint >= policy.everyFrames) ||
      (policy.everyBytes !== undefined &&
        wal.length - this.firstFrameAfterSnapshotOffset >= policy.everyBytes)
    );
  }

  /** Starts an automatic checkpoint when one is due, none runs and no backoff holds it back. */
  private startIfDue(): void {
    if (this.inFlight !== undefined || this.host.closing() || this.host.pipeline.halted) return;
    if (performance.now() < this.retryAt || !this.due()) return;
    // Runs after the current flush (exclusive waits for it).
    this.run().then(undefined, REPORTED_BY_RUN);
  }

  private succeeded(run: Promise<CheckpointResult>, result: CheckpointResult): void {
    if (this.inFlight === run) this.inFlight = undefined;
    const afterFailures = this.consecutiveFailures;
    this.consecutiveFailures = 0;
    this.retryAt = 0;
    this.stopRetrying();
    this.host.onCheckpoint?.({ ok: true, result, afterFailures });
    // Still due (the log still over its limit: the first checkpoint after failures keeps the
    // frames since the previous snapshot): the next one starts now.
    this.startIfDue();
  }

  private failed(run: Promise<CheckpointResult>, error: unknown): void {
    if (this.inFlight === run) this.inFlight = undefined;
    this.consecutiveFailures++;
    const halted = this.host.pipeline.halted;
    const retryInMs = halted
      ? undefined
      : Math.min(
          CHECKPOINT_RETRY_MIN_MS * 2 ** Math.min(this.consecutiveFailures - 1, 30),
          CHECKPOINT_RETRY_MAX_MS,
        );
    if (retryInMs !== undefined && !this.host.closing()) {
      this.retryAt = performance.now() + retryInMs;
      this.stopRetrying();
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        // The backoff is over (a timer may fire a fraction of a millisecond before the clock
        // `retryAt` was read from says so).
        this.retryAt = 0;
        this.startIfDue();
      }, retryInMs);
      this.retryTimer.unref();
    }
    this.host.onCheckpoint?.({
      ok: false,
      error: error instanceof Error ? error : new Error(String(error)),
      consecutiveFailures: this.consecutiveFailures,
      retryInMs,
      walBytes: this.host.wal.length,
      logFull: this.logFull() !== undefined,
    });
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
