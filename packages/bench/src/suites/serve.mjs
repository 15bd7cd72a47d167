// The engines as network services against Redis, side by side in one run, on loopback, with 64
// keep-alive connections: durable commands/s and round-trip latency (p50, p99) for single
// submission (one command per request) and batch submission (64 commands per request, one
// Redis pipeline of 64 scripts). Equal durability: the engines fdatasync every batch before
// answering; Redis runs with appendonly yes and appendfsync always (the AOF is fsynced before the
// replies of each event-loop turn). Equal semantics: every command carries an operation id that
// both sides remember for the retry window (see peers/redis.mjs for the scripts).
//
//   quota-core:   debit 1 unit of one of 4,096 buckets   ↔ Redis: the debit as a Lua script
//   allocdb-core: reserve, then release, a resource      ↔ Redis: SET NX PX + fencing counter,
//                 (each connection cycles its own 64)            compare-and-delete release
//
// The engines' servers are their real bins (`quota serve`, `allocdb serve`) in child processes,
// Redis is Debian's redis-server, started here; the load generator is this process. Before any
// timing, the Redis scripts are checked against the state machines (peers/redis-equivalence.mjs).
// Without redis-server the Redis rows are left out with one line (--require-redis: an error; CI
// installs redis-server and requires it).

import { join } from 'node:path';
import { AllocDbClient } from 'allocdb-core/client';
import { Redis } from 'ioredis';
import { QuotaClient } from 'quota-core/client';
import { formatRate, median, QUICK, tempDir } from '../lib/common.mjs';
import { closedLoop, HttpConnection, quantile, startEngineServer } from '../lib/http-load.mjs';
import {
  DEBIT_SCRIPT,
  findRedis,
  RELEASE_SCRIPT,
  RESERVE_SCRIPT,
  RespConnection,
  startRedis,
} from '../peers/redis.mjs';
import { checkRedisEquivalence } from '../peers/redis-equivalence.mjs';

const CONNECTIONS = 64;
const BATCH = 64;
const BUCKETS = 4_096;
const RUN_MS = QUICK ? 400 : 3_000;
const RUNS = QUICK ? 1 : 5;
const WARMUP = QUICK ? 0 : 1;
/**
 * How long an operation id is remembered, on both sides: Redis `EX 30` on the operation key;
 * quota-core a retry window of 30 one-second slots; allocdb-core a TTL of 15 slots plus a retry
 * window of 15. (The engines' defaults are longer; a shorter window needs smaller tables, and
 * the engines allocate their tables whole at open, which the garbage collector then scans.)
 */
const RETRY_WINDOW_SECONDS = 30;
const BALANCE = 1_000_000_000_000n;
/**
 * The engines' tables are bounded, so they are sized for the load: at tens of thousands of
 * commands/s, 30 s of operation ids are millions of records; allocdb keeps a released lease 1
 * slot and lets every lease of a second share a deadline slot.
 */
const QUOTA_CONFIG = {
  maxBuckets: 8_192,
  maxOperations: 1 << 22,
  maxClientRetryWindowSlots: String(RETRY_WINDOW_SECONDS),
};
const ALLOCDB_CONFIG = {
  maxResources: 16_384,
  maxReservations: 1 << 18,
  maxOperations: 1 << 21,
  maxTtlSlots: '15',
  maxClientRetryWindowSlots: '15',
  reservationHistoryWindowSlots: '1',
  maxExpirationBucketLen: 1 << 18,
};

let nextId = BigInt(Date.now()) << 64n;
const operationId = () => String(++nextId);

/** A small deterministic stream of bucket ids per connection. */
function bucketStream(seed) {
  let state = (seed * 2_654_435_761) >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % BUCKETS;
  };
}

function check(condition, message) {
  if (!condition) throw new Error(`serve bench: ${message}`);
}

const debitBody = (bucket) =>
  `{"operationId":"${operationId()}","clientId":"1","command":{"kind":"debit","bucketId":"${bucket}","amount":"1"}}`;

