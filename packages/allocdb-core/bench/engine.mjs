// Durable-engine benchmarks, side by side in one run: one fsync per command against a raw
// write+fdatasync loop of the same bytes (the disk's limit); group commit at batch 16, 256 and
// 4096 via concurrent submit; replay of a 1,000,000-frame log; checkpoint time.
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatRate,
  measure,
  median,
  nowMs,
  printTable,
  QUICK,
} from '../../../scripts/bench/harness.mjs';
import { encodeClientRequest } from '../dist/codec/command-codec.js';
import { AllocDbEngine } from '../dist/engine/engine.js';
import { encodeFrames } from '../dist/runtime/wal.js';
import { WalFile } from '../dist/runtime/wal-file.js';

const RUNS = QUICK ? 3 : 7;
const PER_COMMAND_OPS = QUICK ? 200 : 2_000;
const REPLAY_FRAMES = QUICK ? 50_000 : 1_000_000;

/** Small TTLs and windows so that records retire and the tables stay in steady state. */
const CONFIG = {
  shardId: 0n,
  maxResources: 8_192,
  maxReservations: 131_072,
  maxBundleSize: 8,
  maxOperations: 262_144,
  maxTtlSlots: 4n,
  maxClientRetryWindowSlots: 4n,
  reservationHistoryWindowSlots: 2n,
  maxExpirationBucketLen: 65_536,
};

const tempDirs = [];
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'allocdb-bench-'));
  tempDirs.push(dir);
  return dir;
}

/** A slot clock that moves one slot per call (the engine reads it once per batch). */
function batchClock() {
  let slot = 1n;
  return () => slot++;
}

let nextOp = 1n;
const req = (command) => ({ operationId: nextOp++, clientId: 1n, command });

async function createResources(engine, count) {
  for (let i = 0; i < count; i += 4096) {
    const batch = [];
    for (let r = i; r < Math.min(count, i + 4096); r++)
      batch.push(engine.submit(req({ kind: 'create_resource', resourceId: BigInt(r) })));
    await Promise.all(batch);
  }
}

/** One client: reserve its resource, release it, repeat. Returns commands done. */
async function cycleClient(engine, resourceId, commands) {
  for (let done = 0; done < commands; done += 2) {
    const reserved = await engine.submit(
      req({ kind: 'reserve', resourceId, holderId: 1n, ttlSlots: 4n }),
    );
    const reservationId = reserved.outcome.reservationId;
    if (reservationId === undefined)
      throw new Error(`reserve failed: ${reserved.outcome.resultCode}`);
    await engine.submit(req({ kind: 'release', reservationId, holderId: 1n, leaseEpoch: 1n }));
  }
  return commands;
}

async function openBenchEngine(maxBatch = 4096) {
  const engine = await AllocDbEngine.open({
    dir: tempDir(),
    config: CONFIG,
    clock: batchClock(),
    engine: { maxBatch, maxSubmissionQueue: 16_384 },
  });
  await createResources(engine, CONFIG.maxResources);
  return engine;
}

/** The bytes the engine writes per command, for the raw loop: frames of reserve/release. */
function rawFrames(count) {
  const frames = [];
  for (let i = 0; i < count; i++) {
    const payload = encodeClientRequest(
      req(
        i % 2 === 0
          ? { kind: 'reserve', resourceId: 1n, holderId: 1n, ttlSlots: 4n }
          : { kind: 'release', reservationId: BigInt(i), holderId: 1n, leaseEpoch: 1n },
      ),
    );
    frames.push(
      encodeFrames([{ recordType: 1, lsn: BigInt(i + 1), requestSlot: BigInt(i), payload }], {
        maxPayloadBytes: 1 << 16,
      }),
    );
  }
  return frames;
}

async function perCommand() {
  const frames = rawFrames(PER_COMMAND_OPS);
  const write = (fd, b) =>
    new Promise((resolve, reject) =>
      fs.write(fd, b, 0, b.length, null, (e) => (e ? reject(e) : resolve())),
    );
  const fdatasync = (fd) =>
    new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  const rows = [];
  // Interleave the four so that disk noise hits them alike.
  const results = { rawSync: [], rawAsync: [], submitSync: [], submit: [] };
  for (let run = 0; run < RUNS; run++) {
    const syncFd = fs.openSync(join(tempDir(), 'raw'), 'a');
    let t = nowMs();
    for (const bytes of frames) {
      fs.writeSync(syncFd, bytes);
      fs.fdatasyncSync(syncFd);
    }
    results.rawSync.push((PER_COMMAND_OPS / (nowMs() - t)) * 1000);
    fs.closeSync(syncFd);

    const asyncFd = fs.openSync(join(tempDir(), 'raw'), 'a');
    t = nowMs();
    for (const bytes of frames) {
      await write(asyncFd, bytes);
      await fdatasync(asyncFd);
    }
    results.rawAsync.push((PER_COMMAND_OPS / (nowMs() - t)) * 1000);
    fs.closeSync(asyncFd);

    let engine = await openBenchEngine(1);
    t = nowMs();
    for (let done = 0; done < PER_COMMAND_OPS; done += 2) {
      const reserved = engine.submitSync(
        req({ kind: 'reserve', resourceId: 1n, holderId: 1n, ttlSlots: 4n }),
      );
      engine.submitSync(
        req({
          kind: 'release',
          reservationId: reserved.outcome.reservationId,
          holderId: 1n,
          leaseEpoch: 1n,
        }),
      );
    }
    results.submitSync.push((PER_COMMAND_OPS / (nowMs() - t)) * 1000);
    await engine.close();

    engine = await openBenchEngine(1);
    t = nowMs();
    await cycleClient(engine, 1n, PER_COMMAND_OPS);
    results.submit.push((PER_COMMAND_OPS / (nowMs() - t)) * 1000);
    await engine.close();
  }
  const row = (name, rates) => ({
    name,
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    runs: RUNS,
  });
  rows.push(
    row('raw writeSync + fdatasyncSync loop', results.rawSync),
    row('engine.submitSync (one fsync per command)', results.submitSync),
    row('raw async write + fdatasync loop', results.rawAsync),
    row('engine.submit, one at a time (one fsync per command)', results.submit),
  );
  printTable('Durable, one fsync per command (commands/s)', rows, {
    'engine.submitSync (one fsync per command)': 'raw writeSync + fdatasyncSync loop',
    'engine.submit, one at a time (one fsync per command)': 'raw async write + fdatasync loop',
  });
}

