/**
 * Read-only examination of a data directory for the `quota` command: never truncates, never
 * writes, never takes the lock.
 *
 * With the quota config it runs full recovery in memory (snapshot restore with every
 * validation, replay through the state machine with every check). Without one it checks what
 * needs no config (`checkDirectoryStructure`).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { QuotaConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
import {
  checkDirectoryStructure,
  type RecoveryStatus,
  recoverDirectory,
  WAL_FILE_NAME,
} from '../runtime/recovery.js';
import { RecoveryError } from '../runtime/replay-guard.js';
import type { SnapshotHeader } from '../runtime/snapshot-file.js';
import type { ScanStop, WalFrame } from '../runtime/wal.js';
import type { QuotaDbMetrics } from '../types.js';
import { decodeFramePayload, quotaRecoveryHooks } from './recovery.js';

export interface DirectoryReport {
  readonly dir: string;
  readonly snapshot: (SnapshotHeader & { readonly bytes: number }) | undefined;
  readonly wal: {
    readonly bytes: number;
    readonly frames: number;
    readonly stop: ScanStop | undefined;
  };
  /** Present when a config was given and recovery succeeded. */
  readonly recovery: RecoveryStatus | undefined;
  readonly tables: QuotaDbMetrics | undefined;
  /** Why the directory would not open, if it would not. */
  readonly problem: RecoveryError | undefined;
  /** 0 clean, 1 torn tail that open would cut, 2 corruption or anything open would refuse. */
  readonly verdict: 0 | 1 | 2;
}

export interface InspectOptions {
  readonly config?: QuotaConfig;
  readonly maxCommandBytes: number;
  readonly maxSnapshotBytes: number;
  readonly onFrame?: (frame: WalFrame, offset: number) => void;
}

export function inspectDirectory(dir: string, options: InspectOptions): DirectoryReport {
  const walPath = join(dir, WAL_FILE_NAME);
  const walBytes = existsSync(walPath) ? statSync(walPath).size : 0;
  const recoverOptions = {
    ...options,
    dir,
    snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
    readOnly: true,
  };
  try {
    if (options.config !== undefined) {
      const recovered = recoverDirectory(recoverOptions, quotaRecoveryHooks(options.config));
      recovered.wal?.close();
      return report(dir, {
        wal: { bytes: walBytes, frames: recovered.walFrames, stop: recovered.walStop },
        recovery: recovered.status,
        tables: recovered.state.metrics(),
        snapshot: recovered.snapshot && {
          ...recovered.snapshot.header,
          bytes: recovered.snapshot.fileBytes,
        },
      });
    }
    const checked = checkDirectoryStructure(recoverOptions, decodeFramePayload);
    return report(dir, {
      wal: { bytes: walBytes, frames: checked.walFrames, stop: checked.walStop },
      snapshot: checked.snapshot && {
        ...checked.snapshot.header,
        bytes: checked.snapshot.fileBytes,
      },
    });
  } catch (error) {
    if (!(error instanceof RecoveryError)) throw error;
    return report(dir, { wal: { bytes: walBytes, frames: 0, stop: undefined }, problem: error });
  }
}

function report(
  dir: string,
  parts: Partial<DirectoryReport> & Pick<DirectoryReport, 'wal'>,
): DirectoryReport {
  const problem = parts.problem;
  const verdict = problem !== undefined ? 2 : parts.wal.stop?.kind === 'torn_tail' ? 1 : 0;
  return {
    dir,
    snapshot: parts.snapshot,
    wal: parts.wal,
    recovery: parts.recovery,
    tables: parts.tables,
    problem,
    verdict,
  };
}
