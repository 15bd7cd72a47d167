// Recovery: `open` of a directory holding only a WAL of 1,000,000 frames (scan, CRC checks,
// decode, replay through the live apply code, recovery checks), side by side with
// - reading the same file into memory (the I/O floor; the file is in the page cache), and
// - decoding and applying the same frames through the state machine directly, with no scan,
//   no CRC and no recovery checks (the state machine's floor for replay).
// Then a checkpoint of the recovered state, and an open from that snapshot alone.
// SQLite has no equivalent (it does not replay a command log), so it is not a peer here.
import * as fs from 'node:fs';
import { join } from 'node:path';
import * as allocdbRoot from 'allocdb-core';
import * as allocdbCodec from 'allocdb-core/codec';
import * as allocdbStateMachine from 'allocdb-core/state-machine';

const allocdbCore = { ...allocdbRoot, ...allocdbCodec, ...allocdbStateMachine };

import {
  compare,
  median,
  nowMs,
  printComparison,
  QUICK,
  RUNS,
  removeDir,
  tempDir,
} from '../lib/common.mjs';
import { ALLOCDB_CONFIG, batchClock, request } from '../lib/workloads.mjs';

export const REPLAY_FRAMES = QUICK ? 30_000 : 1_000_000;

/** allocdb: 1,024 resources, then reserve/release cycles over them, 1,024 commands per batch. */
export function buildAllocdbLog(engine, total) {
  const resources = 1024;
  let written = 0;
  const submit = (requests) => {
    const batch = requests.slice(0, total - written);
    for (const result of engine.submitBatchSync(batch)) {
      if (result instanceof Error) throw result;
    }
    written += batch.length;
    return batch;
  };
  const creates = [];
  for (let r = 0; r < resources; r++) {
    creates.push(request({ kind: 'create_resource', resourceId: BigInt(r) }));
  }
  submit(creates);
  while (written < total) {
    const reserves = [];
    for (let r = 0; r < resources; r++) {
      reserves.push(
        request({ kind: 'reserve', resourceId: BigInt(r), holderId: 1n, ttlSlots: 4n }),
      );
    }
    const firstLsn = BigInt(written + 1);
    const done = submit(reserves).length;
    const releases = [];
    for (let i = 0; i < done; i++) {
      releases.push(
        request({
          kind: 'release',
          reservationId: firstLsn + BigInt(i),
          holderId: 1n,
          leaseEpoch: 1n,
        }),
      );
    }
    submit(releases);
  }
}

/** quota: 1,024 buckets, then debits round robin, 4,096 commands per batch. */
export function buildQuotaLog(engine, total) {
  let written = 0;
  const submit = (requests) => {
    const batch = requests.slice(0, total - written);
    for (const result of engine.submitBatchSync(batch)) {
      if (result instanceof Error) throw result;
    }
    written += batch.length;
  };
  const creates = [];
  for (let b = 0; b < 1024; b++) {
    creates.push(
      request({
        kind: 'create_bucket',
        bucketId: BigInt(b),
        limit: 1n << 62n,
        initialBalance: 1n << 62n,
        refillRatePerSlot: 1n,
      }),
    );
  }
  submit(creates);
  while (written < total) {
    const debits = [];
    for (let i = 0; i < 4096; i++) {
      debits.push(request({ kind: 'debit', bucketId: BigInt(i % 1024), amount: 1n }));
    }
    submit(debits);
  }
}

/** Decode + apply every frame of a log through a fresh state machine (no CRC, no checks). */
function applyOnly(bytes, db, codec) {
  let offset = 0;
  let frames = 0;
  while (offset + 32 <= bytes.length) {
    const payloadLength = bytes.readUInt32LE(offset + 24);
    const recordType = bytes[offset + 6];
    const context = {
      lsn: bytes.readBigUInt64LE(offset + 8),
      requestSlot: bytes.readBigUInt64LE(offset + 16),
    };
    const payload = bytes.subarray(offset + 32, offset + 32 + payloadLength);
    if (recordType === 1) db.applyClient(context, codec.decodeClientRequest(payload));
    else if (recordType === 2) db.applyInternal(context, codec.decodeInternalCommand(payload));
    offset += 36 + payloadLength;
    frames++;
  }
  return frames;
}

