/**
 * Serve crash-kill: exactly-once over the network, across server crashes. The parent starts the
 * real server bin (`allocdb serve`, `quota serve`) on a loopback port, starts N client processes
 * (`client-child.ts`) that submit in a loop through the typed client, and SIGKILLs the server at
 * seeded moments (some before it has finished recovering), restarting it on the same port each
 * time; the clients ride through every restart by retrying with the same operation ids. At the
 * end the clients stop, the server is stopped with SIGTERM (drained, exit 0), and the directory
 * is opened in this process and checked against the clients' own logs:
 *
 * 1. every command a client sent was acknowledged, and every acknowledgement was `ok` (allocdb:
 *    a reserve or release applied twice would have answered `resource_busy` or `stale_epoch`);
 * 2. every acknowledged operation id is in the engine's operation table with that outcome and
 *    that LSN, and no two acknowledged operations share an LSN (each executed exactly once);
 * 3. the state is exactly what the logs say: quota, every bucket's balance is its initial
 *    balance minus the acknowledged debits (one applied twice would show); allocdb, every
 *    resource is held by the reservation of its client's last acknowledged reserve, or free;
 * 4. reads with `minLsn` never went backwards: each saw at least its fence, and a client's reads
 *    saw non-decreasing applied LSNs (the clients check as they go; checked again here).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AllocDbEngine } from 'allocdb-core';
import { AllocDbClient } from 'allocdb-core/client';
import { QuotaEngine } from 'quota-core';
import { QuotaClient } from 'quota-core/client';
import { Rng } from '../random.js';
import type { ServeChildArgs, ServeEvent } from './protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled client, whether this module runs from src/ (vitest) or from dist/. */
const CHILD = join(here, '..', '..', 'dist', 'serve', 'client-child.js');
const require = (path: string) => fileURLToPath(import.meta.resolve(path));

export interface ServeCrashOptions {
  readonly engine: 'allocdb-core' | 'quota-core';
  /** A fresh directory for the data, the logs and the config. */
  readonly work: string;
  readonly seed: number;
  readonly clients: number;
  readonly kills: number;
  readonly replayHint: string;
  /** Canary: clients retry with a fresh operation id (the suite must report a double application). */
  readonly canaryFreshIds?: boolean;
}

export interface ServeCrashFigures {
  kills: number;
  killsBeforeListening: number;
  acknowledged: number;
  acknowledgedFromCache: number;
  reads: number;
}

const INITIAL_BALANCE = 1_000_000_000n;
const KEYS = 8;

/** The server bin of each engine (the committed shim that loads the built one). */
function serverBin(engine: ServeCrashOptions['engine']): string {
  const packageJson = require(`${engine}/package.json`);
  return join(dirname(packageJson), 'bin', engine === 'quota-core' ? 'quota.js' : 'allocdb.js');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Server {
  readonly child: ChildProcess;
  readonly listening: Promise<boolean>;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  stderr(): string;
}

function startServer(bin: string, args: string[]): Server {
  const child = spawn(process.execPath, [bin, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<boolean>((resolve) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('listening on')) resolve(true);
    });
    exited.then(() => resolve(false));
  });
  return { child, listening, exited, stderr: () => stderr };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readLog(path: string): ServeEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ServeEvent);
}

