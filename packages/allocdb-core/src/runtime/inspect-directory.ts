/**
 * Read-only examination of a data directory for an engine's command-line tool: never truncates,
 * never writes, never takes the lock.
 *
 * With the engine's config (its recovery hooks) it runs full recovery in memory: snapshot restore
 * with every validation, replay through the state machine with every check. Without one it checks
 * what needs no config (`checkDirectoryStructure`).
 *
 * Part of the copied runtime (see runtime.md): imports nothing outside Node built-ins and
 * `src/runtime/`.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkDirectoryStructure,
  type RecoveryHooks,
  type RecoveryStatus,
  recoverDirectory,
  WAL_FILE_NAME,
} from './recovery.js';
import { RecoveryError } from './replay-guard.js';
import type { SnapshotHeader } from './snapshot-file.js';
import type { ScanStop, WalFrame } from './wal.js';

export interface DirectoryReport<Tables> {
  readonly dir: string;
  readonly snapshot: (SnapshotHeader & { readonly bytes: number }) | undefined;
  readonly wal: {
    readonly bytes: number;
    readonly frames: number;
    readonly stop: ScanStop | undefined;
  };
  /** Present when the state machine replayed the log (a config was given) and recovery succeeded. */
  readonly recovery: RecoveryStatus | undefined;
  readonly tables: Tables | undefined;
  /** Why the directory would not open, if it would not. */
  readonly problem: RecoveryError | undefined;
  /** 0 clean, 1 torn tail that open would cut, 2 corruption or anything open would refuse. */
  readonly verdict: 0 | 1 | 2;
}

export interface InspectOptions<S, D, Tables> {
  readonly maxCommandBytes: number;
  readonly maxSnapshotBytes: number;
  readonly snapshotSchemaVersion: number;
  /** Decodes a frame's payload (throws on bad bytes): the structural check without a config. */
  readonly decode: (frame: WalFrame) => unknown;
  /** With the engine's config: recover through the state machine and report its tables. */
  readonly replay?: { readonly hooks: RecoveryHooks<S, D>; readonly tables: (state: S) => Tables };
  readonly onFrame?: (frame: WalFrame, offset: number) => void;
}

export function inspectDirectory<S, D, Tables>(
  dir: string,
  options: InspectOptions<S, D, Tables>,
): DirectoryReport<Tables> {
  const walPath = join(dir, WAL_FILE_NAME);
  const walBytes = existsSync(walPath) ? statSync(walPath).size : 0;
  const recoverOptions = { ...options, dir, readOnly: true };
  try {
    if (options.replay !== undefined) {
      const recovered = recoverDirectory(recoverOptions, options.replay.hooks);
      recovered.wal?.close();
      return report(dir, {
        wal: { bytes: walBytes, frames: recovered.walFrames, stop: recovered.walStop },
        recovery: recovered.status,
        tables: options.replay.tables(recovered.state),
        snapshot: recovered.snapshot && {
          ...recovered.snapshot.header,
          bytes: recovered.snapshot.fileBytes,
        },
      });
    }
    const checked = checkDirectoryStructure(recoverOptions, options.decode);
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

function report<Tables>(
  dir: string,
  parts: Partial<DirectoryReport<Tables>> & Pick<DirectoryReport<Tables>, 'wal'>,
): DirectoryReport<Tables> {
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
