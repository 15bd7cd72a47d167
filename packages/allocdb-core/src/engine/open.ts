/**
 * Opening a data directory (docs/engine.md, "The recorded configuration", "Open = recover"):
 * check the options, create the directory if missing, take its lock, settle the configuration
 * against the recorded one, recover, and grow capacities at a snapshot boundary when asked.
 * What it returns is everything the engine's constructor needs; on any failure the log is
 * closed and the lock released before the error is thrown.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
import { ConfigMismatchError, DataDirectoryError } from '../errors.js';
import { nodeFileSystem } from '../runtime/file-system.js';
import { acquireDirectoryLock, type DirectoryLock } from '../runtime/lock-file.js';
import { writeSnapshotFile } from '../runtime/snapshot-file.js';
import type { WalFile } from '../runtime/wal-file.js';
import { encodeSnapshotBody } from '../snapshot/body-codec.js';
import { AllocDb } from '../state-machine/alloc-db.js';
import { type CheckpointEvent, markerFrame } from './checkpoints.js';
import {
  type DirectoryKind,
  examineDirectory,
  grownConfig,
  holdsUnrecordedData,
  loadRecordedConfig,
  type RecordedConfig,
  type RequestedConfig,
  SNAPSHOT_FILE_NAME,
  settleConfig,
  writeRecordedConfig,
} from './directory.js';
import {
  type AllocDbEngineOpenOptions,
  checkOpenOptions,
  type ResolvedEngineOptions,
  resolveEngineOptions,
  wallClock,
} from './options.js';
import {
  configFileProblem,
  type EngineSeams,
  type RecoveryStatus,
  recoverAsync,
} from './recovery.js';

/** Everything open hands the engine's constructor. */
export interface Opened {
  readonly dir: string;
  readonly recorded: RecordedConfig;
  readonly options: ResolvedEngineOptions & { readonly maxCommandBytes: number };
  readonly clock: () => bigint;
  readonly seams: EngineSeams;
  readonly lock: DirectoryLock;
  readonly db: AllocDb;
  readonly wal: WalFile;
  readonly status: RecoveryStatus;
  readonly snapshotLsn: bigint;
  readonly firstFrameAfterSnapshotOffset: number;
  readonly onCheckpoint: ((event: CheckpointEvent) => void) | undefined;
}

/** Opens `options.dir` for an engine: lock, recorded configuration, recovery, growth. */
export async function openDirectory(
  options: AllocDbEngineOpenOptions,
  seams: EngineSeams,
): Promise<Opened> {
  const { dir, config, engine, clock, allowCapacityGrowth, onProgress, onCheckpoint } =
    checkOpenOptions(options);
  const resolved = resolveEngineOptions(engine);
  const requested: RequestedConfig = {
    config: config ?? {},
    maxCommandBytes: resolved.maxCommandBytes,
    slotDurationMs: resolved.slotDurationMs,
  };
  const kind = examineDirectory(dir);
  // A directory is created only for a configuration it can record: a bad one (ConfigError) is
  // refused before anything exists on disk.
  if (kind.kind === 'missing') settleConfig(undefined, requested);
  ensureDirectory(dir, kind);
  const fileSystem = seams.fileSystem;
  const lock = acquireDirectoryLock(dir, { unlockCommand: `allocdb unlock --dir ${dir}` });
  let wal: WalFile | undefined;
  try {
    let recorded: RecordedConfig | undefined;
    try {
      recorded = loadRecordedConfig(dir, fileSystem);
    } catch (error) {
      throw configFileProblem(dir, error, fileSystem ?? nodeFileSystem);
    }
    const { effective, differences } = settleConfig(recorded, requested);
    const growing = differences.length > 0;
    if (growing && !(allowCapacityGrowth === true && differences.every((d) => d.growth))) {
      throw new ConfigMismatchError(dir, differences, allowCapacityGrowth === true);
    }
    const fresh = recorded === undefined && !holdsUnrecordedData(kind);
    // A new directory records its configuration before anything else is written.
    if (fresh) writeRecordedConfig(dir, effective, fileSystem);
    const recovered = await recoverAsync(
      {
        dir,
        config: effective.config,
        maxCommandBytes: effective.maxCommandBytes,
        maxSnapshotBytes: resolved.maxSnapshotBytes,
      },
      seams,
      onProgress,
    );
    wal = recovered.wal!;
    let { db } = recovered;
    let snapshotLsn = recovered.snapshotLsn;
    let firstFrameAfterSnapshotOffset = recovered.firstFrameAfterSnapshotOffset;
    let settled = effective;
    if (growing && recorded !== undefined) {
      settled = grownConfig(recorded, requested);
      db = growAtSnapshot(dir, wal, db, settled, resolved.maxSnapshotBytes, seams);
      snapshotLsn = db.lastAppliedLsn ?? 0n;
      firstFrameAfterSnapshotOffset = wal.length;
    } else if (recorded === undefined && !fresh) {
      // Written before configurations were recorded: record the one it opened with.
      writeRecordedConfig(dir, effective, fileSystem);
    }
    return {
      dir,
      recorded: settled,
      options: {
        ...resolved,
        maxCommandBytes: settled.maxCommandBytes,
        slotDurationMs: settled.slotDurationMs,
      },
      clock: clock ?? wallClock(settled.slotDurationMs),
      seams,
      lock,
      db,
      wal,
      status: recovered.status,
      snapshotLsn,
      firstFrameAfterSnapshotOffset,
      onCheckpoint,
    };
  } catch (error) {
    wal?.close();
    lock.release();
    throw error;
  }
}

/** Creates `dir` when missing; a file is refused. */
function ensureDirectory(dir: string, kind: DirectoryKind): void {
  if (kind.kind === 'not_a_directory') {
    throw new DataDirectoryError(
      'not_a_directory',
      dir,
      'is a file, not a data directory; give a directory path (it is created if missing)',
    );
  }
  if (kind.kind === 'missing') {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new DataDirectoryError(
        'unusable',
        dir,
        `cannot be created (${(error as Error).message}); check the path and its permissions`,
        error,
      );
    }
  }
}

/**
 * Grows capacities at a snapshot boundary: everything replayed so far stays answered as it was
 * under the recorded capacities; only later commands see the larger ones. Writes the snapshot of
 * `db` (temp, fdatasync, rename, directory fsync), rewrites the log to keep no frame but the
 * snapshot's marker (a log that still started at LSN 1 would replay under the grown capacities
 * if the snapshot were lost, and answer differently than it did), then records the grown
 * configuration. A crash between the steps leaves the old configuration with a valid snapshot,
 * or the new one. Returns the state under the grown configuration.
 */
function growAtSnapshot(
  dir: string,
  wal: WalFile,
  db: AllocDb,
  grown: RecordedConfig,
  maxSnapshotBytes: number,
  seams: EngineSeams,
): AllocDb {
  const lastAppliedLsn = db.lastAppliedLsn ?? 0n;
  const lastRequestSlot = db.lastRequestSlot ?? 0n;
  const body = encodeSnapshotBody(db.snapshot());
  writeSnapshotFile(
    join(dir, SNAPSHOT_FILE_NAME),
    { schemaVersion: SNAPSHOT_SCHEMA_VERSION, lastAppliedLsn, lastRequestSlot },
    body,
    { maxSnapshotBytes, fileSystem: seams.fileSystem },
  );
  seams.faults?.at('after_snapshot_write');
  wal.replaceWithTail(wal.length, [markerFrame(lastAppliedLsn, lastRequestSlot)]);
  writeRecordedConfig(dir, grown, seams.fileSystem);
  return AllocDb.fromSnapshotBody(grown.config, body);
}
