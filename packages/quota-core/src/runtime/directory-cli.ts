/**
 * An engine's command-line tool for operators: `inspect`, `verify` and `dump` a data directory,
 * all read-only (engine.md, "Command-line tool"). The engine supplies its name, how to read its
 * config and how to look at its directory and frames.
 *
 * Exit status: 0 clean; 1 a torn tail that opening would cut; 2 corruption or anything else
 * opening would refuse; 3 bad usage or an unreadable config file.
 *
 * Part of the copied runtime (see runtime.md): imports nothing outside Node built-ins and
 * `src/runtime/`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_COMMAND_BYTES, DEFAULT_MAX_SNAPSHOT_BYTES } from './engine-options.js';
import type { DirectoryReport } from './inspect-directory.js';
import type { WalFrame } from './wal.js';

export const EXIT_CLEAN = 0;
export const EXIT_TORN_TAIL = 1;
export const EXIT_CORRUPTION = 2;
export const EXIT_USAGE = 3;

export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

export interface DirectoryToolOptions<Config> {
  readonly config: Config | undefined;
  readonly maxCommandBytes: number;
  readonly maxSnapshotBytes: number;
  readonly onFrame?: (frame: WalFrame, offset: number) => void;
}

/** What an engine tells the tool about itself. */
export interface DirectoryTool<Config> {
  /** The command's name (`allocdb`, `quota`). */
  readonly name: string;
  /** Says what `--config` holds, for the usage text. */
  readonly configHelp: string;
  /** Config fields that are bigints (written in JSON as strings or integers). */
  readonly bigintConfigFields: readonly string[];
  /** Whether an error is the engine's invalid-config error (reported as bad usage). */
  isConfigError(error: unknown): boolean;
  inspect(dir: string, options: DirectoryToolOptions<Config>): DirectoryReport<object>;
  /** A frame's decoded contents (throws on bad bytes) for `dump`. */
  describeFrame(frame: WalFrame): Record<string, unknown>;
}

class UsageError extends Error {}

export function usage(tool: DirectoryTool<unknown>): string {
  return `usage: ${tool.name} <command> <dir> [options]

commands (all read-only: they never truncate, write or lock):
  inspect <dir>   recovery status, snapshot LSN, WAL length and frame count, table use
  verify <dir>    full check; exit 0 clean, 1 torn tail that open would cut, 2 corruption
  dump <dir>      one JSON line per WAL frame (offset, lsn, slot, decoded command)

options:
  --config <file>            ${tool.configHelp} as JSON (bigint fields as strings or
                             numbers); with it, inspect and verify restore the snapshot and
                             replay the log through the state machine
  --max-command-bytes <n>    the engine's maxCommandBytes (default ${DEFAULT_MAX_COMMAND_BYTES})
  --max-snapshot-bytes <n>   the engine's maxSnapshotBytes (default ${DEFAULT_MAX_SNAPSHOT_BYTES})
  --json                     inspect and verify print JSON
  -h, --help                 this text
`;
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/** Reads a config file: JSON with the bigint fields as strings or integers. */
function readConfigFile<Config>(path: string, bigintFields: readonly string[]): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object')
    throw new UsageError(`the config file ${path} must hold a JSON object`);
  const config: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const field of bigintFields) {
    const value = config[field];
    if (typeof value === 'string' || typeof value === 'number') {
      try {
        config[field] = BigInt(value);
      } catch {
        throw new UsageError(
          `config field ${field} must be an integer, got ${JSON.stringify(value)}`,
        );
      }
    }
  }
  return config as Config;
}

function positiveInteger(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${flag} must be a positive integer, got ${text}`);
  return value;
}

function dumpLine(tool: DirectoryTool<unknown>, frame: WalFrame, offset: number): string {
  const base = { offset, lsn: frame.lsn, requestSlot: frame.requestSlot };
  try {
    return toJson({ ...base, ...tool.describeFrame(frame) });
  } catch (error) {
    return toJson({
      ...base,
      record: 'undecodable',
      error: (error as Error).message,
      payloadBytes: frame.payload.length,
    });
  }
}

function describeStop(stop: DirectoryReport<object>['wal']['stop']): string {
  if (stop === undefined) return 'not scanned';
  if (stop.kind === 'clean') return 'clean';
  if (stop.kind === 'torn_tail') return `torn tail at offset ${stop.offset}`;
  return `corruption (${stop.reason}) at offset ${stop.offset}`;
}

function printReport(report: DirectoryReport<object>, io: CliIo, json: boolean): void {
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
  const lines = [`directory: ${report.dir}`];
  const snapshot = report.snapshot;
  lines.push(
    snapshot === undefined
      ? 'snapshot: none'
      : `snapshot: lsn ${snapshot.lastAppliedLsn}, slot ${snapshot.lastRequestSlot}, ${snapshot.bytes} bytes`,
  );
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
  } else {
    lines.push(
      'tables: not replayed (pass --config to restore and replay through the state machine)',
    );
  }
  if (report.problem !== undefined) lines.push(`problem: ${report.problem.message}`);
  const verdicts = ['clean', 'torn tail (open would cut it)', 'corruption (open would refuse)'];
  lines.push(`verdict: ${verdicts[report.verdict]}`);
  for (const line of lines) io.stdout(line);
}

/** Runs the command line; returns the exit status. */
export function runDirectoryCli<Config>(
  tool: DirectoryTool<Config>,
  argv: readonly string[],
  io: CliIo,
): number {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        'max-command-bytes': { type: 'string' },
        'max-snapshot-bytes': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout(usage(tool as DirectoryTool<unknown>));
      return EXIT_CLEAN;
    }
    const [command, dir, ...extra] = positionals;
    if (command === undefined || dir === undefined || extra.length > 0)
      throw new UsageError('expected: <command> <dir>');
    if (!['inspect', 'verify', 'dump'].includes(command))
      throw new UsageError(`unknown command '${command}'`);
    const options: DirectoryToolOptions<Config> = {
      config:
        values.config === undefined
          ? undefined
          : readConfigFile<Config>(values.config, tool.bigintConfigFields),
      maxCommandBytes: positiveInteger(
        values['max-command-bytes'],
        '--max-command-bytes',
        DEFAULT_MAX_COMMAND_BYTES,
      ),
      maxSnapshotBytes: positiveInteger(
        values['max-snapshot-bytes'],
        '--max-snapshot-bytes',
        DEFAULT_MAX_SNAPSHOT_BYTES,
      ),
    };
    if (command === 'dump') {
      const report = tool.inspect(dir, {
        ...options,
        config: undefined,
        onFrame: (frame, offset) =>
          io.stdout(dumpLine(tool as DirectoryTool<unknown>, frame, offset)),
      });
      if (report.problem !== undefined) io.stderr(report.problem.message);
      else if (report.wal.stop?.kind === 'torn_tail')
        io.stderr(`torn tail at offset ${report.wal.stop.offset}`);
      return report.verdict;
    }
    const report = tool.inspect(dir, options);
    printReport(report, io, values.json);
    return report.verdict;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (
      error instanceof UsageError ||
      (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
    ) {
      io.stderr(
        `${tool.name}: ${(error as Error).message}\n\n${usage(tool as DirectoryTool<unknown>)}`,
      );
      return EXIT_USAGE;
    }
    if (tool.isConfigError(error)) {
      io.stderr(`${tool.name}: ${(error as Error).message}`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
