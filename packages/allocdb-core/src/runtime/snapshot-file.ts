/**
 * The snapshot file discipline (docs/format.md). The body is the engine's own schema-versioned
 * encoding; this module only frames it:
 *
 * | offset | size | field                                             |
 * |--------|------|---------------------------------------------------|
 * | 0      | 4    | magic, 4 ASCII bytes per engine (SNAPSHOT_MAGIC)  |
 * | 4      | 2    | format version u16 = 1                            |
 * | 6      | 2    | schema version u16 (of the body)                  |
 * | 8      | 8    | lastAppliedLsn u64                                |
 * | 16     | 8    | lastRequestSlot u64                               |
 * | 24     | 8    | bodyLength u64                                    |
 * | 32     | n    | body                                              |
 * | 32+n   | 4    | CRC32C of bytes 0..32+n                           |
 *
 * Writing goes through `path.tmp`, fdatasync, rename and a directory fsync, so a crash leaves
 * either the old snapshot or the complete new one. Loading checks, in order: the size bound, the
 * length field against the file size, the CRC, the magic, the versions; any mismatch is a typed
 * `SnapshotFileError` naming the path, the offset and the reason.
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
  writeFileAtomicallyAsync,
} from './file-system.js';
import { PackageError } from './package-error.js';

// ---------------------------------------------------------------------------------------------
// Engine-specific values. This is the only block that differs between the engines' copies.
/** Magic bytes of this engine's snapshot file: "ADBS" (allocdb-core). */
export const SNAPSHOT_MAGIC = 'ADBS';
// ---------------------------------------------------------------------------------------------

export const SNAPSHOT_FORMAT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 32;
export const SNAPSHOT_TRAILER_BYTES = 4;

export type SnapshotFileReason =
  | 'too_large'
  | 'truncated'
  | 'length_mismatch'
  | 'checksum'
  | 'bad_magic'
  | 'bad_version'
  | 'bad_schema_version'
  | 'io';

/** The snapshot file cannot be written or read back as a valid snapshot. */
export class SnapshotFileError extends PackageError {
  declare readonly code: 'snapshot_file';
  readonly path: string;
  readonly offset: number;
  readonly reason: SnapshotFileReason;
  constructor(
    path: string,
    offset: number,
    reason: SnapshotFileReason,
    detail: string,
    cause?: unknown,
  ) {
    super('snapshot_file', `snapshot ${path} (${reason} at byte offset ${offset}): ${detail}`, {
      cause,
    });
    this.path = path;
    this.offset = offset;
    this.reason = reason;
  }
}

export interface SnapshotHeader {
  readonly schemaVersion: number;
  readonly lastAppliedLsn: bigint;
  readonly lastRequestSlot: bigint;
}

export interface SnapshotFileOptions {
  readonly maxSnapshotBytes: number;
  readonly fileSystem?: FileSystem;
}

