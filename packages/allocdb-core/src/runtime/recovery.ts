/**
 * Open = recover, the engine-independent part (engine.md): load and verify the snapshot file,
 * restore it, scan the WAL, replay every frame after the snapshot through the engine's own apply
 * code, cut a torn tail (only that), and fail closed with a typed `RecoveryError` on anything
 * else. The engine supplies the domain steps (restore a body, decode and apply a frame) as hooks.
 *
 * In read-only mode (the `verify` and `inspect` commands) nothing is created, truncated or
 * written: a torn tail is only reported.
 *
 * Part of the copied runtime (see runtime.md): imports nothing outside Node built-ins and
 * `src/runtime/`.
 */
import { join } from 'node:path';
import type { FaultHooks } from './commit-pipeline.js';
import { type FileSystem, fsyncDirectory, nodeFileSystem } from './file-system.js';
import { RecoveryError, ReplayGuard } from './replay-guard.js';
import {
  type LoadedSnapshot,
  loadSnapshotFile,
  SnapshotFileError,
  type SnapshotHeader,
} from './snapshot-file.js';
import { type ScanStop, WAL_MAGIC, type WalFrame } from './wal.js';
import { WalFile, type WalFileScan } from './wal-file.js';

export const WAL_FILE_NAME = 'wal';
export const SNAPSHOT_FILE_NAME = 'snapshot';

export type StartupKind = 'fresh' | 'wal_only' | 'snapshot_only' | 'snapshot_and_wal';

export interface RecoveryStatus {
  readonly startupKind: StartupKind;
  readonly loadedSnapshotLsn: bigint | undefined;
  readonly replayedFrames: number;
  readonly lastReplayedLsn: bigint | undefined;
  readonly tornTailBytesTruncated: number;
  readonly durationMs: number;
}

/** Test seams: an injected file system and fault hooks. */
export interface RecoverySeams {
  readonly fileSystem?: FileSystem;
  readonly faults?: FaultHooks;
}

/** The domain steps of recovery, supplied by the engine. */
export interface RecoveryHooks<S, D> {
  /** An empty state machine. */
  fresh(): S;
  /** Restores a snapshot body (throws on anything invalid). */
  restore(body: Uint8Array): S;
  /** The state's watermarks, checked against the snapshot header. */
  watermarks(state: S): { readonly lsn: bigint; readonly slot: bigint };
  /** Decodes a client or internal frame's payload (throws on bad bytes). */
  decode(frame: WalFrame): D;
  /** Applies a decoded frame; `slot_overflow` when its slot arithmetic overflows. */
  apply(state: S, frame: WalFrame, decoded: D): 'applied' | 'slot_overflow';
}

export interface RecoverOptions {
  readonly dir: string;
  readonly maxCommandBytes: number;
  readonly maxSnapshotBytes: number;
  readonly snapshotSchemaVersion: number;
  /** Verify only: never create, truncate or write. */
  readonly readOnly?: boolean;
  /** Sees every frame in file order (the `dump` command). */
  readonly onFrame?: (frame: WalFrame, offset: number) => void;
}

export interface Recovered<S> {
  readonly state: S;
  /** The log, open for append; undefined only for a read-only look at a directory without one. */
  readonly wal: WalFile | undefined;
  readonly status: RecoveryStatus;
  /** The snapshot file's header and size, when there was one. */
  readonly snapshot: { readonly header: SnapshotHeader; readonly fileBytes: number } | undefined;
  readonly snapshotLsn: bigint;
  /** Byte offset of the first frame after the snapshot (the log's length if there is none). */
  readonly firstFrameAfterSnapshotOffset: number;
  /** How the scan ended; in read-only mode a torn tail is left in place. */
  readonly walStop: ScanStop;
  readonly walFrames: number;
}

/** A clear error for a directory whose files carry another engine's magic bytes. */
function wrongEngine(path: string, fileSystem: FileSystem): RecoveryError {
  const fd = fileSystem.openSync(path, 'r');
  const bytes = new Uint8Array(4);
  let read = 0;
  try {
    read = fileSystem.readSync(fd, bytes, 0, 4, 0);
  } finally {
    fileSystem.closeSync(fd);
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, read));
  return new RecoveryError(
    'wrong_engine',
    path,
    `this file starts with ${JSON.stringify(magic)}, not this engine's ${JSON.stringify(WAL_MAGIC)} log magic: ` +
      'the directory belongs to another engine kind. Open it with that engine.',
    { offset: 0 },
  );
}

