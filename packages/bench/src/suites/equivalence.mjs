// Before any timing: the SQLite peers must implement the same semantics as the engines, or the
// comparison means nothing. Seeded random command sequences (retries and conflicting reuse of
// operation ids, full tables, bundles, every state transition, slot overflow) go through each
// state machine and its SQLite peer with the same LSNs and slots; every outcome, and the final
// records, must be identical. A mismatch throws, so the quick CI run fails loudly.
import { AllocDb } from 'allocdb-core/state-machine';
import { QUICK } from '../lib/common.mjs';
import { LmdbAllocDb } from '../peers/lmdb-allocdb.mjs';
import { lmdb } from '../peers/lmdb-common.mjs';
import { LmdbQuota } from '../peers/lmdb-quota.mjs';
import { SqliteAllocDb } from '../peers/sqlite-allocdb.mjs';
import { sqlite, U64_MAX } from '../peers/sqlite-common.mjs';
import { SqliteQuota } from '../peers/sqlite-quota.mjs';

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
  return { next, int, big: (n) => BigInt(int(n)), pick: (list) => list[int(list.length)] };
}

const show = (value) =>
  JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined';

function sameOutcome(a, b) {
  return (
    a.resultCode === b.resultCode &&
    a.reservationId === b.reservationId &&
    a.leaseEpoch === b.leaseEpoch &&
    a.deadlineSlot === b.deadlineSlot &&
    a.bucketId === b.bucketId
  );
}

function mismatch(what, seed, step, item, ours, peer, store = 'SQLite') {
  return new Error(
    `${store} ${what} peer disagrees with the state machine (seed ${seed}, step ${step}): ` +
      `${show(item)} → engine ${show(ours)}, ${store} ${show(peer)}`,
  );
}

const ALLOC_CONFIG = {
  shardId: 1n,
  maxResources: 6,
  maxReservations: 4,
  maxBundleSize: 3,
  maxOperations: 30,
  maxTtlSlots: 6n,
  maxClientRetryWindowSlots: 5n,
  reservationHistoryWindowSlots: 4n,
  maxExpirationBucketLen: 1,
};

