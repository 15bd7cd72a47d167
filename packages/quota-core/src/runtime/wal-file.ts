/**
 * The write-ahead log file: append whole batches with one write, fdatasync, stream-scan in
 * bounded memory, cut a torn tail (and only a torn tail), and atomically replace the log.
 *
 * Every I/O failure surfaces as a `WalIoError` naming the path and the operation; after a failed
 * write or sync the handle refuses further appends, because what reached the disk is unknown and
 * a failed fsync must never be retried in place.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { dirname } from 'node:path';
import { type FileSystem, fsyncDirectory, nodeFileSystem } from './file-system.js';
import { PackageError } from './package-error.js';
import {
  type CorruptionReason,
  encodeFrames,
  FrameScanner,
  type ScanStop,
  type StreamScanSummary,
  type WalCodecOptions,
  type WalFrame,
} from './wal.js';

/** Default read size of the streaming scan. */
export const DEFAULT_SCAN_CHUNK_BYTES = 64 * 1024;

/**
 * `replaceWithTailAsync` copies with the event loop running until at most this many bytes
 * appended meanwhile are left (or `MAX_CATCH_UP_ROUNDS` passes were made), then copies the rest
 * while appends are paused.
 */
const PAUSED_COPY_BYTES = 256 * 1024;
const MAX_CATCH_UP_ROUNDS = 8;

/**
 * The copy unit of `replaceWithTailAsync`: one synchronous read from the page cache (well under a
 * millisecond of the event loop) and one asynchronous write per chunk. Each chunk costs a turn
 * of the event loop, and under load a turn is one group commit of the engine (up to 20 ms at
 * batch 4096): with 64 KiB chunks the copy ran at about 3 MB/s, slower than the log grew, and a
 * checkpoint under sustained load never finished. At 4 MiB a turn it copies some 200 MB/s.
 */
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The largest append buffer a handle keeps for reuse: a batch's frames are encoded into the
 * buffer of the previous batch when it is large enough, instead of a new one per batch.
 */
const MAX_KEPT_APPEND_BYTES = 4 * 1024 * 1024;

export type WalIoOperation =
  | 'open'
  | 'write'
  | 'sync'
  | 'read'
  | 'stat'
  | 'truncate'
  | 'rename'
  | 'sync_directory'
  | 'close';

/** An I/O call on the log failed. `cause` is the underlying system error. */
export class WalIoError extends PackageError {
  declare readonly code: 'wal_io';
  readonly path: string;
  readonly operation: WalIoOperation;
  constructor(path: string, operation: WalIoOperation, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('wal_io', `WAL ${operation} failed on ${path}: ${detail}`, { cause });
    this.path = path;
    this.operation = operation;
  }
}

/** The log is damaged somewhere other than a torn final write; it was left untouched. */
export class WalCorruptionError extends PackageError {
  declare readonly code: 'wal_corruption';
  readonly path: string;
  readonly offset: number;
  readonly reason: CorruptionReason;
  constructor(path: string, offset: number, reason: CorruptionReason) {
    super(
      'wal_corruption',
      `WAL ${path} is corrupt at byte offset ${offset} (${reason}); it was left untouched. ` +
        'Restore the data directory from a backup or inspect it with the verify command.',
    );
    this.path = path;
    this.offset = offset;
    this.reason = reason;
  }
}

/** The handle can no longer append: an earlier write or sync failed, or it was closed. */
export class WalUnavailableError extends PackageError {
  declare readonly code: 'wal_unavailable';
  readonly path: string;
  constructor(path: string, why: string) {
    super(
      'wal_unavailable',
      `WAL ${path} cannot be written: ${why}. Reopen it (which recovers from disk).`,
    );
    this.path = path;
  }
}

export interface WalFileOptions extends WalCodecOptions {
  /** The injection seam for tests; production uses node:fs. */
  readonly fileSystem?: FileSystem;
  /** Read size of `scan`; any size gives the same result. */
  readonly scanChunkBytes?: number;
  /** Open an existing log for scanning only: never creates, truncates or appends. */
  readonly readOnly?: boolean;
}

export interface WalFileScan extends StreamScanSummary {
  /** File length when the scan started. */
  readonly fileLength: number;
}

export class WalFile {
  readonly path: string;
  private readonly options: WalFileOptions;
  private readonly fs: FileSystem;
  private fd: number | undefined;
  private byteLength: number;
  private unavailable: string | undefined;
  /** The buffer the last append encoded into, reused by the next (appends never overlap). */
  private appendScratch: Uint8Array | undefined;