function loadSnapshot(
  path: string,
  options: RecoverOptions,
  fileSystem: FileSystem,
): LoadedSnapshot | undefined {
  try {
    return loadSnapshotFile(path, options.snapshotSchemaVersion, {
      maxSnapshotBytes: options.maxSnapshotBytes,
      fileSystem,
    });
  } catch (error) {
    if (error instanceof SnapshotFileError) {
      if (error.reason === 'bad_magic') throw wrongEngine(path, fileSystem);
      throw new RecoveryError('snapshot_invalid', path, error.message, {
        offset: error.offset,
        cause: error,
      });
    }
    throw error;
  }
}

function restoreSnapshot<S, D>(
  path: string,
  loaded: LoadedSnapshot,
  hooks: RecoveryHooks<S, D>,
): S {
  let state: S;
  try {
    state = hooks.restore(loaded.body);
  } catch (error) {
    throw new RecoveryError(
      'snapshot_invalid',
      path,
      `the snapshot body cannot be restored: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const { lsn, slot } = hooks.watermarks(state);
  if (lsn !== loaded.header.lastAppliedLsn || slot !== loaded.header.lastRequestSlot) {
    throw new RecoveryError(
      'snapshot_mismatch',
      path,
      `the header says lsn ${loaded.header.lastAppliedLsn} / slot ${loaded.header.lastRequestSlot} but the body holds lsn ${lsn} / slot ${slot}`,
    );
  }
  return state;
}

/** Replays one frame; undecodable bytes, apply failures and slot overflow stop recovery. */
function replayOne<S, D>(
  state: S,
  frame: WalFrame,
  offset: number,
  walPath: string,
  hooks: RecoveryHooks<S, D>,
): void {
  const where = { offset, lsn: frame.lsn };
  let decoded: D;
  try {
    decoded = hooks.decode(frame);
  } catch (error) {
    throw new RecoveryError(
      'undecodable_frame',
      walPath,
      `the frame's payload cannot be decoded: ${(error as Error).message}`,
      {
        ...where,
        cause: error,
      },
    );
  }
  let result: 'applied' | 'slot_overflow';
  try {
    result = hooks.apply(state, frame, decoded);
  } catch (error) {
    throw new RecoveryError(
      'replay_failed',
      walPath,
      `the frame cannot be replayed: ${(error as Error).message}`,
      {
        ...where,
        cause: error,
      },
    );
  }
  // The live engine never logs a command whose slot arithmetic overflows; one in the log would be
  // answered differently from the live run, so recovery stops instead.
  if (result === 'slot_overflow') {
    throw new RecoveryError(
      'slot_overflow',
      walPath,
      `the frame's request slot ${frame.requestSlot} overflows its slot arithmetic`,
      where,
    );
  }
}

/**
 * Recovers a data directory. Throws `RecoveryError` (fail closed) or, for I/O failures,
 * `WalIoError` / `SnapshotFileError`. On success the WAL is open for append right after the last
 * good frame.
 */