async function groupCommit() {
  const rows = [];
  for (const batch of [16, 256, 4096]) {
    const commands = QUICK ? batch * 8 : Math.max(batch * 40, 40_000);
    const perClient = Math.max(2, Math.floor(commands / batch / 2) * 2);
    const result = await measure(
      `group commit, ${batch} concurrent clients`,
      async (engine) => {
        const before = engine.metrics();
        await Promise.all(
          Array.from({ length: batch }, (_, c) => cycleClient(engine, BigInt(c), perClient)),
        );
        const after = engine.metrics();
        result_batches.set(
          batch,
          (after.framesCommitted - before.framesCommitted) /
            (after.batchesCommitted - before.batchesCommitted),
        );
        await engine.close();
        return batch * perClient;
      },
      { runs: RUNS, warmup: 1, setup: () => openBenchEngine(4096) },
    );
    result.name += ` (mean batch ${result_batches.get(batch).toFixed(0)})`;
    rows.push(result);
  }
  printTable('Durable, group commit via concurrent submit (commands/s)', rows);
}
const result_batches = new Map();

async function replayAndCheckpoint() {
  const dir = tempDir();
  const resources = 1024;
  const wal = WalFile.open(join(dir, 'wal'), { maxPayloadBytes: 1 << 16 });
  let lsn = 0n;
  let slot = 1n;
  let pending = [];
  const push = (command) => {
    lsn++;
    pending.push({
      recordType: 1,
      lsn,
      requestSlot: slot,
      payload: encodeClientRequest(req(command)),
    });
    if (pending.length === 8192) {
      wal.appendSync(pending);
      pending = [];
    }
  };
  for (let r = 0; r < resources; r++) push({ kind: 'create_resource', resourceId: BigInt(r) });
  while (lsn < BigInt(REPLAY_FRAMES)) {
    slot++;
    for (let r = 0; r < resources && lsn < BigInt(REPLAY_FRAMES) - 1n; r++) {
      push({ kind: 'reserve', resourceId: BigInt(r), holderId: 1n, ttlSlots: 4n });
      push({ kind: 'release', reservationId: lsn, holderId: 1n, leaseEpoch: 1n });
    }
    if (lsn === BigInt(REPLAY_FRAMES) - 1n) push({ kind: 'create_resource', resourceId: 0n });
  }
  wal.appendSync(pending);
  wal.syncSync();
  const walBytes = wal.length;
  wal.close();

  const replay = [];
  const checkpoint = [];
  const snapshotLoad = [];
  for (let run = 0; run < Math.min(RUNS, 3); run++) {
    const copy = tempDir();
    fs.copyFileSync(join(dir, 'wal'), join(copy, 'wal'));
    globalThis.gc?.();
    let t = nowMs();
    const engine = await AllocDbEngine.open({ dir: copy, config: CONFIG, clock: () => 0n });
    replay.push((REPLAY_FRAMES / (nowMs() - t)) * 1000);
    if (engine.recoveryStatus.replayedFrames !== REPLAY_FRAMES)
      throw new Error(`replayed ${engine.recoveryStatus.replayedFrames}`);
    t = nowMs();
    const result = await engine.checkpoint();
    checkpoint.push(nowMs() - t);
    await engine.close();
    t = nowMs();
    const reopened = await AllocDbEngine.open({ dir: copy, config: CONFIG, clock: () => 0n });
    snapshotLoad.push(nowMs() - t);
    if (reopened.recoveryStatus.startupKind !== 'snapshot_only')
      throw new Error('expected a snapshot-only open');
    await reopened.close();
    if (run === 0)
      console.log(
        `\nsnapshot: ${result.snapshotBytes} bytes at lsn ${result.snapshotLsn}; log ${walBytes} bytes`,
      );
  }
  const row = (name, rates) => ({
    name,
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    runs: rates.length,
  });
  printTable(`Recovery: replay of a ${REPLAY_FRAMES.toLocaleString('en')}-frame log (frames/s)`, [
    row('open = recover (scan + replay)', replay),
  ]);
  console.log(
    `\ncheckpoint (snapshot write + WAL rewrite) after replay: median ${median(checkpoint).toFixed(1)} ms; ` +
      `snapshot-only open: median ${median(snapshotLoad).toFixed(1)} ms`,
  );
}

export async function run() {
  try {
    await perCommand();
    await groupCommit();
    await replayAndCheckpoint();
  } finally {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  }
}
void formatRate;
