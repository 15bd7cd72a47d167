/**
 * The recorded-configuration file discipline (docs/format.md, "The config file"). A data
 * directory records the configuration it was written with, so that it is never replayed under
 * another one. The body is the engine's own schema-versioned encoding of that configuration;
 * this module only frames it:
 *
 * | offset | size | field                                             |
 * |--------|------|---------------------------------------------------|
 * | 0      | 4    | magic, 4 ASCII bytes per engine (CONFIG_MAGIC)    |
 * | 4      | 2    | format version u16 = 1                            |
 * | 6      | 2    | schema version u16 (of the body)                  |
 * | 8      | 4    | bodyLength u32                                    |
 * | 12     | n    | body                                              |
 * | 12+n   | 4    | CRC32C of bytes 0..12+n                           |
 *
 * Writing goes through `path.tmp`, fdatasync, rename and a directory fsync. Loading checks, in
 * order: the size bound, the length field against the file size, the CRC, the magic, the
 * versions; any mismatch is a typed `ConfigFileError` naming the path, the offset and the reason.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { crc32c } from './crc32c.js';
import {
  type FileSystem,
  nodeFileSystem,
  readFileBounded,
  writeFileAtomically,
} from './file-system.js';
import { PackageError } from './package-error.js';

// ---------------------------------------------------------------------------------------------
// Engine-specific values. This is the only block that differs between the engines' copies.
/** Magic bytes of this engine's config file: "QTAC" (quota-core). */
export const CONFIG_MAGIC = 'QTAC';
// ---------------------------------------------------------------------------------------------

export const CONFIG_FILE_FORMAT_VERSION = 1;
export const CONFIG_HEADER_BYTES = 12;
export const CONFIG_TRAILER_BYTES = 4;
/** No configuration needs more: a larger file is damage, not a configuration. */
export const MAX_CONFIG_FILE_BYTES = 4096;

export type ConfigFileReason =
  | 'too_large'
  | 'truncated'
  | 'length_mismatch'
  | 'checksum'
  | 'bad_magic'
  | 'bad_version'
  | 'bad_schema_version'
  | 'io';

/** The config file cannot be written, or read back as a valid recorded configuration. */
export class ConfigFileError extends PackageError {
  declare readonly code: 'config_file';
  readonly path: string;
  readonly offset: number;
  readonly reason: ConfigFileReason;
  constructor(
    path: string,
    offset: number,
    reason: ConfigFileReason,
    detail: string,
    cause?: unknown,
  ) {
    super('config_file', `config file ${path} (${reason} at byte offset ${offset}): ${detail}`, {
      cause,
    });
    this.path = path;
    this.offset = offset;
    this.reason = reason;
  }
}

export interface ConfigFileOptions {
  readonly fileSystem?: FileSystem;
}

export interface LoadedConfigFile {
  readonly schemaVersion: number;
  readonly body: Uint8Array;
  readonly fileBytes: number;
}

/** Header, body and trailing CRC as one buffer. */
export function encodeConfigFile(schemaVersion: number, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(CONFIG_HEADER_BYTES + body.length + CONFIG_TRAILER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(CONFIG_MAGIC), 0);
  view.setUint16(4, CONFIG_FILE_FORMAT_VERSION, true);
  view.setUint16(6, schemaVersion, true);
  view.setUint32(8, body.length, true);
  bytes.set(body, CONFIG_HEADER_BYTES);
  const crcAt = CONFIG_HEADER_BYTES + body.length;
  view.setUint32(crcAt, crc32c(bytes, 0, crcAt), true);
  return bytes;
}

/** Writes the config file crash-safely; returns the number of bytes written. */
export function writeConfigFile(
  path: string,
  schemaVersion: number,
  body: Uint8Array,
  options: ConfigFileOptions = {},
): number {
  const bytes = encodeConfigFile(schemaVersion, body);
  if (bytes.length > MAX_CONFIG_FILE_BYTES) {
    throw new ConfigFileError(
      path,
      0,
      'too_large',
      `${bytes.length} bytes is over ${MAX_CONFIG_FILE_BYTES}`,
    );
  }
  writeFileAtomically(
    options.fileSystem ?? nodeFileSystem,
    path,
    bytes,
    (step, cause) =>
      new ConfigFileError(path, 0, 'io', `${step} failed: ${(cause as Error).message}`, cause),
  );
  return bytes.length;
}

/**
 * Reads and verifies a config file; `undefined` when there is none. `supportedSchemaVersion` is
 * the body schema this engine reads.
 */
export function loadConfigFile(
  path: string,
  supportedSchemaVersion: number,
  options: ConfigFileOptions = {},
): LoadedConfigFile | undefined {
  const fs = options.fileSystem ?? nodeFileSystem;
  if (!fs.existsSync(path)) return undefined;
  const bytes = readFileBounded(
    fs,
    path,
    MAX_CONFIG_FILE_BYTES,
    (reason, offset, detail, cause) => new ConfigFileError(path, offset, reason, detail, cause),
  );
  const fail = (offset: number, reason: ConfigFileReason, detail: string): never => {
    throw new ConfigFileError(path, offset, reason, detail);
  };
  if (bytes.length < CONFIG_HEADER_BYTES + CONFIG_TRAILER_BYTES) {
    fail(
      bytes.length,
      'truncated',
      `only ${bytes.length} bytes; a config file has at least ${CONFIG_HEADER_BYTES + CONFIG_TRAILER_BYTES}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bodyLength = view.getUint32(8, true);
  const expected = CONFIG_HEADER_BYTES + CONFIG_TRAILER_BYTES + bodyLength;
  if (expected !== bytes.length) {
    fail(
      8,
      'length_mismatch',
      `bodyLength ${bodyLength} implies ${expected} bytes but the file has ${bytes.length}`,
    );
  }
  const crcAt = bytes.length - CONFIG_TRAILER_BYTES;
  if (crc32c(bytes, 0, crcAt) !== view.getUint32(crcAt, true)) {
    fail(crcAt, 'checksum', 'the CRC32C does not match the contents');
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== CONFIG_MAGIC) {
    fail(
      0,
      'bad_magic',
      `magic ${JSON.stringify(magic)} is not ${CONFIG_MAGIC}: this is not this engine's config file`,
    );
  }
  const formatVersion = view.getUint16(4, true);
  if (formatVersion !== CONFIG_FILE_FORMAT_VERSION) {
    fail(4, 'bad_version', `format version ${formatVersion} is not ${CONFIG_FILE_FORMAT_VERSION}`);
  }
  const schemaVersion = view.getUint16(6, true);
  if (schemaVersion !== supportedSchemaVersion) {
    fail(
      6,
      'bad_schema_version',
      `schema version ${schemaVersion} is not the supported ${supportedSchemaVersion}`,
    );
  }
  return {
    schemaVersion,
    body: bytes.subarray(CONFIG_HEADER_BYTES, crcAt),
    fileBytes: bytes.length,
  };
}
