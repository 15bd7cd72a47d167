import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_SCHEMA_VERSION } from '../../src/constants.js';
import type { QuotaEngine } from '../../src/engine/engine.js';
import type { SubmitResult } from '../../src/engine/jobs.js';
import { type FileSystem, nodeFileSystem } from '../../src/runtime/file-system.js';
import { loadSnapshotFile } from '../../src/runtime/snapshot-file.js';
import { useTempDirs } from '../support/temp-dir.js';
import {
  createBucket,
  debit,
  openEngine,
  request,
  SMALL_CONFIG,
  snapshotPath,
  stateBytes,
} from './engine-fixtures.js';

const tempDir = useTempDirs();

/** node:fs whose first write to `snapshot.tmp` waits until `release()`. */
function gatedSnapshotWrites(): {
  fileSystem: FileSystem;
  held: Promise<void>;
  release: () => void;
} {
  const snapshotFds = new Set<number>();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reached!: () => void;
  const held = new Promise<void>((resolve) => {
    reached = resolve;
  });
  return {
    held,
    release,
    fileSystem: {
      ...nodeFileSystem,
      openSync: (path, flags, mode) => {
        const fd = nodeFileSystem.openSync(path, flags, mode);
        if (path.endsWith('snapshot.tmp')) snapshotFds.add(fd);
        return fd;
      },
      write: async (fd, buffer, offset, length, position) => {
        if (snapshotFds.has(fd)) {
          reached();
          await gate;
        }
        return nodeFileSystem.write(fd, buffer, offset, length, position);
      },
    },
  };
}

/** Creates `buckets` buckets and debits every other one, at slots 1 and 2. */
async function fill(engine: QuotaEngine, buckets: number): Promise<void> {
  for (let b = 0; b < buckets; b++) {
    await engine.submit(request(createBucket(BigInt(b), 1000n, 1000n, 1n)), { requestSlot: 1n });
  }
  for (let b = 0; b < buckets; b += 2) {
    await engine.submit(request(debit(BigInt(b), 7n)), { requestSlot: 2n });
  }
}

/** The snapshot file's body, and the LSN its header names. */
function snapshotOnDisk(dir: string): { lsn: bigint; body: Uint8Array } {
  const loaded = loadSnapshotFile(snapshotPath(dir), SNAPSHOT_SCHEMA_VERSION, {
    maxSnapshotBytes: 1 << 30,
  })!;
  return { lsn: loaded.header.lastAppliedLsn, body: loaded.body };
}

describe('checkpoints do not stop the submitters (docs/engine.md, "Checkpoints")', () => {
  it('commits submissions while a checkpoint is held, and snapshots the state at its LSN', async () => {
    const dir = tempDir();
    const gated = gatedSnapshotWrites();
    const engine = await openEngine(dir, {}, { fileSystem: gated.fileSystem });
    await fill(engine, 20);
    const pinned = engine.lastAppliedLsn;
    const checkpoint = engine.checkpoint();
    // The LSN is pinned when checkpoint() is called: this is the state it must write.
    const expected = stateBytes(engine);
    await gated.held;
    // The snapshot write is held: with a checkpoint that paused the pipeline these would wait.
    const during: SubmitResult[] = [];
    for (let r = 20; r < 30; r++) {
      during.push(await engine.submit(request(createBucket(BigInt(r), 5n)), { requestSlot: 3n }));
    }
    expect(during.map((result) => result.lsn)).toEqual(
      Array.from({ length: 10 }, (_, i) => pinned + 1n + BigInt(i)),
    );
    gated.release();
    const result = await checkpoint;
    expect(result.snapshotLsn).toBe(pinned);
    const onDisk = snapshotOnDisk(dir);
    expect(onDisk.lsn).toBe(pinned);
    expect(onDisk.body).toEqual(expected);
    // After the checkpoint, the engine and its metrics carry on from the commands since the pin.
    expect(engine.metrics()).toMatchObject({ snapshotLsn: pinned, framesSinceCheckpoint: 10 });
    await engine.submit(request(debit(1n, 1n)), { requestSlot: 4n });
    const live = stateBytes(engine);
    await engine.close();
    // The rewritten log holds the marker right after the pinned frame: it replays with the
    // snapshot, and without it (it still starts at LSN 1).
    const reopened = await openEngine(dir);
    expect(reopened.recoveryStatus).toMatchObject({
      loadedSnapshotLsn: pinned,
      replayedFrames: 11,
    });
    expect(stateBytes(reopened)).toEqual(live);
    await reopened.close();
    rmSync(snapshotPath(dir));
    const fromLog = await openEngine(dir);
    expect(fromLog.recoveryStatus.loadedSnapshotLsn).toBeUndefined();
    expect(stateBytes(fromLog)).toEqual(live);
    await fromLog.close();
  });

  it('builds the snapshot on a worker thread while concurrent submissions commit', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await fill(engine, 40);
    const pinned = engine.lastAppliedLsn;
    const first = engine.checkpoint();
    const expected = stateBytes(engine);
    const submitted = Array.from({ length: 20 }, (_, i) =>
      engine.submit(request(debit(BigInt(i), 1n)), { requestSlot: 3n }),
    );
    const [result, ...committed] = await Promise.all([first, ...submitted]);
    expect(result!.snapshotLsn).toBe(pinned);
    expect(
      committed
        .map((entry) => (entry as SubmitResult).lsn)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    ).toEqual(Array.from({ length: 20 }, (_, i) => pinned + 1n + BigInt(i)));
    expect(snapshotOnDisk(dir)).toEqual({ lsn: pinned, body: expected });

    // A second checkpoint keeps the frames after the first snapshot and marks its own LSN.
    const second = await engine.checkpoint();
    expect(second.snapshotLsn).toBe(pinned + 20n);
    expect(snapshotOnDisk(dir).body).toEqual(stateBytes(engine));
    const live = stateBytes(engine);
    await engine.close();
    const reopened = await openEngine(dir);
    expect(reopened.recoveryStatus).toMatchObject({
      loadedSnapshotLsn: pinned + 20n,
      replayedFrames: 0,
    });
    expect(stateBytes(reopened)).toEqual(live);
    await reopened.close();
  });
});

describe('the checkpoint worker', () => {
  it('is found (from the sources, the built module) and rebuilds the same snapshot bytes as the in-thread path', async () => {
    // A missing worker script would fall back to the in-thread rebuild without a word; this
    // keeps the worker path the one the engine takes.
    const { checkpointWorkerAvailable, encodeCheckpointAt, encodeCheckpointInWorker } =
      await import('../../src/engine/checkpoint-body.js');
    expect(checkpointWorkerAvailable).toBe(true);
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(request(createBucket(1n, 100n)));
    for (let i = 0; i < 20; i++) await engine.submit(request(debit(1n, 1n)));
    const lsn = engine.lastAppliedLsn!;
    await engine.close();
    const walBytes = statSync(join(dir, 'wal')).size;
    const wanted = {
      dir,
      config: SMALL_CONFIG,
      maxCommandBytes: 4096,
      maxSnapshotBytes: 1 << 20,
      walFrom: 0,
      walTo: walBytes,
      lsn,
    };
    const inThread = encodeCheckpointAt(wanted);
    const inWorker = await encodeCheckpointInWorker(wanted);
    expect(inWorker.lastAppliedLsn).toBe(lsn);
    expect(Buffer.from(inWorker.fileBytes).equals(Buffer.from(inThread.fileBytes))).toBe(true);
  });
});