  private constructor(path: string, options: WalFileOptions, fd: number, byteLength: number) {
    this.path = path;
    this.options = options;
    this.fs = options.fileSystem ?? nodeFileSystem;
    this.fd = fd;
    this.byteLength = byteLength;
  }

  /** Opens the log for append, creating an empty one if it is missing. Reads nothing. */
  static open(path: string, options: WalFileOptions): WalFile {
    const fileSystem = options.fileSystem ?? nodeFileSystem;
    const fd = attempt(path, 'open', () =>
      fileSystem.openSync(path, options.readOnly ? 'r' : 'a+'),
    );
    const size = attempt(path, 'stat', () => fileSystem.fstatSync(fd).size);
    return new WalFile(path, options, fd, size);
  }

  /** Bytes in the file as far as this handle knows (appends included). */
  get length(): number {
    return this.byteLength;
  }

  /** Whether appends are still accepted. */
  get writable(): boolean {
    return !this.options.readOnly && this.unavailable === undefined && this.fd !== undefined;
  }

  private handle(): number {
    if (this.options.readOnly) throw new WalUnavailableError(this.path, 'it was opened read-only');
    if (this.unavailable !== undefined) throw new WalUnavailableError(this.path, this.unavailable);
    if (this.fd === undefined) throw new WalUnavailableError(this.path, 'it is closed');
    return this.fd;
  }

  /** Marks the handle unusable after a failed write or sync, then rethrows as WalIoError. */
  private fail(operation: WalIoOperation, cause: unknown): never {
    this.unavailable = `an earlier ${operation} failed`;
    throw new WalIoError(this.path, operation, cause);
  }

  /**
   * Encodes `frames` into one buffer and writes it with one write call (partial writes are
   * continued). A payload over `maxPayloadBytes` is rejected before anything is written.
   * Returns the number of bytes written.
   */
  appendSync(frames: readonly WalFrame[]): number {
    const bytes = this.encodeForAppend(frames);
    const fd = this.handle();
    try {
      let written = 0;
      while (written < bytes.length) {
        written += this.fs.writeSync(fd, bytes, written, bytes.length - written, null);
      }
    } catch (error) {
      this.fail('write', error);
    }
    this.byteLength += bytes.length;
    return bytes.length;
  }

  /** As `appendSync`, on the thread pool so the event loop keeps running during the write. */
  async append(frames: readonly WalFrame[]): Promise<number> {
    const bytes = this.encodeForAppend(frames);
    const fd = this.handle();
    try {
      let written = 0;
      while (written < bytes.length) {
        written += await this.fs.write(fd, bytes, written, bytes.length - written, null);
      }
    } catch (error) {
      this.fail('write', error);
    }
    this.byteLength += bytes.length;
    return bytes.length;
  }

  /**
   * As `append`, for frames already encoded back to back (`encodeFrames`): a replicated log
   * writes the very bytes it published. The caller vouches that `bytes` are whole frames.
   */
  async appendEncoded(bytes: Uint8Array): Promise<number> {
    const fd = this.handle();
    try {
      let written = 0;
      while (written < bytes.length) {
        written += await this.fs.write(fd, bytes, written, bytes.length - written, null);
      }
    } catch (error) {
      this.fail('write', error);
    }
    this.byteLength += bytes.length;
    return bytes.length;
  }

  /**
   * Encodes an append's frames, into the previous append's buffer when it is large enough. The
   * commit pipeline runs one append at a time and awaits it, so a buffer is never reused while a
   * write still reads it.
   */
  private encodeForAppend(frames: readonly WalFrame[]): Uint8Array {
    const bytes = encodeFrames(frames, this.options, this.appendScratch);
    if (bytes.buffer !== this.appendScratch?.buffer && bytes.byteLength <= MAX_KEPT_APPEND_BYTES) {
      this.appendScratch = bytes;
    }
    return bytes;
  }

  /** fdatasync: everything appended so far is durable when this returns. */
  syncSync(): void {
    const fd = this.handle();
    try {
      this.fs.fdatasyncSync(fd);
    } catch (error) {
      this.fail('sync', error);
    }
  }

  async sync(): Promise<void> {
    const fd = this.handle();
    try {
      await this.fs.fdatasync(fd);
    } catch (error) {
      this.fail('sync', error);
    }
  }

