// Shared benchmark harness for every package's `pnpm bench` script (repository tooling, not part
// of any published package). Benchmarks compare things side by side in one run and report
// medians, spread and ratios; they never assert on time.
import { cpus, totalmem } from 'node:os';

/** Node's monotonic clock in milliseconds. */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Median of numbers (copy-sorted). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs `fn` `runs` times after `warmup` untimed runs. `fn` performs `ops` operations and may
 * return a number of operations to use instead. Returns ops/s as median, min and max over runs.
 * Pass `setup` to rebuild state before every run outside the timed region.
 */
export async function measure(name, fn, { ops = 1, runs = 7, warmup = 2, setup } = {}) {
  const rates = [];
  for (let i = 0; i < warmup + runs; i++) {
    const state = setup ? await setup() : undefined;
    globalThis.gc?.();
    const start = nowMs();
    const done = (await fn(state)) ?? ops;
    const elapsed = nowMs() - start;
    if (i >= warmup) rates.push((done / elapsed) * 1000);
  }
  return { name, median: median(rates), min: Math.min(...rates), max: Math.max(...rates), runs };
}

/** Spread as ± percent of the median (half the min–max range). */
export function spreadPercent(result) {
  return ((result.max - result.min) / 2 / result.median) * 100;
}

export function formatRate(perSecond) {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k/s`;
  return `${perSecond.toFixed(1)} /s`;
}

/** One line describing the machine, for the report header. */
export function machineLine() {
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/**
 * Prints results as a markdown table. `rows` are measure() results; `baseline` (optional) maps a
 * row name to the name of the row it is compared with, giving a ratio column (ours / baseline).
 */
export function printTable(title, rows, baseline = {}) {
  const byName = new Map(rows.map((row) => [row.name, row]));
  console.log(`\n### ${title}\n`);
  console.log('| benchmark | median | min | max | spread | ratio |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const base = baseline[row.name] ? byName.get(baseline[row.name]) : undefined;
    const ratio = base ? `${(row.median / base.median).toFixed(2)}× ${base.name}` : '';
    console.log(
      `| ${row.name} | ${formatRate(row.median)} | ${formatRate(row.min)} | ${formatRate(row.max)} | ±${spreadPercent(row).toFixed(1)}% | ${ratio} |`,
    );
  }
}

/** True when `pnpm bench -- --quick` (or BENCH_QUICK=1) asks for the CI smoke-test setting. */
export const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
