/**
 * The file-system calls the runtime makes, behind one small interface.
 *
 * Production code uses `nodeFileSystem`, a direct pass-through to `node:fs` that costs one
 * property lookup per call. Tests substitute an implementation that fails a chosen write or
 * fsync, or stops at a named point, which is how failure injection reaches the WAL and the
 * snapshot file without any public option a user could trip over.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import * as fs from 'node:fs';
import { dirname } from 'node:path';

export interface FileSystem {
  openSync(path: string, flags: string, mode?: number): number;
  closeSync(fd: number): void;
  /** Writes at `position`, or at the current position (the end, for append handles) when null. */
  writeSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): number;
  write(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<number>;
  readSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): number;
  fdatasyncSync(fd: number): void;
  fdatasync(fd: number): Promise<void>;
  /** Full fsync; used on directories after a rename. */
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
  fstatSync(fd: number): { size: number };
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  mkdirSync(path: string, options: { recursive: true }): void;
  existsSync(path: string): boolean;
}

export const nodeFileSystem: FileSystem = {
  openSync: (path, flags, mode) => fs.openSync(path, flags, mode),
  closeSync: (fd) => fs.closeSync(fd),
  writeSync: (fd, buffer, offset, length, position) =>
    fs.writeSync(fd, buffer, offset, length, position),
  write: (fd, buffer, offset, length, position) =>
    new Promise((resolve, reject) =>
      fs.write(fd, buffer, offset, length, position, (error, written) =>
        error ? reject(error) : resolve(written),
      ),
    ),
  readSync: (fd, buffer, offset, length, position) =>
    fs.readSync(fd, buffer, offset, length, position),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  fdatasync: (fd) =>
    new Promise((resolve, reject) =>
      fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())),
    ),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  fstatSync: (fd) => fs.fstatSync(fd),
  renameSync: (from, to) => fs.renameSync(from, to),
  unlinkSync: (path) => fs.unlinkSync(path),
  mkdirSync: (path, options) => {
    fs.mkdirSync(path, options);
  },
  existsSync: (path) => fs.existsSync(path),
};

/** Opens `directory` and fsyncs it, so that a rename inside it is durable. */
export function fsyncDirectory(fileSystem: FileSystem, directory: string): void {
  const fd = fileSystem.openSync(directory === '' ? '.' : directory, 'r');
  try {
    fileSystem.fsyncSync(fd);
  } finally {
    fileSystem.closeSync(fd);
  }
}

/**
 * Replaces `path` with `bytes` crash-safely: writes `path.tmp`, fdatasyncs it, renames it over
 * `path` and fsyncs the directory, so a crash leaves either the old file or the complete new one
 * (a stale `.tmp` is never read; the next write overwrites it). A failing step throws what
 * `fail(step, cause)` builds: the caller's typed error.
 */
export function writeFileAtomically(
  fileSystem: FileSystem,
  path: string,
  bytes: Uint8Array,
  fail: (step: string, cause: unknown) => Error,
): void {
  const tmpPath = `${path}.tmp`;
  const step = <T>(what: string, run: () => T): T => {
    try {
      return run();
    } catch (cause) {
      throw fail(what, cause);
    }
  };
  const fd = step(`opening ${tmpPath}`, () => fileSystem.openSync(tmpPath, 'w'));
  try {
    step(`writing ${tmpPath}`, () => {
      let written = 0;
      while (written < bytes.length)
        written += fileSystem.writeSync(fd, bytes, written, bytes.length - written, null);
    });
    step(`fdatasync of ${tmpPath}`, () => fileSystem.fdatasyncSync(fd));
  } finally {
    step(`closing ${tmpPath}`, () => fileSystem.closeSync(fd));
  }
  step(`renaming ${tmpPath} over ${path}`, () => fileSystem.renameSync(tmpPath, path));
  step(`fsync of the directory of ${path}`, () => fsyncDirectory(fileSystem, dirname(path) || '.'));
}

/** Bytes per write call of `writeFileAtomicallyAsync` (the event loop runs between them). */
const ASYNC_WRITE_CHUNK_BYTES = 1024 * 1024;

/**
 * `writeFileAtomically` with the writes and the fdatasync of `path.tmp` on the thread pool, in
 * chunks, so that a large file (a snapshot) does not block the event loop while it is written;
 * the rename and the directory fsync (short) stay synchronous. Same crash guarantees.
 */
export async function writeFileAtomicallyAsync(
  fileSystem: FileSystem,
  path: string,
  bytes: Uint8Array,
  fail: (step: string, cause: unknown) => Error,
): Promise<void> {
  const tmpPath = `${path}.tmp`;
  const step = <T>(what: string, run: () => T): T => {
    try {
      return run();
    } catch (cause) {
      throw fail(what, cause);
    }
  };
  const fd = step(`opening ${tmpPath}`, () => fileSystem.openSync(tmpPath, 'w'));
  try {
    let written = 0;
    while (written < bytes.length) {
      const length = Math.min(ASYNC_WRITE_CHUNK_BYTES, bytes.length - written);
      try {
        written += await fileSystem.write(fd, bytes, written, length, null);
      } catch (cause) {
        throw fail(`writing ${tmpPath}`, cause);
      }
    }
    try {
      await fileSystem.fdatasync(fd);
    } catch (cause) {
      throw fail(`fdatasync of ${tmpPath}`, cause);
    }
  } finally {
    step(`closing ${tmpPath}`, () => fileSystem.closeSync(fd));
  }
  step(`renaming ${tmpPath} over ${path}`, () => fileSystem.renameSync(tmpPath, path));
  step(`fsync of the directory of ${path}`, () => fsyncDirectory(fileSystem, dirname(path) || '.'));
}

/** Why `readFileBounded` could not read a file. */
export type BoundedReadFailure = 'io' | 'too_large' | 'truncated';

/**
 * Reads a whole file after checking its size against `limit` (nothing larger is allocated). A
 * failure throws what `fail(reason, offset, detail, cause)` builds: the caller's typed error.
 */
export function readFileBounded(
  fileSystem: FileSystem,
  path: string,
  limit: number,
  fail: (reason: BoundedReadFailure, offset: number, detail: string, cause?: unknown) => Error,
): Uint8Array {
  let fd: number;
  try {
    fd = fileSystem.openSync(path, 'r');
  } catch (cause) {
    throw fail('io', 0, `open failed: ${(cause as Error).message}`, cause);
  }
  try {
    let size: number;
    try {
      size = fileSystem.fstatSync(fd).size;
    } catch (cause) {
      throw fail('io', 0, `stat failed: ${(cause as Error).message}`, cause);
    }
    if (size > limit) throw fail('too_large', 0, `${size} bytes is over the limit of ${limit}`);
    const bytes = new Uint8Array(size);
    let read = 0;
    while (read < size) {
      let n: number;
      try {
        n = fileSystem.readSync(fd, bytes, read, size - read, read);
      } catch (cause) {
        throw fail('io', read, `read failed: ${(cause as Error).message}`, cause);
      }
      if (n === 0) throw fail('truncated', read, 'the file shrank while it was read');
      read += n;
    }
    return bytes;
  } finally {
    fileSystem.closeSync(fd);
  }
}
