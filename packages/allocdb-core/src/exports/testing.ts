/**
 * `allocdb-core/testing`: what test suites (this repository's reliability tier, or a user's own
 * fault-injection tests) need beyond the public API: opening an engine with an injected file
 * system and fault hooks, stopping one the way a killed process would, its state machine, and the
 * runtime's WAL and snapshot file codecs. Not for production use; it follows the package's
 * version but may change in a minor release.
 */
import { AllocDbEngine, type AllocDbEngineOpenOptions } from '../engine/engine.js';
import type { EngineSeams } from '../engine/recovery.js';
import type { AllocDb } from '../state-machine/alloc-db.js';

export {
  CONFIG_FILE_NAME,
  decodeRecordedConfig,
  encodeRecordedConfig,
  type RecordedConfig,
  SNAPSHOT_FILE_NAME,
  WAL_FILE_NAME,
} from '../engine/directory.js';
export type { FaultHooks, FaultPoint } from '../runtime/commit-pipeline.js';
export { encodeConfigFile, loadConfigFile } from '../runtime/config-file.js';
export { type FileSystem, nodeFileSystem } from '../runtime/file-system.js';
export {
  encodeSnapshotFile,
  loadSnapshotFile,
  SNAPSHOT_MAGIC,
  type SnapshotHeader,
} from '../runtime/snapshot-file.js';
export {
  encodeFrames,
  FrameScanner,
  RecordType,
  type ScanResult,
  type ScanStop,
  scanLog,
  WAL_MAGIC,
  type WalFrame,
} from '../runtime/wal.js';
export type { EngineSeams };

/** Opens an engine whose file system and fault points the test controls. */
export function openEngineForTesting(
  options: AllocDbEngineOpenOptions,
  seams: EngineSeams,
): Promise<AllocDbEngine> {
  return AllocDbEngine.openWithSeams(options, seams);
}

/** Stops `engine` as a killed process would: no drain, no fsync; the lock is released. */
export function simulateCrash(engine: AllocDbEngine): void {
  engine.crashForTesting();
}

/** The engine's state machine (to compare snapshots, read watermarks). */
export function stateMachineOf(engine: AllocDbEngine): AllocDb {
  return engine.stateMachine;
}
