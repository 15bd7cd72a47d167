// The durable workloads, each run the same way by our engine and by its SQLite peer:
// - allocdb: every client owns one resource and cycles reserve → release on it (2 commands);
// - quota: every client owns one bucket and debits 1 unit from it (the bucket never runs dry).
// The slot clock moves one slot per batch (the engines read it once per group commit; the peers
// get the next slot per transaction), so that records retire and the tables stay at steady state.
import { join } from 'node:path';
import { AllocDbEngine } from 'allocdb-core';
import { decodeClientRequest as decodeAllocdbRequest } from 'allocdb-core/codec';
import { AllocDb } from 'allocdb-core/state-machine';
import { LmdbAllocDb } from '../peers/lmdb-allocdb.mjs';
import { LmdbQuota } from '../peers/lmdb-quota.mjs';
import { SqliteAllocDb } from '../peers/sqlite-allocdb.mjs';
import { SqliteQuota } from '../peers/sqlite-quota.mjs';

/** A slot clock that moves one slot per call. */
export function batchClock() {
  let slot = 1n;
  return () => slot++;
}

let nextOperationId = 1n;
export const request = (command) => ({ operationId: nextOperationId++, clientId: 1n, command });

/** Submits `requests` through group commit, 4096 at a time. */
async function submitAll(engine, requests) {
  for (let i = 0; i < requests.length; i += 4096) {
    await Promise.all(requests.slice(i, i + 4096).map((r) => engine.submit(r)));
  }
}

const reserve = (resourceId) => ({ kind: 'reserve', resourceId, holderId: 1n, ttlSlots: 4n });
const release = (reservationId) => ({
  kind: 'release',
  reservationId,
  holderId: 1n,
  leaseEpoch: 1n,
});

/** Small TTL and windows: records retire within a few batches and the tables stay bounded. */
export const ALLOCDB_CONFIG = {
  shardId: 0n,
  maxResources: 8_192,
  maxReservations: 131_072,
  maxBundleSize: 8,
  maxOperations: 262_144,
  maxTtlSlots: 4n,
  maxClientRetryWindowSlots: 4n,
  reservationHistoryWindowSlots: 2n,
  maxExpirationBucketLen: 65_536,
};

export const allocdb = {
  name: 'allocdb-core',
  peerName: 'SQLite, allocdb semantics',
  unit: 'commands',
  /** Resources created before timing: one per client (the most clients any run has). */
  clients: 4096,
  /** The engine's state machine alone, configured as the engine (the ceilings' CPU row). */
  stateMachine: () => new AllocDb(ALLOCDB_CONFIG),
  /** A logged client request back to the request object (the frames of an engine's WAL). */
  decodeRequest: decodeAllocdbRequest,

  async open(dir, engineOptions = {}, clients = this.clients) {
    const engine = await AllocDbEngine.open({
      dir,
      config: ALLOCDB_CONFIG,
      clock: batchClock(),
      engine: { maxBatch: 4096, maxSubmissionQueue: 16_384, ...engineOptions },
    });
    const creates = [];
    for (let r = 0; r < clients; r++) {
      creates.push(request({ kind: 'create_resource', resourceId: BigInt(r) }));
    }
    await submitAll(engine, creates);
    return engine;
  },

  /** One client through `submit`: reserve, release, … (`commands` is even). */
  async client(engine, index, commands) {
    const resourceId = BigInt(index);
    for (let done = 0; done < commands; done += 2) {
      const reserved = await engine.submit(request(reserve(resourceId)));
      const { reservationId } = reserved.outcome;
      if (reservationId === undefined) throw new Error(`reserve: ${reserved.outcome.resultCode}`);
      await engine.submit(request(release(reservationId)));
    }
    return commands;
  },

  /**
   * One caller through `submitBatch`, `batch` commands per call and one call at a time: reserve
   * every one of the first `batch` resources, then release them all, … (`commands` is a multiple
   * of 2 × batch).
   */
  async batchClient(engine, batch, commands) {
    let done = 0;
    while (done < commands) {
      const reserves = [];
      for (let r = 0; r < batch; r++) reserves.push(request(reserve(BigInt(r))));
      const reserved = await engine.submitBatch(reserves);
      const releases = reserved.map((result) => {
        const reservationId = result.outcome?.reservationId;
        if (reservationId === undefined)
          throw new Error(`reserve: ${result.outcome?.resultCode ?? result.message}`);
        return request(release(reservationId));
      });
      for (const result of await engine.submitBatch(releases)) {
        if (result.outcome?.resultCode !== 'ok')
          throw new Error(`release: ${result.outcome?.resultCode ?? result.message}`);
      }
      done += 2 * batch;
    }
    return done;
  },

  /** The same cycle with `submitSync` (one write and one fdatasync per call). */
  syncLoop(engine, commands) {
    for (let done = 0; done < commands; done += 2) {
      const reserved = engine.submitSync(request(reserve(1n)));
      const { reservationId } = reserved.outcome;
      if (reservationId === undefined) throw new Error(`reserve: ${reserved.outcome.resultCode}`);
      engine.submitSync(request(release(reservationId)));
    }
    return commands;
  },

  openPeer(file, clients = this.clients) {
    const peer = new SqliteAllocDb({ file, config: ALLOCDB_CONFIG });
    const creates = [];
    for (let r = 0; r < clients; r++) {
      creates.push(request({ kind: 'create_resource', resourceId: BigInt(r) }));
    }
    peer.submitBatch(creates, 1n);
    peer.slot = 2n;
    return peer;
  },

  /** The LMDB peer (durable commits) in directory `dir`; `peerLoop` drives it the same way. */
  openLmdbPeer(dir, clients = this.clients) {
    const peer = new LmdbAllocDb({ dir, durable: true, config: ALLOCDB_CONFIG });
    const creates = [];
    for (let r = 0; r < clients; r++) {
      creates.push(request({ kind: 'create_resource', resourceId: BigInt(r) }));
    }
    peer.submitBatch(creates, 1n);
    peer.slot = 2n;
    return peer;
  },

  /**
   * `clients` clients, one command each per transaction, until `commands` are done: the same
   * reserve/release cycle, with one commit (one WAL fsync) per transaction.
   */
  peerLoop(peer, clients, commands) {
    const held = new Array(clients).fill(undefined);
    let done = 0;
    while (done < commands) {
      const requests = new Array(clients);
      for (let c = 0; c < clients; c++) {
        requests[c] = request(held[c] === undefined ? reserve(BigInt(c)) : release(held[c]));
      }
      const outcomes = peer.submitBatch(requests, peer.slot++);
      for (let c = 0; c < clients; c++) {
        const outcome = outcomes[c];
        if (outcome.resultCode !== 'ok') throw new Error(`SQLite peer: ${outcome.resultCode}`);
        held[c] = held[c] === undefined ? outcome.reservationId : undefined;
      }
      done += clients;
    }
    return done;
  },
};

