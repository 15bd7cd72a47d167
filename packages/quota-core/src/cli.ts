/**
 * The `quota` command for operators: `inspect`, `verify` and `dump` a data directory, all
 * read-only (engine.md, "Command-line tool").
 *
 * Exit status: 0 clean; 1 a torn tail that opening would cut; 2 corruption or anything else
 * opening would refuse; 3 bad usage or an unreadable config file.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeClientRequest, decodeInternalCommand } from './codec/command-codec.js';
import type { QuotaConfig } from './config.js';
import { type DirectoryReport, inspectDirectory } from './engine/inspect.js';
import { DEFAULT_MAX_COMMAND_BYTES, DEFAULT_MAX_SNAPSHOT_BYTES } from './engine/options.js';
import { ConfigError } from './errors.js';
import { RecordType, type WalFrame } from './runtime/wal.js';

export const USAGE = `usage: quota <command> <dir> [options]

commands (all read-only: they never truncate, write or lock):
  inspect <dir>   recovery status, snapshot LSN, WAL length and frame count, table use
  verify <dir>    full check; exit 0 clean, 1 torn tail that open would cut, 2 corruption
  dump <dir>      one JSON line per WAL frame (offset, lsn, slot, decoded command)

options:
  --config <file>            the quota config as JSON (bigint fields as strings or
                             numbers); with it, inspect and verify restore the snapshot and
                             replay the log through the state machine
  --max-command-bytes <n>    the engine's maxCommandBytes (default ${DEFAULT_MAX_COMMAND_BYTES})
  --max-snapshot-bytes <n>   the engine's maxSnapshotBytes (default ${DEFAULT_MAX_SNAPSHOT_BYTES})
  --json                     inspect and verify print JSON
  -h, --help                 this text
`;

export const EXIT_CLEAN = 0;
export const EXIT_TORN_TAIL = 1;
export const EXIT_CORRUPTION = 2;
export const EXIT_USAGE = 3;

export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

class UsageError extends Error {}

const BIGINT_FIELDS = ['maxClientRetryWindowSlots'];

/** Reads a config file: JSON with the bigint fields as strings or integers. */
export function readConfigFile(path: string): QuotaConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object')
    throw new UsageError(`the config file ${path} must hold a JSON object`);
  const config: Record<string, unknown> = { ...raw };
  for (const field of BIGINT_FIELDS) {
    const value = raw[field];
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
  return config as unknown as QuotaConfig;
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
}

function positiveInteger(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${flag} must be a positive integer, got ${text}`);
  return value;
}

function describeFrame(frame: WalFrame, offset: number): Record<string, unknown> {
  const base = { offset, lsn: frame.lsn, requestSlot: frame.requestSlot };
  try {
    if (frame.recordType === RecordType.snapshotMarker)
      return { ...base, record: 'snapshot_marker' };
    if (frame.recordType === RecordType.client)
      return { ...base, record: 'client', ...decodeClientRequest(frame.payload) };
    return { ...base, record: 'internal', command: decodeInternalCommand(frame.payload) };
  } catch (error) {
    return {
      ...base,
      record: 'undecodable',
      error: (error as Error).message,
      payloadBytes: frame.payload.length,
    };
  }
}

function printReport(report: DirectoryReport, io: CliIo, json: boolean): void {
  if (json) {
    const { problem, ...rest } = report;
    io.stdout(
      toJson({
        ...rest,
        problem: problem && {
          code: problem.code,
          path: problem.path,
          offset: problem.offset,
          lsn: problem.lsn,
          message: problem.message,
        },
      }),
    );
    return;
  }
  const lines = [`directory: ${report.dir}`];
  lines.push(
    report.snapshot === undefined
      ? 'snapshot: none'
      : `snapshot: lsn ${report.snapshot.lastAppliedLsn}, slot ${report.snapshot.lastRequestSlot}, ${report.snapshot.bytes} bytes`,
  );
  const stop = report.wal.stop;
  const stopText =
    stop === undefined
      ? 'not scanned'
      : stop.kind === 'clean'
        ? 'clean'
        : stop.kind === 'torn_tail'
          ? `torn tail at offset ${stop.offset}`
          : `corruption (${stop.reason}) at offset ${stop.offset}`;
  lines.push(`wal: ${report.wal.bytes} bytes, ${report.wal.frames} frames, ${stopText}`);
  if (report.recovery !== undefined) {
    const r = report.recovery;
    lines.push(
      `recovery: ${r.startupKind}, replayed ${r.replayedFrames} frames, last lsn ${r.lastReplayedLsn ?? r.loadedSnapshotLsn ?? 'none'}`,
    );
  }
  if (report.tables !== undefined) {
    for (const [name, value] of Object.entries(report.tables)) {
      if (typeof value === 'object' && value !== null && 'used' in value) {
        lines.push(
          `  ${name}: ${(value as { used: number }).used} / ${(value as { capacity: number }).capacity}`,
        );
      }
    }
  } else {
    lines.push(
      'tables: not replayed (pass --config to restore and replay through the state machine)',
    );
  }
  if (report.problem !== undefined) lines.push(`problem: ${report.problem.message}`);
  lines.push(
    `verdict: ${['clean', 'torn tail (open would cut it)', 'corruption (open would refuse)'][report.verdict]}`,
  );
  for (const line of lines) io.stdout(line);
}

/** Runs the command line; returns the exit status. */
export function runCli(argv: readonly string[], io: CliIo): number {
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
      io.stdout(USAGE);
      return EXIT_CLEAN;
    }
    const [command, dir, ...extra] = positionals;
    if (command === undefined || dir === undefined || extra.length > 0)
      throw new UsageError('expected: <command> <dir>');
    if (!['inspect', 'verify', 'dump'].includes(command))
      throw new UsageError(`unknown command '${command}'`);
    const options = {
      config: values.config === undefined ? undefined : readConfigFile(values.config),
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
      const report = inspectDirectory(dir, {
        ...options,
        config: undefined,
        onFrame: (frame, offset) => io.stdout(toJson(describeFrame(frame, offset))),
      });
      if (report.problem !== undefined) io.stderr(report.problem.message);
      else if (report.wal.stop?.kind === 'torn_tail')
        io.stderr(`torn tail at offset ${report.wal.stop.offset}`);
      return report.verdict;
    }
    const report = inspectDirectory(dir, options);
    printReport(report, io, values.json);
    return report.verdict;
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      io.stderr(`quota: ${(error as Error).message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    if (error instanceof ConfigError) {
      io.stderr(`quota: ${(error as Error).message}`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
