// One workload to profile, run by profile.mjs under `node --cpu-prof`. It warms up first, so
// that the profile is dominated by the steady state; prints one line saying what it ran.
import * as fs from 'node:fs';
import { join } from 'node:path';
import * as allocdbRoot from 'allocdb-core';
import * as allocdbCodec from 'allocdb-core/codec';
import * as allocdbStateMachine from 'allocdb-core/state-machine';

const allocdbCore = { ...allocdbRoot, ...allocdbCodec, ...allocdbStateMachine };

import { cleanup, loadQuota, nowMs, rate, tempDir } from './lib/common.mjs';
import { ALLOCDB_CONFIG, allocdb, batchClock, quotaWorkload } from './lib/workloads.mjs';
import { buildAllocdbLog } from './suites/recovery.mjs';
import {
  ALLOCDB_SM_CONFIG,
  allocdbDriver,
  QUOTA_SM_CONFIG,
  quotaDriver,
} from './suites/state-machine.mjs';

const target = process.argv[2];
const quota = await loadQuota();

async function concurrent(workload, batch, commands) {
  const dir = tempDir('profile');
  const engine = await workload.open(dir);
  const perClient = Math.max(2, Math.floor(commands / batch / 2) * 2);
  const once = () =>
    Promise.all(Array.from({ length: batch }, (_, c) => workload.client(engine, c, perClient)));
  await once(); // warm-up
  const start = nowMs();
  await once();
  const ms = nowMs() - start;
  await engine.close();
  return `${workload.name}, ${batch} concurrent clients: ${Math.round(rate(batch * perClient, ms)).toLocaleString('en')} commands/s`;
}

const targets = {
  'group-commit-4096': () => concurrent(allocdb, 4096, 400_000),
  'group-commit-16': () => concurrent(allocdb, 16, 40_000),
  'submit-sync': async () => {
    const dir = tempDir('profile');
    const engine = await allocdb.open(dir);
    allocdb.syncLoop(engine, 500);
    const start = nowMs();
    allocdb.syncLoop(engine, 10_000);
    const ms = nowMs() - start;
    await engine.close();
    return `allocdb-core submitSync: ${Math.round(rate(10_000, ms)).toLocaleString('en')} commands/s`;
  },
  // Two steps: profile.mjs first runs `build-replay-log DIR` unprofiled, then `replay DIR`.
  'build-replay-log': async () => {
    const dir = process.argv[3];
    const engine = await allocdbCore.AllocDbEngine.open({
      dir,
      config: ALLOCDB_CONFIG,
      clock: batchClock(),
    });
    buildAllocdbLog(engine, 1_000_000);
    await engine.close();
    return `wrote a 1,000,000-frame log to ${dir}`;
  },
  replay: async () => {
    const source = process.argv[3];
    if (source === undefined) throw new Error('replay needs the directory of build-replay-log');
    const copy = tempDir('profile');
    fs.copyFileSync(join(source, 'wal'), join(copy, 'wal'));
    const start = nowMs();
    const reopened = await allocdbCore.AllocDbEngine.open({
      dir: copy,
      config: ALLOCDB_CONFIG,
      clock: () => 0n,
    });
    const ms = nowMs() - start;
    await reopened.close();
    return `allocdb-core open of a 1,000,000-frame log: ${Math.round(rate(1e6, ms)).toLocaleString('en')} frames/s`;
  },
  'state-machine-allocdb': () => {
    const drive = allocdbDriver(new allocdbCore.AllocDb(ALLOCDB_SM_CONFIG));
    drive(300_000);
    const start = nowMs();
    drive(2_000_000);
    return `AllocDb reserve → confirm → release: ${Math.round(rate(2e6, nowMs() - start)).toLocaleString('en')} commands/s`;
  },
  'state-machine-quota': () => {
    if (!quota.hasStateMachine) {
      console.log('quota-core exports no QuotaDb');
      process.exit(2);
    }
    const drive = quotaDriver(new quota.module.QuotaDb(QUOTA_SM_CONFIG), 10_000);
    drive(300_000);
    const start = nowMs();
    drive(4_000_000);
    return `QuotaDb debit, 10,000 buckets: ${Math.round(rate(4e6, nowMs() - start)).toLocaleString('en')} debits/s`;
  },
  'group-commit-quota-4096': () => {
    if (!quota.hasEngine) {
      console.log('quota-core exports no QuotaEngine');
      process.exit(2);
    }
    return concurrent(quotaWorkload(quota.module), 4096, 400_000);
  },
};

try {
  const run = targets[target];
  if (run === undefined) throw new Error(`unknown target ${target}`);
  console.log(await run());
} finally {
  cleanup();
}
