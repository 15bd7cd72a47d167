/**
 * Open = recover (docs/engine.md): load and verify the snapshot file, restore it into an
 * `AllocDb`, scan the WAL, replay every frame after the snapshot through the same apply path the
 * live engine uses, cut a torn tail (only that), and fail closed with a typed `RecoveryError`
 * naming the file and the offset on anything else.
 *
 * In read-only mode (the `inspect` and `verify` commands) nothing is created, truncated or
 * written: a torn tail is only reported.
 */
import { join } from 'node:path';
import {
  CLIENT_REQUEST_COMMAND_OFFSET,
  decodeClientRequest,
  decodeInternalCommand,
} from '../codec/command-codec.js';
import type { AllocDbConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
import { RecoveryError } from '../errors.js';
import type { FaultHooks, PipelineLog } from '../runtime/commit-pipeline.js';
import { CONFIG_MAGIC, ConfigFileError } from '../runtime/config-file.js';
import { type FileSystem, fsyncDirectory, nodeFileSystem } from '../runtime/file-system.js';
import { ReplayGuard } from '../runtime/replay-guard.js';
import {
  type LoadedSnapshot,
  loadSnapshotFile,
  SNAPSHOT_MAGIC,
  SnapshotFileError,
  type SnapshotHeader,
} from '../runtime/snapshot-file.js';
import { RecordType, type ScanStop, WAL_MAGIC, type WalFrame } from '../runtime/wal.js';
import { WalFile, type WalFileScan } from '../runtime/wal-file.js';
import { AllocDb } from '../state-machine/alloc-db.js';
import type { ClientRequest, Command, Outcome } from '../types.js';
import { CONFIG_FILE_NAME, SNAPSHOT_FILE_NAME, WAL_FILE_NAME } from './directory.js';

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
export interface EngineSeams {
  readonly fileSystem?: FileSystem;
  readonly faults?: FaultHooks;
  /** The replay's slice length instead of `REPLAY_SLICE_MS` (0: yield after every chunk). */
  readonly replaySliceMs?: number;
  /**
   * What the commit pipeline writes batches to, around the recovered log: a cluster node puts the
   * replicated log in front of it (docs/cluster.md). Default: the log itself.
   */
  readonly pipelineLog?: (wal: WalFile) => PipelineLog;
}

export interface RecoverOptions {
  readonly dir: string;
  readonly config: AllocDbConfig;
  readonly maxCommandBytes: number;
  readonly maxSnapshotBytes: number;
  /** Verify only: never create, truncate or write. */
  readonly readOnly?: boolean;
  /** Sees every frame in file order (the `dump` command). */
  readonly onFrame?: (frame: WalFrame, offset: number) => void;
  /**
   * Scan only the log's bytes [from, to), whole frames known to be there (a checkpoint's replay
   * up to the LSN it pins: the log keeps growing behind it). `recover` only, read-only.
   */
  readonly walRange?: { readonly from: number; readonly to: number };
}

export interface Recovered {
  readonly db: AllocDb;
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

/** A logged command, decoded. */
export type DecodedFrame =
  | { readonly kind: 'client'; readonly request: ClientRequest }
  | { readonly kind: 'internal'; readonly command: Command };

/** Decodes a client or internal frame's payload (CodecError on bad bytes). */
export function decodeFramePayload(frame: WalFrame): DecodedFrame {
  return frame.recordType === RecordType.client
    ? { kind: 'client', request: decodeClientRequest(frame.payload) }
    : { kind: 'internal', command: decodeInternalCommand(frame.payload) };
}

/** Applies a logged command: the apply path of replay, the same one the live engine takes. */
export function applyDecoded(
  db: AllocDb,
  lsn: bigint,
  requestSlot: bigint,
  decoded: DecodedFrame,
  /** The frame's payload, when at hand: its command bytes are not encoded again. */
  payload?: Uint8Array,
): Outcome {
  // Decoded frames are valid by construction (the decoder reads every field at its width), so
  // replay takes the validated path the live engine takes after validating at submission.
  if (decoded.kind !== 'client')
    return db.applyValidatedInternal(lsn, requestSlot, decoded.command);
  return payload === undefined
    ? db.applyValidatedClient(lsn, requestSlot, decoded.request)
    : db.applyEncodedClient(
        lsn,
        requestSlot,
        decoded.request,
        payload,
        CLIENT_REQUEST_COMMAND_OFFSET,
        payload.length,
      );
}

/** What the first four bytes of `path` say, for an error about a foreign file. */
function readMagic(path: string, fileSystem: FileSystem): string {
  const fd = fileSystem.openSync(path, 'r');
  const bytes = new Uint8Array(4);
  let read = 0;
  try {
    read = fileSystem.readSync(fd, bytes, 0, 4, 0);
  } finally {
    fileSystem.closeSync(fd);
  }
  return new TextDecoder().decode(bytes.subarray(0, read));
}

/** A clear error for a file that carries another engine's magic bytes. */
export function wrongEngine(
  path: string,
  file: 'log' | 'snapshot' | 'config',
  fileSystem: FileSystem,
): RecoveryError {
  const expected = { log: WAL_MAGIC, snapshot: SNAPSHOT_MAGIC, config: CONFIG_MAGIC }[file];
  return new RecoveryError(
    'wrong_engine',
    path,
    `this file starts with ${JSON.stringify(readMagic(path, fileSystem))}, not allocdb-core's ${JSON.stringify(expected)} ${file} magic: ` +
      'the directory belongs to another engine kind. Open it with that engine.',
    { offset: 0 },
  );
}

/** A damaged or foreign config file as the `RecoveryError` open and the tools report. */
export function configFileProblem(
  dir: string,
  error: unknown,
  fileSystem: FileSystem,
): RecoveryError {
  const path = join(dir, CONFIG_FILE_NAME);
  if (error instanceof ConfigFileError && error.reason === 'bad_magic') {
    return wrongEngine(path, 'config', fileSystem);
  }
  const offset = error instanceof ConfigFileError ? error.offset : undefined;
  return new RecoveryError(
    'config_invalid',
    path,
    `the recorded configuration cannot be read: ${(error as Error).message}. Restore the file from a backup, ` +
      'or delete it and open the directory with the configuration it was written with',
    { offset, cause: error },
  );
}

/** Loads the snapshot file, mapping its failures to RecoveryErrors. */
export function loadSnapshot(
  dir: string,
  maxSnapshotBytes: number,
  fileSystem: FileSystem,
): LoadedSnapshot | undefined {
  const path = join(dir, SNAPSHOT_FILE_NAME);
  try {
    return loadSnapshotFile(path, SNAPSHOT_SCHEMA_VERSION, { maxSnapshotBytes, fileSystem });
  } catch (error) {
    if (!(error instanceof SnapshotFileError)) throw error;
    if (error.reason === 'bad_magic') throw wrongEngine(path, 'snapshot', fileSystem);
    if (error.reason === 'io') throw error;
    throw new RecoveryError('snapshot_invalid', path, error.message, {
      offset: error.offset,
      cause: error,
    });
  }
}

function restoreSnapshot(path: string, loaded: LoadedSnapshot, config: AllocDbConfig): AllocDb {
  let db: AllocDb;
  try {
    db = AllocDb.fromSnapshotBody(config, loaded.body);
  } catch (error) {
    throw new RecoveryError(
      'snapshot_invalid',
      path,
      `the snapshot body cannot be restored: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const lsn = db.lastAppliedLsn ?? 0n;
  const slot = db.lastRequestSlot ?? 0n;
  if (lsn !== loaded.header.lastAppliedLsn || slot !== loaded.header.lastRequestSlot) {
    throw new RecoveryError(
      'snapshot_mismatch',
      path,
      `the header says lsn ${loaded.header.lastAppliedLsn} / slot ${loaded.header.lastRequestSlot} but the body holds lsn ${lsn} / slot ${slot}`,
    );
  }
  return db;
}

/** Replays one frame; undecodable bytes, apply failures and slot overflow stop recovery. */
function replayOne(db: AllocDb, frame: WalFrame, offset: number, walPath: string): void {
  // decodeFramePayload and applyDecoded, without their wrapper object per frame.
  const payload = frame.payload;
  const client = frame.recordType === RecordType.client;
  let request: ClientRequest | undefined;
  let command: Command | undefined;
  try {
    if (client) request = decodeClientRequest(payload);
    else command = decodeInternalCommand(payload);
  } catch (error) {
    throw new RecoveryError(
      'undecodable_frame',
      walPath,
      `the frame's payload cannot be decoded: ${(error as Error).message}`,
      { offset, lsn: frame.lsn, cause: error },
    );
  }
  let outcome: Outcome;
  try {
    // Decoded frames are valid by construction: the validated apply paths, as in applyDecoded.
    outcome = client
      ? db.applyEncodedClient(
          frame.lsn,
          frame.requestSlot,
          request!,
          payload,
          CLIENT_REQUEST_COMMAND_OFFSET,
          payload.length,
        )
      : db.applyValidatedInternal(frame.lsn, frame.requestSlot, command!);
  } catch (error) {
    throw new RecoveryError(
      'replay_failed',
      walPath,
      `the frame cannot be replayed: ${(error as Error).message}`,
      { offset, lsn: frame.lsn, cause: error },
    );
  }
  // The live engine never logs a command whose slot arithmetic overflows; one in the log would be
  // answered differently from the live run, so recovery stops instead.
  if (outcome.resultCode === 'slot_overflow') {
    throw new RecoveryError(
      'slot_overflow',
      walPath,
      `the frame's request slot ${frame.requestSlot} overflows its slot arithmetic`,
      { offset, lsn: frame.lsn },
    );
  }
}

function statusOf(
  loaded: LoadedSnapshot | undefined,
  replayedFrames: number,
  lastReplayedLsn: bigint | undefined,
  tornTailBytesTruncated: number,
  started: number,
): RecoveryStatus {
  const replayed = replayedFrames > 0;
  return {
    startupKind:
      loaded === undefined
        ? replayed
          ? 'wal_only'
          : 'fresh'
        : replayed
          ? 'snapshot_and_wal'
          : 'snapshot_only',
    loadedSnapshotLsn: loaded?.header.lastAppliedLsn,
    replayedFrames,
    lastReplayedLsn,
    tornTailBytesTruncated,
    durationMs: performance.now() - started,
  };
}

/** What `onProgress` hears while `open` replays the log (docs/engine.md, "Recovery"). */
export interface OpenProgress {
  /** Frames replayed so far (markers and frames the snapshot covers are not counted). */
  readonly replayedFrames: number;
  /** Bytes of the log scanned so far, and its length. */
  readonly walBytesScanned: number;
  readonly walBytes: number;
  /** True on the last call, once the whole log is replayed. */
  readonly done: boolean;
}

/**
 * The longest stretch the asynchronous replay runs before it yields to the event loop. A scan
 * chunk (64 KiB, a few hundred frames) takes a few milliseconds, so slices stay well under the
 * 50 ms a replay may block the event loop at a time.
 */
export const REPLAY_SLICE_MS = 20;

/** A recovery between its snapshot and its scan (shared by `recover` and `recoverAsync`). */
interface RecoveryInProgress {
  readonly started: number;
  readonly loaded: LoadedSnapshot | undefined;
  readonly db: AllocDb;
  readonly snapshot: Recovered['snapshot'];
  readonly snapshotLsn: bigint;
  readonly walPath: string;
  readonly wal: WalFile;
  readonly guard: ReplayGuard;
  readonly onFrame: (frame: WalFrame, offset: number) => void;
  firstFrameAfterSnapshotOffset: number | undefined;
}

/** Loads and restores the snapshot; opens the log, or answers at once without one (read-only). */
function beginRecovery(
  options: RecoverOptions,
  seams: EngineSeams,
): RecoveryInProgress | Recovered {
  const started = performance.now();
  const fileSystem = seams.fileSystem ?? nodeFileSystem;
  const snapshotPath = join(options.dir, SNAPSHOT_FILE_NAME);
  const walPath = join(options.dir, WAL_FILE_NAME);

  const loaded = loadSnapshot(options.dir, options.maxSnapshotBytes, fileSystem);
  const db =
    loaded === undefined
      ? new AllocDb(options.config)
      : restoreSnapshot(snapshotPath, loaded, options.config);
  const snapshotLsn = loaded?.header.lastAppliedLsn ?? 0n;
  const snapshotSlot = loaded?.header.lastRequestSlot ?? 0n;
  const snapshot = loaded && { header: loaded.header, fileBytes: loaded.fileBytes };

  if (options.readOnly && !fileSystem.existsSync(walPath)) {
    return {
      db,
      wal: undefined,
      status: statusOf(loaded, 0, undefined, 0, started),
      snapshot,
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
  const guard = new ReplayGuard(walPath, snapshotLsn, snapshotSlot);
  const progress: RecoveryInProgress = {
    started,
    loaded,
    db,
    snapshot,
    snapshotLsn,
    walPath,
    wal,
    guard,
    firstFrameAfterSnapshotOffset: undefined,
    onFrame: (frame, offset) => {
      options.onFrame?.(frame, offset);
      if (guard.admit(frame, offset) !== 'apply') return;
      progress.firstFrameAfterSnapshotOffset ??= offset;
      replayOne(db, frame, offset, walPath);
      seams.faults?.at('during_replay');
    },
  };
  return progress;
}

/** After the scan: fail closed on corruption, cut a torn tail, make the replayed log durable. */
function finishRecovery(
  options: RecoverOptions,
  seams: EngineSeams,
  run: RecoveryInProgress,
  scan: WalFileScan,
): Recovered {
  const fileSystem = seams.fileSystem ?? nodeFileSystem;
  const { wal, walPath } = run;
  if (scan.stop.kind === 'corruption') {
    if (scan.stop.reason === 'bad_magic' && scan.stop.offset === 0)
      throw wrongEngine(walPath, 'log', fileSystem);
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
  const { guard } = run;
  return {
    db: run.db,
    wal,
    status: statusOf(run.loaded, guard.replayedFrames, guard.lastReplayedLsn, torn, run.started),
    snapshot: run.snapshot,
    snapshotLsn: run.snapshotLsn,
    firstFrameAfterSnapshotOffset: run.firstFrameAfterSnapshotOffset ?? scan.validUpTo,
    walStop: scan.stop,
    walFrames: scan.frameCount,
  };
}

/**
 * Recovers a data directory with `options.config`. Throws `RecoveryError` (fail closed) or, for
 * I/O failures, `WalIoError` / `SnapshotFileError`. On success the WAL is open for append right
 * after the last good frame (unless read-only). Synchronous: the command-line tools use it;
 * `open` uses `recoverAsync`.
 */
export function recover(options: RecoverOptions, seams: EngineSeams = {}): Recovered {
  const run = beginRecovery(options, seams);
  if (!('guard' in run)) return run;
  try {
    return finishRecovery(options, seams, run, run.wal.scan(run.onFrame, options.walRange));
  } catch (error) {
    run.wal.close();
    throw error;
  }
}

/**
 * `recover`, replaying the log in slices: after a scan chunk that ends more than
 * `REPLAY_SLICE_MS` after the last pause, it reports `onProgress` and yields to the event loop
 * (`setImmediate`), so that a long replay never blocks the process for long; `onProgress` is
 * also called once at the end (`done: true`). Same checks, same result, same errors.
 */
export async function recoverAsync(
  options: RecoverOptions,
  seams: EngineSeams = {},
  onProgress?: (progress: OpenProgress) => void,
): Promise<Recovered> {
  const run = beginRecovery(options, seams);
  if (!('guard' in run)) return run;
  const { guard } = run;
  const sliceMs = seams.replaySliceMs ?? REPLAY_SLICE_MS;
  let sliceStarted = performance.now();
  try {
    const scan = await run.wal.scanAsync(run.onFrame, (scanned, walBytes) => {
      if (performance.now() - sliceStarted < sliceMs) return undefined;
      onProgress?.({
        replayedFrames: guard.replayedFrames,
        walBytesScanned: scanned,
        walBytes,
        done: false,
      });
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          sliceStarted = performance.now();
          resolve();
        }),
      );
    });
    const recovered = finishRecovery(options, seams, run, scan);
    onProgress?.({
      replayedFrames: guard.replayedFrames,
      walBytesScanned: scan.fileLength,
      walBytes: scan.fileLength,
      done: true,
    });
    return recovered;
  } catch (error) {
    run.wal.close();
    throw error;
  }
}

/**
 * The checks that need no configuration, for a read-only look at a directory that recorded none
 * (written before configurations were recorded) when the operator gives none: the snapshot
 * file's framing and CRC, every WAL frame, LSN contiguity, slot order, markers, and that every
 * payload decodes.
 */
export function checkStructure(
  dir: string,
  maxCommandBytes: number,
  maxSnapshotBytes: number,
  onFrame?: (frame: WalFrame, offset: number) => void,
): {
  readonly snapshot: LoadedSnapshot | undefined;
  readonly walFrames: number;
  readonly walStop: ScanStop;
  readonly firstLsn: bigint | undefined;
} {
  const walPath = join(dir, WAL_FILE_NAME);
  const snapshot = loadSnapshot(dir, maxSnapshotBytes, nodeFileSystem);
  if (!nodeFileSystem.existsSync(walPath))
    return { snapshot, walFrames: 0, walStop: { kind: 'clean' }, firstLsn: undefined };
  const wal = WalFile.open(walPath, { maxPayloadBytes: maxCommandBytes, readOnly: true });
  try {
    const guard = new ReplayGuard(
      walPath,
      snapshot?.header.lastAppliedLsn ?? 0n,
      snapshot?.header.lastRequestSlot ?? 0n,
    );
    let firstLsn: bigint | undefined;
    const scan = wal.scan((frame, offset) => {
      onFrame?.(frame, offset);
      if (guard.admit(frame, offset) === 'marker') return;
      firstLsn ??= frame.lsn;
      try {
        decodeFramePayload(frame);
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
        throw wrongEngine(walPath, 'log', nodeFileSystem);
      throw new RecoveryError(
        'wal_corruption',
        walPath,
        `the log is damaged (${scan.stop.reason})`,
        {
          offset: scan.stop.offset,
        },
      );
    }
    return { snapshot, walFrames: scan.frameCount, walStop: scan.stop, firstLsn };
  } finally {
    wal.close();
  }
}
