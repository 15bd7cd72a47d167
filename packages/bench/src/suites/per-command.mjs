// Durable, one fsync per command. Each engine against the disk's limit (the same frame bytes,
// appended and fdatasynced in a bare loop) and against SQLite (one transaction, so one WAL
// fsync, per command), side by side in every run.
//   submitSync ↔ writeSync + fdatasyncSync loop    (both block the thread)
//   submit, one client at a time ↔ async write + fdatasync loop (both on the thread pool)
// Each raw loop runs twice: appending to a growing file, and overwriting a preallocated, synced
// one. With the state machine alone on the same commands, they make the ceiling at batch 1
// (lib/ceilings.mjs).
import { join } from 'node:path';
import { printCeilings, stateMachineParticipant } from '../lib/ceilings.mjs';
import { compare, printComparison, QUICK, removeDir, tempDir } from '../lib/common.mjs';
import {
  overwriteLoop,
  preallocate,
  rawAsyncLoop,
  rawSyncLoop,
  readFrames,
  totalBytes,
} from '../lib/raw-disk.mjs';
import { allocdb, quotaWorkload, walPath } from '../lib/workloads.mjs';
import { sqlite } from '../peers/sqlite-common.mjs';

// Many short runs rather than a few long ones: the disk's latency drifts over seconds on these
// shared machines, and short interleaved turns let every participant see the same drift.
const COMMANDS = QUICK ? 100 : 300;
const PER_COMMAND_RUNS = QUICK ? 2 : 21;

/** Runs the engine once untimed and returns its whole log (the last `count` are the commands). */
async function engineFrames(workload, count) {
  const dir = tempDir('frames');
  const engine = await workload.open(dir, {}, 2);
  workload.syncLoop(engine, count);
  await engine.close();
  const all = readFrames(walPath(dir));
  removeDir(dir);
  if (all.length < count) throw new Error(`expected ${count} frames, got ${all.length}`);
  return all;
}

/**
 * Every participant opens its engine, database or file once, before the first run, and keeps
 * it: the runs time a long-lived engine at steady state (the first, untimed run warms it up),
 * not the first commands of a freshly opened one.
 */
async function participantsFor(workload, all, closers) {
  const name = workload.name;
  const list = [];
  const openEngine = async () => {
    const dir = tempDir(name);
    const engine = await workload.open(dir, {}, 2);
    closers.push(() => engine.close());
    return engine;
  };
  if (all !== undefined) {
    const frames = all.slice(-COMMANDS);
    const syncPath = join(tempDir('raw'), 'log');
    const asyncPath = join(tempDir('raw'), 'log');
    // Preallocated once for every run (the warm-up included): each run overwrites the next stretch.
    const preallocated = (PER_COMMAND_RUNS + 1) * totalBytes(frames);
    const syncPrealloc = join(tempDir('raw'), 'log');
    const asyncPrealloc = join(tempDir('raw'), 'log');
    preallocate(syncPrealloc, preallocated);
    preallocate(asyncPrealloc, preallocated);
    const syncOverwrite = overwriteLoop(syncPrealloc, { sync: true });
    const asyncOverwrite = overwriteLoop(asyncPrealloc, { sync: false });
    const syncEngine = await openEngine();
    const asyncEngine = await openEngine();
    list.push(
      {
        key: `${name}:raw-sync`,
        name: `raw writeSync + fdatasyncSync loop (${name} frames)`,
        run: () => rawSyncLoop(syncPath, frames),
      },
      {
        key: `${name}:raw-sync-prealloc`,
        name: `raw writeSync + fdatasyncSync, preallocated file (${name} frames)`,
        run: () => syncOverwrite.run(frames),
      },
      {
        key: `${name}:sync`,
        name: `${name} submitSync`,
        run: () => workload.syncLoop(syncEngine, COMMANDS),
      },
      {
        key: `${name}:raw-async`,
        name: `raw async write + fdatasync loop (${name} frames)`,
        run: () => rawAsyncLoop(asyncPath, frames),
      },
      {
        key: `${name}:raw-async-prealloc`,
        name: `raw async write + fdatasync, preallocated file (${name} frames)`,
        run: () => asyncOverwrite.run(frames),
      },
      {
        key: `${name}:async`,
        name: `${name} submit, one client`,
        run: () => workload.client(asyncEngine, 1, COMMANDS),
      },
      stateMachineParticipant(workload, all, COMMANDS, `${name}:sm`),
    );
  }
  if (sqlite.available) {
    const peer = workload.openPeer(join(tempDir('sqlite'), 'db.sqlite'), 2);
    closers.push(() => peer.close());
    list.push({
      key: `${name}:sqlite`,
      name: `${workload.peerName}, one transaction per command`,
      run: () => workload.peerLoop(peer, 1, COMMANDS),
    });
  }
  return list;
}

export async function run(context) {
  const quota = quotaWorkload(context.quota.module);
  const workloads = [allocdb, quota];
  const participants = [];
  const closers = [];
  for (const workload of workloads) {
    const durable = workload === allocdb || quota.hasEngine;
    const frames = durable ? await engineFrames(workload, COMMANDS) : undefined;
    participants.push(...(await participantsFor(workload, frames, closers)));
  }
  let rows;
  try {
    rows = await compare(participants, { runs: PER_COMMAND_RUNS, warmup: 1 });
  } finally {
    for (const close of closers) await close();
  }
  const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
  const baseline = {};
  for (const workload of workloads) {
    const n = workload.name;
    const sqlite = byKey[`${n}:sqlite`]?.name;
    if (byKey[`${n}:sync`])
      baseline[byKey[`${n}:sync`].name] = [
        byKey[`${n}:raw-sync`].name,
        byKey[`${n}:raw-sync-prealloc`].name,
        sqlite,
      ];
    if (byKey[`${n}:async`])
      baseline[byKey[`${n}:async`].name] = [
        byKey[`${n}:raw-async`].name,
        byKey[`${n}:raw-async-prealloc`].name,
        sqlite,
      ];
  }
  printComparison(
    `Durable, one fsync per command: ${COMMANDS} commands per run, ${rows[0].runs} runs (commands/s; target ≥ 1.0× the raw append loop)`,
    rows,
    {
      baseline,
      notes: [
        'allocdb-core: reserve → release cycles on one resource; quota-core: debits of one bucket. ' +
          'The raw loops write the frames the engine itself wrote in an untimed run.',
        ...(quota.hasEngine
          ? []
          : ['quota-core exports no QuotaEngine yet: only its SQLite peer ran.']),
      ],
    },
  );
  const spec = [];
  for (const workload of workloads) {
    const n = workload.name;
    spec.push(
      {
        durable: [`${n}:sync`],
        append: `${n}:raw-sync`,
        overwrite: `${n}:raw-sync-prealloc`,
        stateMachine: `${n}:sm`,
      },
      {
        durable: [`${n}:async`],
        append: `${n}:raw-async`,
        overwrite: `${n}:raw-async-prealloc`,
        stateMachine: `${n}:sm`,
      },
    );
  }
  byKey.ceilings = printCeilings('Against the ceiling at batch 1', rows, spec, {
    target:
      'Target (issue 22): `submitSync` and `submit` ≥ 1.0× the raw append loop (the last column when the disk sets the ceiling).',
  });
  context.results.perCommand = byKey;
}
