// Durable-engine benchmarks, side by side in one run: one fsync per command against a raw
// write+fdatasync loop of the same bytes (the disk's limit); group commit at batch 16, 256 and
// 4096 via concurrent submit; replay of a 1,000,000-frame log; checkpoint time.
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure, median, nowMs, printTable, QUICK } from '../../../scripts/bench/harness.mjs';
import { encodeClientRequest } from '../dist/codec/command-codec.js';
import { QuotaEngine } from '../dist/engine/engine.js';
import { encodeFrames } from '../dist/runtime/wal.js';
import { WalFile } from '../dist/runtime/wal-file.js';

const RUNS = QUICK ? 3 : 7;
const PER_COMMAND_OPS = QUICK ? 200 : 2_000;
const REPLAY_FRAMES = QUICK ? 50_000 : 1_000_000;
const BUCKETS = 8_192;

/** A short retry window so that records retire and the operation table stays in steady state. */
const CONFIG = { maxBuckets: BUCKETS, maxOperations: 262_144, maxClientRetryWindowSlots: 4n };

const tempDirs = [];
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'quota-bench-'));
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
const debit = (bucketId) => ({ kind: 'debit', bucketId, amount: 1n });

/** Buckets 0..count−1, full and refilling far faster than the benchmark drains them. */
async function createBuckets(engine, count) {
  for (let i = 0; i < count; i += 4096) {
    const batch = [];
    for (let b = i; b < Math.min(count, i + 4096); b++)
      batch.push(
        engine.submit(
          req({
            kind: 'create_bucket',
            bucketId: BigInt(b),
            limit: 1_000_000_000n,
            initialBalance: 1_000_000_000n,
            refillRatePerSlot: 1_000_000n,
          }),
        ),
      );
    await Promise.all(batch);
  }
}

/** One client debiting its own bucket, one debit at a time. Returns commands done. */
async function debitClient(engine, bucketId, commands) {
  for (let done = 0; done < commands; done++) {
    const result = await engine.submit(req(debit(bucketId)));
    if (result.outcome.resultCode !== 'ok') throw new Error(`debit: ${result.outcome.resultCode}`);
  }
  return commands;
}

async function openBenchEngine(maxBatch = 4096) {
  const engine = await QuotaEngine.open({
    dir: tempDir(),
    config: CONFIG,
    clock: batchClock(),
    engine: { maxBatch, maxSubmissionQueue: 16_384 },
  });
  await createBuckets(engine, BUCKETS);
  return engine;
}

/** The bytes the engine writes per command, for the raw loop: one debit frame each. */
function rawFrames(count) {
  const frames = [];
  for (let i = 0; i < count; i++) {
    const payload = encodeClientRequest(req(debit(1n)));
    frames.push(
      encodeFrames([{ recordType: 1, lsn: BigInt(i + 1), requestSlot: BigInt(i), payload }], {
        maxPayloadBytes: 1 << 16,
      }),
    );
  }
  return frames;
}

const row = (name, rates) => ({
  name,
  median: median(rates),
  min: Math.min(...rates),
  max: Math.max(...rates),
  runs: rates.length,
});

async function perCommand() {
  const frames = rawFrames(PER_COMMAND_OPS);
  const write = (fd, b) =>
    new Promise((resolve, reject) =>
      fs.write(fd, b, 0, b.length, null, (e) => (e ? reject(e) : resolve())),
    );
  const fdatasync = (fd) =>
    new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
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
    for (let done = 0; done < PER_COMMAND_OPS; done++) engine.submitSync(req(debit(1n)));
    results.submitSync.push((PER_COMMAND_OPS / (nowMs() - t)) * 1000);
    await engine.close();

    engine = await openBenchEngine(1);
    t = nowMs();
    await debitClient(engine, 1n, PER_COMMAND_OPS);
    results.submit.push((PER_COMMAND_OPS / (nowMs() - t)) * 1000);
    await engine.close();
  }
  printTable(
    'Durable, one fsync per command (debits/s)',
    [
      row('raw writeSync + fdatasyncSync loop', results.rawSync),
      row('engine.submitSync (one fsync per command)', results.submitSync),
      row('raw async write + fdatasync loop', results.rawAsync),
      row('engine.submit, one at a time (one fsync per command)', results.submit),
    ],
    {
      'engine.submitSync (one fsync per command)': 'raw writeSync + fdatasyncSync loop',
      'engine.submit, one at a time (one fsync per command)': 'raw async write + fdatasync loop',
    },
  );
}

