// One engine at one size, in its own process (so that RSS and the garbage collector see only it):
// `node --expose-gc scale-child.mjs <allocdb|quota> <entries> <seconds>` prints one JSON line.
//
// 1. populate: `entries` resources (buckets) through submitBatchSync, 4096 per fsync;
// 2. reopen (a WAL-only replay of every frame), timed, with the longest event-loop block seen;
// 3. throughput at batch 256: 256 concurrent clients, each on its own entry spread over the
//    table (allocdb: reserve → release; quota: debit 1), for `seconds`;
// 4. submission latency (p50, p99, max) without a checkpoint, then while `checkpoint()` runs
//    under the same load; the checkpoint's time and snapshot size;
// 5. a second checkpoint (the log then keeps only what follows the first), close, reopen from
//    snapshot + WAL, timed, with the longest event-loop block;
// 6. RSS and heap after populating and at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AllocDbEngine } from 'allocdb-core';
import { QuotaEngine } from 'quota-core';

const [kind, entriesArg, secondsArg] = process.argv.slice(2);
const entries = Number(entriesArg);
const seconds = Number(secondsArg ?? 3);
const CLIENTS = 256;
const mib = (bytes) => bytes / (1024 * 1024);

/** One slot clock for every open in this process: it moves one slot per call, never back. */
let clockSlot = 1n;
function batchClock() {
  return () => clockSlot++;
}

let nextOperationId = 1n;
const request = (command) => ({ operationId: nextOperationId++, clientId: 1n, command });

const allocdb = {
  config: {
    shardId: 0n,
    maxResources: entries,
    maxReservations: 131_072,
    maxBundleSize: 8,
    maxOperations: 262_144,
    maxTtlSlots: 4n,
    maxClientRetryWindowSlots: 4n,
    reservationHistoryWindowSlots: 2n,
    maxExpirationBucketLen: 65_536,
  },
  open: (dir, extra = {}) =>
    AllocDbEngine.open({
      dir,
      config: allocdb.config,
      clock: batchClock(),
      engine: { maxBatch: 4096, maxSubmissionQueue: 16_384, maxSnapshotBytes: 2 ** 31 },
      ...extra,
    }),
  create: (i) => ({ kind: 'create_resource', resourceId: BigInt(i) }),
  async client(engine, index, record) {
    const resourceId = BigInt(Math.floor((index * entries) / CLIENTS));
    let done = 0;
    while (!stop) {
      let t = performance.now();
      const reserved = await engine.submit(
        request({ kind: 'reserve', resourceId, holderId: 1n, ttlSlots: 4n }),
      );
      record(t);
      const { reservationId } = reserved.outcome;
      if (reservationId === undefined) throw new Error(`reserve: ${reserved.outcome.resultCode}`);
      t = performance.now();
      await engine.submit(
        request({ kind: 'release', reservationId, holderId: 1n, leaseEpoch: 1n }),
      );
      record(t);
      done += 2;
    }
    return done;
  },
};

const LIMIT = 1n << 62n;
const quota = {
  config: { maxBuckets: entries, maxOperations: 262_144, maxClientRetryWindowSlots: 8n },
  open: (dir, extra = {}) =>
    QuotaEngine.open({
      dir,
      config: quota.config,
      clock: batchClock(),
      engine: { maxBatch: 4096, maxSubmissionQueue: 16_384, maxSnapshotBytes: 2 ** 31 },
      ...extra,
    }),
  create: (i) => ({
    kind: 'create_bucket',
    bucketId: BigInt(i),
    limit: LIMIT,
    initialBalance: LIMIT,
    refillRatePerSlot: 1n,
  }),
  async client(engine, index, record) {
    const bucketId = BigInt(Math.floor((index * entries) / CLIENTS));
    let done = 0;
    while (!stop) {
      const t = performance.now();
      const result = await engine.submit(request({ kind: 'debit', bucketId, amount: 1n }));
      record(t);
      if (result.outcome.resultCode !== 'ok') throw new Error(result.outcome.resultCode);
      done++;
    }
    return done;
  },
};

const workload = kind === 'allocdb' ? allocdb : quota;
let stop = false;

function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function latencySummary(samples) {
  const sorted = Float64Array.from(samples).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? undefined : sorted[sorted.length - 1],
  };
}