  /**
   * Streams the whole file through the frame scanner in bounded memory, handing each verified
   * frame to `onFrame` in file order. A frame's payload is valid only while `onFrame` runs (the
   * read buffer is reused): copy it to keep it. Reads stop early once corruption makes the verdict
   * final.
   */
  scan(
    onFrame: (frame: WalFrame, offset: number) => void = () => {},
    range?: { readonly from: number; readonly to: number },
  ): WalFileScan {
    const fd = this.fd;
    if (fd === undefined) throw new WalUnavailableError(this.path, 'it is closed');
    const fileLength = attempt(this.path, 'stat', () => this.fs.fstatSync(fd).size);
    // A range (a checkpoint's replay of frames it knows to be whole) is scanned as if it were the
    // whole log: offsets stay the file's, and the range must end at a frame boundary to be clean.
    const from = range?.from ?? 0;
    const end = range === undefined ? fileLength : Math.min(range.to, fileLength);
    const scanner = new FrameScanner(
      this.options,
      from === 0 ? onFrame : (frame, offset) => onFrame(frame, from + offset),
    );
    const chunkBytes = Math.max(1, this.options.scanChunkBytes ?? DEFAULT_SCAN_CHUNK_BYTES);
    const chunk = new Uint8Array(Math.min(chunkBytes, Math.max(1, end - from)));
    let position = from;
    while (position < end && !scanner.decided) {
      const want = Math.min(chunk.length, end - position);
      const read = attempt(this.path, 'read', () => this.fs.readSync(fd, chunk, 0, want, position));
      if (read === 0) break;
      scanner.push(chunk.subarray(0, read));
      position += read;
    }
    const summary = scanner.finish();
    if (from === 0) return { ...summary, fileLength };
    const stop: ScanStop =
      summary.stop.kind === 'clean'
        ? summary.stop
        : { ...summary.stop, offset: from + summary.stop.offset };
    return { ...summary, validUpTo: from + summary.validUpTo, stop, fileLength };
  }

  /**
   * `scan`, reading chunk after chunk as `scan` does, but calling `between(bytesScanned)` after
   * each chunk and awaiting the promise it returns, if any: a long scan can give the event loop
   * its turn (and report progress) without changing what it verifies or hands to `onFrame`.
   */
  async scanAsync(
    onFrame: (frame: WalFrame, offset: number) => void,
    between: (bytesScanned: number, fileLength: number) => Promise<void> | undefined,
  ): Promise<WalFileScan> {
    const fd = this.fd;
    if (fd === undefined) throw new WalUnavailableError(this.path, 'it is closed');
    const fileLength = attempt(this.path, 'stat', () => this.fs.fstatSync(fd).size);
    const scanner = new FrameScanner(this.options, onFrame);
    const chunkBytes = Math.max(1, this.options.scanChunkBytes ?? DEFAULT_SCAN_CHUNK_BYTES);
    const chunk = new Uint8Array(Math.min(chunkBytes, Math.max(1, fileLength)));
    let position = 0;
    while (position < fileLength && !scanner.decided) {
      const want = Math.min(chunk.length, fileLength - position);
      // The handle is this scan's own until it returns: recovery runs before anything appends.
      const read = attempt(this.path, 'read', () => this.fs.readSync(fd, chunk, 0, want, position));
      if (read === 0) break;
      scanner.push(chunk.subarray(0, read));
      position += read;
      const pause = between(position, fileLength);
      if (pause !== undefined) await pause;
      if (this.fd !== fd) throw new WalUnavailableError(this.path, 'it was closed during a scan');
    }
    return { ...scanner.finish(), fileLength };
  }

  /**
   * Cuts a torn tail: on `torn_tail`, truncates the file to `validUpTo`, fdatasyncs and reopens
   * the append handle; on `clean`, does nothing; on `corruption`, throws `WalCorruptionError`
   * and leaves the file untouched. Pass the result of a `scan` made just before to avoid a second
   * scan. Returns the number of bytes cut.
   */
  truncateTornTail(previousScan?: WalFileScan): number {
    const result = previousScan ?? this.scan();
    const { stop } = result;
    if (stop.kind === 'corruption')
      throw new WalCorruptionError(this.path, stop.offset, stop.reason);
    if (stop.kind === 'clean') return 0;
    const fd = this.handle();
    const currentLength = attempt(this.path, 'stat', () => this.fs.fstatSync(fd).size);
    if (currentLength !== result.fileLength) {
      throw new WalUnavailableError(this.path, 'the file changed since it was scanned');
    }
    try {
      this.fs.ftruncateSync(fd, result.validUpTo);
    } catch (error) {
      this.fail('truncate', error);
    }
    try {
      this.fs.fdatasyncSync(fd);
    } catch (error) {
      this.fail('sync', error);
    }
    this.reopen();
    return result.fileLength - result.validUpTo;
  }

