// Scale: how the durable engines behave as their state grows (10 k, 100 k, 1 M entries; allocdb
// also 4 M). Each engine and size runs in its own child process (lib/scale-child.mjs), so that
// RSS and the collector see only that engine. Reported per size: durable throughput at batch 256,
// checkpoint time and snapshot size, submission latency p50/p99/max without and during a
// checkpoint (target at 1 M: p99 during ≤ 2× p99 without), open time from the WAL alone and from
// snapshot + WAL with the longest event-loop block (target ≤ 50 ms during a long replay), RSS.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUICK } from '../lib/common.mjs';
import { scaleChart } from '../lib/scale-svg.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const child = join(here, '..', 'lib', 'scale-child.mjs');

const SIZES = QUICK
  ? { allocdb: [10_000], quota: [10_000] }
  : { allocdb: [10_000, 100_000, 1_000_000, 4_000_000], quota: [10_000, 100_000, 1_000_000] };
const SECONDS = QUICK ? 1 : 4;
/** Runs per engine and size (medians reported; min–max beside them). */
const REPEATS = QUICK ? 1 : 3;

const fmt = (value, digits = 1) => (value === undefined ? '' : value.toFixed(digits));
const k = (n) => (n >= 1e6 ? `${n / 1e6} M` : `${n / 1e3} k`);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};
const range = (values) => `${fmt(Math.min(...values), 1)}–${fmt(Math.max(...values), 1)}`;

function runChild(kind, entries) {
  const output = execFileSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=8192', child, kind, String(entries), String(SECONDS)],
    { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(output.trim().split('\n').at(-1));
}

export async function run(context) {
  const results = [];
  for (const kind of ['allocdb', 'quota']) {
    for (const entries of SIZES[kind]) {
      const runs = [];
      for (let r = 0; r < REPEATS; r++) runs.push(runChild(kind, entries));
      results.push({ kind, entries, runs });
    }
  }
  const pick = (runs, get) => runs.map(get).filter((v) => v !== undefined);
  console.log(
    `\n### Scale: durable engines with 10 k to ${QUICK ? '10 k' : '4 M'} entries (${REPEATS} run${REPEATS > 1 ? 's' : ''} each, medians; min–max in brackets)\n`,
  );
  console.log(
    '| engine | entries | throughput at batch 256 | p50 / p99 / max, no checkpoint (ms) | p50 / p99 / max during a checkpoint (ms) | p99 ratio | checkpoint | snapshot | open: WAL replay (longest block) | open: snapshot + WAL (longest block) | RSS filled / end |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { kind, entries, runs } of results) {
    const m = (get) => median(pick(runs, get));
    const p99Ratio = pick(runs, (r) => r.latency.duringCheckpoint.p99 / r.latency.baseline.p99);
    console.log(
      `| ${kind === 'allocdb' ? 'allocdb-core' : 'quota-core'} | ${k(entries)} | ${fmt(m((r) => r.throughput) / 1000)} k/s (${range(pick(runs, (r) => r.throughput / 1000))}) | ` +
        `${fmt(m((r) => r.latency.baseline.p50))} / ${fmt(m((r) => r.latency.baseline.p99))} / ${fmt(m((r) => r.latency.baseline.max))} | ` +
        `${fmt(m((r) => r.latency.duringCheckpoint.p50))} / ${fmt(m((r) => r.latency.duringCheckpoint.p99))} / ${fmt(m((r) => r.latency.duringCheckpoint.max))} | ` +
        `**${fmt(median(p99Ratio), 2)}×** (${range(p99Ratio)}) | ${fmt(
          m((r) => r.checkpoint.ms / 1000),
          2,
        )} s | ${fmt(m((r) => r.checkpoint.snapshotMiB))} MiB | ` +
        `${fmt(
          m((r) => r.replayOpen.ms / 1000),
          2,
        )} s (${fmt(
          m((r) => r.replayOpen.maxBlockMs),
          0,
        )} ms) | ` +
        `${fmt(
          m((r) => r.snapshotOpen.ms / 1000),
          2,
        )} s (${fmt(
          m((r) => r.snapshotOpen.maxBlockMs),
          0,
        )} ms) | ` +
        `${fmt(
          m((r) => r.filled.rssMiB),
          0,
        )} / ${fmt(
          m((r) => r.end.rssMiB),
          0,
        )} MiB |`,
    );
  }
  console.log(
    '\nThroughput: 256 concurrent clients, each on its own entry spread over the table (allocdb: reserve → release; quota: debit). ' +
      'Latency: every submission, from the call to its answer, during the throughput window and then while `checkpoint()` ran under the same load. ' +
      'Open: "WAL replay" reopens the directory before any checkpoint (every frame replayed); "snapshot + WAL" after two checkpoints. ' +
      'Longest block: the largest event-loop delay seen during `open()` (monitorEventLoopDelay, 10 ms resolution).',
  );
  context.results.scale = results;
  const svgPath = process.argv.find((a) => a.startsWith('--scale-svg='))?.slice(12);
  const target =
    svgPath ??
    (QUICK ? undefined : join(here, '..', '..', '..', '..', 'docs', 'benchmarks-scale.svg'));
  if (target !== undefined) {
    writeFileSync(resolve(target), scaleChart(results));
    console.log(`\nScale chart: ${resolve(target)}`);
  }
}
