// State machines without durability: commands per second through `applyClient` (validation,
// slot check, retirement, dedupe encoding, execution, the operation record, invariants), with
// LSNs and slots assigned as the durable engine does (the slot moves every 64 commands), at
// steady state (an untimed warm-up fills the operation table and retire queues first). The peer
// is the same SQLite code as the durable comparison, on an in-memory database with
// `synchronous = OFF`, 4096 commands per transaction.
//
// allocdb-core's own bench (`packages/allocdb-core/bench`, also part of `pnpm bench`) has the
// other scenarios (bundle of 8, 32 contenders, retry storm) and FixedMap against Map.
import { AllocDb } from 'allocdb-core/state-machine';
import { compare, printComparison, QUICK } from '../lib/common.mjs';
import { SqliteAllocDb } from '../peers/sqlite-allocdb.mjs';
import { sqlite } from '../peers/sqlite-common.mjs';
import { SqliteQuota } from '../peers/sqlite-quota.mjs';

export const COMMANDS = QUICK ? 20_000 : 1_000_000;
const WARMUP = QUICK ? 10_000 : 300_000;
const SQLITE_COMMANDS = QUICK ? 8_192 : 65_536;
const SLOTS_EVERY = 64;
const TRANSACTION = 4096;

/** LSNs and slots like the engine's sequencer, and fresh operation ids. */
export class Sequencer {
  constructor() {
    this.lsn = 0n;
    this.slot = 1n;
    this.sinceTick = 0;
    this.nextOperationId = 1n;
  }

  next() {
    if (++this.sinceTick === SLOTS_EVERY) {
      this.sinceTick = 0;
      this.slot++;
    }
    this.lsn++;
    return { lsn: this.lsn, requestSlot: this.slot };
  }

  request(command) {
    return { operationId: this.nextOperationId++, clientId: 1n, command };
  }
}

export const ALLOCDB_SM_CONFIG = {
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

export const QUOTA_SM_CONFIG = {
  maxBuckets: 16_384,
  maxOperations: 65_536,
  maxClientRetryWindowSlots: 64n,
};

/** allocdb: reserve → confirm → release of one resource per cycle, round robin over 4096. */
export function allocdbDriver(target) {
  const seq = new Sequencer();
  const apply = (command) => target.applyClient(seq.next(), seq.request(command));
  for (let r = 1n; r <= 4096n; r++)
    target.applyInternal(seq.next(), { kind: 'create_resource', resourceId: r });
  let i = 0;
  return (commands) => {
    let done = 0;
    while (done < commands) {
      const resourceId = BigInt((i % 4096) + 1);
      const holderId = BigInt((i % 16) + 1);
      i++;
      const reserved = apply({ kind: 'reserve', resourceId, holderId, ttlSlots: 32n });
      const { reservationId } = reserved;
      if (reservationId === undefined) throw new Error(`reserve: ${reserved.resultCode}`);
      const confirmed = apply({ kind: 'confirm', reservationId, holderId, leaseEpoch: 1n });
      const released = apply({ kind: 'release', reservationId, holderId, leaseEpoch: 1n });
      if (confirmed.resultCode !== 'ok' || released.resultCode !== 'ok') {
        throw new Error(`cycle: ${confirmed.resultCode}, ${released.resultCode}`);
      }
      done += 3;
    }
    return done;
  };
}

/** quota: debits of 1 from one hot bucket, or round robin over `buckets` buckets. */
export function quotaDriver(target, buckets) {
  const seq = new Sequencer();
  for (let b = 0; b < buckets; b++) {
    target.applyClient(
      seq.next(),
      seq.request({
        kind: 'create_bucket',
        bucketId: BigInt(b),
        limit: 1n << 62n,
        initialBalance: 1n << 62n,
        refillRatePerSlot: 1n,
      }),
    );
  }
  let i = 0;
  return (commands) => {
    for (let done = 0; done < commands; done++) {
      const bucketId = buckets === 1 ? 0n : BigInt(i++ % buckets);
      const outcome = target.applyClient(
        seq.next(),
        seq.request({ kind: 'debit', bucketId, amount: 1n }),
      );
      if (outcome.resultCode !== 'ok') throw new Error(`debit: ${outcome.resultCode}`);
    }
    return commands;
  };
}

/** Runs a driver over a SQLite peer, TRANSACTION commands per transaction. */
function inTransactions(peer, drive) {
  return (commands) => {
    let done = 0;
    while (done < commands)
      done += peer.transact(() => drive(Math.min(TRANSACTION, commands - done)));
    return done;
  };
}

function participant(key, name, make, commands) {
  return {
    key,
    name,
    setup: () => {
      const { drive, close } = make();
      drive(commands === COMMANDS ? WARMUP : Math.min(WARMUP, commands));
      return { drive, close };
    },
    run: ({ drive }) => drive(commands),
    teardown: ({ close }) => close?.(),
  };
}

export async function run(context) {
  const participants = [
    participant(
      'allocdb',
      'allocdb-core AllocDb: reserve → confirm → release',
      () => ({ drive: allocdbDriver(new AllocDb(ALLOCDB_SM_CONFIG)) }),
      COMMANDS,
    ),
  ];
  if (sqlite.available) {
    participants.push(
      participant(
        'allocdb:sqlite',
        'SQLite in memory, allocdb semantics: the same cycle',
        () => {
          const peer = new SqliteAllocDb({ config: ALLOCDB_SM_CONFIG });
          let drive;
          peer.transact(() => {
            drive = allocdbDriver(peer);
          });
          return { drive: inTransactions(peer, drive), close: () => peer.close() };
        },
        SQLITE_COMMANDS,
      ),
    );
  }
  const quota = context.quota;
  if (quota.hasStateMachine) {
    for (const [label, buckets] of [
      ['hot bucket', 1],
      ['10,000 buckets', 10_000],
    ]) {
      participants.push(
        participant(
          `quota:${buckets}`,
          `quota-core QuotaDb: debit, ${label}`,
          () => ({ drive: quotaDriver(new quota.module.QuotaDb(QUOTA_SM_CONFIG), buckets) }),
          COMMANDS,
        ),
      );
      if (!sqlite.available) continue;
      participants.push(
        participant(
          `quota:${buckets}:sqlite`,
          `SQLite in memory, quota semantics: debit, ${label}`,
          () => {
            const peer = new SqliteQuota({ config: QUOTA_SM_CONFIG });
            let drive;
            peer.transact(() => {
              drive = quotaDriver(peer, buckets);
            });
            return { drive: inTransactions(peer, drive), close: () => peer.close() };
          },
          SQLITE_COMMANDS,
        ),
      );
    }
  }
  const rows = await compare(participants);
  const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
  const baseline = {};
  for (const r of rows) {
    const peer = byKey[`${r.key}:sqlite`];
    if (peer) baseline[r.name] = peer.name;
  }
  printComparison(
    `State machines without durability: ${COMMANDS.toLocaleString('en')} commands per run (SQLite: ${SQLITE_COMMANDS.toLocaleString('en')}), ${rows[0].runs} runs, after ${WARMUP.toLocaleString('en')} untimed (commands/s; targets: quota ≥ 1,000,000/s, allocdb ≥ 300,000/s)`,
    rows,
    {
      baseline,
      notes: quota.hasStateMachine ? [] : ['quota-core exports no QuotaDb: no quota rows.'],
    },
  );
  context.results.stateMachine = byKey;
}
