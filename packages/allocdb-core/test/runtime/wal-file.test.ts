import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FileSystem, nodeFileSystem } from '../../src/runtime/file-system.js';
import { scanLog, WalEncodeError, type WalFrame } from '../../src/runtime/wal.js';
import {
  WalCorruptionError,
  WalFile,
  type WalFileOptions,
  WalIoError,
  WalUnavailableError,
} from '../../src/runtime/wal-file.js';
import { useTempDirs } from '../support/temp-dir.js';
import { busyPayload, concat, flipBit, frame, log, OPTIONS } from './wal-fixtures.js';

const tempDir = useTempDirs();

function scanFrames(wal: WalFile): WalFrame[] {
  const frames: WalFrame[] = [];
  wal.scan((f) => frames.push({ ...f, payload: f.payload.slice() }));
  return frames;
}

/** node:fs with one operation replaced. */
function failing(overrides: Partial<FileSystem>): FileSystem {
  return { ...nodeFileSystem, ...overrides };
}

describe('WalFile', () => {
  it('creates a missing log, appends batches with one write each, syncs and scans them back', async () => {
    const path = join(tempDir(), 'wal');
    let writes = 0;
    const counting = failing({
      writeSync: (...args) => {
        writes++;
        return nodeFileSystem.writeSync(...args);
      },
      write: (...args) => {
        writes++;
        return nodeFileSystem.write(...args);
      },
    });
    const wal = WalFile.open(path, { maxPayloadBytes: 1 << 20, fileSystem: counting });
    expect(wal.length).toBe(0);
    const first = [frame(1, [1]), frame(2, busyPayload(300)), frame(3, [])];
    const second = [frame(4, busyPayload(70_000 - 36))];
    wal.appendSync(first);
    wal.syncSync();
    await wal.append(second);
    await wal.sync();
    expect(writes).toBe(2);
    expect(wal.length).toBe(readFileSync(path).length);
    expect(scanFrames(wal)).toEqual([...first, ...second]);
    wal.close();
    wal.close(); // harmless twice
  });

  it('gives the same scan for read chunk sizes 1, 7, 64 and 64 KiB', () => {
    const path = join(tempDir(), 'wal');
    const frames = [frame(1, busyPayload(100)), frame(2, busyPayload(1000)), frame(3, [7])];
    writeFileSync(path, concat(log(frames), busyPayload(20)));
    const expected = scanLog(readFileSync(path), OPTIONS);
    for (const scanChunkBytes of [1, 7, 64, 64 * 1024]) {
      const wal = WalFile.open(path, { ...OPTIONS, scanChunkBytes });
      const seen: WalFrame[] = [];
      const result = wal.scan((f) => seen.push({ ...f, payload: f.payload.slice() }));
      expect({ frames: seen, validUpTo: result.validUpTo, stop: result.stop }).toEqual(expected);
      expect(result.fileLength).toBe(readFileSync(path).length);
      wal.close();
    }
  });

  it('truncates a torn tail, and the next append lands right after the last good frame', () => {
    const path = join(tempDir(), 'wal');
    const frames = [frame(1, [1, 2]), frame(2, [3, 4])];
    const good = log(frames);
    writeFileSync(path, concat(good, log([frame(3, busyPayload(50))]).subarray(0, 40)));
    const wal = WalFile.open(path, OPTIONS);
    const scan = wal.scan();
    expect(scan.stop).toEqual({ kind: 'torn_tail', offset: good.length });
    expect(wal.truncateTornTail(scan)).toBe(40);
    expect(readFileSync(path)).toEqual(Buffer.from(good));
    wal.appendSync([frame(3, [9])]);
    wal.syncSync();
    expect(readFileSync(path)).toEqual(Buffer.from(log([...frames, frame(3, [9])])));
    expect(wal.truncateTornTail()).toBe(0);
    wal.close();
  });

  it('truncates a zero-filled tail', () => {
    const path = join(tempDir(), 'wal');
    const good = log([frame(1, [1])]);
    writeFileSync(path, concat(good, new Uint8Array(4096)));
    const wal = WalFile.open(path, OPTIONS);
    expect(wal.truncateTornTail()).toBe(4096);
    expect(readFileSync(path).length).toBe(good.length);
    wal.close();
  });

  it('leaves a corrupt log byte-for-byte untouched and names path, offset and reason', () => {
    const path = join(tempDir(), 'wal');
    const good = log([frame(1, [1]), frame(2, [2]), frame(3, [3])]);
    const damaged = flipBit(good, 8 * 45 + 3); // inside the second frame's header
    writeFileSync(path, damaged);
    const wal = WalFile.open(path, OPTIONS);
    let caught: unknown;
    try {
      wal.truncateTornTail();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WalCorruptionError);
    expect(caught).toMatchObject({
      code: 'wal_corruption',
      path,
      offset: 37,
      reason: 'header_checksum',
    });
    expect(readFileSync(path)).toEqual(Buffer.from(damaged));
    wal.close();
  });

  it('rejects a payload over maxPayloadBytes before writing anything', () => {
    const path = join(tempDir(), 'wal');
    const wal = WalFile.open(path, { maxPayloadBytes: 16 });
    expect(() => wal.appendSync([frame(1, [1]), frame(2, busyPayload(17))])).toThrow(
      WalEncodeError,
    );
    expect(readFileSync(path).length).toBe(0);
    wal.appendSync([frame(1, [1])]);
    expect(wal.writable).toBe(true);
    wal.close();
  });

  it('replaces the log atomically and keeps appending to the new file', () => {
    const dir = tempDir();
    const path = join(dir, 'wal');
    const wal = WalFile.open(path, OPTIONS);
    wal.appendSync([frame(1, [1]), frame(2, [2]), frame(3, [3])]);
    wal.replaceWith([frame(3, [3])]);
    wal.appendSync([frame(4, [4])]);
    wal.syncSync();
    expect(scanFrames(wal)).toEqual([frame(3, [3]), frame(4, [4])]);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    wal.close();
  });

  it('leaves the old log when a crash happens before the rename; the stale .tmp is ignored', () => {
    const path = join(tempDir(), 'wal');
    const old = [frame(1, [1]), frame(2, [2])];
    const crashBeforeRename = failing({
      renameSync: () => {
        throw new Error('simulated crash before rename');
      },
    });
    const wal = WalFile.open(path, { ...OPTIONS, fileSystem: crashBeforeRename });
    wal.appendSync(old);
    wal.syncSync();
    expect(() => wal.replaceWith([frame(2, [2])])).toThrow(WalIoError);
    expect(existsSync(`${path}.tmp`)).toBe(true);
    wal.close();

    const reopened = WalFile.open(path, OPTIONS);
    expect(scanFrames(reopened)).toEqual(old);
    expect(reopened.truncateTornTail()).toBe(0);
    reopened.replaceWith([frame(2, [2])]);
    expect(scanFrames(reopened)).toEqual([frame(2, [2])]);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    reopened.close();
  });

  it('surfaces a failed write as WalIoError and then refuses to append', async () => {
    const path = join(tempDir(), 'wal');
    const options: WalFileOptions = {
      ...OPTIONS,
      fileSystem: failing({
        write: () =>
          Promise.reject(
            Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }),
          ),
      }),
    };
    const wal = WalFile.open(path, options);
    await expect(wal.append([frame(1, [1])])).rejects.toMatchObject({
      code: 'wal_io',
      operation: 'write',
      path,
    });
    expect(wal.writable).toBe(false);
    expect(() => wal.appendSync([frame(1, [1])])).toThrow(WalUnavailableError);
    await expect(wal.sync()).rejects.toBeInstanceOf(WalUnavailableError);
    wal.close();
  });

  it('surfaces a failed fsync as WalIoError and never retries it in place', () => {
    const path = join(tempDir(), 'wal');
    let syncs = 0;
    const wal = WalFile.open(path, {
      ...OPTIONS,
      fileSystem: failing({
        fdatasyncSync: () => {
          syncs++;
          throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
        },
      }),
    });
    wal.appendSync([frame(1, [1])]);
    expect(() => wal.syncSync()).toThrow(WalIoError);
    expect(() => wal.syncSync()).toThrow(WalUnavailableError);
    expect(syncs).toBe(1);
    wal.close();
  });
});

