// The engines replicated through NATS JetStream (docs/cluster.md) side by side, in one run, on
// loopback, with 64 concurrent clients: three nats-servers (R3 stream), three `serve --cluster`
// nodes, a single-node `serve` (the same bins, no replication), and etcd with three members doing
// the same lease. Then failover: the writer SIGKILLed again and again under load, timed until a
// write is acknowledged by its successor.
//
//   allocdb-core: reserve, then release, a resource   ↔ etcd: lease grant + txn put-if-absent
//                 (each client cycles its own 64)             with that lease, then lease revoke
//   quota-core:   debit 1 unit of one of 4,096 buckets (no etcd counterpart: the rows show what
//                 replication costs against the single node)
//
// Equal replication, not equal fsync: the stream keeps three copies, as etcd does, but JetStream
// 2.9 does not fsync before acknowledging (docs/cluster.md, "What is guaranteed"), where every
// etcd member fsyncs its WAL before a write commits. The engines' writer fdatasyncs its own log
// before answering, as the single node does. Without nats-server (or etcd) their rows are left
// out with one line.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AllocDbClient } from 'allocdb-core/client';
import { Etcd3 } from 'etcd3';
import { QuotaClient } from 'quota-core/client';
import { freePort, NatsCluster, natsServerUnavailable } from 'reliability/dist/cluster/nats.js';
import { formatRate, median, nowMs, QUICK, tempDir } from '../lib/common.mjs';
import { closedLoop, HttpConnection, quantile, startEngineServer } from '../lib/http-load.mjs';
import { findEtcd, startEtcdCluster } from '../peers/etcd.mjs';

