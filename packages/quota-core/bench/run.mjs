// `pnpm bench` for quota-core (runs after the build). `-- --quick` is the CI smoke setting.
// The durable-engine comparisons (fsync per command, group commit, replay, memory) against the
// disk's limit and SQLite live in packages/bench.
import { machineLine, QUICK } from '../../../scripts/bench/harness.mjs';

console.log(`## quota-core benchmarks${QUICK ? ' (quick)' : ''}\n\nMachine: ${machineLine()}`);
const only = process.argv.find((a) => a.startsWith('--suite='))?.slice(8);
const suites = ['./state-machine.mjs'].filter((s) => !only || s.includes(only));
for (const suite of suites) {
  const module = await import(suite);
  await module.run();
}
