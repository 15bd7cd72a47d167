/**
 * The file-system calls the runtime makes, behind one small interface.
 *
 * Production code uses `nodeFileSystem`, a direct pass-through to `node:fs` that costs one
 * property lookup per call. Tests substitute an implementation that fails a chosen write or
 * fsync, or stops at a named point, which is how failure injection reaches the WAL and the
 * snapshot file without any public option a user could trip over.
 *
 * Part of the copied runtime (see runtime.md): imports nothing outside Node built-ins and
 * `src/runtime/`.
 */
import * as fs from 'node:fs';

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
