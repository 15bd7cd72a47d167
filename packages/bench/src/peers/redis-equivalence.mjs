// Before the serve suite times Redis against the engines, the Redis peer's Lua scripts must do
// what the engines do, or the comparison means nothing (as the SQLite and LMDB peers are checked
// in suites/equivalence.mjs). Seeded histories go through the state machines (QuotaDb, AllocDb)
// and through the scripts on a running redis-server, with the same operation ids and slots; a
// disagreement throws, so CI's quick run (which installs redis-server: .ci/run) fails loudly.
//
//   debit            every outcome (ok, insufficient_funds, bucket_not_found), retries of earlier
//                    operation ids answered from the cache on both sides, and each bucket's
//                    balance at the last slot (refill included);
//   reserve/release  whether each reserve takes the resource (ok) or finds it held
//                    (resource_busy), whether each release frees it, retries answered alike. The
//                    scripts give a failed release one code (stale_epoch) where the engine says why
//                    (holder_mismatch, stale_epoch, reservation_retired): compared as "not ok".
//
// What the scripts do not implement, and the benchmark never sends: a different command under a
// known operation id (operation_conflict), lease expiry within a history (TTLs are long here),
// bundles, confirm, revoke.
import { AllocDb } from 'allocdb-core/state-machine';
import { QuotaDb } from 'quota-core/state-machine';
import { DEBIT_SCRIPT, RELEASE_SCRIPT, RESERVE_SCRIPT, RespConnection } from './redis.mjs';

/** mulberry32: small, seeded, deterministic. */
function random(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (list) => list[int(list.length)] };
}

/** Operation ids and leases outlive every history: nothing expires while one runs. */
const WINDOW_SLOTS = 1_000_000n;
const REDIS_WINDOW_SECONDS = 3_600;
const LEASE_MS = 3_600_000;

function disagree(what, seed, step, command, engine, redis) {
  return new Error(
    `the Redis peer's ${what} script disagrees with the state machine (seed ${seed}, step ${step}): ` +
      `${JSON.stringify(command, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))} → engine ${engine}, Redis ${redis}`,
  );
}

/** One debit history on `prefix`-keys; returns the commands compared. */
async function debitHistory(connection, sha, seed, length, prefix) {
  const rnd = random(seed);
  const db = new QuotaDb({
    maxBuckets: 8,
    maxOperations: length + 8,
    maxClientRetryWindowSlots: WINDOW_SLOTS,
  });
  let lsn = 0n;
  let slot = 1n;
  const buckets = [];
  for (let id = 1; id <= 4; id++) {
    const limit = BigInt(5 + rnd.int(40));
    const balance = BigInt(rnd.int(Number(limit) + 1));
    const rate = BigInt(rnd.int(4));
    db.applyClient(
      { lsn: ++lsn, requestSlot: slot },
      {
        operationId: BigInt(seed) * 1_000_000n + lsn,
        clientId: 1n,
        command: {
          kind: 'create_bucket',
          bucketId: BigInt(id),
          limit,
          initialBalance: balance,
          refillRatePerSlot: rate,
        },
      },
    );
    await connection.send([
      ['HSET', `${prefix}bucket:${id}`, 'limit', limit, 'balance', balance, 'rate', rate],
      ['HSET', `${prefix}bucket:${id}`, 'slot', slot],
    ]);
    buckets.push({ id, limit, rate });
  }
  const sent = [];
  for (let step = 0; step < length; step++) {
    slot += BigInt(rnd.int(3));
    let request;
    if (sent.length > 0 && rnd.int(100) < 20) {
      request = rnd.pick(sent); // a retry: the same operation id and command
    } else {
      const bucketId = BigInt(1 + rnd.int(5)); // 5 is never created: bucket_not_found
      request = {
        operationId: BigInt(seed) * 1_000_000n + 1_000n + BigInt(step),
        clientId: 1n,
        command: { kind: 'debit', bucketId, amount: BigInt(1 + rnd.int(12)) },
      };
      sent.push(request);
    }
    const engine = db.applyClient({ lsn: ++lsn, requestSlot: slot }, request).resultCode;
    const [redis] = await connection.send([
      [
        'EVALSHA',
        sha,
        2,
        `${prefix}bucket:${request.command.bucketId}`,
        `${prefix}op:${request.operationId}`,
        request.command.amount,
        slot,
        REDIS_WINDOW_SECONDS,
      ],
    ]);
    if (engine !== redis) throw disagree('debit', seed, step, request, engine, redis);
  }
  for (const { id, limit, rate } of buckets) {
    const engine = db.getBucketAt(BigInt(id), slot).balance;
    const [[balance, last]] = await connection.send([
      ['HMGET', `${prefix}bucket:${id}`, 'balance', 'slot'],
    ]);
    const refilled = BigInt(balance) + (slot - BigInt(last)) * rate;
    const redis = refilled < limit ? refilled : limit;
    if (engine !== redis) {
      throw disagree(
        'debit',
        seed,
        'end',
        { bucket: id, slot },
        `balance ${engine}`,
        `balance ${redis}`,
      );
    }
  }
  return length;
}

