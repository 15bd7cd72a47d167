import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_SCHEMA_VERSION } from '../../src/constants.js';
import type { AllocDbEngine } from '../../src/engine/engine.js';
import type { SubmitResult } from '../../src/engine/jobs.js';
import { type FileSystem, nodeFileSystem } from '../../src/runtime/file-system.js';
import { loadSnapshotFile } from '../../src/runtime/snapshot-file.js';
import { encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import { useTempDirs } from '../support/temp-dir.js';
import { openEngine, request, SMALL_CONFIG, snapshotPath } from './engine-fixtures.js';

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

/** Creates `resources` resources and reserves every other one, at slots 1 and 2. */
async function fill(engine: AllocDbEngine, resources: number): Promise<void> {
  for (let r = 0; r < resources; r++) {
    await engine.submit(request({ kind: 'create_resource', resourceId: BigInt(r) }), {
      requestSlot: 1n,
    });
  }
  for (let r = 0; r < resources; r += 2) {
    await engine.submit(
      request({ kind: 'reserve', resourceId: BigInt(r), holderId: 9n, ttlSlots: 8n }),
      { requestSlot: 2n },
    );
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
    const expected = encodeSnapshotBody(engine.stateMachine.snapshot());
    await gated.held;
    // The snapshot write is held: with a checkpoint that paused the pipeline these would wait.
    const during: SubmitResult[] = [];
    for (let r = 20; r < 30; r++) {
      during.push(
        await engine.submit(request({ kind: 'create_resource', resourceId: BigInt(r) }), {
          requestSlot: 3n,
        }),
      );
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
    await engine.submit(request({ kind: 'create_resource', resourceId: 30n }), {
      requestSlot: 4n,
    });
    const live = encodeSnapshotBody(engine.stateMachine.snapshot());
    await engine.close();
    // The rewritten log holds the marker right after the pinned frame: it replays with the
    // snapshot, and without it (it still starts at LSN 1).
    const reopened = await openEngine(dir);
    expect(reopened.recoveryStatus).toMatchObject({
      loadedSnapshotLsn: pinned,
      replayedFrames: 11,
    });
    expect(encodeSnapshotBody(reopened.stateMachine.snapshot())).toEqual(live);
    await reopened.close();
    rmSync(snapshotPath(dir));
    const fromLog = await openEngine(dir);
    expect(fromLog.recoveryStatus.loadedSnapshotLsn).toBeUndefined();
    expect(encodeSnapshotBody(fromLog.stateMachine.snapshot())).toEqual(live);
    await fromLog.close();
  });

  it('builds the snapshot on a worker thread while concurrent submissions commit', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await fill(engine, 40);
    const pinned = engine.lastAppliedLsn;
    const first = engine.checkpoint();
    const expected = encodeSnapshotBody(engine.stateMachine.snapshot());
    const submitted = Array.from({ length: 20 }, (_, i) =>
      engine.submit(request({ kind: 'create_resource', resourceId: BigInt(40 + i) }), {
        requestSlot: 3n,
      }),
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
    expect(snapshotOnDisk(dir).body).toEqual(encodeSnapshotBody(engine.stateMachine.snapshot()));
    const live = encodeSnapshotBody(engine.stateMachine.snapshot());
    await engine.close();
    const reopened = await openEngine(dir);
    expect(reopened.recoveryStatus).toMatchObject({
      loadedSnapshotLsn: pinned + 20n,
      replayedFrames: 0,
    });
    expect(encodeSnapshotBody(reopened.stateMachine.snapshot())).toEqual(live);
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
    for (let r = 0n; r < 20n; r++) {
      await engine.submit(request({ kind: 'create_resource', resourceId: r }));
    }
    await engine.submit(request({ kind: 'reserve', resourceId: 3n, holderId: 1n, ttlSlots: 5n }));
    const lsn = engine.lastAppliedLsn!;
    await engine.close();
    const wanted = {
      dir,
      config: SMALL_CONFIG,
      maxCommandBytes: 4096,
      maxSnapshotBytes: 1 << 20,
      walFrom: 0,
      walTo: statSync(join(dir, 'wal')).size,
      lsn,
    };
    const inThread = encodeCheckpointAt(wanted);
    const inWorker = await encodeCheckpointInWorker(wanted);
    expect(inWorker.lastAppliedLsn).toBe(lsn);
    expect(Buffer.from(inWorker.fileBytes).equals(Buffer.from(inThread.fileBytes))).toBe(true);
  });
});
