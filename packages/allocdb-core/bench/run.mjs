// `pnpm bench` for allocdb-core (runs after the build). `-- --quick` is the CI smoke setting.
import { machineLine, QUICK } from '../../../scripts/bench/harness.mjs';

console.log(`## allocdb-core benchmarks${QUICK ? ' (quick)' : ''}\n\nMachine: ${machineLine()}`);
const only = process.argv.find((a) => a.startsWith('--suite='))?.slice(8);
const suites = ['./runtime.mjs', './state-machine.mjs', './engine.mjs'].filter(
  (s) => !only || s.includes(only),
);
for (const suite of suites) {
  const module = await import(suite);
  await module.run();
}
