// `pnpm bench` (full) and `pnpm bench -- --quick` (the CI smoke setting) for the engine family:
// our durable engines side by side with the disk's limit and SQLite, in one process run.
//
//   --quick          small counts; finishes well under a minute
//   --suite=a,b      only these suites (equivalence, state-machine, per-command, group-commit,
//                    recovery, memory, serve, cluster, scale)
//   --svg=PATH       where to write the batch-size chart (default: docs/benchmarks-batch.svg in a
//                    full run with every suite, nowhere in a quick run)
//   --json=PATH      also write every measured row as JSON
//   --require-peers  fail (exit 1) when the SQLite peer cannot be loaded, instead of skipping its
//                    rows and the equivalence check (CI uses it: .ci/run). The Redis peer of the
//                    serve suite is not required by it: without redis-server its rows are skipped
//   --require-redis  fail (exit 1) when the serve suite cannot start redis-server, instead of
//                    skipping the Redis peer, its smoke equivalence and its rows (CI, which
//                    installs redis-server: .ci/run)
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, load1, loadQuota, machineLine, QUICK } from './lib/common.mjs';
import { lmdb } from './peers/lmdb-common.mjs';
import { sqlite } from './peers/sqlite-common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SUITES = [
  'equivalence',
  'state-machine',
  'per-command',
  'group-commit',
  'recovery',
  'memory',
  'serve',
  'cluster',
  'scale',
];

const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = arg('suite')?.split(',');
for (const name of only ?? []) {
  if (!SUITES.includes(name)) throw new Error(`unknown suite ${name}; one of ${SUITES.join(', ')}`);
}
const suites = SUITES.filter((s) => !only || only.includes(s));
const svgPath =
  arg('svg') ??
  (!QUICK && !only && sqlite.available
    ? join(here, '..', '..', '..', 'docs', 'benchmarks-batch.svg')
    : undefined);
const jsonPath = arg('json');

// better-sqlite3 is optional (a native addon; see peers/sqlite-common.mjs): without it the SQLite
// rows and the equivalence check are left out, unless the run requires them.
if (!sqlite.available && process.argv.includes('--require-peers')) {
  console.error(
    `bench: the SQLite peer is required (--require-peers) but better-sqlite3 did not load: ${sqlite.reason}`,
  );
  process.exit(1);
}
if (process.argv.includes('--require-redis') && suites.includes('serve')) {
  const { findRedis } = await import('./peers/redis.mjs');
  const found = findRedis();
  if (!found.available) {
    console.error(`bench: the Redis peer is required (--require-redis) but ${found.reason}`);
    process.exit(1);
  }
}
// lmdb is optional the same way (the LMDB peer: peers/lmdb-common.mjs).
if (!lmdb.available && process.argv.includes('--require-peers')) {
  console.error(
    `bench: the LMDB peer is required (--require-peers) but lmdb did not load: ${lmdb.reason}`,
  );
  process.exit(1);
}

const quota = await loadQuota();
const startedAt = new Date();
const context = {
  quota,
  results: {},
  meta: {
    machine: machineLine(),
    sqlite: sqlite.version,
    quick: QUICK,
    startedAt: startedAt.toISOString(),
    loadBefore: load1(),
    suiteLoads: [],
  },
};

console.log(`## Engine family benchmarks${QUICK ? ' (quick)' : ''}\n`);
console.log(`- Machine: ${context.meta.machine}`);
console.log(
  sqlite.available
    ? `- SQLite ${sqlite.version} through better-sqlite3 (WAL, synchronous=FULL)`
    : '- SQLite: not loaded',
);
console.log(
  lmdb.available ? `- LMDB through lmdb ${lmdb.version} (durable commits)` : '- LMDB: not loaded',
);
console.log(`- Started ${context.meta.startedAt}, load average (1 min) ${load1().toFixed(2)}`);
console.log(
  `- quota-core: ${
    quota.hasEngine
      ? 'durable engine (QuotaEngine) and state machine (QuotaDb)'
      : quota.hasStateMachine
        ? 'state machine (QuotaDb) only: no QuotaEngine export yet, so no durable quota rows'
        : `not loadable (${quota.error?.message ?? 'no QuotaDb export'}): no quota engine rows`
  }`,
);
if (!sqlite.available) {
  console.log(
    `\nskipping the SQLite peer: better-sqlite3 did not load (${sqlite.reason}); its rows and the equivalence check are left out (see packages/bench/README.md)`,
  );
}

try {
  for (const suite of suites) {
    const started = Date.now();
    const module = await import(`./suites/${suite}.mjs`);
    await module.run(context);
    context.meta.suiteLoads.push(load1());
    console.log(
      `\n(${suite}: ${((Date.now() - started) / 1000).toFixed(1)} s, load ${load1().toFixed(2)})`,
    );
  }
} finally {
  cleanup();
}

context.meta.loadAfter = load1();
context.meta.seconds = (Date.now() - startedAt.getTime()) / 1000;
console.log(
  `\nDone in ${context.meta.seconds.toFixed(0)} s; load average (1 min) before ${context.meta.loadBefore.toFixed(2)}, after ${context.meta.loadAfter.toFixed(2)}.`,
);
if (svgPath !== undefined && context.results.groupCommit !== undefined) {
  const { batchChart } = await import('./lib/svg.mjs');
  writeFileSync(resolve(svgPath), batchChart(context));
  console.log(`Chart: ${resolve(svgPath)}`);
}
if (jsonPath !== undefined) {
  writeFileSync(
    resolve(jsonPath),
    JSON.stringify(context.results, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2),
  );
}
