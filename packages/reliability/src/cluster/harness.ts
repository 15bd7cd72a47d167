/**
 * The cluster fault suite, Jepsen-style (docs/cluster.md, "What the fault tests prove"): three
 * real `nats-server`s routed into one JetStream cluster, three engine nodes (`allocdb serve` /
 * `quota serve --cluster`, child processes), client processes submitting through the typed
 * client configured with every node, and a seeded schedule of faults:
 *
 * - `kill_writer`: SIGKILL the writer; time until another node is the writer (failover); the
 *   killed node is started again later on its directory;
 * - `pause_writer`: SIGSTOP the writer past its lease, until another node took over, then SIGCONT:
 *   the paused node wakes up believing it writes, and must not append (it is fenced);
 * - `kill_nats`: SIGKILL one of the three NATS servers, start it again a little later;
 * - `wipe_node`: SIGKILL a follower, empty its directory, start it again: it rejoins from the
 *   published snapshot and the stream's tail (or the whole stream).
 *
 * An auditor follows the stream from its first message and records every frame before a trim
 * can remove it. Afterwards:
 *
 * 1. every client command was answered, and every acknowledged command is in the log exactly
 *    once, at the LSN it was acknowledged with; no two acknowledged commands share an LSN;
 * 2. every node applied the same log: at the same LSN, the same state (snapshot body digests);
 * 3. quota: every bucket's balance is its initial balance minus the acknowledged `ok` debits, and
 *    never below zero; allocdb: per resource, in LSN order, acknowledged reserves and releases
 *    alternate (no resource ever had two holders at once), and every resource ends free;
 * 4. strict reads never went backwards (the clients check each; checked again here);
 * 5. the log's terms only rise, each batch in the term of the marker before it (a paused
 *    writer's late append would break this).
 *
 * A failure names the seed, the fault schedule so far and where the run's files are.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AllocDbEngine } from 'allocdb-core';
import { AllocDbClient } from 'allocdb-core/client';
import * as allocdbCodec from 'allocdb-core/codec';
import * as allocdbTesting from 'allocdb-core/testing';
import { QuotaEngine } from 'quota-core';
import { QuotaClient } from 'quota-core/client';
import * as quotaCodec from 'quota-core/codec';
import * as quotaTesting from 'quota-core/testing';
import { Rng } from '../random.js';
import { freePort, NatsCluster } from './nats.js';
import type { ClusterChildArgs, ClusterEvent } from './protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, '..', '..', 'dist', 'cluster', 'client-child.js');
const require = (path: string) => fileURLToPath(import.meta.resolve(path));

export type FaultKind = 'kill_writer' | 'pause_writer' | 'kill_nats' | 'wipe_node';
export const FAULT_KINDS: readonly FaultKind[] = [
  'kill_writer',
  'pause_writer',
  'kill_nats',
  'wipe_node',
];

export interface ClusterFaultOptions {
  readonly engine: 'allocdb-core' | 'quota-core';
  readonly work: string;
  readonly seed: number;
  readonly clients: number;
  /** Faults in the schedule; the first four are one of each kind, in a seeded order. */
  readonly faults: number;
  readonly replayHint: string;
  readonly leaseMs?: number;
  /** Canary: clients retry under a fresh operation id (the suite must report a double debit). */
  readonly canaryFreshIds?: boolean;
  /** The kinds of fault to draw from (default: all four, one of each first). */
  readonly kinds?: readonly FaultKind[];
}

export interface ClusterFaultFigures {
  schedule: string[];
  failoversMs: number[];
  acknowledged: number;
  acknowledgedFromCache: number;
  refused: number;
  clientRetries: number;
  reads: number;
  messagesAudited: number;
  terms: number;
  finalLsn: string;
}

const NODES = 3;
const KEYS = 6;
/** quota: small balances, so that contention runs some buckets dry. */
const INITIAL_BALANCE = 150n;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function serverBin(engine: ClusterFaultOptions['engine']): string {
  const packageJson = require(`${engine}/package.json`);
  return join(dirname(packageJson), 'bin', engine === 'quota-core' ? 'quota.js' : 'allocdb.js');
}