/** Header, body and trailing CRC as one buffer. */
export function encodeSnapshotFile(header: SnapshotHeader, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(SNAPSHOT_HEADER_BYTES + body.length + SNAPSHOT_TRAILER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  view.setUint16(4, SNAPSHOT_FORMAT_VERSION, true);
  view.setUint16(6, header.schemaVersion, true);
  view.setBigUint64(8, header.lastAppliedLsn, true);
  view.setBigUint64(16, header.lastRequestSlot, true);
  view.setBigUint64(24, BigInt(body.length), true);
  bytes.set(body, SNAPSHOT_HEADER_BYTES);
  const crcAt = SNAPSHOT_HEADER_BYTES + body.length;
  view.setUint32(crcAt, crc32c(bytes, 0, crcAt), true);
  return bytes;
}

/**
 * Writes the snapshot crash-safely. Checks the size against `maxSnapshotBytes` before writing
 * anything. Returns the number of bytes written.
 */
export function writeSnapshotFile(
  path: string,
  header: SnapshotHeader,
  body: Uint8Array,
  options: SnapshotFileOptions,
): number {
  const fs = options.fileSystem ?? nodeFileSystem;
  const bytes = encodeSnapshotFile(header, body);
  if (bytes.length > options.maxSnapshotBytes) {
    throw new SnapshotFileError(
      path,
      0,
      'too_large',
      `the snapshot needs ${bytes.length} bytes, over maxSnapshotBytes ${options.maxSnapshotBytes}; raise the limit`,
    );
  }
  writeFileAtomically(
    fs,
    path,
    bytes,
    (step, cause) =>
      new SnapshotFileError(path, 0, 'io', `${step} failed: ${(cause as Error).message}`, cause),
  );
  return bytes.length;
}

/**
 * Writes a snapshot file already encoded by `encodeSnapshotFile` (which may have run on another
 * thread) crash-safely, with the write and the fdatasync off the event loop
 * (`writeFileAtomicallyAsync`). Checks the size against `maxSnapshotBytes` before writing
 * anything. Returns the number of bytes written.
 */
export async function writeSnapshotFileBytesAsync(
  path: string,
  fileBytes: Uint8Array,
  options: SnapshotFileOptions,
): Promise<number> {
  const fs = options.fileSystem ?? nodeFileSystem;
  if (fileBytes.length > options.maxSnapshotBytes) {
    throw new SnapshotFileError(
      path,
      0,
      'too_large',
      `the snapshot needs ${fileBytes.length} bytes, over maxSnapshotBytes ${options.maxSnapshotBytes}; raise the limit`,
    );
  }
  await writeFileAtomicallyAsync(
    fs,
    path,
    fileBytes,
    (step, cause) =>
      new SnapshotFileError(path, 0, 'io', `${step} failed: ${(cause as Error).message}`, cause),
  );
  return fileBytes.length;
}

export interface LoadedSnapshot {
  readonly header: SnapshotHeader;
  readonly body: Uint8Array;
  readonly fileBytes: number;
}

/**
 * Reads and verifies a snapshot file; `undefined` when there is none. `supportedSchemaVersion`
 * is the body schema this engine reads.
 */
export function loadSnapshotFile(
  path: string,
  supportedSchemaVersion: number,
  options: SnapshotFileOptions,
): LoadedSnapshot | undefined {
  const fs = options.fileSystem ?? nodeFileSystem;
  if (!fs.existsSync(path)) return undefined;
  const bytes = readFileBounded(
    fs,
    path,
    options.maxSnapshotBytes,
    (reason, offset, detail, cause) =>
      new SnapshotFileError(
        path,
        offset,
        reason,
        reason === 'too_large' ? `${detail} (maxSnapshotBytes)` : detail,
        cause,
      ),
  );
  return decodeSnapshotFile(path, bytes, supportedSchemaVersion);
}

/**
 * Verifies a snapshot file's bytes (read from `path`, or received from a cluster's snapshot
 * store under that name): framing, length, CRC, magic, versions. Throws `SnapshotFileError`.
 */
export function decodeSnapshotFile(
  path: string,
  bytes: Uint8Array,
  supportedSchemaVersion: number,
): LoadedSnapshot {
  const fail = (offset: number, reason: SnapshotFileReason, detail: string): never => {
    throw new SnapshotFileError(path, offset, reason, detail);
  };
  if (bytes.length < SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES) {
    fail(bytes.length, 'truncated', `only ${bytes.length} bytes; a snapshot has at least 36`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bodyLength = view.getBigUint64(24, true);
  const expected = BigInt(SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES) + bodyLength;
  if (expected !== BigInt(bytes.length)) {
    fail(
      24,
      'length_mismatch',
      `bodyLength ${bodyLength} implies ${expected} bytes but the file has ${bytes.length}`,
    );
  }
  const crcAt = bytes.length - SNAPSHOT_TRAILER_BYTES;
  if (crc32c(bytes, 0, crcAt) !== view.getUint32(crcAt, true)) {
    fail(crcAt, 'checksum', 'the CRC32C does not match the contents');
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== SNAPSHOT_MAGIC) {
    fail(
      0,
      'bad_magic',
      `magic ${JSON.stringify(magic)} is not ${SNAPSHOT_MAGIC}: this is not this engine's snapshot`,
    );
  }
  const formatVersion = view.getUint16(4, true);
  if (formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    fail(4, 'bad_version', `format version ${formatVersion} is not ${SNAPSHOT_FORMAT_VERSION}`);
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
    header: {
      schemaVersion,
      lastAppliedLsn: view.getBigUint64(8, true),
      lastRequestSlot: view.getBigUint64(16, true),
    },
    body: bytes.subarray(SNAPSHOT_HEADER_BYTES, crcAt),
    fileBytes: bytes.length,
  };
}