describe('WalFile.replaceWithTailAsync (a checkpoint rewriting a log that keeps growing)', () => {
  const PAYLOAD = busyPayload(32 * 1024);
  /** Four frames of 32 KiB from `lsn` on: one group commit's worth of appends. */
  const batch = (lsn: number) => [0, 1, 2, 3].map((i) => frame(lsn + i, PAYLOAD));

  it('catches up with a log that grows by a batch for every chunk it copies, and keeps every frame in order', async () => {
    // Under load the pipeline commits about one batch per turn of the event loop, and each chunk
    // of the copy costs a turn (its write is asynchronous). Modelled without timing: every write
    // of the copy appends one 128 KiB batch to the log. With the old 64 KiB chunks the copy fell
    // further behind with every chunk and a checkpoint under sustained load never finished.
    const path = join(tempDir(), 'wal');
    let paused = false;
    let copyWrites = 0;
    let lsn = 1;
    const growing = failing({
      write: async (...args) => {
        const written = await nodeFileSystem.write(...args);
        if (++copyWrites > 200) throw new Error(`still copying after ${copyWrites - 1} writes`);
        if (!paused) {
          wal.appendSync(batch(lsn));
          lsn += 4;
        }
        return written;
      },
    });
    const wal = WalFile.open(path, { ...OPTIONS, fileSystem: growing });
    for (let b = 0; b < 16; b++, lsn += 4) wal.appendSync(batch(lsn)); // 2 MiB before the pin
    const pinned = lsn - 1;
    const markerAt = wal.length;
    const marker = frame(pinned, [], 3);
    const markerEnd = await wal.replaceWithTailAsync(0, markerAt, marker, async (finish) => {
      paused = true;
      try {
        await finish();
      } finally {
        paused = false;
      }
    });
    expect(copyWrites).toBeLessThan(20);
    expect(lsn - 1).toBeGreaterThan(pinned); // appends really landed during the copy
    // the new log: frames 1..pinned, the marker, then every frame appended meanwhile
    const frames = scanFrames(wal);
    expect(frames.map((f) => Number(f.lsn))).toEqual([
      ...Array.from({ length: pinned }, (_, i) => i + 1),
      pinned,
      ...Array.from({ length: lsn - 1 - pinned }, (_, i) => pinned + 1 + i),
    ]);
    expect(frames[pinned]!.recordType).toBe(3);
    expect(markerEnd).toBe(markerAt + log([marker]).length);
    // appends go on into the new file
    wal.appendSync(batch(lsn));
    expect(scanFrames(wal).at(-1)!.lsn).toBe(BigInt(lsn + 3));
    wal.close();
  });
});
