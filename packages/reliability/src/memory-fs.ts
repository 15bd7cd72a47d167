/**
 * An in-memory file system for the engines' FileSystem seam, with a crash model. Each file keeps
 * its current bytes and its durable bytes (as of its last fdatasync); the directory keeps its
 * current entries and its durable entries (as of its last fsync). A simulated crash (power
 * loss) keeps, for each name, the durable or the current entry, and for each file its durable
 * bytes plus whatever part of the unsynced appended bytes the crash model lets through. Writes
 * and fsyncs can be made to fail. Every operation completes synchronously (the promise-returning
 * calls resolve in a microtask), so a seeded driver over it is fully deterministic.
 */
import { basename } from 'node:path';
import type { FileSystem } from './adapter.js';
import type { Rng } from './random.js';

interface Inode {
  readonly id: number;
  data: Uint8Array;
  length: number;
  durable: Uint8Array;
}

interface Handle {
  readonly inode: Inode | undefined;
  readonly path: string;
  readonly append: boolean;
  readonly readOnly: boolean;
  position: number;
}

export type StorageFailure = {
  readonly kind: 'write' | 'sync';
  /** Which file names it applies to, e.g. `wal`, `snapshot.tmp`. */
  readonly file: (name: string) => boolean;
  /** For a write: how many bytes reach the file before it fails. */
  readonly partialBytes?: number;
};

/** How much of the bytes written since the last fdatasync survive a crash. */
export type CrashMode =
  /** A random byte prefix of them (a torn write). */
  | 'torn_prefix'
  /** Whole 512-byte sectors: some reach the disk, the rest read back as zeros. */
  | 'zero_sectors'
  /** None of them. */
  | 'drop_unsynced'
  /** All of them (a process crash: the page cache survives). */
  | 'keep_all';

function ioError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

export interface WriteRecord {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export class MemoryFs implements FileSystem {
  readonly dir: string;
  private current = new Map<string, Inode>();
  private durableEntries = new Map<string, Inode>();
  private handles = new Map<number, Handle>();
  private nextFd = 100;
  private nextInode = 1;
  private failures: StorageFailure[] = [];
  /** Writes seen (whole buffers handed to write calls that start at buffer offset 0). */
  onWrite: ((record: WriteRecord) => void) | undefined;
  readonly stats = { writes: 0, syncs: 0, failedWrites: 0, failedSyncs: 0, crashes: 0 };

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Arms a failure for the next matching call. */
  failNext(failure: StorageFailure): void {
    this.failures.push(failure);
  }

  clearFailures(): void {
    this.failures = [];
  }

  private takeFailure(kind: 'write' | 'sync', name: string): StorageFailure | undefined {
    const at = this.failures.findIndex((f) => f.kind === kind && f.file(name));
    if (at < 0) return undefined;
    return this.failures.splice(at, 1)[0];
  }

  private name(path: string): string {
    return basename(path);
  }

  private handle(fd: number): Handle {
    const handle = this.handles.get(fd);
    if (handle === undefined) throw ioError('EBADF', `bad file descriptor ${fd}`);
    return handle;
  }

  private file(fd: number): Inode {
    const inode = this.handle(fd).inode;
    if (inode === undefined) throw ioError('EISDIR', 'is a directory');
    return inode;
  }

  /** The bytes of a file as they are now (or undefined). */
  read(name: string): Uint8Array | undefined {
    const inode = this.current.get(name);
    return inode === undefined ? undefined : inode.data.slice(0, inode.length);
  }

  /** Replaces a file's bytes, durably (for tests that damage files). */
  put(name: string, bytes: Uint8Array): void {
    let inode = this.current.get(name);
    if (inode === undefined) {
      inode = {
        id: this.nextInode++,
        data: new Uint8Array(0),
        length: 0,
        durable: new Uint8Array(0),
      };
      this.current.set(name, inode);
    }
    inode.data = new Uint8Array(bytes);
    inode.length = bytes.length;
    inode.durable = new Uint8Array(bytes);
    this.durableEntries.set(name, inode);
  }

  /** Makes every file's current bytes and every current entry durable (a `sync` of everything). */
  syncAll(): void {
    for (const inode of this.current.values()) inode.durable = inode.data.slice(0, inode.length);
    this.durableEntries = new Map(this.current);
  }

