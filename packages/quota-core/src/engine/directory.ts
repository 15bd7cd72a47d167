/**
 * The data directory: its files, what a path given as one turns out to be, and the configuration
 * it records (docs/engine.md, "The recorded configuration"; docs/format.md, "The config file").
 *
 * The directory records the quota configuration and the two engine options replay depends
 * on (`maxCommandBytes`, `slotDurationMs`), checksummed, before the first command is written.
 * Open reads it first; a requested configuration that differs is refused, unless every difference
 * grows a capacity and the caller allowed that.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FIELDS, type QuotaConfig, resolveConfig, validateConfig } from '../config.js';
import { DEFAULT_MAX_COMMAND_BYTES, DEFAULT_SLOT_DURATION_MS } from '../constants.js';
import { type ConfigDifference, DataDirectoryError } from '../errors.js';
import { Reader, Writer } from '../runtime/binary.js';
import { loadConfigFile, writeConfigFile } from '../runtime/config-file.js';
import type { FileSystem } from '../runtime/file-system.js';

export const WAL_FILE_NAME = 'wal';
export const SNAPSHOT_FILE_NAME = 'snapshot';
export const CONFIG_FILE_NAME = 'config';

/** Version of the recorded configuration's body (the config file's schema version). */
export const CONFIG_SCHEMA_VERSION = 1;

/** What the directory records: everything replay depends on. */
export interface RecordedConfig {
  readonly config: QuotaConfig;
  readonly maxCommandBytes: number;
  readonly slotDurationMs: number;
}

/** What the caller asked for: any subset of the recorded fields. */
export interface RequestedConfig {
  readonly config: Partial<QuotaConfig>;
  readonly maxCommandBytes: number | undefined;
  readonly slotDurationMs: number | undefined;
}

/** Fields whose growth only adds room: replayed history cannot depend on a larger value. */
const GROWABLE = new Set(['maxBuckets', 'maxOperations', 'engine.maxCommandBytes']);

/** What a path given as a data directory is. */
export type DirectoryKind =
  | { readonly kind: 'missing' }
  | { readonly kind: 'not_a_directory' }
  | {
      readonly kind: 'directory';
      readonly files: { wal: boolean; snapshot: boolean; config: boolean };
    };

/** Looks at `dir` without changing anything; an unreadable path is `DataDirectoryError(unusable)`. */
export function examineDirectory(dir: string): DirectoryKind {
  const kindOf = (path: string): 'missing' | 'file' | 'directory' => {
    try {
      return statSync(path).isDirectory() ? 'directory' : 'file';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return 'missing';
      throw new DataDirectoryError(
        'unusable',
        path,
        `cannot be examined (${(error as Error).message}); check its permissions`,
        error,
      );
    }
  };
  const self = kindOf(dir);
  if (self === 'missing') return { kind: 'missing' };
  if (self === 'file') return { kind: 'not_a_directory' };
  return {
    kind: 'directory',
    files: {
      wal: kindOf(join(dir, WAL_FILE_NAME)) !== 'missing',
      snapshot: kindOf(join(dir, SNAPSHOT_FILE_NAME)) !== 'missing',
      config: kindOf(join(dir, CONFIG_FILE_NAME)) !== 'missing',
    },
  };
}

/** The recorded configuration's body (docs/format.md, "The config file"). */
export function encodeRecordedConfig(recorded: RecordedConfig): Uint8Array {
  const { config } = recorded;
  const writer = new Writer();
  writer.u32(config.maxBuckets);
  writer.u32(config.maxOperations);
  writer.u64(config.maxClientRetryWindowSlots);
  writer.u32(recorded.maxCommandBytes);
  writer.u64(BigInt(recorded.slotDurationMs));
  return writer.finish();
}

/** Decodes a body written by `encodeRecordedConfig` (CodecError on bad bytes, ConfigError on a
 * configuration the state machine cannot run with). */