/** One random allocdb history; returns the number of commands compared. */
async function allocdbHistory(seed, length, Peer = SqliteAllocDb) {
  const store = Peer === SqliteAllocDb ? 'SQLite' : 'LMDB';
  const mismatch = (...args) => mismatchOf(...args, store);
  const rnd = random(seed);
  const db = new AllocDb(ALLOC_CONFIG);
  const peer = new Peer({ config: ALLOC_CONFIG });
  const reservations = []; // { id, holderId, deadlineSlot }
  const sent = []; // earlier client requests, for retries
  let lsn = 0n;
  let slot = 1n;
  let nextOp = 1n;
  const resource = () => 1n + rnd.big(8);
  const holder = () => 1n + rnd.big(3);
  const known = () =>
    reservations.length > 0 && rnd.next() < 0.85
      ? rnd.pick(reservations.slice(-6))
      : { id: (1n << 64n) | (1n + rnd.big(Number(lsn) + 2)), holderId: holder(), deadlineSlot: 0n };
  const command = () => {
    const r = rnd.int(100);
    if (r < 14) return { kind: 'create_resource', resourceId: resource() };
    if (r < 34)
      return { kind: 'reserve', resourceId: resource(), holderId: holder(), ttlSlots: rnd.big(8) };
    if (r < 44) {
      const resourceIds = Array.from({ length: rnd.int(5) }, resource);
      return { kind: 'reserve_bundle', resourceIds, holderId: holder(), ttlSlots: 1n + rnd.big(7) };
    }
    const target = known();
    const holderId = rnd.next() < 0.8 ? target.holderId : holder();
    const leaseEpoch = rnd.next() < 0.8 ? 1n : 2n;
    if (r < 62) return { kind: 'confirm', reservationId: target.id, holderId, leaseEpoch };
    if (r < 80) return { kind: 'release', reservationId: target.id, holderId, leaseEpoch };
    if (r < 88) return { kind: 'revoke', reservationId: target.id };
    return { kind: 'reclaim', reservationId: target.id };
  };
  for (let step = 0; step < length; step++) {
    slot += rnd.next() < 0.5 ? 1n : 0n;
    if (step === length - 1) slot = U64_MAX - 5n; // past the window: slot_overflow, nothing moves
    const context = { lsn: ++lsn, requestSlot: slot };
    let item;
    const r = rnd.int(100);
    if (r < 8 && reservations.length > 0) {
      const target = rnd.pick(reservations.slice(-6));
      const deadlineSlot = rnd.next() < 0.7 ? target.deadlineSlot : slot;
      item = { context, command: { kind: 'expire', reservationId: target.id, deadlineSlot } };
    } else if (r < 18 && sent.length > 0) {
      const earlier = rnd.pick(sent);
      item = {
        context,
        request: rnd.next() < 0.7 ? earlier : { ...earlier, command: command() },
      };
    } else {
      item = { context, request: { operationId: nextOp++, clientId: 1n, command: command() } };
      sent.push(item.request);
    }
    const ours =
      item.request === undefined
        ? db.applyInternal(context, item.command)
        : db.applyClient(context, item.request);
    const [theirs] = peer.applyBatch([item]);
    if (!sameOutcome(ours, theirs)) throw mismatch('allocdb', seed, step, item, ours, theirs);
    if (ours.reservationId !== undefined && !ours.fromRetryCache) {
      const holderId = item.request.command.holderId;
      reservations.push({ id: ours.reservationId, holderId, deadlineSlot: ours.deadlineSlot });
    }
  }
  for (let id = 1n; id <= 8n; id++) {
    const a = db.getResource(id);
    const b = peer.getResource(id);
    const same =
      (a === undefined && b === undefined) ||
      (a !== undefined &&
        b !== undefined &&
        a.state === b.state &&
        a.currentReservationId === b.currentReservationId &&
        BigInt(a.version) === b.version);
    if (!same) throw mismatch('allocdb', seed, 'end', { resource: id }, a, b);
  }
  for (const { id } of reservations) {
    const lookup = db.getReservation(id, db.lastRequestSlot);
    const b = peer.getReservation(id);
    const a = lookup.status === 'found' ? lookup.reservation : undefined;
    // Reservations retired by the engine are gone from the peer's table too; a terminal record
    // past its window but not yet physically retired reads as retired on the engine's side.
    if (a === undefined) {
      if (b !== undefined && !(lookup.status === 'retired' && b.retireAfterSlot !== undefined))
        throw mismatch('allocdb', seed, 'end', { reservation: id }, lookup, b);
    } else if (b === undefined || a.state !== b.state || a.leaseEpoch !== b.leaseEpoch) {
      throw mismatch('allocdb', seed, 'end', { reservation: id }, a, b);
    }
  }
  const metrics = db.metrics();
  const sizes = peer.sizes;
  if (
    metrics.resources.used !== sizes.resources ||
    metrics.reservations.used !== sizes.reservations ||
    metrics.reservationMembers.used !== sizes.members ||
    metrics.operations.used !== sizes.operations
  ) {
    throw mismatch('allocdb', seed, 'end', 'table sizes', metrics, sizes);
  }
  await peer.close();
  return length;
}

const QUOTA_CONFIG = { maxBuckets: 4, maxOperations: 12, maxClientRetryWindowSlots: 4n };

/** One random quota history; returns the number of commands compared. */
async function quotaHistory(quota, seed, length, Peer = SqliteQuota) {
  const store = Peer === SqliteQuota ? 'SQLite' : 'LMDB';
  const mismatch = (...args) => mismatchOf(...args, store);
  const rnd = random(seed);
  const db = new quota.QuotaDb(QUOTA_CONFIG);
  const peer = new Peer({ config: QUOTA_CONFIG });
  const huge = seed % 3 === 0; // amounts near 2^64: the refill arithmetic must stay exact
  const amount = (n) => (huge ? U64_MAX - rnd.big(n) * 3n : rnd.big(n));
  const sent = [];
  let lsn = 0n;
  let slot = 1n;
  let nextOp = 1n;
  const command = () => {
    const bucketId = 1n + rnd.big(6);
    if (rnd.int(100) < 25) {
      const limit = amount(24);
      const initialBalance =
        limit === 0n ? 0n : limit - (rnd.big(Number(limit % 30n) + 1) % (limit + 1n));
      const refillRatePerSlot = huge ? U64_MAX / (1n + rnd.big(9)) : rnd.big(5);
      return { kind: 'create_bucket', bucketId, limit, initialBalance, refillRatePerSlot };
    }
    const value = huge ? U64_MAX / (1n + rnd.big(4)) : 1n + rnd.big(10);
    return { kind: 'debit', bucketId, amount: value };
  };
  for (let step = 0; step < length; step++) {
    slot += rnd.big(3);
    if (huge && rnd.int(50) === 0) slot += 1n << 40n;
    if (step === length - 1) slot = U64_MAX - 2n;
    const context = { lsn: ++lsn, requestSlot: slot };
    let request;
    if (sent.length > 0 && rnd.int(100) < 15) {
      const earlier = rnd.pick(sent);
      request = rnd.next() < 0.7 ? earlier : { ...earlier, command: command() };
    } else {
      request = { operationId: nextOp++, clientId: 1n, command: command() };
      sent.push(request);
    }
    const ours = db.applyClient(context, request);
    const [theirs] = peer.applyBatch([{ context, request }]);
    if (!sameOutcome(ours, theirs)) throw mismatch('quota', seed, step, request, ours, theirs);
  }
  for (let id = 1n; id <= 6n; id++) {
    const a = db.getBucket(id);
    const b = peer.getBucket(id);
    const same =
      (a === undefined && b === undefined) ||
      (a !== undefined &&
        b !== undefined &&
        a.limit === b.limit &&
        a.balance === b.balance &&
        a.lastRefillSlot === b.lastRefillSlot &&
        a.refillRatePerSlot === b.refillRatePerSlot);
    if (!same) throw mismatch('quota', seed, 'end', { bucket: id }, a, b);
  }
  if (db.metrics().operations.used !== peer.operationCount) {
    throw mismatch('quota', seed, 'end', 'operation table size', db.metrics(), peer.operationCount);
  }
  await peer.close();
  return length;
}