async function groupCommit() {
  const rows = [];
  const meanBatch = new Map();
  for (const batch of [16, 256, 4096]) {
    const commands = QUICK ? batch * 8 : Math.max(batch * 40, 40_000);
    const perClient = Math.max(1, Math.floor(commands / batch));
    const result = await measure(
      `group commit, ${batch} concurrent clients`,
      async (engine) => {
        const before = engine.metrics();
        await Promise.all(
          Array.from({ length: batch }, (_, c) =>
            debitClient(engine, BigInt(c % BUCKETS), perClient),
          ),
        );
        const after = engine.metrics();
        meanBatch.set(
          batch,
          (after.framesCommitted - before.framesCommitted) /
            (after.batchesCommitted - before.batchesCommitted),
        );
        await engine.close();
        return batch * perClient;
      },
      { runs: RUNS, warmup: 1, setup: () => openBenchEngine(4096) },
    );
    result.name += ` (mean batch ${meanBatch.get(batch).toFixed(0)})`;
    rows.push(result);
  }
  printTable('Durable, group commit via concurrent submit (debits/s)', rows);
}

async function replayAndCheckpoint() {
  const dir = tempDir();
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
  const buckets = 1024;
  for (let b = 0; b < buckets; b++) {
    push({
      kind: 'create_bucket',
      bucketId: BigInt(b),
      limit: 1_000_000n,
      initialBalance: 1_000_000n,
      refillRatePerSlot: 1_000n,
    });
  }
  // 1,024 debits per slot, one per bucket, like a steady stream of metered calls.
  while (lsn < BigInt(REPLAY_FRAMES)) {
    slot++;
    for (let b = 0; b < buckets && lsn < BigInt(REPLAY_FRAMES); b++) push(debit(BigInt(b)));
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
    const engine = await QuotaEngine.open({ dir: copy, config: CONFIG, clock: () => 0n });
    replay.push((REPLAY_FRAMES / (nowMs() - t)) * 1000);
    if (engine.recoveryStatus.replayedFrames !== REPLAY_FRAMES)
      throw new Error(`replayed ${engine.recoveryStatus.replayedFrames}`);
    t = nowMs();
    const result = await engine.checkpoint();
    checkpoint.push(nowMs() - t);
    await engine.close();
    t = nowMs();
    const reopened = await QuotaEngine.open({ dir: copy, config: CONFIG, clock: () => 0n });
    snapshotLoad.push(nowMs() - t);
    if (reopened.recoveryStatus.startupKind !== 'snapshot_only')
      throw new Error('expected a snapshot-only open');
    await reopened.close();
    if (run === 0)
      console.log(
        `\nsnapshot: ${result.snapshotBytes} bytes at lsn ${result.snapshotLsn}; log ${walBytes} bytes`,
      );
    rmSync(copy, { recursive: true, force: true });
  }
  printTable(`Recovery: replay of a ${REPLAY_FRAMES.toLocaleString('en')}-frame log (frames/s)`, [
    row('open = recover (scan + replay)', replay),
  ]);
  console.log(
    `\ncheckpoint (snapshot write + WAL rewrite) after replay: median ${median(checkpoint).toFixed(1)} ms ` +
      `(min ${Math.min(...checkpoint).toFixed(1)}, max ${Math.max(...checkpoint).toFixed(1)}); ` +
      `snapshot-only open: median ${median(snapshotLoad).toFixed(1)} ms ` +
      `(min ${Math.min(...snapshotLoad).toFixed(1)}, max ${Math.max(...snapshotLoad).toFixed(1)})`,
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
