// seam-report benchmark: the analysis of this repository, and of generated repositories with
// thousands of commits touching the seams (see generate-repo.mjs). Times are medians over
// several runs after warm-up; memory is the peak heap during one analysis, for several history
// lengths, to show that it does not grow with the number of commits beyond the per-seam timeline.
// Run after `pnpm build` (it measures dist/), from the package: `pnpm bench` (or `-- --quick`).
import { fileURLToPath } from 'node:url';
import { machineLine, measure, median, QUICK } from '../../../scripts/bench/harness.mjs';
import { analyze } from '../dist/index.js';
import { generatedRepository } from './generate-repo.mjs';

const THIS_REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const LARGE = QUICK ? 2_000 : 10_000;
const MEMORY_SIZES = QUICK ? [500, 2_000] : [2_500, 5_000, 10_000];

function seconds(rate) {
  return (1 / rate).toFixed(2);
}

function timingRow(label, result, target) {
  return `| ${label} | ${seconds(result.median)} s | ${seconds(result.min)} s | ${seconds(result.max)} s | ${result.runs} | ${target} |`;
}

/** Peak heap and RSS while one analysis runs, sampled every 10 ms after a full GC. */
async function peakMemory(root) {
  globalThis.gc?.();
  const before = process.memoryUsage();
  let heap = before.heapUsed;
  let rss = before.rss;
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    heap = Math.max(heap, now.heapUsed);
    rss = Math.max(rss, now.rss);
  }, 10);
  const report = await analyze({ root });
  clearInterval(timer);
  const after = process.memoryUsage();
  heap = Math.max(heap, after.heapUsed);
  const changes = report.seams.reduce((sum, seam) => sum + (seam.history?.changes ?? 0), 0);
  return {
    heap: heap - before.heapUsed,
    rss,
    commits: report.history?.commitsWalked ?? 0,
    changes,
  };
}

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

console.log(`# seam-report benchmark${QUICK ? ' (quick)' : ''}\n`);
console.log(`Machine: ${machineLine()}\n`);

const generation = performance.now();
const large = await generatedRepository(LARGE);
console.log(
  `Generated repository: ${LARGE} commits in ${large} (${((performance.now() - generation) / 1000).toFixed(1)} s, cached across runs)\n`,
);

// measure() reads a number returned by the function as an operation count: return nothing
const analyzeOnce = (root) => async () => {
  await analyze({ root });
};
const thisRepo = await measure('this repository', analyzeOnce(THIS_REPOSITORY), {
  runs: QUICK ? 3 : 9,
  warmup: 2,
});
const largeRepo = await measure(`${LARGE} commits`, analyzeOnce(large), {
  runs: QUICK ? 1 : 5,
  warmup: 1,
});

console.log('### Time to analyse (history included)\n');
console.log('| repository | median | slowest | fastest | runs | target |');
console.log('|---|---:|---:|---:|---:|---|');
console.log(timingRow('this repository', thisRepo, '< 2 s'));
console.log(timingRow(`generated, ${LARGE} commits`, largeRepo, '< 30 s'));

console.log('\n### Peak memory of one analysis, by history length\n');
console.log('| commits | commits walked | changes recorded | peak heap growth | peak RSS |');
console.log('|---:|---:|---:|---:|---:|');
const heaps = [];
for (const size of MEMORY_SIZES) {
  const root = await generatedRepository(size);
  const samples = [];
  for (let i = 0; i < 3; i++) samples.push(await peakMemory(root));
  const heap = median(samples.map((s) => s.heap));
  heaps.push(heap);
  const { commits, changes } = samples[0];
  console.log(
    `| ${size} | ${commits} | ${changes} | ${mib(heap)} | ${mib(median(samples.map((s) => s.rss)))} |`,
  );
}
console.log(
  `\nHeap growth from ${MEMORY_SIZES[0]} to ${MEMORY_SIZES.at(-1)} commits: ×${(heaps.at(-1) / heaps[0]).toFixed(2)} for ×${(MEMORY_SIZES.at(-1) / MEMORY_SIZES[0]).toFixed(0)} the history.`,
);
