// State machine throughput: debits per second through QuotaDb.applyClient (boundary validation,
// slot check, retirement, canonical encoding and dedupe, refill, the debit, the operation record
// and the per-command invariant check), at steady state: every scenario first runs long enough
// untimed that the retire queue and the operation table are as full as they stay, then times a
// long run. The slot advances every SLOTS_EVERY commands, as a busy engine's clock would.
//
//   pnpm --filter quota-core build && node --expose-gc packages/quota-core/bench/state-machine.mjs
// (or through bench/run.mjs, which calls `run()`).
import { pathToFileURL } from 'node:url';
import { machineLine, measure, printTable, QUICK } from '../../../scripts/bench/harness.mjs';
import { QuotaDb } from '../dist/index.js';

/** Commands per timed run (quick: the CI smoke setting). */
const COMMANDS = QUICK ? 50_000 : 1_000_000;
const WARMUP_COMMANDS = QUICK ? 20_000 : 300_000;
/** Client commands per slot. */
const SLOTS_EVERY = 64;
/** A retry window of 64 slots keeps about 4,100 live operation records at steady state. */
const CONFIG = { maxBuckets: 16_384, maxOperations: 65_536, maxClientRetryWindowSlots: 64n };

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

/** Buckets 1..count, full, refilling fast enough that debits of 1 never run dry. */
function createBuckets(sequencer, count) {
  for (let i = 1n; i <= BigInt(count); i++) {
    sequencer.db.applyInternal(sequencer.context(), {
      kind: 'create_bucket',
      bucketId: i,
      limit: 1_000_000_000_000n,
      initialBalance: 1_000_000_000_000n,
      refillRatePerSlot: 1_000n,
    });
  }
}

function expectOk(outcome) {
  if (outcome.resultCode !== 'ok') throw new Error(`debit: ${outcome.resultCode}`);
}

/** Debit commands built once per bucket: the bench measures the state machine, not `{}`. */
function debits(count) {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'debit',
    bucketId: BigInt(i + 1),
    amount: 1n,
  }));
}

const scenarios = [
  {
    name: 'debit, one hot bucket',
    buckets: 1,
    step: (sequencer, commands) => expectOk(sequencer.client(commands[0])),
  },
  {
    name: 'debit, 10,000 buckets (round robin)',
    buckets: 10_000,
    step: (sequencer, commands, i) => expectOk(sequencer.client(commands[i % 10_000])),
  },
  {
    name: 'debit, 10,000 buckets (random order)',
    buckets: 10_000,
    // A fixed pseudo-random walk (xorshift), so every run visits the same buckets.
    step: (sequencer, commands, _i, state) => {
      let x = state.x;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      state.x = x;
      expectOk(sequencer.client(commands[(x >>> 0) % 10_000]));
    },
  },
  {
    name: 'retried debit answered from the operation table',
    buckets: 1,
    step: (sequencer, commands, i) => {
      // Alternate a new debit and a retry of the one before it.
      const id = sequencer.nextOperationId;
      expectOk(sequencer.client(commands[0], i % 2 === 0 ? id : id - 1n));
      if (i % 2 === 1) sequencer.nextOperationId--;
      else sequencer.nextOperationId = id + 1n;
    },
  },
];

/** The suite entry point used by bench/run.mjs. */
export async function run() {
  console.log(
    `\n${COMMANDS} debits per timed run after ${WARMUP_COMMANDS} untimed (steady state: ~${SLOTS_EVERY * Number(CONFIG.maxClientRetryWindowSlots)} live operation records)`,
  );
  const rows = [];
  for (const scenario of scenarios) {
    const commands = debits(scenario.buckets);
    rows.push(
      await measure(
        scenario.name,
        ({ sequencer, offset, state }) => {
          for (let i = 0; i < COMMANDS; i++) scenario.step(sequencer, commands, i + offset, state);
          return COMMANDS;
        },
        {
          runs: QUICK ? 3 : 7,
          warmup: 1,
          setup: () => {
            const sequencer = new Sequencer(new QuotaDb(CONFIG));
            createBuckets(sequencer, scenario.buckets);
            const state = { x: 0x2545f491 };
            for (let i = 0; i < WARMUP_COMMANDS; i++) scenario.step(sequencer, commands, i, state);
            return { sequencer, offset: WARMUP_COMMANDS, state };
          },
        },
      ),
    );
  }
  printTable('State machine: debits per second (target ≥ 1,000,000/s)', rows);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`quota-core state machine — ${machineLine()}`);
  await run();
}