/** quota-core's workload, when its durable engine is exported. */
export function quotaWorkload(quota) {
  const LIMIT = 1n << 62n;
  const config = { maxBuckets: 8_192, maxOperations: 262_144, maxClientRetryWindowSlots: 8n };
  const debit = (bucketId) => ({ kind: 'debit', bucketId, amount: 1n });
  const creates = (count) => {
    const list = [];
    for (let b = 0; b < count; b++) {
      list.push(
        request({
          kind: 'create_bucket',
          bucketId: BigInt(b),
          limit: LIMIT,
          initialBalance: LIMIT,
          refillRatePerSlot: 1n,
        }),
      );
    }
    return list;
  };
  return {
    name: 'quota-core',
    peerName: 'SQLite, quota semantics',
    unit: 'debits',
    clients: 4096,
    config,
    hasEngine: typeof quota?.QuotaEngine === 'function',
    stateMachine: () => new quota.QuotaDb(config),
    decodeRequest: (payload) => quota.decodeClientRequest(payload),

    async open(dir, engineOptions = {}, clients = this.clients) {
      const engine = await quota.QuotaEngine.open({
        dir,
        config,
        clock: batchClock(),
        engine: { maxBatch: 4096, maxSubmissionQueue: 16_384, ...engineOptions },
      });
      await submitAll(engine, creates(clients));
      return engine;
    },

    async client(engine, index, commands) {
      const bucketId = BigInt(index);
      for (let done = 0; done < commands; done++) {
        const result = await engine.submit(request(debit(bucketId)));
        if (result.outcome.resultCode !== 'ok') throw new Error(result.outcome.resultCode);
      }
      return commands;
    },

    /** One caller through `submitBatch`: debits of buckets 0 … batch − 1, one call at a time. */
    async batchClient(engine, batch, commands) {
      let done = 0;
      while (done < commands) {
        const debits = [];
        for (let b = 0; b < batch; b++) debits.push(request(debit(BigInt(b))));
        for (const result of await engine.submitBatch(debits)) {
          if (result.outcome?.resultCode !== 'ok')
            throw new Error(`debit: ${result.outcome?.resultCode ?? result.message}`);
        }
        done += batch;
      }
      return done;
    },

    syncLoop(engine, commands) {
      for (let done = 0; done < commands; done++) {
        const result = engine.submitSync(request(debit(1n)));
        if (result.outcome.resultCode !== 'ok') throw new Error(result.outcome.resultCode);
      }
      return commands;
    },

    openPeer(file, clients = this.clients) {
      const peer = new SqliteQuota({ file, config });
      peer.submitBatch(creates(clients), 1n);
      peer.slot = 2n;
      return peer;
    },

    /** The LMDB peer (durable commits) in directory `dir`; `peerLoop` drives it the same way. */
    openLmdbPeer(dir, clients = this.clients) {
      const peer = new LmdbQuota({ dir, durable: true, config });
      peer.submitBatch(creates(clients), 1n);
      peer.slot = 2n;
      return peer;
    },

    peerLoop(peer, clients, commands) {
      let done = 0;
      while (done < commands) {
        const requests = new Array(clients);
        for (let c = 0; c < clients; c++) requests[c] = request(debit(BigInt(c)));
        const outcomes = peer.submitBatch(requests, peer.slot++);
        for (const outcome of outcomes) {
          if (outcome.resultCode !== 'ok') throw new Error(`SQLite peer: ${outcome.resultCode}`);
        }
        done += clients;
      }
      return done;
    },
  };
}

/** The WAL file of an engine's data directory. */
export const walPath = (dir) => join(dir, 'wal');
