// Memory at steady state: each durable engine runs 10,000,000 commands (quick: 200,000) through
// group commit (4,096 concurrent clients), with an automatic checkpoint every 1,000,000 frames
// so that the log on disk stays bounded too. Heap and RSS are sampled after a forced GC at even
// intervals; flat (bounded by the capacities fixed at open) is the target.
import { QUICK, removeDir, tempDir } from '../lib/common.mjs';
import { allocdb, quotaWorkload } from '../lib/workloads.mjs';

export const TOTAL = Number(process.env.BENCH_MEMORY_COMMANDS ?? (QUICK ? 100_000 : 10_000_000));
const SAMPLES = 20;
const CLIENTS = 4096;
const MiB = 2 ** 20;

function sample(done) {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { commands: done, heapUsed: m.heapUsed, rss: m.rss, external: m.external };
}

async function steadyState(workload) {
  const dir = tempDir(`${workload.name}-memory`);
  const engine = await workload.open(dir, {
    checkpointPolicy: { everyFrames: QUICK ? 50_000 : 1_000_000 },
  });
  const perSample = Math.ceil(TOTAL / SAMPLES / CLIENTS / 2) * 2; // commands per client per step
  const samples = [sample(0)];
  const start = Date.now();
  let done = 0;
  while (done < TOTAL) {
    await Promise.all(
      Array.from({ length: CLIENTS }, (_, c) => workload.client(engine, c, perSample)),
    );
    done += perSample * CLIENTS;
    samples.push(sample(done));
  }
  const seconds = (Date.now() - start) / 1000;
  const metrics = engine.metrics();
  await engine.close();
  removeDir(dir);
  return { samples, seconds, checkpoints: metrics.checkpoints };
}

export async function run(context) {
  const quota = quotaWorkload(context.quota.module);
  const workloads = [allocdb, ...(quota.hasEngine ? [quota] : [])];
  context.results.memory = {};
  for (const workload of workloads) {
    const { samples, seconds, checkpoints } = await steadyState(workload);
    // Steady state: from the first sample after the start (tables filled, code compiled).
    const steady = samples.slice(2);
    const first = steady[0];
    const last = steady[steady.length - 1];
    const peak = (key) => Math.max(...steady.map((s) => s[key]));
    const low = (key) => Math.min(...steady.map((s) => s[key]));
    const perMillion = (key) =>
      ((last[key] - first[key]) / ((last.commands - first.commands) / 1e6) / MiB).toFixed(2);
    console.log(
      `\n### Memory, ${workload.name}: ${last.commands.toLocaleString('en')} ${workload.unit} via ${CLIENTS} concurrent clients in ${seconds.toFixed(0)} s (${checkpoints} automatic checkpoints)\n`,
    );
    console.log('| commands | heap used | RSS | external |');
    console.log('|---:|---:|---:|---:|');
    const shown = samples.filter((_, i) => i === 0 || i % 4 === 1 || i === samples.length - 1);
    for (const s of shown) {
      console.log(
        `| ${s.commands.toLocaleString('en')} | ${(s.heapUsed / MiB).toFixed(1)} MiB | ${(s.rss / MiB).toFixed(1)} MiB | ${(s.external / MiB).toFixed(1)} MiB |`,
      );
    }
    console.log(
      `\nFrom ${first.commands.toLocaleString('en')} to ${last.commands.toLocaleString('en')} commands (${steady.length} samples): ` +
        `heap ${(low('heapUsed') / MiB).toFixed(1)}–${(peak('heapUsed') / MiB).toFixed(1)} MiB (drift ${perMillion('heapUsed')} MiB per million commands), ` +
        `RSS ${(low('rss') / MiB).toFixed(1)}–${(peak('rss') / MiB).toFixed(1)} MiB (drift ${perMillion('rss')} MiB per million).`,
    );
    context.results.memory[workload.name] = { samples, seconds, checkpoints };
  }
}