// ---------------------------------------------------------------------------------------------
// quota-core

async function quotaParticipants(server, redis) {
  const connections = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => HttpConnection.open(server.port)),
  );
  // Buckets, created through the server in batches.
  for (let first = 0; first < BUCKETS; first += 1_024) {
    const requests = Array.from({ length: 1_024 }, (_, i) => ({
      operationId: operationId(),
      clientId: '1',
      command: {
        kind: 'create_bucket',
        bucketId: String(first + i),
        limit: String(BALANCE),
        initialBalance: String(BALANCE),
        refillRatePerSlot: '0',
      },
    }));
    const { status } = await connections[0].request(
      'POST',
      '/v1/batch',
      JSON.stringify({ requests }),
    );
    check(status === 200, `creating buckets answered ${status}`);
  }
  const streams = connections.map((_, i) => bucketStream(i + 1));
  const client = new QuotaClient({ url: server.url });
  const list = [
    {
      key: 'quota:single:ours',
      name: 'quota serve: debit, one per request (lean HTTP/1.1 client)',
      run: (ms) =>
        closedLoop(connections, ms, async (connection, i) => {
          const { status, body } = await connection.request(
            'POST',
            '/v1/submit',
            debitBody(streams[i]()),
          );
          check(
            status === 200 && body.includes('"resultCode":"ok"'),
            `debit answered ${status} ${body}`,
          );
          return 1;
        }),
    },
    {
      key: 'quota:clients:client',
      name: `quota serve: debit, quota-core/client, ${CONNECTIONS} concurrent callers in one process (coalesced)`,
      run: (ms) =>
        closedLoop(connections, ms, async (_connection, i) => {
          const result = await client.submit({
            kind: 'debit',
            bucketId: BigInt(streams[i]()),
            amount: 1n,
          });
          check(result.outcome.resultCode === 'ok', `debit answered ${result.outcome.resultCode}`);
          return 1;
        }),
    },
    {
      key: 'quota:batch:client',
      name: `quota serve: debit, ${BATCH} per request (quota-core/client submitBatch)`,
      batch: true,
      run: (ms) =>
        closedLoop(connections, ms, async (_connection, i) => {
          const entries = [];
          for (let k = 0; k < BATCH; k++) {
            entries.push({
              command: { kind: 'debit', bucketId: BigInt(streams[i]()), amount: 1n },
            });
          }
          const results = await client.submitBatch(entries);
          check(
            results.every((r) => r.outcome?.resultCode === 'ok'),
            `submitBatch answered ${results.find((r) => r.outcome?.resultCode !== 'ok')?.message}`,
          );
          return BATCH;
        }),
    },
    {
      key: 'quota:batch:ours',
      name: `quota serve: debit, ${BATCH} per request (POST /v1/batch)`,
      batch: true,
      run: (ms) =>
        closedLoop(connections, ms, async (connection, i) => {
          const requests = [];
          for (let k = 0; k < BATCH; k++) requests.push(debitBody(streams[i]()));
          const { status, body } = await connection.request(
            'POST',
            '/v1/batch',
            `{"requests":[${requests.join(',')}]}`,
          );
          check(
            status === 200 && !body.includes('"error"'),
            `batch answered ${status} ${body.slice(body.indexOf('"error"') - 20, body.indexOf('"error"') + 300)}`,
          );
          return BATCH;
        }),
    },
  ];
  const closers = [() => connections.forEach((c) => c.close())];
  if (redis !== undefined) {
    const peers = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => RespConnection.open(redis.port)),
    );
    closers.push(() => peers.forEach((c) => c.close()));
    const [sha] = await peers[0].send([['SCRIPT', 'LOAD', DEBIT_SCRIPT]]);
    const setup = [];
    for (let b = 0; b < BUCKETS; b++) {
      setup.push([
        'HSET',
        `bucket:${b}`,
        'limit',
        BALANCE,
        'balance',
        BALANCE,
        'rate',
        0,
        'slot',
        0,
      ]);
    }
    await peers[0].send(setup);
    const slot = () => Math.floor(Date.now() / 1000);
    const debit = (bucket) => [
      'EVALSHA',
      sha,
      2,
      `bucket:${bucket}`,
      `op:${operationId()}`,
      1,
      slot(),
      RETRY_WINDOW_SECONDS,
    ];
    // ioredis, the client Node users pick: one client, 64 concurrent callers in this process,
    // the same Lua debit; with its defaults (each command written as it is issued, many in
    // flight on one connection) and with auto-pipelining (the commands of one event-loop turn
    // written together, its equivalent of our coalescing).
    const ioredis = [
      ['', new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true })],
      [
        'auto',
        new Redis({
          host: '127.0.0.1',
          port: redis.port,
          lazyConnect: true,
          enableAutoPipelining: true,
        }),
      ],
    ];
    for (const [, io] of ioredis) await io.connect();
    closers.push(() => ioredis.forEach(([, io]) => io.disconnect()));
    for (const [mode, io] of ioredis) {
      list.push({
        key: `quota:clients:ioredis${mode}`,
        name: `Redis: debit Lua script, ioredis${mode ? ' (enableAutoPipelining)' : ''}, ${CONNECTIONS} concurrent callers in one process`,
        run: (ms) =>
          closedLoop(connections, ms, async (_connection, i) => {
            const reply = await io.evalsha(
              sha,
              2,
              `bucket:${streams[i]()}`,
              `op:${operationId()}`,
              1,
              slot(),
              RETRY_WINDOW_SECONDS,
            );
            check(reply === 'ok', `ioredis debit answered ${reply}`);
            return 1;
          }),
      });
    }
    list.push(
      {
        key: 'quota:single:redis',
        name: 'Redis: debit Lua script, one per round trip',
        run: (ms) =>
          closedLoop(peers, ms, async (connection, i) => {
            const [reply] = await connection.send([debit(streams[i]())]);
            check(reply === 'ok', `Redis debit answered ${reply}`);
            return 1;
          }),
      },
      {
        key: 'quota:batch:redis',
        name: `Redis: debit Lua script, ${BATCH} pipelined per round trip`,
        batch: true,
        run: (ms) =>
          closedLoop(peers, ms, async (connection, i) => {
            const commands = [];
            for (let k = 0; k < BATCH; k++) commands.push(debit(streams[i]()));
            const replies = await connection.send(commands);
            check(
              replies.every((r) => r === 'ok'),
              `Redis debits answered ${replies.find((r) => r !== 'ok')}`,
            );
            return BATCH;
          }),
      },
    );
  }
  return { list, close: () => closers.forEach((close) => close()) };
}