async function engineRows(spec) {
  const source = tempDir(`${spec.name}-log`);
  const builder = await spec.Engine.open({ dir: source, config: spec.config, clock: batchClock() });
  const buildStart = nowMs();
  spec.build(builder, REPLAY_FRAMES);
  const buildMs = nowMs() - buildStart;
  await builder.close();
  const walBytes = fs.statSync(join(source, 'wal')).size;

  const copy = () => {
    const dir = tempDir(`${spec.name}-replay`);
    fs.copyFileSync(join(source, 'wal'), join(dir, 'wal'));
    return dir;
  };
  const open = (dir) => spec.Engine.open({ dir, config: spec.config, clock: () => 0n });
  const checkpoints = [];
  const snapshotOpens = [];
  let snapshotBytes = 0;
  const rows = await compare(
    [
      {
        key: `${spec.name}:read`,
        name: `${spec.name}: read the log file (page cache)`,
        run: () => {
          fs.readFileSync(join(source, 'wal'));
          return REPLAY_FRAMES;
        },
      },
      {
        key: `${spec.name}:apply`,
        name: `${spec.name}: decode + apply only (${spec.Db.name}, no scan, CRC or checks)`,
        setup: () => ({
          bytes: fs.readFileSync(join(source, 'wal')),
          db: new spec.Db(spec.config),
        }),
        run: ({ bytes, db }) => applyOnly(bytes, db, spec.codec),
      },
      {
        key: `${spec.name}:open`,
        name: `${spec.name}: open = recover (scan + CRC + replay)`,
        setup: () => ({ dir: copy() }),
        run: async (state) => {
          state.engine = await open(state.dir);
          const replayed = state.engine.recoveryStatus.replayedFrames;
          if (replayed !== REPLAY_FRAMES) throw new Error(`replayed ${replayed} frames`);
          return replayed;
        },
        // Untimed: a checkpoint of the recovered state, then an open from the snapshot alone.
        teardown: async ({ dir, engine }) => {
          let t = nowMs();
          const result = await engine.checkpoint();
          checkpoints.push(nowMs() - t);
          snapshotBytes = result.snapshotBytes;
          await engine.close();
          t = nowMs();
          const reopened = await open(dir);
          snapshotOpens.push(nowMs() - t);
          if (reopened.recoveryStatus.startupKind !== 'snapshot_only') {
            throw new Error(
              `expected a snapshot-only open, got ${reopened.recoveryStatus.startupKind}`,
            );
          }
          await reopened.close();
          removeDir(dir);
        },
      },
    ],
    { runs: Math.min(RUNS, QUICK ? 2 : 5), warmup: 1 },
  );
  removeDir(source);
  return {
    rows,
    facts: {
      walBytes,
      buildMs,
      snapshotBytes,
      checkpointMs: median(checkpoints),
      snapshotOpenMs: median(snapshotOpens),
    },
  };
}

export async function run(context) {
  const specs = [
    {
      name: 'allocdb-core',
      Engine: allocdbCore.AllocDbEngine,
      Db: allocdbCore.AllocDb,
      config: ALLOCDB_CONFIG,
      codec: allocdbCore,
      build: buildAllocdbLog,
    },
  ];
  const quota = context.quota;
  if (quota.hasEngine) {
    specs.push({
      name: 'quota-core',
      Engine: quota.module.QuotaEngine,
      Db: quota.module.QuotaDb,
      config: { maxBuckets: 8_192, maxOperations: 262_144, maxClientRetryWindowSlots: 8n },
      codec: quota.module,
      build: buildQuotaLog,
    });
  }
  context.results.recovery = {};
  for (const spec of specs) {
    const { rows, facts } = await engineRows(spec);
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
    const open = byKey[`${spec.name}:open`];
    printComparison(
      `Recovery, ${spec.name}: replay of a ${REPLAY_FRAMES.toLocaleString('en')}-frame log (${(facts.walBytes / 2 ** 20).toFixed(1)} MiB), ${open.runs} runs (frames/s; target ≥ 500,000/s)`,
      rows,
      {
        baseline: {
          [open.name]: [byKey[`${spec.name}:apply`].name, byKey[`${spec.name}:read`].name],
        },
        notes: [
          `After each open: checkpoint (snapshot of ${(facts.snapshotBytes / 1024).toFixed(0)} KiB + WAL rewrite) median ${facts.checkpointMs.toFixed(1)} ms; ` +
            `open from that snapshot alone median ${facts.snapshotOpenMs.toFixed(1)} ms. ` +
            `(Writing the log through submitBatchSync took ${(facts.buildMs / 1000).toFixed(1)} s.)`,
        ],
      },
    );
    context.results.recovery[spec.name] = { ...byKey, facts };
  }
  if (!quota.hasEngine)
    console.log('\nquota-core exports no QuotaEngine yet: no quota replay rows.');
}