interface Node {
  readonly index: number;
  readonly dir: string;
  readonly port: number;
  readonly url: string;
  child: ChildProcess | undefined;
  exited: Promise<number | null> | undefined;
  stderr: string;
  paused: boolean;
}

interface Health {
  readonly role: string;
  readonly appliedLsn: bigint;
  readonly writer: string | undefined;
}

async function health(node: Node): Promise<Health | undefined> {
  if (node.child === undefined || node.paused) return undefined;
  try {
    const response = await fetch(`${node.url}/v1/health`, { signal: AbortSignal.timeout(1_000) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as {
      appliedLsn: string;
      cluster: { role: string; writer: { node: string } | null };
    };
    return {
      role: body.cluster.role,
      appliedLsn: BigInt(body.appliedLsn),
      writer: body.cluster.writer?.node,
    };
  } catch {
    return undefined;
  }
}

/** How long a node may take to listen after it was started (bootstrap included). */
const NODE_START_MS = 120_000;

/** Every frame the stream ever held, recorded as it arrives (before any trim). */
class Auditor {
  readonly ops = new Map<string, { lsn: bigint; count: number }>();
  messages = 0;
  terms = 0;
  private term = 0;
  private expectedSeq = 1;
  lastLsn = 0n;
  failure: string | undefined;
  private stopIt: (() => void) | undefined;

  constructor(private readonly engine: ClusterFaultOptions['engine']) {}

  async start(nc: NatsConnection, stream: string): Promise<void> {
    const js = jetstream(nc);
    const consumer = await js.consumers.get(stream, {
      opt_start_seq: 1,
      deliver_policy: DeliverPolicy.StartSequence,
    });
    const messages = await consumer.consume({
      max_messages: 512,
      expires: 2_000,
      idle_heartbeat: 1_000,
    });
    this.stopIt = () => messages.stop();
    void (async () => {
      for await (const message of messages) {
        try {
          this.take(message.seq, message.headers, message.data);
        } catch (error) {
          this.failure ??= (error as Error).message;
        }
      }
    })();
  }

  stop(): void {
    this.stopIt?.();
  }

  private take(
    seq: number,
    headers: { get(k: string): string } | undefined,
    data: Uint8Array,
  ): void {
    if (seq !== this.expectedSeq) {
      throw new Error(
        `the auditor saw sequence ${seq} where ${this.expectedSeq} was due (it fell behind a trim, a limit of the harness: see --keep-messages; or the stream skipped)`,
      );
    }
    this.expectedSeq = seq + 1;
    this.messages++;
    const kind = headers?.get('Log-Kind');
    const term = Number(headers?.get('Log-Term'));
    const lsnEnd = BigInt(headers?.get('Log-Lsn-End') ?? '-1');
    if (kind === 'term') {
      if (lsnEnd !== this.lastLsn)
        throw new Error(`term marker ${seq} at lsn ${lsnEnd} after lsn ${this.lastLsn}`);
      this.term = seq;
      this.terms++;
      return;
    }
    if (term !== this.term) {
      throw new Error(
        `message ${seq} was appended in term ${term} after term ${this.term} began: a deposed writer appended`,
      );
    }
    const testing = this.engine === 'quota-core' ? quotaTesting : allocdbTesting;
    const codec = this.engine === 'quota-core' ? quotaCodec : allocdbCodec;
    const scan = testing.scanLog(data, { maxPayloadBytes: 1 << 20 });
    if (scan.stop.kind !== 'clean') throw new Error(`message ${seq} holds damaged frames`);
    for (const frame of scan.frames) {
      if (frame.lsn !== this.lastLsn + 1n) {
        throw new Error(`message ${seq}: lsn ${frame.lsn} after lsn ${this.lastLsn}`);
      }
      this.lastLsn = frame.lsn;
      if (frame.recordType !== testing.RecordType.client) continue;
      const request = codec.decodeClientRequest(frame.payload);
      const op = String(request.operationId);
      const seen = this.ops.get(op);
      this.ops.set(op, { lsn: seen?.lsn ?? frame.lsn, count: (seen?.count ?? 0) + 1 });
    }
    if (this.lastLsn !== lsnEnd)
      throw new Error(`message ${seq} states lsn ${lsnEnd}, its frames end at ${this.lastLsn}`);
  }
}

function readLog(path: string): ClusterEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ClusterEvent);
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summarizeFailovers(values: readonly number[]): { p50: number; max: number } {
  return { p50: percentile(values, 50), max: values.length === 0 ? 0 : Math.max(...values) };
}

export async function runClusterFaults(options: ClusterFaultOptions): Promise<ClusterFaultFigures> {
  const { engine, work, seed, clients, faults } = options;
  const leaseMs = options.leaseMs ?? 1_000;
  const rng = new Rng(seed);
  const figures: ClusterFaultFigures = {
    schedule: [],
    failoversMs: [],
    acknowledged: 0,
    acknowledgedFromCache: 0,
    refused: 0,
    clientRetries: 0,
    reads: 0,
    messagesAudited: 0,
    terms: 0,
    finalLsn: '0',
  };
  const fail: (message: string) => never = (message) => {
    throw new Error(
      `cluster faults ${engine} (seed ${seed}): ${message}\nschedule: ${figures.schedule.join(', ') || '(none yet)'}\nreplay: ${options.replayHint}`,
    );
  };
  const nats = await NatsCluster.start(join(work, 'nats'), 3);
  const name = `faults${seed}`;
  const bin = serverBin(engine);
  const configFile = join(work, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify(
      // Retries are answered from the operation table for the whole run (a window of 10^6
      // slots), so the table must hold every command of the run: the thorough tier's 40 faults
      // ran allocdb-core past the default 262,144 (operation_table_full), hence 2^20 there.
      {
        maxClientRetryWindowSlots: '1000000',
        ...(engine === 'allocdb-core' ? { maxTtlSlots: '1000000' } : {}),
        ...(options.faults > 10 ? { maxOperations: 1_048_576 } : {}),
      },
    ),
  );
  const nodes: Node[] = [];
  for (let index = 0; index < NODES; index++) {
    const port = await freePort();
    nodes.push({
      index,
      dir: join(work, `node-${index}`),
      port,
      url: `http://127.0.0.1:${port}`,
      child: undefined,
      exited: undefined,
      stderr: '',
      paused: false,
    });
  }
  const startNode = async (node: Node): Promise<void> => {
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
        name,
        '--node',
        `node-${node.index}`,
        '--lease-ms',
        String(leaseMs),
        '--config',
        configFile,
        '--checkpoint-every-bytes',
        String(64 * 1024),
        // The stream keeps this many messages below each published snapshot: the auditor's
        // slack. Its ordered consumer is re-created after the NATS server it read from is
        // killed, seconds during which the log grows; with 300 a loaded CI machine saw a trim
        // pass it (seed 793175). Wiped nodes still bootstrap from a snapshot once the stream's
        // first message is past 1; cluster-bootstrap.test.ts trims to the snapshot itself.
        '--keep-messages',
        '2000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    node.child = child;
    node.paused = false;
    child.stderr!.on('data', (chunk: Buffer) => {
      node.stderr = (node.stderr + chunk.toString()).slice(-30_000);
    });
    node.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    // Bounded: a node that neither listens nor exits is a failure to report, not a run that
    // waits for ever (a bootstrap waiting for purged snapshot chunks once did).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const listening = await new Promise<boolean | 'stuck'>((resolve) => {
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('listening on')) resolve(true);
      });
      node.exited!.then(() => resolve(false));
      timer = setTimeout(() => resolve('stuck'), NODE_START_MS);
    }).finally(() => clearTimeout(timer));
    if (listening === 'stuck') {
      fail(`node ${node.index} neither listened nor exited in ${NODE_START_MS} ms: ${node.stderr}`);
    }
    if (!listening) fail(`node ${node.index} did not start: ${node.stderr}`);
  };
  const killNode = async (node: Node): Promise<void> => {
    const child = node.child;
    if (child === undefined) return;
    if (node.paused) child.kill('SIGCONT');
    child.kill('SIGKILL');
    await node.exited;
    node.child = undefined;
    node.paused = false;
  };
  const findWriter = async (exclude?: Node): Promise<Node | undefined> => {
    for (const node of nodes) {
      if (node === exclude) continue;
      const seen = await health(node);
      if (seen?.role === 'writer') return node;
    }
    return undefined;
  };
  const waitForWriter = async (exclude: Node | undefined, what: string): Promise<Node> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const writer = await findWriter(exclude);
      if (writer !== undefined) return writer;
      if (Date.now() > deadline) {
        fail(
          `no writer ${what} within 30 s; nodes: ${nodes.map((n) => `\n--- node ${n.index}\n${n.stderr}`).join('')}`,
        );
      }
      await sleep(25);
    }
  };

  let auditorConnection: NatsConnection | undefined;
  const children: {
    args: ClusterChildArgs;
    exited: Promise<number | null>;
    stderr: () => string;
    kill: () => void;
  }[] = [];
  try {
    for (const node of nodes) await startNode(node);
    await waitForWriter(undefined, 'at start');
    auditorConnection = await connect({
      servers: nats.urls,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 200,
    });
    const auditor = new Auditor(engine);
    await auditor.start(
      auditorConnection,
      engine === 'quota-core' ? `QUOTA_${name}` : `ALLOCDB_${name}`,
    );

    const urls = nodes.map((node) => node.url);
    const setup = { url: urls, retry: { deadlineMs: 60_000 } };
    if (engine === 'quota-core') {
      const client = new QuotaClient(setup);
      for (let id = 0; id < KEYS; id++) {
        await client.submit({
          kind: 'create_bucket',
          bucketId: BigInt(id),
          limit: INITIAL_BALANCE,
          initialBalance: INITIAL_BALANCE,
          refillRatePerSlot: 0n,
        });
      }
    } else {
      const client = new AllocDbClient(setup);
      for (let id = 0; id < KEYS; id++) {
        await client.submit({ kind: 'create_resource', resourceId: BigInt(id) });
      }
    }

    const stopFile = join(work, 'stop');
    for (let index = 0; index < clients; index++) {
      const args: ClusterChildArgs = {
        engine,
        urls,
        index,
        seed: rng.u32(),
        keys: KEYS,
        log: join(work, `client-${index}.log`),
        stopFile,
        canaryFreshIds: options.canaryFreshIds === true,
      };
      writeFileSync(args.log, '');
      const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => resolve(code)),
      );
      children.push({ args, exited, stderr: () => stderr, kill: () => child.kill('SIGKILL') });
    }

    // The schedule: one of each kind first (seeded order), then seeded picks.
    const pool = options.kinds ?? FAULT_KINDS;
    const kinds: FaultKind[] = [...pool];
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
    }
    while (kinds.length < faults) kinds.push(rng.pick(pool));
    kinds.length = faults;
    await sleep(rng.range(300, 800));
    for (const kind of kinds) {
      if (auditor.failure !== undefined) fail(auditor.failure);
      for (const node of nodes) if (node.child === undefined) await startNode(node);
      const writer = await waitForWriter(undefined, `before ${kind}`);
      if (kind === 'kill_writer') {
        figures.schedule.push(`kill_writer(node ${writer.index})`);
        const started = Date.now();
        await killNode(writer);
        await waitForWriter(writer, 'after the writer was killed');
        figures.failoversMs.push(Date.now() - started);
        await sleep(rng.range(100, 1_000));
        await startNode(writer);
      } else if (kind === 'pause_writer') {
        figures.schedule.push(`pause_writer(node ${writer.index})`);
        const started = Date.now();
        writer.child!.kill('SIGSTOP');
        writer.paused = true;
        await waitForWriter(writer, 'while the writer was paused');
        figures.failoversMs.push(Date.now() - started);
        // The paused writer keeps its connections and wakes up later, still believing it writes.
        await sleep(rng.range(100, 1_500));
        writer.child!.kill('SIGCONT');
        writer.paused = false;
      } else if (kind === 'kill_nats') {
        const index = rng.int(nats.servers.length);
        figures.schedule.push(`kill_nats(${index})`);
        await nats.kill(index);
        await sleep(rng.range(300, 2_000));
        await nats.restart(index);
      } else {
        const followers = nodes.filter((node) => node !== writer);
        const node = rng.pick(followers);
        figures.schedule.push(`wipe_node(node ${node.index})`);
        await killNode(node);
        rmSync(node.dir, { recursive: true, force: true });
        mkdirSync(node.dir, { recursive: true });
        await sleep(rng.range(100, 800));
        await startNode(node);
      }
      await sleep(rng.range(400, 1_500));
    }
    for (const node of nodes) if (node.child === undefined) await startNode(node);
    writeFileSync(stopFile, '');
    for (const child of children) {
      const code = await child.exited;
      if (code !== 0) fail(`client ${child.args.index} exited ${code}: ${child.stderr()}`);
    }

    // Every node converges on the same LSN.
    const deadline = Date.now() + 60_000;
    let converged: bigint | undefined;
    while (converged === undefined) {
      const seen = await Promise.all(nodes.map(health));
      const writers = seen.filter((s) => s?.role === 'writer');
      if (
        seen.every((s) => s !== undefined) &&
        writers.length === 1 &&
        seen.every((s) => s!.appliedLsn === writers[0]!.appliedLsn)
      ) {
        converged = writers[0]!.appliedLsn;
      } else if (Date.now() > deadline) {
        fail(
          `the nodes did not converge: ${JSON.stringify(seen, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
        );
      } else {
        await sleep(100);
      }
    }
    figures.finalLsn = String(converged);
    for (let wait = 0; auditor.lastLsn < converged && auditor.failure === undefined; wait++) {
      if (wait > 3_000)
        fail(`the auditor read the log to lsn ${auditor.lastLsn} only, not ${converged}`);
      await sleep(20);
    }
    if (auditor.failure !== undefined) fail(auditor.failure);
    figures.messagesAudited = auditor.messages;
    figures.terms = auditor.terms;

    // Stop the nodes (drained, exit 0) and read each directory back.
    for (const node of nodes) {
      node.child!.kill('SIGTERM');
      const code = await node.exited;
      node.child = undefined;
      if (code !== 0) fail(`node ${node.index} did not stop cleanly (${code}): ${node.stderr}`);
    }
    const digests: { lsn: bigint; digest: string }[] = [];
    const states: (QuotaEngine | AllocDbEngine)[] = [];
    try {
      for (const node of nodes) {
        const opened =
          engine === 'quota-core'
            ? await QuotaEngine.open({ dir: node.dir })
            : await AllocDbEngine.open({ dir: node.dir });
        states.push(opened);
        const body =
          opened instanceof QuotaEngine
            ? quotaCodec.encodeSnapshotBody(quotaTesting.stateMachineOf(opened).snapshot())
            : allocdbCodec.encodeSnapshotBody(allocdbTesting.stateMachineOf(opened).snapshot());
        digests.push({
          lsn: opened.lastAppliedLsn,
          digest: createHash('sha256').update(body).digest('hex'),
        });
      }
      for (const [index, each] of digests.entries()) {
        if (each.lsn !== converged || each.digest !== digests[0]!.digest) {
          fail(
            `node ${index} holds lsn ${each.lsn} with state ${each.digest.slice(0, 16)}; node 0 holds lsn ${digests[0]!.lsn} with ${digests[0]!.digest.slice(0, 16)}`,
          );
        }
      }
      checkHistories(
        engine,
        children.map((c) => c.args),
        auditor,
        states[0]!,
        figures,
        fail,
      );
    } finally {
      for (const state of states) await state.close();
    }
    return figures;
  } finally {
    writeFileSync(join(work, 'stop'), '');
    // A run that failed leaves clients retrying against nodes that are about to go: stop them.
    for (const child of children) child.kill();
    await Promise.all(children.map((child) => child.exited));
    for (const node of nodes) await killNode(node).catch(() => undefined);
    await auditorConnection?.close().catch(() => undefined);
    await nats.stop();
  }
}

function checkHistories(
  engine: ClusterFaultOptions['engine'],
  clients: readonly ClusterChildArgs[],
  auditor: Auditor,
  state: QuotaEngine | AllocDbEngine,
  figures: ClusterFaultFigures,
  fail: (message: string) => never,
): void {
  const lsnOwner = new Map<string, string>();
  const debited = new Map<string, bigint>();
  const leases = new Map<string, { lsn: bigint; kind: string; reservationId: string }[]>();
  const unanswered: [number, number][] = [];
  for (const client of clients) {
    const events = readLog(client.log);
    const failure = events.find((e) => e.t === 'failure');
    if (failure !== undefined) fail(`client ${client.index}: ${failure.message}`);
    const done = events.at(-1);
    if (done?.t !== 'done') fail(`client ${client.index} did not finish its log`);
    figures.clientRetries += done.retries;
    const open = new Set(events.filter((e) => e.t === 'intent').map((e) => e.op));
    let lastRead = 0n;
    for (const event of events) {
      if (event.t === 'read') {
        figures.reads++;
        const applied = BigInt(event.applied);
        if (applied < BigInt(event.minLsn) || applied < lastRead) {
          fail(`client ${client.index}: a read went backwards (${JSON.stringify(event)})`);
        }
        lastRead = applied;
      }
      if (event.t !== 'ack') continue;
      open.delete(event.op);
      figures.acknowledged++;
      if (event.cached) figures.acknowledgedFromCache++;
      const logged = auditor.ops.get(event.op);
      if (logged === undefined) fail(`acknowledged operation ${event.op} is not in the log`);
      if (logged.count !== 1)
        fail(`acknowledged operation ${event.op} is in the log ${logged.count} times`);
      if (String(logged.lsn) !== event.lsn) {
        fail(
          `operation ${event.op} was acknowledged at lsn ${event.lsn}; the log holds it at lsn ${logged.lsn}`,
        );
      }
      const other = lsnOwner.get(event.lsn);
      if (other !== undefined && other !== event.op)
        fail(`operations ${other} and ${event.op} share lsn ${event.lsn}`);
      lsnOwner.set(event.lsn, event.op);
      if (event.code !== 'ok') {
        figures.refused++;
        continue;
      }
      if (engine === 'quota-core') {
        debited.set(event.key, (debited.get(event.key) ?? 0n) + BigInt(event.amount!));
      } else {
        const list = leases.get(event.key) ?? [];
        list.push({
          lsn: BigInt(event.lsn),
          kind: event.kind,
          reservationId: event.reservationId!,
        });
        leases.set(event.key, list);
      }
    }
    unanswered.push([client.index, open.size]);
  }
  if (state instanceof QuotaEngine) {
    for (let id = 0; id < KEYS; id++) {
      const spent = debited.get(String(id)) ?? 0n;
      const balance = state.getBucket(BigInt(id))?.balance;
      if (spent > INITIAL_BALANCE)
        fail(
          `bucket ${id}: acknowledged debits of ${spent} exceed its balance of ${INITIAL_BALANCE}`,
        );
      if (balance !== INITIAL_BALANCE - spent) {
        fail(
          `bucket ${id} holds ${balance}; its acknowledged debits leave ${INITIAL_BALANCE - spent}`,
        );
      }
    }
  } else {
    for (let id = 0; id < KEYS; id++) {
      const list = (leases.get(String(id)) ?? []).sort((a, b) => (a.lsn < b.lsn ? -1 : 1));
      let holding: string | undefined;
      for (const entry of list) {
        if (entry.kind === 'reserve') {
          if (holding !== undefined) {
            fail(
              `resource ${id}: reservation ${entry.reservationId} granted at lsn ${entry.lsn} while ${holding} held it`,
            );
          }
          holding = entry.reservationId;
        } else {
          if (holding !== entry.reservationId) {
            fail(
              `resource ${id}: release of ${entry.reservationId} at lsn ${entry.lsn} while ${holding ?? 'nobody'} held it`,
            );
          }
          holding = undefined;
        }
      }
      const resource = (state as AllocDbEngine).getResource(BigInt(id));
      if (holding !== undefined || resource?.state !== 'available') {
        fail(
          `resource ${id} ends ${resource?.state} (held by ${holding}); every client released what it held`,
        );
      }
    }
  }
  // Last, so that a canary's double debit is reported as such (its abandoned ids stay open).
  for (const [index, count] of unanswered) {
    if (count > 0) fail(`client ${index}: ${count} commands never answered`);
  }
}