// ---------------------------------------------------------------------------------------------
// allocdb-core

const TTL_SLOTS = 15n;

async function allocdbParticipants(server, redis) {
  const connections = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => HttpConnection.open(server.port)),
  );
  // Four disjoint ranges of resources: one per participant (single, client, batch, client
  // batch), so that a lease one participant still holds at the end of its turn never blocks
  // another.
  const range = CONNECTIONS * BATCH;
  for (let first = 0; first < 4 * range; first += 1_024) {
    const requests = Array.from({ length: 1_024 }, (_, i) => ({
      operationId: operationId(),
      clientId: '1',
      command: { kind: 'create_resource', resourceId: String(first + i) },
    }));
    const { status } = await connections[0].request(
      'POST',
      '/v1/batch',
      JSON.stringify({ requests }),
    );
    check(status === 200, `creating resources answered ${status}`);
  }
  // Each connection cycles its own resources: reserve, then release, and on to the next.
  const cursor = connections.map(() => 0);
  const resourceOf = (i) => i * BATCH + (cursor[i]++ % BATCH);
  const reserveBody = (resource, holder) =>
    `{"operationId":"${operationId()}","clientId":"${holder}","command":{"kind":"reserve","resourceId":"${resource}","holderId":"${holder}","ttlSlots":"${TTL_SLOTS}"}}`;
  const releaseBody = (lease, holder) =>
    `{"operationId":"${operationId()}","clientId":"${holder}","command":{"kind":"release","reservationId":"${lease.reservationId}","holderId":"${holder}","leaseEpoch":"${lease.leaseEpoch}"}}`;
  const held = connections.map(() => undefined);
  const ours = async (connection, i) => {
    const holder = i + 1;
    if (held[i] === undefined) {
      const { status, body } = await connection.request(
        'POST',
        '/v1/submit',
        reserveBody(resourceOf(i), holder),
      );
      const { outcome } = JSON.parse(body);
      check(status === 200 && outcome.resultCode === 'ok', `reserve answered ${status} ${body}`);
      held[i] = outcome;
    } else {
      const { status, body } = await connection.request(
        'POST',
        '/v1/submit',
        releaseBody(held[i], holder),
      );
      check(
        status === 200 && body.includes('"resultCode":"ok"'),
        `release answered ${status} ${body}`,
      );
      held[i] = undefined;
    }
    return 1;
  };
  const client = new AllocDbClient({ url: server.url });
  const clientHeld = connections.map(() => undefined);
  const clientCursor = connections.map(() => 0);
  const viaClient = async (_connection, i) => {
    const holderId = BigInt(i + 1);
    const lease = clientHeld[i];
    if (lease === undefined) {
      const resourceId = BigInt(range + i * BATCH + (clientCursor[i]++ % BATCH));
      const { outcome } = await client.submit({
        kind: 'reserve',
        resourceId,
        holderId,
        ttlSlots: TTL_SLOTS,
      });
      check(outcome.resultCode === 'ok', `reserve answered ${outcome.resultCode}`);
      clientHeld[i] = outcome;
    } else {
      const { outcome } = await client.submit({
        kind: 'release',
        reservationId: lease.reservationId,
        holderId,
        leaseEpoch: lease.leaseEpoch,
      });
      check(outcome.resultCode === 'ok', `release answered ${outcome.resultCode}`);
      clientHeld[i] = undefined;
    }
    return 1;
  };
  // Batches: reserve all 64 of the connection's resources in one request, then release them.
  const heldBatch = connections.map(() => undefined);
  const oursBatch = async (connection, i) => {
    const holder = i + 1;
    const leases = heldBatch[i];
    const bodies = [];
    for (let k = 0; k < BATCH; k++) {
      bodies.push(
        leases === undefined
          ? reserveBody(2 * range + i * BATCH + k, holder)
          : releaseBody(leases[k], holder),
      );
    }
    const { status, body } = await connection.request(
      'POST',
      '/v1/batch',
      `{"requests":[${bodies.join(',')}]}`,
    );
    const { results } = JSON.parse(body);
    check(
      status === 200 && results.every((r) => r.outcome?.resultCode === 'ok'),
      `batch answered ${status} ${JSON.stringify(results?.find((r) => r.outcome?.resultCode !== 'ok'))}`,
    );
    heldBatch[i] = leases === undefined ? results.map((r) => r.outcome) : undefined;
    return BATCH;
  };
  const clientBatchHeld = connections.map(() => undefined);
  const viaClientBatch = async (_connection, i) => {
    const holderId = BigInt(i + 1);
    const leases = clientBatchHeld[i];
    const entries = [];
    for (let k = 0; k < BATCH; k++) {
      entries.push({
        command:
          leases === undefined
            ? {
                kind: 'reserve',
                resourceId: BigInt(3 * range + i * BATCH + k),
                holderId,
                ttlSlots: TTL_SLOTS,
              }
            : {
                kind: 'release',
                reservationId: leases[k].reservationId,
                holderId,
                leaseEpoch: leases[k].leaseEpoch,
              },
      });
    }
    const results = await client.submitBatch(entries);
    check(
      results.every((r) => r.outcome?.resultCode === 'ok'),
      `submitBatch answered ${results.find((r) => r.outcome?.resultCode !== 'ok')?.message}`,
    );
    clientBatchHeld[i] = leases === undefined ? results.map((r) => r.outcome) : undefined;
    return BATCH;
  };
  const list = [
    {
      key: 'allocdb:single:ours',
      name: 'allocdb serve: reserve/release, one per request (lean HTTP/1.1 client)',
      run: (ms) => closedLoop(connections, ms, ours, (i) => held[i] !== undefined),
    },
    {
      key: 'allocdb:clients:client',
      name: `allocdb serve: reserve/release, allocdb-core/client, ${CONNECTIONS} concurrent callers in one process (coalesced)`,
      run: (ms) => closedLoop(connections, ms, viaClient, (i) => clientHeld[i] !== undefined),
    },
    {
      key: 'allocdb:batch:ours',
      name: `allocdb serve: reserve/release, ${BATCH} per request (POST /v1/batch)`,
      batch: true,
      run: (ms) => closedLoop(connections, ms, oursBatch, (i) => heldBatch[i] !== undefined),
    },
  ];
  list.push({
    key: 'allocdb:batch:client',
    name: `allocdb serve: reserve/release, ${BATCH} per request (allocdb-core/client submitBatch)`,
    batch: true,
    run: (ms) =>
      closedLoop(connections, ms, viaClientBatch, (i) => clientBatchHeld[i] !== undefined),
  });
  const closers = [() => connections.forEach((c) => c.close())];
  if (redis !== undefined) {
    const peers = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => RespConnection.open(redis.port)),
    );
    closers.push(() => peers.forEach((c) => c.close()));
    const [reserveSha, releaseSha] = await peers[0].send([
      ['SCRIPT', 'LOAD', RESERVE_SCRIPT],
      ['SCRIPT', 'LOAD', RELEASE_SCRIPT],
    ]);
    const ttlMs = Number(TTL_SLOTS) * 1000;
    const reserve = (resource, holder) => [
      'EVALSHA',
      reserveSha,
      3,
      `lease:${resource}`,
      `fence:${resource}`,
      `op:${operationId()}`,
      holder,
      ttlMs,
      RETRY_WINDOW_SECONDS,
    ];
    const release = (resource, holder, fence) => [
      'EVALSHA',
      releaseSha,
      3,
      `lease:${resource}`,
      `fence:${resource}`,
      `op:${operationId()}`,
      holder,
      fence,
      RETRY_WINDOW_SECONDS,
    ];
    const redisHeld = peers.map(() => undefined);
    const redisCursor = peers.map(() => 0);
    const redisBatchHeld = peers.map(() => undefined);
    // ioredis (see the quota rows): 64 concurrent callers in this process on one client, each
    // cycling its own 64 resources (ranges of their own: a lease held across turns never blocks).
    const ioredisModes = [
      ['', new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true })],
      [
        'auto',
        new Redis({
          host: '127.0.0.1',
          port: redis.port,
          lazyConnect: true,
          enableAutoPipelining: true,
        }),
      ],
    ];
    for (const [, io] of ioredisModes) await io.connect();
    closers.push(() => ioredisModes.forEach(([, io]) => io.disconnect()));
    ioredisModes.forEach(([mode, io], m) => {
      const held = peers.map(() => undefined);
      const cursor = peers.map(() => 0);
      list.push({
        key: `allocdb:clients:ioredis${mode}`,
        name: `Redis: SET NX PX + fencing counter / release script, ioredis${mode ? ' (enableAutoPipelining)' : ''}, ${CONNECTIONS} concurrent callers in one process`,
        run: (ms) =>
          closedLoop(
            peers,
            ms,
            async (_connection, i) => {
              const holder = i + 1;
              const lease = held[i];
              if (lease === undefined) {
                const resource = (2 + m) * range + i * BATCH + (cursor[i]++ % BATCH);
                const reply = await io.evalsha(...reserve(resource, holder).slice(1));
                check(
                  typeof reply === 'string' && reply.startsWith('ok:'),
                  `ioredis reserve answered ${reply}`,
                );
                held[i] = { resource, fence: reply.slice(3) };
              } else {
                const reply = await io.evalsha(
                  ...release(lease.resource, holder, lease.fence).slice(1),
                );
                check(reply === 'ok', `ioredis release answered ${reply}`);
                held[i] = undefined;
              }
              return 1;
            },
            (i) => held[i] !== undefined,
          ),
      });
    });
    list.push(
      {
        key: 'allocdb:single:redis',
        name: 'Redis: SET NX PX + fencing counter / release script, one per round trip',
        run: (ms) =>
          closedLoop(
            peers,
            ms,
            async (connection, i) => {
              const holder = i + 1;
              const lease = redisHeld[i];
              if (lease === undefined) {
                const resource = i * BATCH + (redisCursor[i]++ % BATCH);
                const [reply] = await connection.send([reserve(resource, holder)]);
                check(
                  typeof reply === 'string' && reply.startsWith('ok:'),
                  `Redis reserve answered ${reply}`,
                );
                redisHeld[i] = { resource, fence: reply.slice(3) };
              } else {
                const [reply] = await connection.send([
                  release(lease.resource, holder, lease.fence),
                ]);
                check(reply === 'ok', `Redis release answered ${reply}`);
                redisHeld[i] = undefined;
              }
              return 1;
            },
            (i) => redisHeld[i] !== undefined,
          ),
      },
      {
        key: 'allocdb:batch:redis',
        name: `Redis: the same, ${BATCH} pipelined per round trip`,
        batch: true,
        run: (ms) =>
          closedLoop(
            peers,
            ms,
            async (connection, i) => {
              const holder = i + 1;
              const fences = redisBatchHeld[i];
              const commands = [];
              for (let k = 0; k < BATCH; k++) {
                const resource = range + i * BATCH + k;
                commands.push(
                  fences === undefined
                    ? reserve(resource, holder)
                    : release(resource, holder, fences[k]),
                );
              }
              const replies = await connection.send(commands);
              if (fences === undefined) {
                check(
                  replies.every((r) => typeof r === 'string' && r.startsWith('ok:')),
                  `Redis reserves answered ${replies.find((r) => !String(r).startsWith('ok:'))}`,
                );
                redisBatchHeld[i] = replies.map((r) => r.slice(3));
              } else {
                check(
                  replies.every((r) => r === 'ok'),
                  `Redis releases answered ${replies.find((r) => r !== 'ok')}`,
                );
                redisBatchHeld[i] = undefined;
              }
              return BATCH;
            },
            (i) => redisBatchHeld[i] !== undefined,
          ),
      },
    );
  }
  return { list, close: () => closers.forEach((close) => close()) };
}

