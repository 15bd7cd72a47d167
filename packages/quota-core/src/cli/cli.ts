/**
 * The `quota` command for operators: `inspect`, `verify` and `dump` a data directory, all
 * read-only (docs/engine.md, "The command-line tool"). Every failure is one line on stderr that
 * says what is wrong and what to do, with a documented exit status.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../config.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES } from '../constants.js';
import { decodeFramePayload } from '../engine/recovery.js';
import {
  ConfigError,
  ConfigFileError,
  ConfigMismatchError,
  DataDirectoryError,
  SnapshotFileError,
  WalIoError,
} from '../errors.js';
import { RecordType, type WalFrame } from '../runtime/wal.js';
import { readConfigFile } from './config-file.js';
import { type DirectoryReport, inspectDirectory } from './inspect.js';
import { runServe } from './serve.js';
import { runUnlock } from './unlock.js';
import { type CliIo, UsageError } from './usage.js';

export type { CliIo };

/** Clean: nothing to cut, nothing damaged. */
export const EXIT_CLEAN = 0;
/** A torn final write that opening the directory would cut. */
export const EXIT_TORN_TAIL = 1;
/** Damage (or a foreign file) that opening the directory would refuse. */
export const EXIT_CORRUPTION = 2;
/** Bad arguments, or a `--config` that is not a valid configuration. */
export const EXIT_USAGE = 3;
/** The path is missing, not a directory, or holds no quota data. */
export const EXIT_NOT_A_DATA_DIRECTORY = 4;
/** A file could not be read (permissions, a directory where a file should be, …). */
export const EXIT_IO_ERROR = 5;
/** `--config` disagrees with the configuration the directory recorded. */
export const EXIT_CONFIG_MISMATCH = 6;
/** A bug in this tool. */
export const EXIT_INTERNAL = 70;

const NAME = 'quota';
const HELP_POINTER = `run '${NAME} --help' for usage`;

export function usage(): string {
  return `usage: ${NAME} <command> <dir> [options]

commands (read-only: they never create, truncate, write or lock anything):
  inspect <dir>   recorded configuration, snapshot, WAL, recovery status and table use
  verify <dir>    full check, with the exit status below
  dump <dir>      one JSON line per WAL frame (offset, lsn, slot, decoded command)

and two that write:
  serve --dir <dir> [--port 7471] [--host 127.0.0.1]
                  the quota engine as an HTTP service ('${NAME} serve --help'; docs/serve.md)
  unlock --dir <dir>
                  clears a lock whose engine is gone but cannot be proven gone from here
                  (another container or host); 'quota unlock --help'

The directory records the configuration it was written with; recovery runs with it.

options:
  --config <file>            the quota configuration as JSON, whole or in part (as
                             resolveConfig takes it; bigint fields as strings or integers).
                             Needed only for a directory written before configurations were
                             recorded; otherwise it must agree with the recorded one.
  --max-command-bytes <n>    the log's largest frame payload, for a directory that recorded no
                             configuration (default 65536)
  --max-snapshot-bytes <n>   largest snapshot read (default ${DEFAULT_MAX_SNAPSHOT_BYTES})
  --json                     inspect and verify print one JSON object
  -v, -V, --version          the version of quota-core
  -h, --help                 this text

exit status:
  0  clean
  1  a torn final write that opening the directory would cut (verify leaves it in place)
  2  damaged: opening the directory would refuse it (the problem line names file and offset)
  3  usage error, or a --config that is not a valid configuration
  4  not a data directory (missing, a file, or holding no quota files)
  5  a file could not be read (permissions, a directory where a file should be)
  6  --config disagrees with the directory's recorded configuration
`;
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
}

