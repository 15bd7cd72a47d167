/**
 * `serve --cluster` as an operator runs it (docs/cluster.md, "Running a cluster"): one real
 * nats-server (R1), two nodes of each engine through the built bins. A follower takes a
 * submission and a whole batch (forwarded to the writer as one request, a bad entry refused on
 * its own), answers a strict read of the writer's write, and reports the cluster on
 * `GET /v1/cluster` and `GET /v1/health`; the typed client given both nodes rides a writer's
 * SIGTERM (it gives its lease up: the follower takes over without waiting for the lease to run
 * out).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AllocDbClient } from 'allocdb-core/client';
import { QuotaClient } from 'quota-core/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, NatsCluster, natsServerUnavailable } from '../src/cluster/nats.js';
import { tempDir } from './support.js';

const unavailable = natsServerUnavailable();
if (unavailable !== undefined) {
  console.warn(
    `!!! SKIPPED: the cluster serve test needs nats-server: ${unavailable}. CI installs it (.ci/run)`,
  );
}

const require = (path: string) => fileURLToPath(import.meta.resolve(path));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Node {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly stderr: () => string;
}

async function startNode(
  engine: 'quota-core' | 'allocdb-core',
  dir: string,
  nats: NatsCluster,
  name: string,
  node: string,
): Promise<Node> {
  const bin = join(
    dirname(require(`${engine}/package.json`)),
    'bin',
    engine === 'quota-core' ? 'quota.js' : 'allocdb.js',
  );
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      bin,
      'serve',
      '--dir',
      dir,
      '--port',
      String(port),
      '--cluster',
      nats.urls.join(','),
      '--name',
      name,
      '--node',
      node,
      '--replicas',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  await new Promise<void>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('listening on')) resolve();
    });
    exited.then((code) => reject(new Error(`${node} exited ${code}: ${stderr}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child, exited, stderr: () => stderr };
}

async function get(url: string) {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function roleOf(node: Node): Promise<string | undefined> {
  try {
    return ((await get(`${node.url}/v1/health`)).body.cluster as { role: string }).role;
  } catch {
    return undefined;
  }
}

async function writerAndFollower(nodes: Node[]): Promise<[Node, Node]> {
  for (let wait = 0; wait < 600; wait++) {
    const roles = await Promise.all(nodes.map(roleOf));
    const writer = roles.indexOf('writer');
    const follower = roles.indexOf('follower');
    if (writer >= 0 && follower >= 0) return [nodes[writer]!, nodes[follower]!];
    await sleep(50);
  }
  throw new Error(`no writer and follower: ${nodes.map((n) => n.stderr()).join('\n')}`);
}

describe.skipIf(unavailable !== undefined)('serve --cluster through the bins', () => {
  let nats: NatsCluster;
  let work: ReturnType<typeof tempDir>;
  const started: Node[] = [];
  beforeAll(async () => {
    work = tempDir('cluster-serve');
    nats = await NatsCluster.start(join(work.path, 'nats'), 1);
  });
  afterAll(async () => {
    for (const node of started) {
      node.child.kill('SIGKILL');
      await node.exited;
    }
    await nats?.stop();
    work?.remove();
  });

  it('quota-core: a follower forwards a submission and a whole batch, answers a strict read, reports the cluster; a writer stopped with SIGTERM hands over at once', async () => {
    const nodes = [
      await startNode('quota-core', join(work.path, 'q1'), nats, 'serveq', 'q1'),
      await startNode('quota-core', join(work.path, 'q2'), nats, 'serveq', 'q2'),
    ];
    started.push(...nodes);
    const [writer, follower] = await writerAndFollower(nodes);
    const viaFollower = new QuotaClient({ url: follower.url });
    const created = await viaFollower.submit({
      kind: 'create_bucket',
      bucketId: 1n,
      limit: 100n,
      initialBalance: 100n,
      refillRatePerSlot: 0n,
    });
    expect(created.outcome.resultCode).toBe('ok');

    // A batch to the follower: one forwarded request; the bad entry refused alone.
    const response = await fetch(`${follower.url}/v1/batch`, {
      method: 'POST',
      body: JSON.stringify({
        requests: [
          {
            operationId: '1001',
            clientId: '1',
            command: { kind: 'debit', bucketId: '1', amount: '10' },
          },
          {
            operationId: '1002',
            clientId: '1',
            command: { kind: 'debit', bucketId: '1', amount: '0' },
          },
          {
            operationId: '1003',
            clientId: '1',
            command: { kind: 'debit', bucketId: '1', amount: '5' },
          },
        ],
      }),
    });
    expect(response.status).toBe(200);
    const { results } = (await response.json()) as {
      results: {
        lsn?: string;
        outcome?: { resultCode: string };
        error?: { code: string; status: number; field?: string };
      }[];
    };
    expect(results.map((r) => r.outcome?.resultCode ?? r.error?.code)).toEqual([
      'ok',
      'invalid_request',
      'ok',
    ]);
    expect(results[1]!.error).toMatchObject({ status: 400, field: 'command.amount' });
    const lsn = BigInt(results[2]!.lsn!);

    // A strict read on the writer and the follower reflects the batch.
    for (const node of [writer, follower]) {
      const bucket = await new QuotaClient({ url: node.url }).getBucket(1n, { minLsn: lsn });
      expect(bucket?.balance).toBe(85n);
    }
    // A follower learns the writer (and the address it advertises) from the lease, which it
    // reads four times per lease; each node reports its status once a second.
    let cluster = (await get(`${follower.url}/v1/cluster`)).body;
    const known = () =>
      (cluster.writer as { url?: string } | undefined)?.url === writer.url &&
      (cluster.nodes as unknown[]).length === 2;
    for (let wait = 0; !known(); wait++) {
      expect(wait).toBeLessThan(100);
      await sleep(50);
      cluster = (await get(`${follower.url}/v1/cluster`)).body;
    }
    expect(cluster).toMatchObject({ role: 'follower', writer: { url: writer.url } });
    expect((cluster.nodes as { node: string }[]).map((n) => n.node).sort()).toEqual(['q1', 'q2']);
    expect((await get(`${writer.url}/v1/health`)).body).toMatchObject({
      status: 'ok',
      engine: 'quota-core',
      cluster: { role: 'writer' },
    });

    // SIGTERM: the writer drains, gives its lease up; the follower takes over well within the
    // lease (2 s), and the client given both nodes goes on.
    const both = new QuotaClient({ url: [writer.url, follower.url] });
    const stoppedAt = Date.now();
    writer.child.kill('SIGTERM');
    expect(await writer.exited).toBe(0);
    for (let wait = 0; (await roleOf(follower)) !== 'writer'; wait++) {
      expect(wait).toBeLessThan(200);
      await sleep(10);
    }
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    const after = await both.submit({ kind: 'debit', bucketId: 1n, amount: 1n });
    expect(after.outcome.resultCode).toBe('ok');
    expect(after.lsn).toBeGreaterThan(lsn);
  });

  it('allocdb-core: a follower forwards reserves; the writer ticks; a follower reads the expiry', async () => {
    const nodes = [
      await startNode('allocdb-core', join(work.path, 'a1'), nats, 'servea', 'a1'),
      await startNode('allocdb-core', join(work.path, 'a2'), nats, 'servea', 'a2'),
    ];
    started.push(...nodes);
    const [, follower] = await writerAndFollower(nodes);
    const client = new AllocDbClient({ url: follower.url });
    await client.submit({ kind: 'create_resource', resourceId: 7n });
    const lease = await client.submit({
      kind: 'reserve',
      resourceId: 7n,
      holderId: 1n,
      ttlSlots: 1n,
    });
    if (lease.outcome.resultCode !== 'ok') throw new Error(lease.outcome.resultCode);
    // Only the writer's tick can expire it; the follower applies the expiration it logs.
    let state: string | undefined;
    for (let polls = 0; polls < 400 && state !== 'expired'; polls++) {
      await sleep(25);
      const found = await client.getReservation(lease.outcome.reservationId);
      state = found.status === 'found' ? found.reservation.state : found.status;
    }
    expect(state).toBe('expired');
    expect((await client.getResource(7n))?.state).toBe('available');
  });
});