// ---------------------------------------------------------------------------------------------

function printRows(title, rows, peerKey) {
  console.log(`\n### ${title}\n`);
  console.log(
    '| benchmark | commands/s (median) | min | max | p50 round trip | p99 round trip | ratio (ours / Redis) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---|');
  const peer = rows.find((r) => r.key === peerKey);
  for (const row of rows) {
    const ratio =
      peer !== undefined && row !== peer ? `${(row.median / peer.median).toFixed(2)}×` : '';
    console.log(
      `| ${row.name} | ${formatRate(row.median)} | ${formatRate(row.min)} | ${formatRate(row.max)} | ${row.p50.toFixed(2)} ms | ${row.p99.toFixed(2)} ms | ${ratio} |`,
    );
  }
}

export async function run(context) {
  const found = findRedis();
  let redis;
  if (!found.available) {
    console.log(`\nskipping the Redis peer: ${found.reason}; its rows are left out`);
  } else {
    try {
      redis = await startRedis(tempDir('redis'));
    } catch (error) {
      if (process.argv.includes('--require-redis')) throw error;
      console.log(
        `\nskipping the Redis peer: it did not start (${error.message}); its rows are left out`,
      );
    }
  }
  if (redis !== undefined) {
    // The scripts must answer as the engines do before they are timed against them.
    try {
      const compared = await checkRedisEquivalence(redis.port, { histories: QUICK ? 4 : 16 });
      console.log(
        `\nRedis peer: ${compared.debits} debits and ${compared.leases} reserves/releases in ${compared.histories} seeded histories each, against QuotaDb and AllocDb: the same answers`,
      );
    } catch (error) {
      await redis.stop();
      throw error;
    }
  }
  const quotaServer = await startEngineServer(
    'quota-core',
    join(tempDir('serve-quota'), 'data'),
    QUOTA_CONFIG,
  );
  const allocdbServer = await startEngineServer(
    'allocdb-core',
    join(tempDir('serve-allocdb'), 'data'),
    ALLOCDB_CONFIG,
  );
  const results = {};
  try {
    const groups = [
      await quotaParticipants(quotaServer, redis),
      await allocdbParticipants(allocdbServer, redis),
    ];
    const participants = groups.flatMap((group) => group.list);
    const samples = participants.map(() => ({ rates: [], latencies: [] }));
    for (let i = 0; i < WARMUP + RUNS; i++) {
      for (let p = 0; p < participants.length; p++) {
        globalThis.gc?.();
        const { commands, elapsedMs, latencies } = await participants[p].run(RUN_MS);
        if (i < WARMUP) continue;
        samples[p].rates.push((commands / elapsedMs) * 1000);
        for (const latency of latencies) samples[p].latencies.push(latency);
      }
    }
    for (const group of groups) group.close();
    const rows = participants.map((participant, p) => ({
      key: participant.key,
      name: participant.name,
      median: median(samples[p].rates),
      min: Math.min(...samples[p].rates),
      max: Math.max(...samples[p].rates),
      p50: quantile(samples[p].latencies, 0.5),
      p99: quantile(samples[p].latencies, 0.99),
      runs: samples[p].rates.length,
    }));
    for (const row of rows) results[row.key] = row;
    const load = `${CONNECTIONS} keep-alive connections, closed loop, ${RUNS} runs of ${RUN_MS / 1000} s each${WARMUP ? ' after a warm-up run' : ''}, participants interleaved`;
    for (const [engine, label] of [
      ['quota', 'quota-core: debit'],
      ['allocdb', 'allocdb-core: reserve / release'],
    ]) {
      for (const mode of ['single', 'batch']) {
        printRows(
          `Served, ${label}, ${mode === 'single' ? 'one command per request' : `${BATCH} commands per request`} (${load}; latency of one round trip${mode === 'batch' ? `, ${BATCH} commands` : ''})`,
          rows.filter((r) => r.key.startsWith(`${engine}:${mode}:`)),
          `${engine}:${mode}:redis`,
        );
      }
      // The clients' rows against the better of ioredis's two modes.
      const ioredisRows = rows.filter((r) => r.key.startsWith(`${engine}:clients:ioredis`));
      const best = ioredisRows.sort((a, b) => b.median - a.median)[0];
      printRows(
        `Served through the clients, ${label}: ${CONNECTIONS} concurrent callers of one client in one process, one command per call (${RUNS} runs of ${RUN_MS / 1000} s; latency of one call; ratio against the faster ioredis row; target (issue 22): ≥ 1.5×)`,
        rows.filter((r) => r.key.startsWith(`${engine}:clients:`)),
        best?.key ?? `${engine}:clients:ioredis`,
      );
    }
    console.log(
      `\nDurability: both engines fdatasync each group commit before answering; Redis ${found.version ?? ''} runs with appendonly yes, appendfsync always (one fsync of the AOF per event-loop turn, before its replies). ` +
        'Every command on both sides carries an operation id remembered for the retry window.',
    );
  } finally {
    await quotaServer.stop();
    await allocdbServer.stop();
    await redis?.stop();
  }
  context.results.serve = results;
}
