// The cluster demo (`pnpm cluster-demo`; docs/cluster.md): three nats-servers with JetStream and
// three `quota serve --cluster` nodes on loopback, clients debiting one bucket through the typed
// client configured with every node, the writer killed with SIGKILL under that load, another
// node taking over, the killed node restarted, and the totals checked on every node: the
// bucket's balance is its initial balance minus the acknowledged debits, on each of the three.
//
// Needs nats-server on the PATH (apt-get install nats-server, brew install nats-server, or the
// release binary); says so in one line and exits 1 without it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuotaClient } from '../packages/quota-core/dist/exports/client.js';
import {
  freePort,
  NatsCluster,
  natsServerUnavailable,
} from '../packages/reliability/dist/cluster/nats.js';

const missing = natsServerUnavailable();
if (missing !== undefined) {
  console.error(`cluster demo: ${missing}`);
  process.exit(1);
}

const root = join(import.meta.dirname, '..');
const bin = join(root, 'packages', 'quota-core', 'bin', 'quota.js');
const work = mkdtempSync(join(tmpdir(), 'cluster-demo-'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (line) => console.log(line);
const INITIAL = 1_000_000n;
const CLIENTS = 32;

const nodes = [];
let nats;

function startNode(node) {
  const child = spawn(
    process.execPath,
    [
      bin,
      'serve',
      '--dir',
      node.dir,
      '--port',
      String(node.port),
      '--cluster',
      nats.urls.join(','),
      '--name',
      'demo',
      '--node',
      node.name,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  node.child = child;
  node.exited = new Promise((resolve) => child.once('exit', resolve));
  child.stderr.on('data', (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.includes('cluster: writer') || line.includes('cluster: follower (started)')) {
        say(`  [${node.name}] ${line.replace(/^quota serve: cluster: /, '')}`);
      }
    }
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      if (out.includes('listening on')) resolve();
    });
    node.exited.then((code) => reject(new Error(`${node.name} exited ${code} before listening`)));
  });
}

async function clusterView(node) {
  try {
    const response = await fetch(`${node.url}/v1/cluster`, { signal: AbortSignal.timeout(1_000) });
    return response.ok ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

async function writerOf(exclude) {
  for (const node of nodes) {
    if (node === exclude || node.child === undefined) continue;
    const view = await clusterView(node);
    if (view?.role === 'writer') return node;
  }
  return undefined;
}

try {
  say('cluster demo: three nats-servers with JetStream on loopback');
  nats = await NatsCluster.start(join(work, 'nats'), 3);
  for (let index = 1; index <= 3; index++) {
    const port = await freePort();
    nodes.push({
      name: `node-${index}`,
      dir: join(work, `node-${index}`),
      port,
      url: `http://127.0.0.1:${port}`,
    });
  }
  say('three quota serve --cluster nodes (each its own --dir and port):');
  await Promise.all(nodes.map(startNode));
  let writer = await writerOf();
  while (writer === undefined) {
    await sleep(50);
    writer = await writerOf();
  }
  say(`the writer is ${writer.name}; the others follow the stream`);

  const client = new QuotaClient({ url: nodes.map((node) => node.url) });
  await client.submit({
    kind: 'create_bucket',
    bucketId: 1n,
    limit: INITIAL,
    initialBalance: INITIAL,
    refillRatePerSlot: 0n,
  });
  let acknowledged = 0n;
  let stop = false;
  const load = Array.from({ length: CLIENTS }, async () => {
    const each = new QuotaClient({ url: nodes.map((node) => node.url) });
    while (!stop) {
      const result = await each.submit({ kind: 'debit', bucketId: 1n, amount: 1n });
      if (result.outcome.resultCode === 'ok') acknowledged++;
    }
  });
  say(`${CLIENTS} clients debit bucket 1 through the typed client given all three nodes`);
  await sleep(3_000);
  say(`after 3 s: ${acknowledged} debits acknowledged; SIGKILL the writer, ${writer.name}`);
  const killedAt = Date.now();
  const killed = writer;
  killed.child.kill('SIGKILL');
  await killed.exited;
  killed.child = undefined;
  let next = await writerOf(killed);
  while (next === undefined) {
    await sleep(25);
    next = await writerOf(killed);
  }
  say(`${next.name} took over ${Date.now() - killedAt} ms after the kill; the clients went on`);
  await sleep(3_000);
  say(`restart ${killed.name} on its directory: it catches up from the stream`);
  await startNode(killed);
  await sleep(1_000);
  stop = true;
  await Promise.all(load);
  say(`load stopped: ${acknowledged} debits acknowledged in all`);

  let views;
  for (;;) {
    views = await Promise.all(nodes.map(clusterView));
    const lsns = new Set(views.map((view) => view?.appliedLsn));
    if (views.every((view) => view !== undefined) && lsns.size === 1) break;
    await sleep(100);
  }
  const expected = INITIAL - acknowledged;
  let agree = true;
  for (const node of nodes) {
    const reader = new QuotaClient({ url: node.url });
    const bucket = await reader.getBucket(1n);
    const same = bucket?.balance === expected;
    agree &&= same;
    const role = views[nodes.indexOf(node)].role;
    say(
      `  ${node.name} (${role}): balance ${bucket?.balance} at lsn ${views[0].appliedLsn} ${same ? '= initial − acknowledged' : '≠ initial − acknowledged'}`,
    );
  }
  say(
    agree
      ? `every node holds ${expected} = ${INITIAL} − ${acknowledged}: no acknowledged debit lost or applied twice across the failover`
      : 'the nodes disagree with the acknowledged debits: this is a bug, please report it',
  );
  process.exitCode = agree ? 0 : 1;
} finally {
  for (const node of nodes) {
    if (node.child !== undefined) {
      node.child.kill('SIGTERM');
      await node.exited;
    }
  }
  await nats?.stop();
  rmSync(work, { recursive: true, force: true });
}