const mismatchOf = mismatch;

export async function run(context) {
  if (sqlite.available) await runSqlite(context);
  else console.log('\n### Semantic equivalence of the SQLite peers: skipped (SQLite not loaded)');
  if (lmdb.available && context.quota.hasStateMachine) await runLmdb(context);
  else if (!lmdb.available) {
    console.log('\n### Semantic equivalence of the LMDB peers: skipped (lmdb not loaded)');
  }
}

/** The LMDB peers against AllocDb and QuotaDb: the same seeded histories as the SQLite peers. */
async function runLmdb(context) {
  const histories = QUICK ? 30 : 200;
  const length = 400;
  let allocCommands = 0;
  for (let seed = 1; seed <= histories; seed++) {
    allocCommands += await allocdbHistory(seed, length, LmdbAllocDb);
  }
  let quotaCommands = 0;
  for (let seed = 1; seed <= histories; seed++) {
    quotaCommands += await quotaHistory(context.quota.module, seed, length, LmdbQuota);
  }
  console.log('\n### Semantic equivalence of the LMDB peers (checked before timing)\n');
  console.log(
    `- allocdb-core \`AllocDb\` vs the LMDB allocdb peer: ${histories} seeded histories, ` +
      `${allocCommands.toLocaleString('en')} commands (all eight kinds, retries, conflicts, full tables, ` +
      'slot overflow): identical outcomes, resources, reservations and table sizes.',
  );
  console.log(
    `- quota-core \`QuotaDb\` vs the LMDB quota peer: ${histories} seeded histories, ` +
      `${quotaCommands.toLocaleString('en')} commands (a third with amounts near 2^64): identical outcomes, buckets and operation-table sizes.`,
  );
  context.results.lmdbEquivalence = { histories, allocCommands, quotaCommands };
}

async function runSqlite(context) {
  const histories = QUICK ? 30 : 200;
  const length = 400;
  let allocCommands = 0;
  for (let seed = 1; seed <= histories; seed++) allocCommands += await allocdbHistory(seed, length);
  let quotaCommands = 0;
  if (context.quota.hasStateMachine) {
    for (let seed = 1; seed <= histories; seed++)
      quotaCommands += await quotaHistory(context.quota.module, seed, length);
  }
  console.log('\n### Semantic equivalence of the SQLite peers (checked before timing)\n');
  console.log(
    `- allocdb-core \`AllocDb\` vs the SQLite allocdb peer: ${histories} seeded histories, ` +
      `${allocCommands.toLocaleString('en')} commands (all eight kinds, retries, conflicts, full tables, ` +
      'slot overflow): identical outcomes, resources, reservations and table sizes.',
  );
  console.log(
    context.quota.hasStateMachine
      ? `- quota-core \`QuotaDb\` vs the SQLite quota peer: ${histories} seeded histories, ` +
          `${quotaCommands.toLocaleString('en')} commands (a third with amounts near 2^64): identical outcomes, buckets and operation-table sizes.`
      : '- quota-core `QuotaDb` not available: the SQLite quota peer was not cross-checked.',
  );
  context.results.equivalence = { histories, allocCommands, quotaCommands };
}
