// Durable, group commit: B concurrent clients each `await engine.submit(…)` in a loop, so each
// flush carries about B commands (one write, one fdatasync); against
// - the disk's limit: the engine's own frames, B per write, one fdatasync per write, appended to
//   a growing file and overwriting a preallocated, synced one;
// - the CPU's limit: the engine's state machine applying the same commands without a log;
// - SQLite and LMDB with the same semantics, one transaction (one WAL fsync) per B commands.
// Every durable row is also reported as a fraction of the ceiling min(disk at B, state machine)
// (lib/ceilings.mjs).
import { join } from 'node:path';
import { printCeilings, stateMachineParticipant } from '../lib/ceilings.mjs';
import { compare, printComparison, QUICK, removeDir, tempDir } from '../lib/common.mjs';
import {
  groupFrames,
  overwriteLoop,
  preallocate,
  rawAsyncLoop,
  readFrames,
  totalBytes,
} from '../lib/raw-disk.mjs';
import { allocdb, quotaWorkload, walPath } from '../lib/workloads.mjs';
import { lmdb } from '../peers/lmdb-common.mjs';
import { sqlite } from '../peers/sqlite-common.mjs';

export const BATCHES = [16, 256, 4096];

/** Commands per client and timed run at batch size B (even: whole reserve/release cycles). */
function perClientFor(batch) {
  const total = QUICK ? Math.max(batch * 2, 1_000) : Math.max(batch * 40, 40_000);
  return Math.max(2, Math.floor(total / batch / 2) * 2);
}

/** Runs B concurrent clients of `workload` on `engine`; returns commands and the mean batch. */
async function concurrentClients(workload, engine, batch, perClient) {
  const before = engine.metrics();
  await Promise.all(Array.from({ length: batch }, (_, c) => workload.client(engine, c, perClient)));
  const after = engine.metrics();
  const meanBatch =
    (after.framesCommitted - before.framesCommitted) /
    (after.batchesCommitted - before.batchesCommitted);
  return { commands: batch * perClient, meanBatch };
}

function participantsFor(workload, batch, perClient, log) {
  const name = workload.name;
  const list = [];
  if (log !== undefined) {
    const groups = groupFrames(log.frames.slice(-log.timed), batch);
    list.push(
      {
        key: `${name}:${batch}:raw`,
        name: `raw write + fdatasync, ${batch} ${name} frames per write`,
        setup: () => join(tempDir('raw'), 'log'),
        run: (path) => rawAsyncLoop(path, groups, batch),
      },
      {
        key: `${name}:${batch}:raw-prealloc`,
        name: `raw overwrite of a preallocated file + fdatasync, ${batch} ${name} frames per write`,
        setup: () => {
          const path = join(tempDir('raw'), 'log');
          preallocate(path, totalBytes(groups));
          return path;
        },
        run: (path) => overwriteLoop(path, { sync: false }).run(groups, batch),
      },
      stateMachineParticipant(workload, log.frames, log.timed, `${name}:${batch}:sm`),
      {
        key: `${name}:${batch}:engine`,
        name: `${name}, ${batch} concurrent clients`,
        setup: async () => {
          const dir = tempDir(name);
          return { dir, engine: await workload.open(dir, {}, batch) };
        },
        run: async (state) => {
          const result = await concurrentClients(workload, state.engine, batch, perClient);
          state.meanBatch = result.meanBatch;
          return result.commands;
        },
        note: (state) => state.meanBatch,
        teardown: async ({ dir, engine }) => {
          await engine.close();
          removeDir(dir);
        },
      },
      {
        key: `${name}:${batch}:batch`,
        name: `${name}, submitBatch of ${batch}, one call at a time`,
        setup: async () => {
          const dir = tempDir(name);
          return { dir, engine: await workload.open(dir, {}, batch) };
        },
        run: ({ engine }) => workload.batchClient(engine, batch, batch * perClient),
        teardown: async ({ dir, engine }) => {
          await engine.close();
          removeDir(dir);
        },
      },
    );
  }
  if (lmdb.available && workload.openLmdbPeer !== undefined) {
    list.push({
      key: `${name}:${batch}:lmdb`,
      name: `LMDB, ${workload.peerName.replace(/^SQLite, /, '')}, ${batch} commands per transaction`,
      setup: () => {
        const dir = tempDir('lmdb');
        return { dir, peer: workload.openLmdbPeer(dir, batch) };
      },
      run: ({ peer }) => workload.peerLoop(peer, batch, batch * perClient),
      teardown: async ({ dir, peer }) => {
        await peer.close();
        removeDir(dir);
      },
    });
  }
  if (!sqlite.available) return list;
  list.push({
    key: `${name}:${batch}:sqlite`,
    name: `${workload.peerName}, ${batch} commands per transaction`,
    setup: () => {
      const dir = tempDir('sqlite');
      return { dir, peer: workload.openPeer(join(dir, 'db.sqlite'), batch) };
    },
    run: ({ peer }) => workload.peerLoop(peer, batch, batch * perClient),
    teardown: ({ dir, peer }) => {
      peer.close();
      removeDir(dir);
    },
  });
  return list;
}

