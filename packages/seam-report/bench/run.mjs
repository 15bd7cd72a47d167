// seam-report benchmark: the analysis of this repository, of a generated repository with
// thousands of commits touching the seams (generate-repo.mjs), and of a generated repository with
// 400 engines × 4 copied files (generate-many.mjs). Times are medians over several runs after
// warm-up; memory is the peak heap during one analysis for several history lengths, and the peak
// resident set of one analysis in a fresh process for the many-copies repository, with the size of
// each output format.
//
// Run after `pnpm build` (it measures dist/), from the package: `pnpm bench` (or `-- --quick`).
// `-- --previous=<package directory>` also runs a previous release (its dist/ built elsewhere, e.g.
// `git worktree add /tmp/seam-old <commit>` and `pnpm --filter seam-report build` there) side by
// side with this one, alternating fresh processes on every repository, and prints both.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { machineLine, measure, median, QUICK } from '../../../scripts/bench/harness.mjs';
import { analyze } from '../dist/index.js';
import { manyCopiesRepository } from './generate-many.mjs';
import { generatedRepository } from './generate-repo.mjs';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const THIS_REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const LARGE = QUICK ? 2_000 : 10_000;
const MANY = QUICK ? 100 : 400;
const MEMORY_SIZES = QUICK ? [500, 2_000] : [2_500, 5_000, 10_000];
const PREVIOUS = process.argv.find((arg) => arg.startsWith('--previous='))?.slice(11);

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

/** One analysis of `root` in a fresh process with the package at `dir` (see analyze-once.mjs). */
function once(dir, root, { config, renderAll = false } = {}) {
  const args = [
    fileURLToPath(new URL('./analyze-once.mjs', import.meta.url)),
    dir,
    root,
    config === undefined ? '-' : JSON.stringify(config),
  ];
  if (renderAll) args.push('--render');
  const output = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  return JSON.parse(output.trim().split('\n').at(-1));
}

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const chars = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n.toLocaleString('en-US'));

console.log(`# seam-report benchmark${QUICK ? ' (quick)' : ''}\n`);
console.log(`Machine: ${machineLine()}\n`);

const generation = performance.now();
const large = await generatedRepository(LARGE);
const many = await manyCopiesRepository(MANY);
console.log(
  `Generated repositories: ${LARGE} commits in ${large}; ${MANY} engines × 4 copies in ${many} (${((performance.now() - generation) / 1000).toFixed(1)} s, cached across runs)\n`,
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
const manyRepo = await measure(`${MANY} × 4 copies`, analyzeOnce(many), {
  runs: QUICK ? 1 : 5,
  warmup: 1,
});

console.log('### Time to analyse (history included)\n');
console.log('| repository | median | slowest | fastest | runs | target |');
console.log('|---|---:|---:|---:|---:|---|');
console.log(timingRow('this repository', thisRepo, '< 2 s'));
console.log(timingRow(`generated, ${LARGE} commits`, largeRepo, '< 30 s'));
console.log(timingRow(`generated, ${MANY} engines × 4 copies`, manyRepo, '< 15 s'));

console.log(`\n### ${MANY} engines × 4 copies: one analysis in a fresh process\n`);
const fresh = [];
for (let i = 0; i < (QUICK ? 1 : 3); i++) fresh.push(once(PACKAGE, many, { renderAll: true }));
const sizes = fresh[0].sizes;
console.log('| copies | commits walked | analysis | peak RSS | text | markdown | JSON | HTML |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
console.log(
  `| ${fresh[0].copies} | ${fresh[0].commits} | ${(median(fresh.map((r) => r.ms)) / 1000).toFixed(2)} s | ${median(fresh.map((r) => r.rssMiB)).toFixed(0)} MiB | ${chars(sizes.text)} | ${chars(sizes.markdown)} | ${chars(sizes.json)} | ${chars(sizes.html)} |`,
);
console.log(
  `\nTargets: under 15 s and 300 MiB; markdown under 60,000 characters (${sizes.markdown < 60_000 ? 'met' : 'MISSED'}).`,
);

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

if (PREVIOUS !== undefined) {
  // The previous release reads this repository with the configuration it understands: the
  // repository's own file may hold keys added since (`local`), which it would refuse.
  const { readFileSync } = await import('node:fs');
  const current = JSON.parse(readFileSync(`${THIS_REPOSITORY}/seam-report.config.json`, 'utf8'));
  const { local: _local, discover: _discover, ...previousConfig } = current;
  const repositories = [
    { label: 'this repository', root: THIS_REPOSITORY, runs: QUICK ? 1 : 5, config: true },
    { label: `generated, ${LARGE} commits`, root: large, runs: QUICK ? 1 : 3 },
    // the previous release takes minutes on this one: one run each
    { label: `generated, ${MANY} engines × 4 copies`, root: many, runs: 1 },
  ];
  console.log(`\n### Side by side with the previous release (${PREVIOUS})\n`);
  console.log(
    'Fresh processes, alternating previous and current on each repository; analysis time (median of the runs) and peak RSS; output sizes in characters.\n',
  );
  console.log(
    '| repository | release | analysis | peak RSS | text | markdown | JSON | HTML | decision |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const { label, root, runs, config } of repositories) {
    const results = { previous: [], current: [] };
    for (let i = 0; i < runs; i++) {
      results.previous.push(
        once(PREVIOUS, root, {
          ...(config ? { config: previousConfig } : {}),
          renderAll: i === 0,
        }),
      );
      results.current.push(once(PACKAGE, root, { renderAll: i === 0 }));
    }
    for (const release of ['previous', 'current']) {
      const runs = results[release];
      const s = runs[0].sizes;
      console.log(
        `| ${label} | ${release} | ${(median(runs.map((r) => r.ms)) / 1000).toFixed(2)} s | ${median(runs.map((r) => r.rssMiB)).toFixed(0)} MiB | ${chars(s.text)} | ${chars(s.markdown)} | ${chars(s.json)} | ${chars(s.html)} | ${runs[0].decision} |`,
      );
    }
    const ratio =
      median(results.previous.map((r) => r.ms)) / median(results.current.map((r) => r.ms));
    console.log(`| ${label} | previous ÷ current | ×${ratio.toFixed(2)} | | | | | | |`);
  }
}