/** Opens, timing it and the longest event-loop block meanwhile (a 10 ms-resolution monitor). */
async function timedOpen(dir) {
  const monitor = monitorEventLoopDelay({ resolution: 10 });
  monitor.enable();
  // The histogram measures from its previous sample: let it take one before open() starts.
  await new Promise((resolve) => setTimeout(resolve, 50));
  monitor.reset();
  let progressCalls = 0;
  const started = performance.now();
  const engine = await workload.open(dir, { onProgress: () => progressCalls++ });
  const ms = performance.now() - started;
  monitor.disable();
  return {
    engine,
    open: {
      ms,
      maxBlockMs: monitor.max / 1e6,
      progressCalls,
      replayedFrames: engine.recoveryStatus.replayedFrames,
      startupKind: engine.recoveryStatus.startupKind,
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), `engine-scale-${kind}-`));
const result = { kind, entries, clients: CLIENTS };
try {
  // 1. Populate.
  let engine = await workload.open(dir);
  let started = performance.now();
  for (let i = 0; i < entries; i += 4096) {
    const requests = [];
    for (let j = i; j < Math.min(entries, i + 4096); j++)
      requests.push(request(workload.create(j)));
    const answers = engine.submitBatchSync(requests);
    for (const answer of answers) {
      if (answer instanceof Error || answer.outcome.resultCode !== 'ok')
        throw new Error(`populate: ${answer.message ?? answer.outcome.resultCode}`);
    }
  }
  result.populateSeconds = (performance.now() - started) / 1000;
  globalThis.gc?.();
  const filled = process.memoryUsage();
  result.filled = { rssMiB: mib(filled.rss), heapMiB: mib(filled.heapUsed) };
  await engine.close();

  // 2. Reopen: replay every frame (no snapshot yet).
  let opened = await timedOpen(dir);
  engine = opened.engine;
  result.replayOpen = opened.open;

  // 3 and 4. Load at batch 256: throughput and latency without, then during, a checkpoint.
  const baseline = [];
  const during = [];
  let checkpointRunning = false;
  const record = (t) => {
    const latency = performance.now() - t;
    if (checkpointRunning) during.push(latency);
    else if (!phaseAfter) baseline.push(latency);
  };
  let phaseAfter = false;
  stop = false;
  const clients = Array.from({ length: CLIENTS }, (_, c) => workload.client(engine, c, record));
  const warm = engine.metrics().framesCommitted;
  await new Promise((resolve) => setTimeout(resolve, 500));
  baseline.length = 0;
  const framesBefore = engine.metrics().framesCommitted;
  started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = performance.now() - started;
  result.throughput = (engine.metrics().framesCommitted - framesBefore) / (elapsed / 1000);
  void warm;
  const fsyncBefore = { batches: engine.metrics().batchesCommitted };
  const loopDuring = monitorEventLoopDelay({ resolution: 5 });
  loopDuring.enable();
  await new Promise((resolve) => setTimeout(resolve, 20));
  loopDuring.reset();
  checkpointRunning = true;
  const checkpoint = await engine.checkpoint();
  checkpointRunning = false;
  loopDuring.disable();
  result.checkpointLoop = {
    maxBlockMs: loopDuring.max / 1e6,
    p99BlockMs: loopDuring.percentile(99) / 1e6,
    batches: engine.metrics().batchesCommitted - fsyncBefore.batches,
  };
  phaseAfter = true;
  stop = true;
  await Promise.all(clients);
  result.checkpoint = {
    ms: checkpoint.durationMs,
    snapshotMiB: mib(checkpoint.snapshotBytes),
    snapshotBytes: checkpoint.snapshotBytes,
  };
  result.latency = { baseline: latencySummary(baseline), duringCheckpoint: latencySummary(during) };

  // 5. A second checkpoint drops the frames before the first snapshot; reopen from it.
  await engine.submit(request(workload.create(entries - 1)));
  await engine.checkpoint();
  await engine.close();
  opened = await timedOpen(dir);
  engine = opened.engine;
  result.snapshotOpen = opened.open;
  globalThis.gc?.();
  const end = process.memoryUsage();
  result.end = { rssMiB: mib(end.rss), heapMiB: mib(end.heapUsed) };
  await engine.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