/**
 * The engine's whole log for this batch size from one untimed run (also a warm-up): `frames`,
 * of which the last `timed` are the run's commands (the ones before create the entries).
 */
async function engineFrames(workload, batch, perClient) {
  const dir = tempDir('frames');
  const engine = await workload.open(dir, {}, batch);
  const { commands } = await concurrentClients(workload, engine, batch, perClient);
  await engine.close();
  const frames = readFrames(walPath(dir));
  removeDir(dir);
  return { frames, timed: commands };
}

export async function run(context) {
  const quota = quotaWorkload(context.quota.module);
  const workloads = [allocdb, quota];
  const results = {};
  for (const batch of BATCHES) {
    const perClient = perClientFor(batch);
    const participants = [];
    for (const workload of workloads) {
      const durable = workload === allocdb || quota.hasEngine;
      const frames = durable ? await engineFrames(workload, batch, perClient) : undefined;
      participants.push(...participantsFor(workload, batch, perClient, frames));
    }
    const rows = await compare(participants);
    const baseline = {};
    for (const r of rows) {
      results[r.key] = r;
      if (r.key.endsWith(':engine')) {
        const prefix = r.key.slice(0, -':engine'.length);
        baseline[r.name] = [`${prefix}:sqlite`, `${prefix}:lmdb`, `${prefix}:raw`, `${prefix}:sm`]
          .map((key) => rows.find((x) => x.key === key)?.name)
          .filter(Boolean);
        const mean = r.notes.reduce((a, b) => a + b, 0) / r.notes.length;
        r.meanBatch = mean;
        r.name += ` (mean batch ${mean.toFixed(0)})`;
        baseline[r.name] = baseline[r.name.replace(/ \(mean batch \d+\)$/, '')];
      }
      if (r.key.endsWith(':batch')) {
        const prefix = r.key.slice(0, -':batch'.length);
        baseline[r.name] = [`${prefix}:sqlite`, `${prefix}:lmdb`, `${prefix}:raw`, `${prefix}:sm`]
          .map((key) => rows.find((x) => x.key === key)?.name)
          .filter(Boolean);
      }
    }
    printComparison(
      `Durable, group commit at batch ${batch}: ${batch * perClient} commands per run, ${rows[0].runs} runs (commands/s; target ≥ 3× SQLite, ahead of LMDB)`,
      rows,
      { baseline },
    );
    results[`ceilings:${batch}`] = printCeilings(
      `Against the ceiling at batch ${batch}`,
      rows,
      workloads.map((workload) => ({
        durable: [`${workload.name}:${batch}:engine`, `${workload.name}:${batch}:batch`],
        append: `${workload.name}:${batch}:raw`,
        overwrite: `${workload.name}:${batch}:raw-prealloc`,
        stateMachine: `${workload.name}:${batch}:sm`,
      })),
      {
        target:
          'Targets (issue 22): `submitBatch` ≥ 0.8× the ceiling at every batch; per-command `submit` with 4,096 concurrent callers ≥ 0.5× the state machine.',
      },
    );
  }
  if (!quota.hasEngine) {
    console.log('\nquota-core exports no QuotaEngine yet: only its SQLite peer ran.');
  }
  context.results.groupCommit = results;
}
