/**
 * The read-only look at a data directory behind `allocdb inspect`, `verify` and `dump`: it never
 * creates, truncates, writes or locks anything.
 *
 * The directory's recorded configuration is what recovery runs with; a configuration given by
 * the operator is only needed for a directory written before configurations were recorded, and
 * must agree with a recorded one. With a configuration, the snapshot is restored and the log
 * replayed through the state machine with every check open makes; without one, everything that
 * needs none is checked (framing, CRCs, LSN order, markers, that every payload decodes).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { AllocDbConfig } from '../config.js';
import { DEFAULT_MAX_COMMAND_BYTES } from '../constants.js';
import {
  examineDirectory,
  loadRecordedConfig,
  type RecordedConfig,
  type RequestedConfig,
  SNAPSHOT_FILE_NAME,
  settleConfig,
  WAL_FILE_NAME,
} from '../engine/directory.js';
import {
  checkStructure,
  configFileProblem,
  type RecoveryStatus,
  recover,
} from '../engine/recovery.js';
import { ConfigMismatchError, DataDirectoryError, RecoveryError } from '../errors.js';
import { nodeFileSystem } from '../runtime/file-system.js';
import type { ScanStop, WalFrame } from '../runtime/wal.js';
import { WalFile } from '../runtime/wal-file.js';
import type { AllocDbMetrics } from '../types.js';

/** Where the configuration the report used came from. */
export type ConfigurationSource = 'recorded' | 'option' | 'none';

export interface SnapshotReport {
  readonly state: 'valid' | 'damaged';
  readonly lastAppliedLsn?: bigint;
  readonly lastRequestSlot?: bigint;
  readonly bytes?: number;
  /** For a damaged snapshot: what to do about it. */
  readonly fix?: string;
}

export interface DirectoryReport {
  readonly dir: string;
  readonly configuration: {
    readonly source: ConfigurationSource;
    readonly config?: AllocDbConfig;
    readonly maxCommandBytes?: number;
    readonly slotDurationMs?: number;
  };
  readonly snapshot: SnapshotReport | undefined;
  readonly wal: {
    readonly bytes: number;
    readonly frames: number;
    readonly stop: ScanStop | undefined;
  };
  /** Present when the state machine replayed the log and recovery succeeded. */
  readonly recovery: RecoveryStatus | undefined;
  readonly tables: AllocDbMetrics | undefined;
  /** Why the directory would not open, if it would not. */
  readonly problem: RecoveryError | undefined;
  /** 0 clean, 1 torn tail that open would cut, 2 damaged: anything open would refuse. */
  readonly verdict: 0 | 1 | 2;
}

export interface InspectOptions {
  /** The operator's configuration (`--config`), partial like `resolveConfig`'s argument. */
  readonly requested?: RequestedConfig;
  readonly maxSnapshotBytes: number;
  readonly onFrame?: (frame: WalFrame, offset: number) => void;
  /** `dump`: check the structure only, never replay through the state machine. */
  readonly structureOnly?: boolean;
}

/**
 * Examines `dir`. Throws `DataDirectoryError` when it is not a data directory,
 * `ConfigMismatchError` when `requested` disagrees with the recorded configuration, `ConfigError`
 * for an invalid requested one, and I/O errors (`WalIoError`, …) as they come.
 */