  names(): string[] {
    return [...this.current.keys()].sort();
  }

  openSync(path: string, flags: string): number {
    const fd = this.nextFd++;
    if (path === this.dir || path === '.' || this.name(path) === '') {
      this.handles.set(fd, { inode: undefined, path, append: false, readOnly: true, position: 0 });
      return fd;
    }
    const name = this.name(path);
    let inode = this.current.get(name);
    if (inode === undefined) {
      if (flags === 'r' || flags === 'r+') throw ioError('ENOENT', `no such file ${path}`);
      inode = {
        id: this.nextInode++,
        data: new Uint8Array(64),
        length: 0,
        durable: new Uint8Array(0),
      };
      this.current.set(name, inode);
    } else if (flags === 'w' || flags === 'w+') {
      inode.length = 0;
    }
    this.handles.set(fd, {
      inode,
      path,
      append: flags.startsWith('a'),
      readOnly: flags === 'r',
      position: 0,
    });
    return fd;
  }

  closeSync(fd: number): void {
    this.handle(fd);
    this.handles.delete(fd);
  }

  private writeNow(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): number {
    const handle = this.handle(fd);
    if (handle.readOnly) throw ioError('EBADF', 'file not open for writing');
    const inode = this.file(fd);
    const name = this.name(handle.path);
    this.stats.writes++;
    const failure = this.takeFailure('write', name);
    const bytes = buffer.subarray(offset, offset + length);
    if (offset === 0) this.onWrite?.({ name, bytes: new Uint8Array(bytes) });
    const take =
      failure === undefined ? bytes.length : Math.min(bytes.length, failure.partialBytes ?? 0);
    const at = handle.append ? inode.length : (position ?? handle.position);
    const end = at + take;
    if (end > inode.data.length) {
      const grown = new Uint8Array(Math.max(end, inode.data.length * 2));
      grown.set(inode.data.subarray(0, inode.length));
      inode.data = grown;
    }
    if (at > inode.length) inode.data.fill(0, inode.length, at);
    inode.data.set(bytes.subarray(0, take), at);
    inode.length = Math.max(inode.length, end);
    if (position === null && !handle.append) handle.position = end;
    if (failure !== undefined) {
      this.stats.failedWrites++;
      throw ioError('EIO', `injected write failure on ${name} after ${take} bytes`);
    }
    return take;
  }

  writeSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): number {
    return this.writeNow(fd, buffer, offset, length, position);
  }