/** One reserve/release history on `prefix`-keys; returns the commands compared. */
async function leaseHistory(connection, shas, seed, length, prefix) {
  const rnd = random(seed);
  const db = new AllocDb({
    shardId: 0n,
    maxResources: 8,
    maxReservations: length + 8,
    maxBundleSize: 1,
    maxOperations: length + 8,
    maxTtlSlots: WINDOW_SLOTS,
    maxClientRetryWindowSlots: WINDOW_SLOTS,
    reservationHistoryWindowSlots: WINDOW_SLOTS,
    maxExpirationBucketLen: length + 8,
  });
  let lsn = 0n;
  const slot = 1n;
  for (let id = 1n; id <= 3n; id++) {
    db.applyClient(
      { lsn: ++lsn, requestSlot: slot },
      { operationId: lsn, clientId: 1n, command: { kind: 'create_resource', resourceId: id } },
    );
  }
  /** Per resource, the live lease on each side: the engine's reservation and Redis's fence. */
  const leases = new Map();
  const sent = [];
  for (let step = 0; step < length; step++) {
    let entry;
    if (sent.length > 0 && rnd.int(100) < 15) {
      entry = rnd.pick(sent); // a retry
    } else {
      const resourceId = BigInt(1 + rnd.int(3));
      const holderId = BigInt(1 + rnd.int(3));
      const held = leases.get(resourceId);
      const operationId = 1_000n + BigInt(step);
      if (held === undefined || rnd.int(100) < 35) {
        entry = {
          request: {
            operationId,
            clientId: 1n,
            command: { kind: 'reserve', resourceId, holderId, ttlSlots: WINDOW_SLOTS - 1n },
          },
          redis: [
            'EVALSHA',
            shas.reserve,
            3,
            `${prefix}lease:${resourceId}`,
            `${prefix}fence:${resourceId}`,
            `${prefix}op:${operationId}`,
            holderId,
            LEASE_MS,
            REDIS_WINDOW_SECONDS,
          ],
        };
      } else {
        // The holder releases its lease, or another holder tries to.
        const releaser = rnd.int(100) < 70 ? held.holderId : holderId;
        entry = {
          request: {
            operationId,
            clientId: 1n,
            command: {
              kind: 'release',
              reservationId: held.reservationId,
              holderId: releaser,
              leaseEpoch: held.leaseEpoch,
            },
          },
          redis: [
            'EVALSHA',
            shas.release,
            3,
            `${prefix}lease:${resourceId}`,
            `${prefix}fence:${resourceId}`,
            `${prefix}op:${operationId}`,
            releaser,
            held.fence,
            REDIS_WINDOW_SECONDS,
          ],
          resourceId,
        };
      }
      sent.push(entry);
    }
    const outcome = db.applyClient({ lsn: ++lsn, requestSlot: slot }, entry.request);
    const [reply] = await connection.send([entry.redis]);
    const { command } = entry.request;
    const engineSays =
      command.kind === 'reserve'
        ? outcome.resultCode
        : outcome.resultCode === 'ok'
          ? 'ok'
          : 'not ok';
    const redisSays =
      command.kind === 'reserve'
        ? String(reply).startsWith('ok:')
          ? 'ok'
          : reply
        : reply === 'ok'
          ? 'ok'
          : 'not ok';
    if (engineSays !== redisSays) {
      throw disagree(command.kind, seed, step, entry.request, outcome.resultCode, reply);
    }
    if (db.lastClientDisposition === 'retry_cache') continue;
    if (command.kind === 'reserve' && outcome.resultCode === 'ok') {
      leases.set(command.resourceId, {
        reservationId: outcome.reservationId,
        leaseEpoch: outcome.leaseEpoch,
        holderId: command.holderId,
        fence: String(reply).slice(3),
      });
    } else if (command.kind === 'release' && outcome.resultCode === 'ok') {
      leases.delete(entry.resourceId);
    }
  }
  return length;
}

/**
 * Runs the seeded histories against the redis-server on `port` (keys under a fresh prefix) and
 * returns what was compared; throws on the first disagreement. `scripts` replaces the peer's
 * scripts (the canary test gives a broken one).
 */
export async function checkRedisEquivalence(
  port,
  { histories = 4, length = 120, scripts = {} } = {},
) {
  const connection = await RespConnection.open(port);
  try {
    const [debit, reserve, release] = await connection.send([
      ['SCRIPT', 'LOAD', scripts.debit ?? DEBIT_SCRIPT],
      ['SCRIPT', 'LOAD', scripts.reserve ?? RESERVE_SCRIPT],
      ['SCRIPT', 'LOAD', scripts.release ?? RELEASE_SCRIPT],
    ]);
    const run = `eq${Date.now()}${process.pid}:`;
    let debits = 0;
    let leases = 0;
    for (let seed = 1; seed <= histories; seed++) {
      debits += await debitHistory(connection, debit, seed, length, `${run}${seed}:`);
      leases += await leaseHistory(
        connection,
        { reserve, release },
        seed,
        length,
        `${run}${seed}:`,
      );
    }
    return { histories, debits, leases };
  } finally {
    connection.close();
  }
}