  /**
   * Atomically replaces the log with `frames`: writes `path.tmp`, fdatasyncs it, renames it over
   * the log, fsyncs the directory, and reopens the append handle. A crash at any point leaves
   * either the old log or the complete new one (a stale `.tmp` is never read; the next replace
   * overwrites it).
   */
  replaceWith(frames: readonly WalFrame[]): void {
    const bytes = encodeFrames(frames, this.options);
    this.replaceFile((tmpPath, tmpFd) => this.writeAll(tmpPath, tmpFd, bytes));
  }

  /**
   * Atomically replaces the log with its own bytes from `fromOffset` to the end followed by
   * `trailer` frames, copying in bounded chunks (a checkpoint keeps the frames after the previous
   * snapshot without holding them in memory). Same crash guarantees as `replaceWith`.
   */
  replaceWithTail(fromOffset: number, trailer: readonly WalFrame[]): void {
    const trailerBytes = encodeFrames(trailer, this.options);
    const source = this.handle();
    const end = this.byteLength;
    if (!Number.isSafeInteger(fromOffset) || fromOffset < 0 || fromOffset > end) {
      throw new RangeError(`replaceWithTail offset ${fromOffset} is outside the log (0..${end})`);
    }
    this.replaceFile((tmpPath, tmpFd) => {
      const chunk = new Uint8Array(
        Math.min(DEFAULT_SCAN_CHUNK_BYTES, Math.max(1, end - fromOffset)),
      );
      for (let position = fromOffset; position < end; ) {
        const want = Math.min(chunk.length, end - position);
        const read = attempt(this.path, 'read', () =>
          this.fs.readSync(source, chunk, 0, want, position),
        );
        if (read === 0)
          throw new WalIoError(
            this.path,
            'read',
            new Error(`the log ended at ${position}, before ${end}`),
          );
        this.writeAll(tmpPath, tmpFd, chunk.subarray(0, read));
        position += read;
      }
      this.writeAll(tmpPath, tmpFd, trailerBytes);
    });
  }