  write(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<number> {
    try {
      return Promise.resolve(this.writeNow(fd, buffer, offset, length, position));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  readSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): number {
    const inode = this.file(fd);
    const n = Math.max(0, Math.min(length, inode.length - position));
    buffer.set(inode.data.subarray(position, position + n), offset);
    return n;
  }

  private syncNow(fd: number): void {
    const handle = this.handle(fd);
    this.stats.syncs++;
    if (handle.inode === undefined) {
      // A directory fsync makes every current entry durable.
      this.durableEntries = new Map(this.current);
      return;
    }
    const name = this.name(handle.path);
    if (this.takeFailure('sync', name) !== undefined) {
      this.stats.failedSyncs++;
      throw ioError('EIO', `injected fsync failure on ${name}`);
    }
    const inode = handle.inode;
    inode.durable = inode.data.slice(0, inode.length);
    // A file's own fsync also persists the entry that created it (what ext4 and xfs do); a
    // rename still needs the directory fsync.
    if (![...this.durableEntries.values()].includes(inode) && this.current.get(name) === inode) {
      if (!this.durableEntries.has(name)) this.durableEntries.set(name, inode);
    }
  }

  fdatasyncSync(fd: number): void {
    this.syncNow(fd);
  }

  fdatasync(fd: number): Promise<void> {
    try {
      this.syncNow(fd);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  fsyncSync(fd: number): void {
    this.syncNow(fd);
  }

  ftruncateSync(fd: number, length: number): void {
    const inode = this.file(fd);
    if (length < inode.length) inode.length = length;
    else {
      this.writeNow(
        fd,
        new Uint8Array(length - inode.length),
        0,
        length - inode.length,
        inode.length,
      );
    }
  }

  fstatSync(fd: number): { size: number } {
    const handle = this.handle(fd);
    return { size: handle.inode?.length ?? 0 };
  }

  renameSync(from: string, to: string): void {
    const inode = this.current.get(this.name(from));
    if (inode === undefined) throw ioError('ENOENT', `no such file ${from}`);
    this.current.delete(this.name(from));
    this.current.set(this.name(to), inode);
  }

  unlinkSync(path: string): void {
    if (!this.current.delete(this.name(path))) throw ioError('ENOENT', `no such file ${path}`);
  }

  mkdirSync(): void {}

  existsSync(path: string): boolean {
    if (path === this.dir) return true;
    return this.current.has(this.name(path));
  }

  /**
   * Power loss: every handle is gone; each name keeps its durable or its current entry (chosen
   * by `rng` when they differ); each file keeps its durable bytes plus what `mode` lets through
   * of the bytes appended since. Returns a description of what survived, for the transcript.
   */
  crash(rng: Rng, mode: CrashMode): string {
    this.stats.crashes++;
    this.handles.clear();
    const names = [...new Set([...this.current.keys(), ...this.durableEntries.keys()])].sort();
    const next = new Map<string, Inode>();
    const notes: string[] = [];
    const decided = new Map<Inode, Uint8Array>();
    for (const name of names) {
      const durable = this.durableEntries.get(name);
      const now = this.current.get(name);
      let inode = durable;
      if (durable !== now) {
        inode =
          mode === 'keep_all' || (mode !== 'drop_unsynced' && rng.chance(0.5)) ? now : durable;
        notes.push(`${name}:${inode === now ? 'new-entry' : 'old-entry'}`);
      }
      if (inode === undefined) continue;
      let bytes = decided.get(inode);
      if (bytes === undefined) {
        bytes = this.survivingBytes(inode, rng, mode);
        decided.set(inode, bytes);
        if (bytes.length !== inode.durable.length || inode.length !== inode.durable.length) {
          notes.push(
            `${name}:${inode.durable.length}+${bytes.length - inode.durable.length}/${inode.length - inode.durable.length}`,
          );
        }
      }
      next.set(name, inode);
    }
    this.current = new Map();
    for (const [name, inode] of next) {
      const bytes = decided.get(inode)!;
      const fresh: Inode = {
        id: this.nextInode++,
        data: bytes.slice(),
        length: bytes.length,
        durable: bytes.slice(),
      };
      // Keep hard-link identity out of it: each surviving name gets its own copy.
      this.current.set(name, fresh);
    }
    this.durableEntries = new Map(this.current);
    return notes.join(' ') || 'nothing unsynced';
  }

  private survivingBytes(inode: Inode, rng: Rng, mode: CrashMode): Uint8Array {
    const data = inode.data.subarray(0, inode.length);
    const durable = inode.durable;
    const isPrefix = durable.length <= data.length && durable.every((b, i) => b === data[i]);
    if (!isPrefix) {
      // Truncated or rewritten since the last sync: either version may be what the disk has.
      return mode === 'keep_all' || (mode !== 'drop_unsynced' && rng.chance(0.5))
        ? data.slice()
        : durable.slice();
    }
    const extra = data.length - durable.length;
    if (extra === 0 || mode === 'drop_unsynced') return durable.slice();
    if (mode === 'keep_all') return data.slice();
    if (mode === 'torn_prefix') {
      const keep = rng.weighted([
        [1, 0],
        [1, extra],
        [3, rng.int(extra + 1)],
      ] as const);
      return data.slice(0, durable.length + keep);
    }
    // zero_sectors: the file keeps its new length; each 512-byte sector of the unsynced range
    // either reached the disk or reads back as zeros, later sectors lost once one is.
    const out = data.slice();
    const firstSector = Math.floor(durable.length / 512) * 512;
    let lost = false;
    for (let sector = firstSector; sector < out.length; sector += 512) {
      if (!lost && rng.chance(0.4)) lost = true;
      if (lost) out.fill(0, Math.max(sector, durable.length), Math.min(sector + 512, out.length));
    }
    return out;
  }
}

/** A read-only FileSystem holding one file, for feeding bytes to a file loader. */
export function memorySnapshotFs(path: string, bytes: Uint8Array): FileSystem {
  const fs = new MemoryFs('/mem');
  fs.put(basename(path), bytes);
  return fs;
}