export function inspectDirectory(dir: string, options: InspectOptions): DirectoryReport {
  const kind = examineDirectory(dir);
  if (kind.kind === 'missing') {
    throw new DataDirectoryError(
      'not_found',
      dir,
      'does not exist; give the path of an allocdb data directory',
    );
  }
  if (kind.kind === 'not_a_directory') {
    throw new DataDirectoryError(
      'not_a_directory',
      dir,
      'is a file, not an allocdb data directory',
    );
  }
  if (!kind.files.wal && !kind.files.snapshot && !kind.files.config) {
    throw new DataDirectoryError(
      'not_a_data_directory',
      dir,
      'holds no allocdb data (no wal, snapshot or config file); give the directory the engine was opened on',
    );
  }
  const walPath = join(dir, WAL_FILE_NAME);
  const bytes = kind.files.wal ? fileSize(walPath) : 0;
  const empty = { bytes, frames: 0, stop: undefined };

  let recorded: RecordedConfig | undefined;
  try {
    recorded = loadRecordedConfig(dir);
  } catch (error) {
    const problem = configFileProblem(dir, error, nodeFileSystem);
    return report(dir, { configuration: { source: 'none' }, wal: empty, problem });
  }
  let effective: RecordedConfig | undefined = recorded;
  let source: ConfigurationSource = recorded === undefined ? 'none' : 'recorded';
  if (options.requested !== undefined) {
    const settled = settleConfig(recorded, options.requested);
    if (settled.differences.length > 0)
      throw new ConfigMismatchError(dir, settled.differences, false);
    if (recorded === undefined) {
      effective = settled.effective;
      source = 'option';
    }
  }
  const configuration = {
    source,
    config: effective?.config,
    maxCommandBytes: effective?.maxCommandBytes,
    slotDurationMs: effective?.slotDurationMs,
  };
  const maxCommandBytes = effective?.maxCommandBytes ?? DEFAULT_MAX_COMMAND_BYTES;
  try {
    if (effective !== undefined && options.structureOnly !== true) {
      const recovered = recover({
        dir,
        config: effective.config,
        maxCommandBytes,
        maxSnapshotBytes: options.maxSnapshotBytes,
        readOnly: true,
        onFrame: options.onFrame,
      });
      recovered.wal?.close();
      return report(dir, {
        configuration,
        wal: { bytes, frames: recovered.walFrames, stop: recovered.walStop },
        recovery: recovered.status,
        tables: recovered.db.metrics(),
        snapshot: recovered.snapshot && {
          state: 'valid',
          ...recovered.snapshot.header,
          bytes: recovered.snapshot.fileBytes,
        },
      });
    }
    const checked = checkStructure(dir, maxCommandBytes, options.maxSnapshotBytes, options.onFrame);
    return report(dir, {
      configuration,
      wal: { bytes, frames: checked.walFrames, stop: checked.walStop },
      snapshot: checked.snapshot && {
        state: 'valid',
        ...checked.snapshot.header,
        bytes: checked.snapshot.fileBytes,
      },
    });
  } catch (error) {
    if (!(error instanceof RecoveryError)) throw error;
    const snapshotDamaged =
      error.path === join(dir, SNAPSHOT_FILE_NAME) &&
      (error.code === 'snapshot_invalid' || error.code === 'snapshot_mismatch');
    return report(dir, {
      configuration,
      wal: empty,
      problem: error,
      snapshot: snapshotDamaged
        ? { state: 'damaged', fix: snapshotFix(dir, maxCommandBytes) }
        : undefined,
    });
  }
}

/** The size of a regular file (0 for anything else: scanning it reports the problem). */
function fileSize(path: string): number {
  const stats = statSync(path);
  return stats.isFile() ? stats.size : 0;
}

/**
 * What to do about a damaged snapshot: if the log still holds the whole history (it starts at
 * LSN 1), opening replays it without the snapshot; otherwise only a backup has what is missing.
 */
function snapshotFix(dir: string, maxCommandBytes: number): string {
  const snapshotPath = join(dir, SNAPSHOT_FILE_NAME);
  const walPath = join(dir, WAL_FILE_NAME);
  let first: bigint | undefined;
  let clean = false;
  if (nodeFileSystem.existsSync(walPath)) {
    const wal = WalFile.open(walPath, { maxPayloadBytes: maxCommandBytes, readOnly: true });
    try {
      const scan = wal.scan((frame) => {
        if (frame.recordType !== 3) first ??= frame.lsn;
      });
      clean = scan.stop.kind !== 'corruption';
    } finally {
      wal.close();
    }
  }
  if (clean && first === 1n) {
    return `the log still holds the whole history from lsn 1: move the snapshot aside (mv ${snapshotPath} ${snapshotPath}.damaged) and open the directory, which replays the log`;
  }
  return `the log no longer holds the history the snapshot covered${first === undefined ? '' : ` (it starts at lsn ${first})`}: restore the directory from a backup`;
}

function report(
  dir: string,
  parts: Partial<DirectoryReport> & Pick<DirectoryReport, 'wal' | 'configuration'>,
): DirectoryReport {
  const problem = parts.problem;
  const verdict = problem !== undefined ? 2 : parts.wal.stop?.kind === 'torn_tail' ? 1 : 0;
  return {
    dir,
    configuration: parts.configuration,
    snapshot: parts.snapshot,
    wal: parts.wal,
    recovery: parts.recovery,
    tables: parts.tables,
    problem,
    verdict,
  };
}