const CONNECTIONS = 64;
const BATCH = 64;
const BUCKETS = 4_096;
const RUN_MS = QUICK ? 400 : 3_000;
const RUNS = QUICK ? 1 : 5;
const WARMUP = QUICK ? 0 : 1;
const KILLS = QUICK ? 2 : 20;
const BALANCE = 1_000_000_000_000n;
const TTL_SLOTS = 15;
// The serve suite's sizes (docs/benchmarks.md, "Served"): tables for tens of thousands of
// commands/s over a 30-slot retry window.
const QUOTA_CONFIG = { maxBuckets: 8_192, maxOperations: 1 << 22, maxClientRetryWindowSlots: '30' };
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
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function check(condition, message) {
  if (!condition) throw new Error(`cluster bench: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Nodes

function binOf(engine) {
  const manifest = fileURLToPath(import.meta.resolve(`${engine}/package.json`));
  return join(manifest, '..', 'bin', engine === 'quota-core' ? 'quota.js' : 'allocdb.js');
}

/** Starts one `serve --cluster` node; resolves once it listens. */
async function startNode(engine, node, nats, name, configFile) {
  const child = spawn(
    process.execPath,
    [
      binOf(engine),
      'serve',
      '--dir',
      node.dir,
      '--port',
      String(node.port),
      '--cluster',
      nats.urls.join(','),
      '--name',
      name,
      '--node',
      node.name,
      '--config',
      configFile,
      // No automatic checkpoint during the measurement, as for the single node (serve suite).
      '--checkpoint-every-bytes',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  node.child = child;
  node.stderr = '';
  child.stderr.on('data', (chunk) => {
    node.stderr = (node.stderr + chunk.toString()).slice(-10_000);
  });
  node.exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      if (out.includes('listening on')) resolve();
    });
    node.exited.then((code) => reject(new Error(`${node.name} exited ${code}: ${node.stderr}`)));
  });
}

async function roleOf(node) {
  if (node.child === undefined) return undefined;
  try {
    const response = await fetch(`${node.url}/v1/health`, { signal: AbortSignal.timeout(500) });
    if (!response.ok) return undefined;
    return (await response.json()).cluster?.role;
  } catch {
    return undefined;
  }
}

async function waitForWriter(nodes, exclude) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (const node of nodes) {
      if (node !== exclude && (await roleOf(node)) === 'writer') return node;
    }
    check(Date.now() < deadline, 'no writer within 60 s');
    await sleep(10);
  }
}

async function startCluster(engine, nats, config) {
  const work = tempDir(`cluster-${engine}`);
  const configFile = join(work, 'config.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(configFile, JSON.stringify(config));
  const name = `bench${engine === 'quota-core' ? 'q' : 'a'}${Date.now() % 100_000}`;
  const nodes = [];
  for (let i = 1; i <= 3; i++) {
    const port = await freePort();
    nodes.push({ name: `n${i}`, dir: join(work, `n${i}`), port, url: `http://127.0.0.1:${port}` });
  }
  await Promise.all(nodes.map((node) => startNode(engine, node, nats, name, configFile)));
  const writer = await waitForWriter(nodes);
  return {
    nodes,
    writer,
    name,
    configFile,
    async stop() {
      for (const node of nodes) {
        if (node.child === undefined) continue;
        node.child.kill('SIGTERM');
        await node.exited;
        node.child = undefined;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Participants

/** Creates resources [first, first + count) through `connection`, 1,024 per batch. */
async function createResources(connection, first, count) {
  for (let at = first; at < first + count; at += 1_024) {
    const requests = Array.from({ length: Math.min(1_024, first + count - at) }, (_, i) => ({
      operationId: operationId(),
      clientId: '1',
      command: { kind: 'create_resource', resourceId: String(at + i) },
    }));
    const { status, body } = await connection.request(
      'POST',
      '/v1/batch',
      JSON.stringify({ requests }),
    );
    check(
      status === 200 && !body.includes('"error"'),
      `creating resources answered ${status} ${body.slice(0, 200)}`,
    );
  }
}

async function createBuckets(connection) {
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
    const { status } = await connection.request('POST', '/v1/batch', JSON.stringify({ requests }));
    check(status === 200, `creating buckets answered ${status}`);
  }
}

const reserveBody = (resource, holder) =>
  `{"operationId":"${operationId()}","clientId":"${holder}","command":{"kind":"reserve","resourceId":"${resource}","holderId":"${holder}","ttlSlots":"${TTL_SLOTS}"}}`;
const releaseBody = (lease, holder) =>
  `{"operationId":"${operationId()}","clientId":"${holder}","command":{"kind":"release","reservationId":"${lease.reservationId}","holderId":"${holder}","leaseEpoch":"${lease.leaseEpoch}"}}`;

/**
 * Reserve/release cycles over HTTP: each connection reserves its next resource of its own 64
 * (from `first`), then releases it; with `batch`, 64 reserves in one request, then 64 releases.
 */
function allocdbCycles(key, name, connections, first, batch) {
  const held = connections.map(() => undefined);
  const cursor = connections.map(() => 0);
  const own = (i, k) => first + i * BATCH + k;
  const step = async (connection, i) => {
    const holder = i + 1;
    if (!batch) {
      if (held[i] === undefined) {
        const { status, body } = await connection.request(
          'POST',
          '/v1/submit',
          reserveBody(own(i, cursor[i]++ % BATCH), holder),
        );
        const answer = JSON.parse(body);
        check(
          status === 200 && answer.outcome?.resultCode === 'ok',
          `reserve answered ${status} ${body}`,
        );
        held[i] = answer.outcome;
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
    }
    const leases = held[i];
    const requests = [];
    for (let k = 0; k < BATCH; k++) {
      requests.push(
        leases === undefined ? reserveBody(own(i, k), holder) : releaseBody(leases[k], holder),
      );
    }
    const { status, body } = await connection.request(
      'POST',
      '/v1/batch',
      `{"requests":[${requests.join(',')}]}`,
    );
    check(
      status === 200 && !body.includes('"error"'),
      `batch answered ${status} ${body.slice(0, 300)}`,
    );
    const { results } = JSON.parse(body);
    check(
      results.every((r) => r.outcome.resultCode === 'ok'),
      'a batched reserve or release was refused',
    );
    held[i] = leases === undefined ? results.map((r) => r.outcome) : undefined;
    return BATCH;
  };
  return {
    key,
    name,
    batch,
    run: (ms) => closedLoop(connections, ms, step, (i) => held[i] !== undefined),
  };
}

function quotaDebits(key, name, connections, batch) {
  const streams = connections.map((_, i) => {
    let state = ((i + 1) * 2_654_435_761) >>> 0 || 1;
    return () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      return state % BUCKETS;
    };
  });
  const debit = (bucket) =>
    `{"operationId":"${operationId()}","clientId":"1","command":{"kind":"debit","bucketId":"${bucket}","amount":"1"}}`;
  return {
    key,
    name,
    batch,
    run: (ms) =>
      closedLoop(connections, ms, async (connection, i) => {
        if (!batch) {
          const { status, body } = await connection.request(
            'POST',
            '/v1/submit',
            debit(streams[i]()),
          );
          check(
            status === 200 && body.includes('"resultCode":"ok"'),
            `debit answered ${status} ${body}`,
          );
          return 1;
        }
        const requests = [];
        for (let k = 0; k < BATCH; k++) requests.push(debit(streams[i]()));
        const { status, body } = await connection.request(
          'POST',
          '/v1/batch',
          `{"requests":[${requests.join(',')}]}`,
        );
        check(status === 200 && !body.includes('"error"'), `batch answered ${status}`);
        return BATCH;
      }),
  };
}

/**
 * The typed client as applications call it: 64 concurrent callers in this process, each `submit`
 * one command at a time; the client coalesces what accumulates into `POST /v1/batch` requests
 * over its few connections (docs/serve.md). Given every node of a cluster.
 */
function typedClientCalls(key, name, client, call) {
  const callers = Array.from({ length: CONNECTIONS }, (_, i) => i);
  return {
    key,
    name,
    batch: false,
    // A caller holding a lease at the end of a run releases it first (`call.holding`): the next
    // run of this row comes minutes later, after the lease expired.
    run: (ms) => closedLoop(callers, ms, (_caller, i) => call(client, i), call.holding),
  };
}

async function debitThroughClient(client, i) {
  const result = await client.submit({ kind: 'debit', bucketId: BigInt(i % BUCKETS), amount: 1n });
  check(result.outcome.resultCode === 'ok', `debit answered ${result.outcome.resultCode}`);
  return 1;
}

/** Reserve, then release, each caller on its own 64 resources from `first`. */
function cyclesThroughClient(first) {
  const held = Array.from({ length: CONNECTIONS }, () => undefined);
  const cursor = held.map(() => 0);
  const call = async (client, i) => {
    const holderId = BigInt(i + 1);
    if (held[i] === undefined) {
      const resourceId = BigInt(first + i * BATCH + (cursor[i]++ % BATCH));
      const { outcome } = await client.submit({
        kind: 'reserve',
        resourceId,
        holderId,
        ttlSlots: BigInt(TTL_SLOTS),
      });
      check(outcome.resultCode === 'ok', `reserve answered ${outcome.resultCode}`);
      held[i] = outcome;
    } else {
      const lease = held[i];
      const { outcome } = await client.submit({
        kind: 'release',
        reservationId: lease.reservationId,
        holderId,
        leaseEpoch: lease.leaseEpoch,
      });
      check(outcome.resultCode === 'ok', `release answered ${outcome.resultCode}`);
      held[i] = undefined;
    }
    return 1;
  };
  call.holding = (i) => held[i] !== undefined;
  return call;
}

/** The lease on etcd: grant + txn put-if-absent, then revoke; one etcd3 client, 64 loops. */
function etcdCycles(client) {
  const loops = Array.from({ length: CONNECTIONS }, (_, i) => i);
  const held = loops.map(() => undefined);
  const cursor = loops.map(() => 0);
  return {
    key: 'allocdb:single:etcd',
    name: 'etcd (3 members): lease grant + txn put-if-absent / lease revoke, etcd3 client',
    batch: false,
    run: (ms) =>
      closedLoop(
        loops,
        ms,
        async (_loop, i) => {
          if (held[i] === undefined) {
            const key = `resource/${i}/${cursor[i]++ % BATCH}`;
            const lease = client.lease(TTL_SLOTS, { autoKeepAlive: false });
            const id = await lease.grant();
            const result = await client
              .if(key, 'Create', '==', 0)
              .then(
                client
                  .put(key)
                  .value(String(i + 1))
                  .lease(id),
              )
              .commit();
            check(result.succeeded, `etcd put-if-absent of ${key} found it held`);
            held[i] = lease;
          } else {
            await held[i].revoke();
            held[i] = undefined;
          }
          return 1;
        },
        (i) => held[i] !== undefined,
      ),
  };
}

// ---------------------------------------------------------------------------------------------
// Failover

/**
 * SIGKILLs the writer `kills` times while 8 clients submit through the typed client given every
 * node. Each time: the kill, then a probe submitted to each surviving node in turn (20 ms apart)
 * until one is acknowledged; the time from the kill to that acknowledgement is the failover. The
 * killed node is started again on its directory before the next kill.
 */
async function measureFailover(cluster, nats, engine) {
  const { nodes } = cluster;
  const urls = nodes.map((node) => node.url);
  let stop = false;
  let acknowledged = 0;
  const load = Array.from({ length: 8 }, async (_, i) => {
    const client = new AllocDbClient({
      url: urls,
      retry: { minDelayMs: 10, maxDelayMs: 100, deadlineMs: 60_000 },
    });
    for (let n = 0; !stop; n++) {
      await client.submit({
        kind: 'create_resource',
        resourceId: BigInt(1_000_000 + i * 1_000_000 + n),
      });
      acknowledged++;
    }
  });
  const times = [];
  const takeovers = [];
  let probeId = 50_000_000;
  for (let round = 0; round < KILLS; round++) {
    const writer = await waitForWriter(nodes);
    await sleep(300);
    const killedAt = nowMs();
    writer.child.kill('SIGKILL');
    await writer.exited;
    writer.child = undefined;
    const survivors = nodes.filter((node) => node !== writer);
    let tookOver;
    for (let attempt = 0; ; attempt++) {
      const node = survivors[attempt % survivors.length];
      if (tookOver === undefined && (await roleOf(node)) === 'writer')
        tookOver = nowMs() - killedAt;
      try {
        const response = await fetch(`${node.url}/v1/submit`, {
          method: 'POST',
          body: `{"operationId":"${operationId()}","clientId":"9","command":{"kind":"create_resource","resourceId":"${probeId++}"}}`,
          signal: AbortSignal.timeout(2_000),
        });
        if (response.ok) break;
      } catch {
        // the node is not answering writes yet
      }
      check(nowMs() - killedAt < 60_000, `no write acknowledged within 60 s of kill ${round}`);
      await sleep(20);
    }
    times.push(nowMs() - killedAt);
    takeovers.push(tookOver ?? times.at(-1));
    await startNode(engine, writer, nats, cluster.name, cluster.configFile);
  }
  stop = true;
  await Promise.all(load);
  return { times, takeovers, acknowledged };
}

// ---------------------------------------------------------------------------------------------

function printRows(title, rows, peerKey, peerLabel) {
  console.log(`\n### ${title}\n`);
  console.log(
    `| benchmark | commands/s (median) | min | max | p50 round trip | p99 round trip | ratio (ours / ${peerLabel}) |`,
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
  const missing = natsServerUnavailable();
  if (missing !== undefined) {
    console.log(`\nskipping the cluster suite: ${missing}`);
    return;
  }
  const etcdFound = findEtcd();
  if (!etcdFound.available)
    console.log(`\nskipping the etcd peer: ${etcdFound.reason}; its rows are left out`);
  const nats = await NatsCluster.start(tempDir('cluster-nats'), 3);
  const closers = [];
  const results = {};
  const clusters = {};
  try {
    const etcd = etcdFound.available ? await startEtcdCluster(tempDir('etcd')) : undefined;
    if (etcd !== undefined) closers.push(() => etcd.stop());
    const allocdbCluster = await startCluster('allocdb-core', nats, ALLOCDB_CONFIG);
    clusters.allocdb = allocdbCluster;
    closers.push(() => allocdbCluster.stop());
    const quotaCluster = await startCluster('quota-core', nats, QUOTA_CONFIG);
    clusters.quota = quotaCluster;
    closers.push(() => quotaCluster.stop());
    const allocdbSingle = await startEngineServer(
      'allocdb-core',
      join(tempDir('single-allocdb'), 'data'),
      ALLOCDB_CONFIG,
    );
    closers.push(() => allocdbSingle.stop());
    const quotaSingle = await startEngineServer(
      'quota-core',
      join(tempDir('single-quota'), 'data'),
      QUOTA_CONFIG,
    );
    closers.push(() => quotaSingle.stop());

    const open = (port) =>
      Promise.all(Array.from({ length: CONNECTIONS }, () => HttpConnection.open(port)));
    const follower = (cluster) => cluster.nodes.find((node) => node !== cluster.writer);
    const toAllocdbSingle = await open(allocdbSingle.port);
    const toAllocdbWriter = await open(allocdbCluster.writer.port);
    const toAllocdbFollower = await open(follower(allocdbCluster).port);
    const toQuotaSingle = await open(quotaSingle.port);
    const toQuotaWriter = await open(quotaCluster.writer.port);
    const toQuotaFollower = await open(follower(quotaCluster).port);
    const all = [
      toAllocdbSingle,
      toAllocdbWriter,
      toAllocdbFollower,
      toQuotaSingle,
      toQuotaWriter,
      toQuotaFollower,
    ];
    closers.push(() => all.flat().forEach((connection) => connection.close()));
    const range = CONNECTIONS * BATCH;
    await createResources(toAllocdbSingle[0], 0, 3 * range);
    await createResources(toAllocdbWriter[0], 0, 4 * range);
    const clients = {
      allocdbSingle: new AllocDbClient({ url: allocdbSingle.url }),
      allocdbCluster: new AllocDbClient({ url: allocdbCluster.nodes.map((node) => node.url) }),
      quotaSingle: new QuotaClient({ url: quotaSingle.url }),
      quotaCluster: new QuotaClient({ url: quotaCluster.nodes.map((node) => node.url) }),
    };
    closers.push(() => Object.values(clients).forEach((client) => client.close()));
    await createBuckets(toQuotaSingle[0]);
    await createBuckets(toQuotaWriter[0]);
    const participants = [
      allocdbCycles(
        'allocdb:single:serve',
        'allocdb serve, one machine: reserve / release, one per request',
        toAllocdbSingle,
        0,
        false,
      ),
      allocdbCycles(
        'allocdb:single:cluster',
        'allocdb serve --cluster (R3), to the writer: one per request',
        toAllocdbWriter,
        0,
        false,
      ),
      allocdbCycles(
        'allocdb:single:forwarded',
        'allocdb serve --cluster (R3), to a follower (forwarded): one per request',
        toAllocdbFollower,
        range,
        false,
      ),
      typedClientCalls(
        'allocdb:single:client-serve',
        'allocdb serve, one machine: allocdb-core/client, 64 concurrent callers (coalesced)',
        clients.allocdbSingle,
        cyclesThroughClient(2 * range),
      ),
      typedClientCalls(
        'allocdb:single:client-cluster',
        'allocdb serve --cluster (R3): allocdb-core/client given the 3 nodes, 64 concurrent callers (coalesced)',
        clients.allocdbCluster,
        cyclesThroughClient(3 * range),
      ),
      allocdbCycles(
        'allocdb:batch:serve',
        `allocdb serve, one machine: ${BATCH} per request`,
        toAllocdbSingle,
        range,
        true,
      ),
      allocdbCycles(
        'allocdb:batch:cluster',
        `allocdb serve --cluster (R3), to the writer: ${BATCH} per request`,
        toAllocdbWriter,
        2 * range,
        true,
      ),
      quotaDebits(
        'quota:single:serve',
        'quota serve, one machine: debit, one per request',
        toQuotaSingle,
        false,
      ),
      quotaDebits(
        'quota:single:cluster',
        'quota serve --cluster (R3), to the writer: one per request',
        toQuotaWriter,
        false,
      ),
      quotaDebits(
        'quota:single:forwarded',
        'quota serve --cluster (R3), to a follower (forwarded): one per request',
        toQuotaFollower,
        false,
      ),
      typedClientCalls(
        'quota:single:client-serve',
        'quota serve, one machine: quota-core/client, 64 concurrent callers (coalesced)',
        clients.quotaSingle,
        debitThroughClient,
      ),
      typedClientCalls(
        'quota:single:client-cluster',
        'quota serve --cluster (R3): quota-core/client given the 3 nodes, 64 concurrent callers (coalesced)',
        clients.quotaCluster,
        debitThroughClient,
      ),
      quotaDebits(
        'quota:batch:serve',
        `quota serve, one machine: ${BATCH} per request`,
        toQuotaSingle,
        true,
      ),
      quotaDebits(
        'quota:batch:cluster',
        `quota serve --cluster (R3), to the writer: ${BATCH} per request`,
        toQuotaWriter,
        true,
      ),
    ];
    if (etcd !== undefined) {
      const client = new Etcd3({ hosts: etcd.hosts });
      closers.unshift(() => client.close());
      participants.splice(3, 0, etcdCycles(client));
    }
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
    const load = `${CONNECTIONS} concurrent clients (keep-alive HTTP/1.1 connections; etcd: 64 concurrent loops on one etcd3 client), closed loop, ${RUNS} runs of ${RUN_MS / 1000} s each${WARMUP ? ' after a warm-up run' : ''}, participants interleaved`;
    printRows(
      `Replicated, allocdb-core: reserve / release, one command per request (${load})`,
      rows.filter((r) => r.key.startsWith('allocdb:single:')),
      'allocdb:single:etcd',
      'etcd',
    );
    printRows(
      `Replicated, allocdb-core: ${BATCH} commands per request (latency of one round trip, ${BATCH} commands)`,
      rows.filter((r) => r.key.startsWith('allocdb:batch:')),
      'allocdb:batch:serve',
      'one machine',
    );
    printRows(
      'Replicated, quota-core: debit, one command per request',
      rows.filter((r) => r.key.startsWith('quota:single:')),
      'quota:single:serve',
      'one machine',
    );
    printRows(
      `Replicated, quota-core: debit, ${BATCH} commands per request`,
      rows.filter((r) => r.key.startsWith('quota:batch:')),
      'quota:batch:serve',
      'one machine',
    );
    console.log(
      `\nReplication: the stream has 3 replicas (nats-server, three servers), etcd ${etcdFound.version ?? ''} with 3 members. Equal copies, not equal fsync: JetStream 2.9 acknowledges before fsyncing (docs/cluster.md); every etcd member fsyncs its WAL per commit. The writer and the single node fdatasync their own log before answering. Our commands carry operation ids remembered for the retry window; etcd's do not.`,
    );

    for (const cluster of [quotaCluster]) await cluster.stop();
    const failover = await measureFailover(allocdbCluster, nats, 'allocdb-core');
    const sorted = [...failover.times].sort((a, b) => a - b);
    const takeovers = [...failover.takeovers].sort((a, b) => a - b);
    results.failover = {
      kills: failover.times.length,
      p50: quantile([...sorted], 0.5),
      max: sorted.at(-1),
      takeoverP50: quantile([...takeovers], 0.5),
      takeoverMax: takeovers.at(-1),
      times: failover.times,
    };
    console.log(
      `\n### Failover: ${failover.times.length} SIGKILLs of the allocdb writer (default --lease-ms 2000), 8 clients submitting through the typed client given every node\n`,
    );
    console.log('| measure | p50 | max |');
    console.log('|---|---:|---:|');
    console.log(
      `| kill → a follower reports itself writer | ${results.failover.takeoverP50.toFixed(0)} ms | ${results.failover.takeoverMax.toFixed(0)} ms |`,
    );
    console.log(
      `| kill → a write acknowledged by the new writer | ${results.failover.p50.toFixed(0)} ms | ${results.failover.max.toFixed(0)} ms |`,
    );
    console.log(
      `\n(${failover.acknowledged} commands acknowledged by the 8 clients across the kills)`,
    );
  } catch (error) {
    // Say what each node was doing: a node that exited, and the end of every node's stderr.
    for (const cluster of [clusters.allocdb, clusters.quota]) {
      for (const node of cluster?.nodes ?? []) {
        console.error(
          `${cluster.name} ${node.name} (port ${node.port}): ${node.child === undefined ? 'stopped' : node.child.exitCode === null ? 'running' : `exited ${node.child.exitCode}`}; stderr: ${node.stderr.slice(-2_000) || '(empty)'}`,
        );
      }
    }
    throw error;
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        // stopping what is left after a failure: the failure is what is reported
      }
    }
    await nats.stop();
  }
  context.results.cluster = results;
}
