// State machine throughput: commands per second through AllocDb.applyClient (validation, slot
// check, retirement, dedupe encoding, execution, recording, per-command invariants), at steady
// state: every scenario first runs long enough untimed that the retire queues, the operation
// table and the wheel are as full as they stay, then times a long run.
//
//   pnpm --filter allocdb-core build && node --expose-gc packages/allocdb-core/bench/state-machine.mjs
// (or through bench/run.mjs, which calls `run()`).
import { pathToFileURL } from 'node:url';
import { machineLine, measure, printTable, QUICK } from '../../../scripts/bench/harness.mjs';
import { AllocDb } from '../dist/exports/state-machine.js';

/** Commands per timed run (quick: the CI smoke setting). */
const COMMANDS = QUICK ? 30_000 : 600_000;
/** Client commands per slot: the slot clock advances once every SLOTS_EVERY commands. */
const SLOTS_EVERY = 64;

const baseConfig = {
  shardId: 0n,
  maxResources: 4096,
  maxReservations: 8192,
  maxBundleSize: 8,
  maxOperations: 65_536,
  maxTtlSlots: 64n,
  maxClientRetryWindowSlots: 64n,
  reservationHistoryWindowSlots: 16n,
  maxExpirationBucketLen: 8192,
};

/** Sequencer for one run: LSNs, slots and fresh operation ids, like the durable engine. */
class Sequencer {
  constructor(db) {
    this.db = db;
    this.lsn = 0n;
    this.slot = 1n;
    this.sinceTick = 0;
    this.nextOperationId = 1n;
  }

  context() {
    if (++this.sinceTick === SLOTS_EVERY) {
      this.sinceTick = 0;
      this.slot++;
    }
    this.lsn++;
    return { lsn: this.lsn, requestSlot: this.slot };
  }

  client(command, operationId = this.nextOperationId++) {
    return this.db.applyClient(this.context(), { operationId, clientId: 1n, command });
  }
}

function createResources(sequencer, count) {
  for (let i = 1n; i <= BigInt(count); i++) {
    sequencer.db.applyInternal(sequencer.context(), { kind: 'create_resource', resourceId: i });
  }
}

function expectOk(outcome, what) {
  if (outcome.resultCode !== 'ok') throw new Error(`${what}: ${outcome.resultCode}`);
  return outcome;
}

/** reserve → confirm → release of one resource; 3 commands. */
function cycle(sequencer, resourceId, holderId) {
  const { reservationId } = expectOk(
    sequencer.client({ kind: 'reserve', resourceId, holderId, ttlSlots: 32n }),
    'reserve',
  );
  expectOk(
    sequencer.client({ kind: 'confirm', reservationId, holderId, leaseEpoch: 1n }),
    'confirm',
  );
  expectOk(
    sequencer.client({ kind: 'release', reservationId, holderId, leaseEpoch: 1n }),
    'release',
  );
  return 3;
}

/** The same cycle for a bundle of 8 resources; 3 commands. */
function bundleCycle(sequencer, firstResource) {
  const resourceIds = [];
  for (let i = 0n; i < 8n; i++) resourceIds.push(firstResource + i);
  const { reservationId } = expectOk(
    sequencer.client({ kind: 'reserve_bundle', resourceIds, holderId: 7n, ttlSlots: 32n }),
    'bundle',
  );
  expectOk(
    sequencer.client({ kind: 'confirm', reservationId, holderId: 7n, leaseEpoch: 1n }),
    'confirm',
  );
  expectOk(
    sequencer.client({ kind: 'release', reservationId, holderId: 7n, leaseEpoch: 1n }),
    'release',
  );
  return 3;
}

/** 32 holders race for one resource: one reserve wins, 31 are resource_busy; 34 commands. */
function contentionRound(sequencer, resourceId) {
  let winner;
  for (let holderId = 1n; holderId <= 32n; holderId++) {
    const outcome = sequencer.client({ kind: 'reserve', resourceId, holderId, ttlSlots: 32n });
    if (outcome.resultCode === 'ok') winner = { reservationId: outcome.reservationId, holderId };
    else if (outcome.resultCode !== 'resource_busy') throw new Error(outcome.resultCode);
  }
  const { reservationId, holderId } = winner;
  expectOk(sequencer.client({ kind: 'confirm', reservationId, holderId, leaseEpoch: 1n }), 'c');
  expectOk(sequencer.client({ kind: 'release', reservationId, holderId, leaseEpoch: 1n }), 'r');
  return 34;
}

/** Runs `step` until `commands` commands have been applied; returns the count. */
function drive(commands, step) {
  let done = 0;
  let i = 0;
  while (done < commands) done += step(i++);
  return done;
}

const WARMUP_COMMANDS = 200_000;

const scenarios = [
  {
    name: 'reserve→confirm→release (1 resource per cycle)',
    config: baseConfig,
    setup: (sequencer) => createResources(sequencer, 4096),
    step: (sequencer, i) => cycle(sequencer, BigInt((i % 4096) + 1), BigInt((i % 16) + 1)),
  },
  {
    name: 'reserve_bundle of 8 → confirm → release',
    config: baseConfig,
    setup: (sequencer) => createResources(sequencer, 4096),
    step: (sequencer, i) => bundleCycle(sequencer, BigInt((i % 512) * 8 + 1)),
  },
  {
    name: 'one resource, 32 contenders',
    config: baseConfig,
    setup: (sequencer) => createResources(sequencer, 1),
    step: (sequencer) => contentionRound(sequencer, 1n),
  },
  {
    name: 'retry storm, full operation table',
    // A small table that fills at once; the slot never advances, so nothing retires and every
    // new operation is refused while retries of recorded ones are answered from the table.
    config: { ...baseConfig, maxOperations: 1024 },
    setup: (sequencer) => {
      createResources(sequencer, 1024);
      for (let i = 1n; i <= 1024n; i++) {
        expectOk(
          sequencer.client({ kind: 'create_resource', resourceId: 100_000n + i }, i),
          'create',
        );
      }
    },
    step: (sequencer, i) => {
      sequencer.sinceTick = 0; // keep the slot fixed: the table stays full
      const operationId = i % 2 === 0 ? BigInt((i % 1024) + 1) : 1_000_000n + BigInt(i);
      const resourceId = operationId <= 1024n ? 100_000n + operationId : 1n;
      const outcome = sequencer.client({ kind: 'create_resource', resourceId }, operationId);
      if (outcome.resultCode !== (i % 2 === 0 ? 'ok' : 'operation_table_full')) {
        throw new Error(`storm: ${outcome.resultCode}`);
      }
      return 1;
    },
  },
];

/** The suite entry point used by bench/run.mjs. */
export async function run() {
  const warmup = QUICK ? 20_000 : WARMUP_COMMANDS;
  console.log(`\n${COMMANDS} commands per timed run after ${warmup} untimed (steady state)`);
  const rows = [];
  for (const scenario of scenarios) {
    rows.push(
      await measure(
        scenario.name,
        ({ sequencer, offset }) => drive(COMMANDS, (i) => scenario.step(sequencer, i + offset)),
        {
          runs: QUICK ? 3 : 7,
          warmup: 1,
          setup: () => {
            const sequencer = new Sequencer(new AllocDb(scenario.config));
            scenario.setup(sequencer);
            let offset = 0;
            for (let done = 0; done < warmup; offset++) done += scenario.step(sequencer, offset);
            return { sequencer, offset };
          },
        },
      ),
    );
  }
  printTable('State machine: commands per second (target ≥ 300,000/s)', rows);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`allocdb-core state machine — ${machineLine()}`);
  await run();
}
