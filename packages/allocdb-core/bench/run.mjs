// `pnpm bench` for allocdb-core (runs after the build). `-- --quick` is the CI smoke setting.
import { machineLine, QUICK } from '../../../scripts/bench/harness.mjs';

console.log(`## allocdb-core benchmarks${QUICK ? ' (quick)' : ''}\n\nMachine: ${machineLine()}`);
const suites = ['./runtime.mjs'];
for (const suite of suites) {
  const module = await import(suite);
  await module.run();
}