export function decodeRecordedConfig(body: Uint8Array): RecordedConfig {
  const reader = new Reader(body);
  const config: QuotaConfig = Object.freeze({
    maxBuckets: reader.u32('maxBuckets'),
    maxOperations: reader.u32('maxOperations'),
    maxClientRetryWindowSlots: reader.u64('maxClientRetryWindowSlots'),
  });
  const maxCommandBytes = reader.u32('maxCommandBytes');
  const slotDurationMs = Number(reader.u64('slotDurationMs'));
  reader.expectEnd('recorded configuration');
  validateConfig(config);
  return { config, maxCommandBytes, slotDurationMs };
}

/** The recorded configuration, or undefined for a directory that has none (new, or written
 * before configurations were recorded). ConfigFileError / CodecError / ConfigError when damaged. */
export function loadRecordedConfig(
  dir: string,
  fileSystem?: FileSystem,
): RecordedConfig | undefined {
  const loaded = loadConfigFile(join(dir, CONFIG_FILE_NAME), CONFIG_SCHEMA_VERSION, { fileSystem });
  return loaded === undefined ? undefined : decodeRecordedConfig(loaded.body);
}

/** Records `recorded` crash-safely (temp file, fdatasync, rename, directory fsync). */
export function writeRecordedConfig(
  dir: string,
  recorded: RecordedConfig,
  fileSystem?: FileSystem,
): void {
  writeConfigFile(
    join(dir, CONFIG_FILE_NAME),
    CONFIG_SCHEMA_VERSION,
    encodeRecordedConfig(recorded),
    {
      fileSystem,
    },
  );
}

/**
 * The configuration to run with. Without a recorded one, the requested fields over the defaults
 * (ConfigError if invalid). With one, the recorded values, and every requested field that differs
 * from its recorded value as a difference.
 */
export function settleConfig(
  recorded: RecordedConfig | undefined,
  requested: RequestedConfig,
): { readonly effective: RecordedConfig; readonly differences: readonly ConfigDifference[] } {
  if (recorded === undefined) {
    return {
      effective: {
        config: resolveConfig(requested.config),
        maxCommandBytes: requested.maxCommandBytes ?? DEFAULT_MAX_COMMAND_BYTES,
        slotDurationMs: requested.slotDurationMs ?? DEFAULT_SLOT_DURATION_MS,
      },
      differences: [],
    };
  }
  const differences: ConfigDifference[] = [];
  const compare = (field: string, was: bigint | number, asked: unknown): void => {
    if (asked === undefined || asked === was) return;
    if (typeof asked !== typeof was) return; // a wrong type is reported by validation below
    const requestedValue = asked as bigint | number;
    differences.push({
      field,
      recorded: was,
      requested: requestedValue,
      growth: GROWABLE.has(field) && requestedValue > was,
    });
  };
  for (const field of CONFIG_FIELDS)
    compare(field, recorded.config[field], requested.config[field]);
  compare('engine.maxCommandBytes', recorded.maxCommandBytes, requested.maxCommandBytes);
  compare('engine.slotDurationMs', recorded.slotDurationMs, requested.slotDurationMs);
  // Requested values of the wrong type (or unknown fields) fail validation with their name.
  const merged = { ...recorded.config, ...requested.config };
  validateConfig(merged as QuotaConfig);
  return { effective: recorded, differences };
}

/** The recorded configuration grown to the requested capacities (every difference a growth). */
export function grownConfig(recorded: RecordedConfig, requested: RequestedConfig): RecordedConfig {
  const config = Object.freeze({ ...recorded.config, ...requested.config }) as QuotaConfig;
  validateConfig(config);
  return {
    config,
    maxCommandBytes: requested.maxCommandBytes ?? recorded.maxCommandBytes,
    slotDurationMs: recorded.slotDurationMs,
  };
}

/** Whether the directory holds data written before configurations were recorded. */
export function holdsUnrecordedData(kind: DirectoryKind): boolean {
  return kind.kind === 'directory' && !kind.files.config && (kind.files.wal || kind.files.snapshot);
}
