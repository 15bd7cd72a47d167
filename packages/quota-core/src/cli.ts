/**
 * The `quota` command for operators: `inspect`, `verify` and `dump` a data directory, all
 * read-only. The tool itself is the runtime's `runDirectoryCli`; this file tells it about the
 * quota engine (its config's bigint fields, how to replay, how to show a frame).
 */
import { decodeClientRequest, decodeInternalCommand } from './codec/command-codec.js';
import type { QuotaConfig } from './config.js';
import { SNAPSHOT_SCHEMA_VERSION } from './constants.js';
import { decodeFramePayload, quotaRecoveryHooks } from './engine/recovery.js';
import { ConfigError } from './errors.js';
import { type CliIo, type DirectoryTool, runDirectoryCli } from './runtime/directory-cli.js';
import { inspectDirectory } from './runtime/inspect-directory.js';
import { RecordType } from './runtime/wal.js';
import type { QuotaDb } from './state-machine/quota-db.js';

export {
  type CliIo,
  EXIT_CLEAN,
  EXIT_CORRUPTION,
  EXIT_TORN_TAIL,
  EXIT_USAGE,
  toJson,
} from './runtime/directory-cli.js';

export const quotaTool: DirectoryTool<QuotaConfig> = {
  name: 'quota',
  configHelp: 'the quota config',
  bigintConfigFields: ['maxClientRetryWindowSlots'],
  isConfigError: (error) => error instanceof ConfigError,
  inspect: (dir, { config, ...options }) =>
    inspectDirectory(dir, {
      ...options,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
      decode: decodeFramePayload,
      replay:
        config === undefined
          ? undefined
          : { hooks: quotaRecoveryHooks(config), tables: (db: QuotaDb) => db.metrics() },
    }),
  describeFrame: (frame) => {
    if (frame.recordType === RecordType.snapshotMarker) return { record: 'snapshot_marker' };
    if (frame.recordType === RecordType.client)
      return { record: 'client', ...decodeClientRequest(frame.payload) };
    return { record: 'internal', command: decodeInternalCommand(frame.payload) };
  },
};

/** Runs the `quota` command line; returns the exit status. */
export function runCli(argv: readonly string[], io: CliIo): number {
  return runDirectoryCli(quotaTool, argv, io);
}
