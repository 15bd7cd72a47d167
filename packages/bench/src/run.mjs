// `pnpm bench` (full) and `pnpm bench -- --quick` (the CI smoke setting) for the engine family:
// our durable engines side by side with the disk's limit and SQLite, in one process run.
//
//   --quick          small counts; finishes well under a minute
//   --suite=a,b      only these suites (equivalence, state-machine, per-command, group-commit,
//                    recovery, memory)
//   --svg=PATH       where to write the batch-size chart (default: docs/benchmarks-batch.svg in a
//                    full run with every suite, nowhere in a quick run)
//   --json=PATH      also write every measured row as JSON
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, load1, loadQuota, machineLine, QUICK } from './lib/common.mjs';
import { sqliteVersions } from './peers/sqlite-common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SUITES = [
  'equivalence',
  'state-machine',
  'per-command',
  'group-commit',
  'recovery',
  'memory',
];

const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = arg('suite')?.split(',');
for (const name of only ?? []) {
  if (!SUITES.includes(name)) throw new Error(`unknown suite ${name}; one of ${SUITES.join(', ')}`);
}
const suites = SUITES.filter((s) => !only || only.includes(s));
const svgPath =
  arg('svg') ??
  (!QUICK && !only ? join(here, '..', '..', '..', 'docs', 'benchmarks-batch.svg') : undefined);
const jsonPath = arg('json');

const quota = await loadQuota();
const startedAt = new Date();
const context = {
  quota,
  results: {},
  meta: {
    machine: machineLine(),
    sqlite: sqliteVersions(),
    quick: QUICK,
    startedAt: startedAt.toISOString(),
    loadBefore: load1(),
    suiteLoads: [],
  },
};

console.log(`## Engine family benchmarks${QUICK ? ' (quick)' : ''}\n`);
console.log(`- Machine: ${context.meta.machine}`);
console.log(`- SQLite ${context.meta.sqlite} through better-sqlite3 (WAL, synchronous=FULL)`);
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
