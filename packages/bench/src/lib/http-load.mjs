// Load generation for the serve suite: the engines' servers started from their real bins, a lean
// HTTP/1.1 keep-alive connection (one request in flight, as lean as the Redis peer's RESP client,
// so that both sides pay alike for the load generator on a two-core machine), and a closed loop
// that keeps every connection busy for a given time while recording each round trip's latency.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nowMs } from './common.mjs';

/**
 * Starts `allocdb serve` / `quota serve` on a free loopback port with `config` (the JSON the
 * bins' --config takes) for its new data directory `dir`; resolves with its URL.
 */
export async function startEngineServer(engine, dir, config) {
  const configFile = join(dir, '..', `${engine}-config.json`);
  writeFileSync(configFile, JSON.stringify(config));
  const manifest = fileURLToPath(import.meta.resolve(`${engine}/package.json`));
  const bin = join(dirname(manifest), 'bin', engine === 'quota-core' ? 'quota.js' : 'allocdb.js');
  // No automatic checkpoint during the measurement: it runs on the server's thread (see
  // docs/benchmarks.md, "Served"), while Redis rewrites its AOF in a forked child.
  const args = [
    'serve',
    '--dir',
    dir,
    '--port',
    '0',
    '--config',
    configFile,
    '--checkpoint-every-bytes',
    '0',
  ];
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk.toString();
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve(match[1]);
    });
    exited.then((code) => reject(new Error(`${engine} serve exited (${code}): ${stderr}`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`${engine} serve stopped with ${code}: ${stderr}`);
    },
  };
}

/** One keep-alive HTTP/1.1 connection with one request in flight at a time. */
export class HttpConnection {
  static async open(port) {
    const connection = new HttpConnection(port);
    await connection.connect();
    return connection;
  }

  constructor(port) {
    this.port = port;
    this.socket = undefined;
    this.buffer = Buffer.alloc(0);
    this.pending = undefined;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        this.socket = socket;
        this.buffer = Buffer.alloc(0);
        socket.on('data', (chunk) => {
          this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
          this.parse();
        });
        socket.on('error', (error) => this.pending?.reject(error));
        socket.on('close', () => this.pending?.reject(new Error('connection closed')));
        resolve();
      });
    });
  }

  /**
   * POSTs (or GETs, without a body) and resolves with `{ status, body }`. A connection the server
   * closed while it sat idle (its keep-alive timeout, between two participants' turns) is opened
   * again first.
   */
  async request(method, path, body) {
    if (this.socket.destroyed || this.socket.readyState !== 'open') await this.connect();
    const head =
      body === undefined
        ? `${method} ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`
        : `${method} ${path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(head);
    });
  }

  parse() {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || this.pending === undefined) return;
    const head = this.buffer.toString('latin1', 0, end);
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffer.length < end + 4 + length) return;
    const status = Number(head.slice(9, 12));
    const body = this.buffer.toString('utf8', end + 4, end + 4 + length);
    this.buffer = this.buffer.subarray(end + 4 + length);
    const { resolve } = this.pending;
    this.pending = undefined;
    resolve({ status, body });
  }

  close() {
    this.socket.destroy();
  }
}

/**
 * Keeps every connection busy for `durationMs`: each runs `step(connection, index)` (one round
 * trip, resolving with the number of commands it carried) again and again until the time is up,
 * and then while `holding(index)` says it still holds something (a lease to release, so that no
 * lease outlives its turn and expires before the next one).
 */
export async function closedLoop(connections, durationMs, step, holding = () => false) {
  const latencies = [];
  let commands = 0;
  const start = nowMs();
  const end = start + durationMs;
  await Promise.all(
    connections.map(async (connection, index) => {
      while (nowMs() < end || holding(index)) {
        const sent = nowMs();
        // Not `commands += await …`: that reads `commands` before the await and loses updates.
        const carried = await step(connection, index);
        commands += carried;
        latencies.push(nowMs() - sent);
      }
    }),
  );
  return { commands, elapsedMs: nowMs() - start, latencies };
}

/** The `q`-quantile of `values` (sorted in place). */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor(q * values.length))];
}
