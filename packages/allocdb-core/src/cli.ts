/**
 * The `allocdb` command for operators: `inspect`, `verify` and `dump` a data directory, all
 * read-only. The tool itself is the runtime's `runDirectoryCli`; this file tells it about the
 * allocator (its config's bigint fields, how to replay, how to show a frame).
 */
import { decodeClientRequest, decodeInternalCommand } from './codec/command-codec.js';
import type { AllocDbConfig } from './config.js';
import { SNAPSHOT_SCHEMA_VERSION } from './constants.js';
import { allocDbRecoveryHooks, decodeFramePayload } from './engine/recovery.js';
import { ConfigError } from './errors.js';
import { type CliIo, type DirectoryTool, runDirectoryCli } from './runtime/directory-cli.js';
import { inspectDirectory } from './runtime/inspect-directory.js';
import { RecordType } from './runtime/wal.js';
import type { AllocDb } from './state-machine/alloc-db.js';

export {
  type CliIo,
  EXIT_CLEAN,
  EXIT_CORRUPTION,
  EXIT_TORN_TAIL,
  EXIT_USAGE,
  toJson,
} from './runtime/directory-cli.js';

export const allocdbTool: DirectoryTool<AllocDbConfig> = {
  name: 'allocdb',
  configHelp: "the allocator's config",
  bigintConfigFields: [
    'shardId',
    'maxTtlSlots',
    'maxClientRetryWindowSlots',
    'reservationHistoryWindowSlots',
  ],
  isConfigError: (error) => error instanceof ConfigError,
  inspect: (dir, { config, ...options }) =>
    inspectDirectory(dir, {
      ...options,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
      decode: decodeFramePayload,
      replay:
        config === undefined
          ? undefined
          : { hooks: allocDbRecoveryHooks(config), tables: (db: AllocDb) => db.metrics() },
    }),
  describeFrame: (frame) => {
    if (frame.recordType === RecordType.snapshotMarker) return { record: 'snapshot_marker' };
    if (frame.recordType === RecordType.client)
      return { record: 'client', ...decodeClientRequest(frame.payload) };
    return { record: 'internal', command: decodeInternalCommand(frame.payload) };
  },
};

/** Runs the `allocdb` command line; returns the exit status. */
export function runCli(argv: readonly string[], io: CliIo): number {
  return runDirectoryCli(allocdbTool, argv, io);
}
