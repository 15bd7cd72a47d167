/**
 * A recorded history for the sweeps: a real engine on a real directory runs a seeded workload
 * (group-committed batches, ticks, checkpoints), while every WAL write is journaled. The
 * reference model replays the journal to give the state after every LSN, so any recovered
 * directory can be compared with "the state of that prefix".
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineAdapter } from '../adapter.js';
import { canon } from '../canon.js';
import { journalingFs } from '../journal-fs.js';
import { nodeFs } from '../node-fs.js';
import type { Rng } from '../random.js';

export interface FrameInfo {
  readonly lsn: bigint;
  readonly recordType: number;
  readonly offset: number;
  readonly end: number;
}

export interface History {
  readonly wal: Uint8Array;
  readonly snapshot: Uint8Array | undefined;
  /** The final log's frames with their byte ranges. */
  readonly frames: readonly FrameInfo[];
  /** Canonical state after each LSN (0: the empty state). */
  readonly prefixStates: ReadonlyMap<bigint, string>;
  readonly lastLsn: bigint;
  /** LSN of the snapshot file (0n without one). */
  readonly snapshotLsn: bigint;
}

export interface HistoryOptions {
  readonly commands: number;
  /** Checkpoint after these many commands (in order). */
  readonly checkpointsAfter: readonly number[];
}

export async function recordHistory(
  adapter: EngineAdapter,
  dir: string,
  rng: Rng,
  options: HistoryOptions,
): Promise<History> {
  const writes: Uint8Array[] = [];
  let slot = 1n;
  const engine = await adapter.open({
    dir,
    fileSystem: journalingFs(nodeFs, (bytes) => writes.push(new Uint8Array(bytes))),
    clock: () => slot,
  });
  const workload = adapter.createWorkload(rng, 3);
  let operationId = 1n;
  let done = 0;
  let checkpoints = [...options.checkpointsAfter];
  let snapshotLsn = 0n;
  while (done < options.commands) {
    if (rng.chance(0.3)) slot += BigInt(rng.range(1, 3));
    if (engine.tick !== undefined && rng.chance(0.15)) await engine.tick();
    const batch = Math.min(
      options.commands - done,
      rng.weighted([
        [5, 1],
        [3, 3],
        [1, 6],
      ] as const),
    );
    const requests = Array.from({ length: batch }, () =>
      workload.next({ rng, client: rng.int(3), operationId: operationId++ }),
    );
    const results = await Promise.all(requests.map((r) => engine.submit(r)));
    results.forEach((result, i) => workload.learn(requests[i], result));
    done += batch;
    while (checkpoints.length > 0 && done >= checkpoints[0]!) {
      await engine.checkpoint();
      snapshotLsn = engine.lastAppliedLsn;
      checkpoints = checkpoints.slice(1);
    }
  }
  await engine.close();

  // Plain copies: a Buffer's slice() is a view, and the sweeps damage copies of these bytes.
  const wal = new Uint8Array(readFileSync(join(dir, 'wal')));
  const snapshotPath = join(dir, 'snapshot');
  const snapshot = existsSync(snapshotPath)
    ? new Uint8Array(readFileSync(snapshotPath))
    : undefined;
  const scan = adapter.scanLog(wal);
  if (scan.stop.kind !== 'clean')
    throw new Error(`the recorded log is not clean: ${JSON.stringify(scan.stop)}`);
  const frames: FrameInfo[] = [];
  let offset = 0;
  for (const frame of scan.frames) {
    const end = offset + 36 + frame.payload.length;
    frames.push({ lsn: frame.lsn, recordType: frame.recordType, offset, end });
    offset = end;
  }

  // Replay everything ever written through the model: the state after every LSN.
  const journal = adapter.scanLog(Buffer.concat(writes));
  const model = adapter.createModel();
  const prefixStates = new Map<bigint, string>([[0n, canon(model.state())]]);
  for (const frame of journal.frames) {
    if (frame.recordType === 3) continue;
    model.apply(
      adapter.decodeLogged(frame.recordType, frame.payload),
      frame.lsn,
      frame.requestSlot,
    );
    prefixStates.set(frame.lsn, canon(model.state()));
  }
  return {
    wal,
    snapshot,
    frames,
    prefixStates,
    lastLsn: model.lastAppliedLsn,
    snapshotLsn,
  };
}