  /**
   * `replaceWithTail` for a log that keeps growing while it is copied (a checkpoint that does not
   * stop the submitters): the new log is the bytes from `fromOffset` to `markerAt`, the `marker`
   * frame, then the bytes from `markerAt` to the end. The bulk is copied and fdatasynced with the
   * event loop running (reads in chunks, writes on the thread pool), catching up with what is
   * appended meanwhile; then `whilePaused` runs the final step, during which the caller
   * guarantees nothing is appended: copy the little appended since, fdatasync, rename, fsync the
   * directory, reopen. Same crash guarantees as
   * `replaceWith`. Returns the offset in the new log just past the marker.
   */
  async replaceWithTailAsync(
    fromOffset: number,
    markerAt: number,
    marker: WalFrame,
    whilePaused: (finish: () => Promise<void>) => Promise<void>,
  ): Promise<number> {
    const markerBytes = encodeFrames([marker], this.options);
    this.handle();
    const startLength = this.byteLength;
    if (
      !Number.isSafeInteger(fromOffset) ||
      !Number.isSafeInteger(markerAt) ||
      fromOffset < 0 ||
      fromOffset > markerAt ||
      markerAt > startLength
    ) {
      throw new RangeError(
        `replaceWithTailAsync offsets ${fromOffset}..${markerAt} are outside the log (0..${startLength})`,
      );
    }
    const tmpPath = `${this.path}.tmp`;
    const tmpFd = attempt(tmpPath, 'open', () => this.fs.openSync(tmpPath, 'w'));
    let closed = false;
    const closeTmp = () => {
      if (closed) return;
      closed = true;
      attempt(tmpPath, 'close', () => this.fs.closeSync(tmpFd));
    };
    const chunk = new Uint8Array(COPY_CHUNK_BYTES);
    /** Copies the live log's bytes [from, to) to the temporary file. */
    const copy = async (from: number, to: number): Promise<void> => {
      for (let position = from; position < to; ) {
        const want = Math.min(chunk.length, to - position);
        const source = this.handle();
        const read = attempt(this.path, 'read', () =>
          this.fs.readSync(source, chunk, 0, want, position),
        );
        if (read === 0) {
          throw new WalIoError(
            this.path,
            'read',
            new Error(`the log ended at ${position}, before ${to}`),
          );
        }
        await this.writeAllAsync(tmpPath, tmpFd, chunk.subarray(0, read));
        position += read;
      }
    };
    let markerEnd = 0;
    try {
      await copy(fromOffset, markerAt);
      await this.writeAllAsync(tmpPath, tmpFd, markerBytes);
      markerEnd = markerAt - fromOffset + markerBytes.length;
      await copy(markerAt, startLength);
      // Catch up with what was appended meanwhile, with the event loop running, until little is
      // left for the paused step (which copies and syncs only that).
      let copied = startLength;
      for (let round = 0; round < MAX_CATCH_UP_ROUNDS; round++) {
        try {
          await this.fs.fdatasync(tmpFd);
        } catch (error) {
          throw new WalIoError(tmpPath, 'sync', error);
        }
        const end = this.byteLength;
        if (end - copied <= PAUSED_COPY_BYTES) break;
        await copy(copied, end);
        copied = end;
      }
      let finishError: unknown;
      await whilePaused(async () => {
        try {
          // Nothing is appended now: what came since the last copy is the rest of the log. The
          // event loop keeps running (the copy's writes and the fdatasync are asynchronous);
          // only the appends wait.
          this.handle();
          await copy(copied, this.byteLength);
          try {
            await this.fs.fdatasync(tmpFd);
          } catch (error) {
            throw new WalIoError(tmpPath, 'sync', error);
          }
          closeTmp();
          this.installReplacement(tmpPath);
        } catch (error) {
          finishError = error;
        }
      });
      if (finishError !== undefined) throw finishError;
    } finally {
      closeTmp();
    }
    return markerEnd;
  }

  private async writeAllAsync(path: string, fd: number, bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      try {
        written += await this.fs.write(fd, bytes, written, bytes.length - written, null);
      } catch (error) {
        throw new WalIoError(path, 'write', error);
      }
    }
  }

  private writeAll(path: string, fd: number, bytes: Uint8Array): void {
    let written = 0;
    while (written < bytes.length) {
      written += attempt(path, 'write', () =>
        this.fs.writeSync(fd, bytes, written, bytes.length - written, null),
      );
    }
  }

  /** Writes `path.tmp` with `fill`, fdatasyncs, renames it over the log, fsyncs the directory. */
  private replaceFile(fill: (tmpPath: string, tmpFd: number) => void): void {
    this.handle();
    const tmpPath = `${this.path}.tmp`;
    const tmpFd = attempt(tmpPath, 'open', () => this.fs.openSync(tmpPath, 'w'));
    try {
      fill(tmpPath, tmpFd);
      attempt(tmpPath, 'sync', () => this.fs.fdatasyncSync(tmpFd));
    } finally {
      attempt(tmpPath, 'close', () => this.fs.closeSync(tmpFd));
    }
    this.installReplacement(tmpPath);
  }

  /** Renames the finished `tmpPath` over the log, fsyncs the directory and reopens the handle. */
  private installReplacement(tmpPath: string): void {
    // From the rename on, the old handle points at a replaced file: failures leave it unusable.
    try {
      this.fs.renameSync(tmpPath, this.path);
    } catch (error) {
      this.fail('rename', error);
    }
    try {
      fsyncDirectory(this.fs, dirname(this.path) || '.');
    } catch (error) {
      this.fail('sync_directory', error);
    }
    this.reopen();
  }

  /** Closes the old handle and opens the path again for append. */
  private reopen(): void {
    const old = this.fd;
    this.fd = undefined;
    if (old !== undefined) attempt(this.path, 'close', () => this.fs.closeSync(old));
    const fd = attempt(this.path, 'open', () => this.fs.openSync(this.path, 'a+'));
    this.fd = fd;
    this.byteLength = attempt(this.path, 'stat', () => this.fs.fstatSync(fd).size);
  }

  /** Closes the handle; harmless to call twice. Does not sync. */
  close(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) attempt(this.path, 'close', () => this.fs.closeSync(fd));
  }
}

function attempt<T>(path: string, operation: WalIoOperation, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new WalIoError(path, operation, error);
  }
}
