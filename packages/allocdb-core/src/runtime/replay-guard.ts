/**
 * The ordering checks recovery makes on every WAL frame before replaying it (docs/engine.md,
 * "Open = recover"). Each failure is a typed `RecoveryError` naming the file, the byte offset and the
 * LSN, so that recovery fails closed instead of rebuilding a state the live run never had.
 *
 * - LSNs in the file are contiguous: each client or internal frame is the previous one + 1.
 * - Frames at or below the snapshot's LSN are already in the snapshot and are skipped.
 * - The first replayed frame is exactly `snapshotLsn + 1` (1 with no snapshot): a gap is lost
 *   history.
 * - Request slots never decrease, and replayed ones never go below the snapshot's.
 * - A snapshot marker carries the LSN of the checkpoint it marks: accepted when it equals the
 *   last LSN seen or is at or below the snapshot's; it applies nothing and is not counted.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { PackageError } from './package-error.js';
import { RecordType, type WalFrame } from './wal.js';

export type RecoveryErrorCode =
  | 'lsn_gap'
  | 'lsn_not_contiguous'
  | 'slot_rewind'
  | 'slot_overflow'
  | 'marker_mismatch'
  | 'undecodable_frame'
  | 'replay_failed'
  | 'wal_corruption'
  | 'snapshot_invalid'
  | 'snapshot_mismatch'
  | 'config_invalid'
  | 'wrong_engine';

/** Recovery refused to open the directory; nothing was changed on disk. */
export class RecoveryError extends PackageError {
  declare readonly code: RecoveryErrorCode;
  readonly path: string;
  /** Byte offset in `path` where the problem is, when it is tied to a place in the file. */
  readonly offset: number | undefined;
  readonly lsn: bigint | undefined;
  constructor(
    code: RecoveryErrorCode,
    path: string,
    detail: string,
    where: { offset?: number; lsn?: bigint; cause?: unknown } = {},
  ) {
    const place = [
      where.offset === undefined ? undefined : `offset ${where.offset}`,
      where.lsn === undefined ? undefined : `lsn ${where.lsn}`,
    ]
      .filter(Boolean)
      .join(', ');
    super(code, `recovery failed (${code}) in ${path}${place ? ` at ${place}` : ''}: ${detail}`, {
      cause: where.cause,
    });
    this.path = path;
    this.offset = where.offset;
    this.lsn = where.lsn;
  }
}

/** What recovery should do with a frame that passed the checks. */
export type ReplayDecision = 'apply' | 'skip' | 'marker';

export class ReplayGuard {
  private readonly walPath: string;
  private readonly snapshotLsn: bigint;
  private readonly snapshotSlot: bigint;
  private lastSeenLsn: bigint | undefined;
  private lastSeenSlot: bigint | undefined;
  private replayed = 0;
  private lastReplayed: bigint | undefined;

  /** With no snapshot, pass 0 for both. */
  constructor(walPath: string, snapshotLsn: bigint, snapshotSlot: bigint) {
    this.walPath = walPath;
    this.snapshotLsn = snapshotLsn;
    this.snapshotSlot = snapshotSlot;
  }

  /** Frames replayed so far (markers and skipped frames not counted). */
  get replayedFrames(): number {
    return this.replayed;
  }

  get lastReplayedLsn(): bigint | undefined {
    return this.lastReplayed;
  }

  /** Checks `frame` (found at byte `offset`) and says whether to apply it. Throws RecoveryError. */
  admit(frame: WalFrame, offset: number): ReplayDecision {
    const fail = (code: RecoveryErrorCode, detail: string): never => {
      throw new RecoveryError(code, this.walPath, detail, { offset, lsn: frame.lsn });
    };
    if (frame.recordType === RecordType.snapshotMarker) {
      if (frame.lsn !== this.lastSeenLsn && frame.lsn > this.snapshotLsn) {
        fail(
          'marker_mismatch',
          `a snapshot marker for lsn ${frame.lsn} follows lsn ${this.lastSeenLsn ?? 'none'} and is above the snapshot's lsn ${this.snapshotLsn}`,
        );
      }
      return 'marker';
    }

    if (this.lastSeenLsn !== undefined && frame.lsn !== this.lastSeenLsn + 1n) {
      fail(
        'lsn_not_contiguous',
        `lsn ${frame.lsn} follows lsn ${this.lastSeenLsn}; the log must count up by one`,
      );
    }
    if (this.lastSeenSlot !== undefined && frame.requestSlot < this.lastSeenSlot) {
      fail(
        'slot_rewind',
        `request slot ${frame.requestSlot} is below the previous frame's ${this.lastSeenSlot}`,
      );
    }
    if (frame.lsn <= this.snapshotLsn) {
      if (this.snapshotLsn === 0n) fail('lsn_gap', 'lsn 0 is never assigned');
      this.lastSeenLsn = frame.lsn;
      this.lastSeenSlot = frame.requestSlot;
      return 'skip';
    }
    if (this.replayed === 0 && frame.lsn !== this.snapshotLsn + 1n) {
      fail(
        'lsn_gap',
        this.snapshotLsn === 0n
          ? `the log starts at lsn ${frame.lsn} but there is no snapshot: history before it is missing`
          : `the first frame after the snapshot (lsn ${this.snapshotLsn}) has lsn ${frame.lsn}: history is missing`,
      );
    }
    if (frame.requestSlot < this.snapshotSlot) {
      fail(
        'slot_rewind',
        `request slot ${frame.requestSlot} is below the snapshot's ${this.snapshotSlot}`,
      );
    }
    this.lastSeenLsn = frame.lsn;
    this.lastSeenSlot = frame.requestSlot;
    this.replayed++;
    this.lastReplayed = frame.lsn;
    return 'apply';
  }
}