function version(): string {
  const path = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${flag} must be a positive integer, got ${text}`);
  return value;
}

function dumpLine(frame: WalFrame, offset: number): string {
  const base = { offset, lsn: frame.lsn, requestSlot: frame.requestSlot };
  if (frame.recordType === RecordType.snapshotMarker)
    return toJson({ ...base, record: 'snapshot_marker' });
  try {
    const decoded = decodeFramePayload(frame);
    return toJson(
      decoded.kind === 'client'
        ? { ...base, record: 'client', ...decoded.request }
        : { ...base, record: 'internal', command: decoded.command },
    );
  } catch (error) {
    return toJson({
      ...base,
      record: 'undecodable',
      error: (error as Error).message,
      payloadBytes: frame.payload.length,
    });
  }
}

function describeStop(stop: DirectoryReport['wal']['stop']): string {
  if (stop === undefined) return 'not scanned';
  if (stop.kind === 'clean') return 'clean';
  if (stop.kind === 'torn_tail') return `torn tail at offset ${stop.offset}`;
  return `corruption (${stop.reason}) at offset ${stop.offset}`;
}

function describeConfiguration(report: DirectoryReport): string {
  const { source, config, maxCommandBytes, slotDurationMs } = report.configuration;
  if (config === undefined) {
    return report.problem?.code === 'config_invalid' || report.problem?.code === 'wrong_engine'
      ? 'configuration: unreadable (see the problem below)'
      : 'configuration: not recorded (written before configurations were recorded); pass --config to replay through the state machine';
  }
  const fields = Object.entries(config)
    .map(([field, value]) => `${field} ${String(value)}`)
    .join(', ');
  const origin = source === 'recorded' ? 'recorded' : 'from --config (the directory recorded none)';
  return `configuration: ${origin}: ${fields}, maxCommandBytes ${maxCommandBytes}, slotDurationMs ${slotDurationMs}`;
}

function printReport(report: DirectoryReport, io: CliIo, json: boolean): void {
  if (json) {
    const { problem, ...rest } = report;
    const named = problem && {
      code: problem.code,
      path: problem.path,
      offset: problem.offset,
      lsn: problem.lsn,
      message: problem.message,
    };
    io.stdout(toJson({ ...rest, problem: named }));
    return;
  }
  const lines = [`directory: ${report.dir}`, describeConfiguration(report)];
  const snapshot = report.snapshot;
  if (snapshot === undefined) {
    lines.push(
      report.problem === undefined
        ? 'snapshot: none'
        : 'snapshot: not read (see the problem below)',
    );
  } else if (snapshot.state === 'damaged') {
    lines.push(`snapshot: damaged; fix: ${snapshot.fix}`);
  } else {
    lines.push(
      `snapshot: lsn ${snapshot.lastAppliedLsn}, slot ${snapshot.lastRequestSlot}, ${snapshot.bytes} bytes`,
    );
  }
  lines.push(
    `wal: ${report.wal.bytes} bytes, ${report.wal.frames} frames, ${describeStop(report.wal.stop)}`,
  );
  if (report.recovery !== undefined) {
    const r = report.recovery;
    const last = r.lastReplayedLsn ?? r.loadedSnapshotLsn ?? 'none';
    lines.push(`recovery: ${r.startupKind}, replayed ${r.replayedFrames} frames, last lsn ${last}`);
  }
  if (report.tables !== undefined) {
    for (const [name, value] of Object.entries(report.tables)) {
      if (typeof value === 'object' && value !== null && 'used' in value && 'capacity' in value) {
        lines.push(`  ${name}: ${String(value.used)} / ${String(value.capacity)}`);
      }
    }
  }
  if (report.problem !== undefined) lines.push(`problem: ${report.problem.message}`);
  const verdicts = [
    'clean',
    'torn tail (opening would cut it)',
    'damaged (opening would refuse it)',
  ];
  lines.push(`verdict: ${verdicts[report.verdict]}`);
  for (const line of lines) io.stdout(line);
}

/** The exit status and one line for an error that ends the command. */
function failure(error: unknown): { status: number; line: string } {
  if (error instanceof UsageError)
    return { status: EXIT_USAGE, line: `${error.message} (${HELP_POINTER})` };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    return { status: EXIT_USAGE, line: `${(error as Error).message} (${HELP_POINTER})` };
  }
  if (error instanceof ConfigError) {
    return { status: EXIT_USAGE, line: `--config: ${error.message}` };
  }
  if (error instanceof ConfigMismatchError) {
    return {
      status: EXIT_CONFIG_MISMATCH,
      line: `--config disagrees with the directory's recorded configuration: ${error.differences
        .map((d) => `${d.field} recorded ${d.recorded}, --config ${d.requested}`)
        .join(
          '; ',
        )}. Drop --config: the recorded configuration is the one the directory was written with`,
    };
  }
  if (error instanceof DataDirectoryError) {
    return {
      status: error.code === 'unusable' ? EXIT_IO_ERROR : EXIT_NOT_A_DATA_DIRECTORY,
      line: error.message,
    };
  }
  if (
    error instanceof WalIoError ||
    (error instanceof SnapshotFileError && error.reason === 'io') ||
    (error instanceof ConfigFileError && error.reason === 'io')
  ) {
    return {
      status: EXIT_IO_ERROR,
      line: `${error.message}. Check that the file is readable by this user and is a regular file`,
    };
  }
  return {
    status: EXIT_INTERNAL,
    line: `internal error (please report it): ${(error as Error)?.stack ?? String(error)}`,
  };
}

/** Runs the command line; returns the exit status. */
export function runCli(argv: readonly string[], io: CliIo): number {
  try {
    const { values, positionals } = parseArgs({
      // -v as well as -V: what most tools take for the version.
      args: argv.map((arg) => (arg === '-v' ? '--version' : arg)),
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        'max-command-bytes': { type: 'string' },
        'max-snapshot-bytes': { type: 'string' },
        json: { type: 'boolean', default: false },
        version: { type: 'boolean', short: 'V', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout(usage());
      return EXIT_CLEAN;
    }
    if (values.version) {
      io.stdout(version());
      return EXIT_CLEAN;
    }
    const [command, dir, ...extra] = positionals;
    if (command === undefined)
      throw new UsageError('a command is needed: inspect, verify, dump, serve or unlock');
    if (!['inspect', 'verify', 'dump'].includes(command))
      throw new UsageError(
        `unknown command '${command}' (the commands are inspect, verify, dump, serve and unlock)`,
      );
    if (dir === undefined)
      throw new UsageError(`${command} needs the data directory: ${NAME} ${command} <dir>`);
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const config = values.config === undefined ? undefined : readConfigFile(values.config);
    // A bad --config is a usage error whatever the directory holds: check it first.
    if (config !== undefined) resolveConfig(config);
    const maxCommandBytes = positiveInteger(values['max-command-bytes'], '--max-command-bytes');
    const requested =
      config === undefined && maxCommandBytes === undefined
        ? undefined
        : { config: config ?? {}, maxCommandBytes, slotDurationMs: undefined };
    const maxSnapshotBytes =
      positiveInteger(values['max-snapshot-bytes'], '--max-snapshot-bytes') ??
      DEFAULT_MAX_SNAPSHOT_BYTES;
    if (command === 'dump') {
      const report = inspectDirectory(dir, {
        requested,
        maxSnapshotBytes,
        structureOnly: true,
        onFrame: (frame, offset) => io.stdout(dumpLine(frame, offset)),
      });
      if (report.problem !== undefined) io.stderr(`${NAME}: ${report.problem.message}`);
      else if (report.wal.stop?.kind === 'torn_tail')
        io.stderr(
          `${NAME}: torn tail at offset ${report.wal.stop.offset} (opening the directory would cut it)`,
        );
      return report.verdict;
    }
    const report = inspectDirectory(dir, { requested, maxSnapshotBytes });
    printReport(report, io, values.json);
    return report.verdict;
  } catch (error) {
    const { status, line } = failure(error);
    io.stderr(`${NAME}: ${line}`);
    return status;
  }
}

/** Runs the command line: `serve` settles when the server stops; the other commands at once. */
export function runMain(argv: readonly string[], io: CliIo): number | Promise<number> {
  if (argv[0] === 'serve') return runServe(argv.slice(1), io);
  if (argv[0] === 'unlock') return runUnlock(argv.slice(1), io);
  return runCli(argv, io);
}