export async function runServeCrash(options: ServeCrashOptions): Promise<ServeCrashFigures> {
  const { engine, work, seed, clients, kills } = options;
  const fail: (message: string) => never = (message) => {
    throw new Error(`serve crash-kill ${engine}: ${message}\nreplay: ${options.replayHint}`);
  };
  const rng = new Rng(seed);
  const dir = join(work, 'data');
  const configFile = join(work, 'config.json');
  // A retry window far longer than the run, so that every retry is answered from the cache.
  writeFileSync(
    configFile,
    JSON.stringify(
      engine === 'quota-core'
        ? { maxClientRetryWindowSlots: '1000000' }
        : { maxClientRetryWindowSlots: '1000000', maxTtlSlots: '3600' },
    ),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const bin = serverBin(engine);
  const serverArgs = ['--dir', dir, '--port', String(port), '--config', configFile];
  const figures: ServeCrashFigures = {
    kills: 0,
    killsBeforeListening: 0,
    acknowledged: 0,
    acknowledgedFromCache: 0,
    reads: 0,
  };

  let server = startServer(bin, serverArgs);
  if (!(await server.listening)) fail(`the server did not start: ${server.stderr()}`);

  // The keys the clients work on.
  const setup = { retry: { deadlineMs: 30_000 } };
  if (engine === 'quota-core') {
    const client = new QuotaClient({ url, ...setup });
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
    const client = new AllocDbClient({ url, ...setup });
    for (let id = 0; id < KEYS * clients; id++) {
      await client.submit({ kind: 'create_resource', resourceId: BigInt(id) });
    }
  }

  const stopFile = join(work, 'stop');
  const children = Array.from({ length: clients }, (_, index) => {
    const args: ServeChildArgs = {
      engine,
      url,
      index,
      seed: rng.u32(),
      keys: KEYS,
      initial: String(INITIAL_BALANCE),
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
    return { args, exited, stderr: () => stderr };
  });

  /**
   * Waits until the current server listens. A server that exits by itself first is a failure to
   * recover, except for an address still in use just after a kill (exit 8), retried a few times.
   */
  const ensureListening = async (round: number) => {
    for (let attempt = 0; !(await server.listening); attempt++) {
      const { code } = await server.exited;
      if (code !== 8 || attempt >= 5) {
        fail(`the server did not come back after kill ${round} (exit ${code}): ${server.stderr()}`);
      }
      await sleep(50);
      server = startServer(bin, serverArgs);
    }
  };
  for (let round = 0; round < kills; round++) {
    // A fifth of the kills land while the restarted server is still starting (recovering).
    const early = rng.chance(0.2);
    if (!early) await ensureListening(round);
    await sleep(early ? rng.range(0, 30) : rng.range(50, 400));
    const before = await Promise.race([server.exited, sleep(0).then(() => undefined)]);
    if (before !== undefined && before.code !== 8) {
      fail(`the server exited by itself (${before.code}) before kill ${round}: ${server.stderr()}`);
    }
    server.child.kill('SIGKILL');
    await server.exited;
    figures.kills++;
    if (!(await Promise.race([server.listening, Promise.resolve(false)]))) {
      figures.killsBeforeListening++;
    }
    server = startServer(bin, serverArgs);
  }
  await ensureListening(kills);
  writeFileSync(stopFile, '');
  for (const child of children) {
    const code = await child.exited;
    if (code !== 0) fail(`client ${child.args.index} exited ${code}: ${child.stderr()}`);
  }
  server.child.kill('SIGTERM');
  const stopped = await server.exited;
  if (stopped.code !== 0)
    fail(`the server did not stop cleanly on SIGTERM: ${stopped.code} ${server.stderr()}`);

  // The clients' logs against the directory.
  const opened =
    engine === 'quota-core' ? await QuotaEngine.open({ dir }) : await AllocDbEngine.open({ dir });
  try {
    const lsnOwner = new Map<string, string>();
    const balances = new Map<string, bigint>();
    const holders = new Map<string, string | undefined>();
    const unacknowledged: [number, number][] = [];
    for (const child of children) {
      const events = readLog(child.args.log);
      const failure = events.find((e) => e.t === 'failure');
      if (failure !== undefined) fail(`client ${child.args.index}: ${failure.message}`);
      if (events.at(-1)?.t !== 'done') fail(`client ${child.args.index} did not finish its log`);
      const intents = new Set(events.filter((e) => e.t === 'intent').map((e) => e.op));
      let lastApplied = 0n;
      for (const event of events) {
        if (event.t === 'read') {
          figures.reads++;
          const applied = BigInt(event.applied);
          if (applied < BigInt(event.minLsn) || applied < lastApplied) {
            fail(`client ${child.args.index}: a read went backwards (${JSON.stringify(event)})`);
          }
          lastApplied = applied;
        }
        if (event.t !== 'ack') continue;
        intents.delete(event.op);
        figures.acknowledged++;
        if (event.cached) figures.acknowledgedFromCache++;
        if (event.code !== 'ok') fail(`operation ${event.op} was acknowledged ${event.code}`);
        const other = lsnOwner.get(event.lsn);
        if (other !== undefined && other !== event.op) {
          fail(`operations ${other} and ${event.op} were both acknowledged at LSN ${event.lsn}`);
        }
        lsnOwner.set(event.lsn, event.op);
        const record = opened.getOperation(BigInt(event.op));
        if (record === undefined) fail(`acknowledged operation ${event.op} has no record`);
        if (record.appliedLsn !== BigInt(event.lsn) || record.outcome.resultCode !== 'ok') {
          fail(
            `operation ${event.op} was acknowledged ok at LSN ${event.lsn}, the engine recorded ${record.outcome.resultCode} at LSN ${record.appliedLsn}`,
          );
        }
        if (engine === 'quota-core') {
          balances.set(event.key, (balances.get(event.key) ?? 0n) + BigInt(event.amount!));
        } else {
          holders.set(event.key, event.kind === 'reserve' ? event.reservationId : undefined);
        }
      }
      unacknowledged.push([child.args.index, intents.size]);
    }
    if (opened instanceof QuotaEngine) {
      for (let id = 0; id < KEYS; id++) {
        const expected = INITIAL_BALANCE - (balances.get(String(id)) ?? 0n);
        const actual = opened.getBucket(BigInt(id))?.balance;
        if (actual !== expected) {
          fail(`bucket ${id} holds ${actual}; the acknowledged debits leave ${expected}`);
        }
      }
    } else {
      for (let id = 0; id < KEYS * clients; id++) {
        const resource = opened.getResource(BigInt(id));
        const expected = holders.get(String(id));
        const actual = resource?.currentReservationId?.toString();
        if (actual !== expected) {
          fail(`resource ${id} is held by ${actual}; the acknowledged commands leave ${expected}`);
        }
      }
    }
    if (figures.acknowledged !== lsnOwner.size) fail('an LSN was acknowledged for two operations');
    for (const [index, count] of unacknowledged) {
      if (count > 0) fail(`client ${index}: ${count} commands never acknowledged`);
    }
  } finally {
    await opened.close();
  }
  return figures;
}