export function recoverDirectory<S, D>(
  options: RecoverOptions,
  hooks: RecoveryHooks<S, D>,
  seams: RecoverySeams = {},
): Recovered<S> {
  const started = performance.now();
  const fileSystem = seams.fileSystem ?? nodeFileSystem;
  const snapshotPath = join(options.dir, SNAPSHOT_FILE_NAME);
  const walPath = join(options.dir, WAL_FILE_NAME);

  const loaded = loadSnapshot(snapshotPath, options, fileSystem);
  const state = loaded === undefined ? hooks.fresh() : restoreSnapshot(snapshotPath, loaded, hooks);
  const snapshotLsn = loaded?.header.lastAppliedLsn ?? 0n;
  const snapshotSlot = loaded?.header.lastRequestSlot ?? 0n;
  const status = (
    replayedFrames: number,
    lastReplayedLsn: bigint | undefined,
    tornTailBytesTruncated: number,
  ): RecoveryStatus => ({
    startupKind:
      loaded === undefined
        ? replayedFrames > 0
          ? 'wal_only'
          : 'fresh'
        : replayedFrames > 0
          ? 'snapshot_and_wal'
          : 'snapshot_only',
    loadedSnapshotLsn: loaded?.header.lastAppliedLsn,
    replayedFrames,
    lastReplayedLsn,
    tornTailBytesTruncated,
    durationMs: performance.now() - started,
  });

  if (options.readOnly && !fileSystem.existsSync(walPath)) {
    return {
      state,
      wal: undefined,
      status: status(0, undefined, 0),
      snapshot: loaded && { header: loaded.header, fileBytes: loaded.fileBytes },
      snapshotLsn,
      firstFrameAfterSnapshotOffset: 0,
      walStop: { kind: 'clean' },
      walFrames: 0,
    };
  }
  const wal = WalFile.open(walPath, {
    maxPayloadBytes: options.maxCommandBytes,
    fileSystem,
    readOnly: options.readOnly,
  });
  try {
    const guard = new ReplayGuard(walPath, snapshotLsn, snapshotSlot);
    let firstFrameAfterSnapshotOffset: number | undefined;
    const scan: WalFileScan = wal.scan((frame, offset) => {
      options.onFrame?.(frame, offset);
      if (guard.admit(frame, offset) !== 'apply') return;
      firstFrameAfterSnapshotOffset ??= offset;
      replayOne(state, frame, offset, walPath, hooks);
      seams.faults?.at('during_replay');
    });
    if (scan.stop.kind === 'corruption') {
      if (scan.stop.reason === 'bad_magic' && scan.stop.offset === 0)
        throw wrongEngine(walPath, fileSystem);
      throw new RecoveryError(
        'wal_corruption',
        walPath,
        `the log is damaged (${scan.stop.reason}) somewhere other than a torn final write; it was left untouched`,
        { offset: scan.stop.offset },
      );
    }
    let torn = 0;
    if (!options.readOnly) {
      // What was replayed is about to be served as committed (a retry is answered from it), but
      // it may only have reached the page cache: a previous run can have written a frame and
      // crashed, or failed, before its fsync. Make it durable first (cutting a torn tail
      // fdatasyncs already), with the log's directory entry (a log created by that run may never
      // have had its directory synced).
      if (scan.stop.kind === 'torn_tail') torn = wal.truncateTornTail(scan);
      else wal.syncSync();
      fsyncDirectory(fileSystem, options.dir);
    }
    return {
      state,
      wal,
      status: status(guard.replayedFrames, guard.lastReplayedLsn, torn),
      snapshot: loaded && { header: loaded.header, fileBytes: loaded.fileBytes },
      snapshotLsn,
      firstFrameAfterSnapshotOffset: firstFrameAfterSnapshotOffset ?? scan.validUpTo,
      walStop: scan.stop,
      walFrames: scan.frameCount,
    };
  } catch (error) {
    wal.close();
    throw error;
  }
}

/**
 * The checks that need no state machine, for a read-only look without the engine's config: the
 * snapshot file's framing and CRC, every WAL frame, LSN contiguity, slot order, markers, and
 * that every payload decodes.
 */
export function checkDirectoryStructure(
  options: RecoverOptions,
  decode: (frame: WalFrame) => unknown,
): {
  readonly snapshot: LoadedSnapshot | undefined;
  readonly walFrames: number;
  readonly walStop: ScanStop;
} {
  const snapshotPath = join(options.dir, SNAPSHOT_FILE_NAME);
  const walPath = join(options.dir, WAL_FILE_NAME);
  const snapshot = loadSnapshot(snapshotPath, options, nodeFileSystem);
  if (!nodeFileSystem.existsSync(walPath))
    return { snapshot, walFrames: 0, walStop: { kind: 'clean' } };
  const wal = WalFile.open(walPath, { maxPayloadBytes: options.maxCommandBytes, readOnly: true });
  try {
    const guard = new ReplayGuard(
      walPath,
      snapshot?.header.lastAppliedLsn ?? 0n,
      snapshot?.header.lastRequestSlot ?? 0n,
    );
    const scan = wal.scan((frame, offset) => {
      options.onFrame?.(frame, offset);
      if (guard.admit(frame, offset) === 'marker') return;
      try {
        decode(frame);
      } catch (error) {
        throw new RecoveryError('undecodable_frame', walPath, (error as Error).message, {
          offset,
          lsn: frame.lsn,
          cause: error,
        });
      }
    });
    if (scan.stop.kind === 'corruption') {
      if (scan.stop.reason === 'bad_magic' && scan.stop.offset === 0)
        throw wrongEngine(walPath, nodeFileSystem);
      throw new RecoveryError(
        'wal_corruption',
        walPath,
        `the log is damaged (${scan.stop.reason})`,
        { offset: scan.stop.offset },
      );
    }
    return { snapshot, walFrames: scan.frameCount, walStop: scan.stop };
  } finally {
    wal.close();
  }
}
