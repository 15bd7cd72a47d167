// The Redis peer of the serve suite: Debian's `redis-server`, started by the benchmark itself
// with the same durability as the engines (append-only file, `appendfsync always`: the AOF is
// fsynced before the replies of an event-loop turn are sent, so a pipelined burst shares one
// fsync, as a batch shares one in the engines), and a minimal RESP client (one connection per
// simulated client, pipelined writes). The commands are Lua scripts with the engines' semantics:
//   debit    token bucket (limit, balance, refill per slot), an operation id remembered for the
//            retry window so a retry is answered, not executed again;
//   reserve  SET lease NX PX ttl + INCR of the resource's fencing counter, deduplicated alike;
//   release  compare holder and fencing token, DEL the lease, INCR the counter, deduplicated.
// Lua numbers are doubles: exact up to 2^53, which these workloads never leave.
//
// Optional: where `redis-server` is not installed (CI guarantees only Node and npm) or does not
// start, `startRedis` says why and the suite leaves the Redis rows out with one line.
import { spawn, spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** The `redis-server` binary and its version, or why there is none. */
export function findRedis() {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    return {
      available: false,
      reason:
        probe.error?.code === 'ENOENT'
          ? 'redis-server is not installed (Debian: apt-get install redis-server)'
          : `redis-server --version failed: ${(probe.stderr || String(probe.error)).trim()}`,
    };
  }
  const version = /v=([0-9.]+)/.exec(probe.stdout)?.[1] ?? probe.stdout.trim();
  return { available: true, version };
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `redis-server` on a loopback port with its data in `dir`: AOF on, `appendfsync always`,
 * no RDB snapshots. Resolves when it answers PING; rejects with the reason otherwise.
 */
export async function startRedis(dir) {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  for (let attempt = 0; attempt < 200; attempt++) {
    if (exited) throw new Error(`redis-server exited at start: ${stderr.trim()}`);
    try {
      const connection = await RespConnection.open(port);
      const [pong] = await connection.send([['PING']]);
      connection.close();
      if (pong === 'PONG') {
        return {
          port,
          async stop() {
            child.kill('SIGTERM');
            if (!exited) await new Promise((resolve) => child.once('exit', resolve));
          },
        };
      }
    } catch {
      // Not listening yet.
    }
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer PING within 5 s');
}

/** One RESP connection: `send` writes commands pipelined and resolves with their replies. */
export class RespConnection {
  static open(port) {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RespConnection(socket));
      });
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.waiting = [];
    socket.on('data', (chunk) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    socket.on('error', (error) => {
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    });
  }

  send(commands) {
    let text = '';
    for (const args of commands) {
      text += `*${args.length}\r\n`;
      for (const arg of args) {
        const value = String(arg);
        text += `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
      }
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ count: commands.length, replies: [], resolve, reject });
      this.socket.write(text);
    });
  }

  drain() {
    while (this.waiting.length > 0) {
      const parsed = parseReply(this.buffer, 0);
      if (parsed === undefined) return;
      this.buffer = this.buffer.subarray(parsed.end);
      const waiter = this.waiting[0];
      waiter.replies.push(parsed.value);
      if (waiter.replies.length === waiter.count) {
        this.waiting.shift();
        waiter.resolve(waiter.replies);
      }
    }
  }

  close() {
    this.socket.destroy();
  }
}

/** One RESP2 reply at `offset`: `{ value, end }`, or undefined when it is not complete yet. */
function parseReply(buffer, offset) {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new Error(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const values = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, at);
        if (item === undefined) return undefined;
        values.push(item.value);
        at = item.end;
      }
      return { value: values, end: at };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

/** The debit: dedupe by operation id, refill to the slot, take the amount if it is there. */
export const DEBIT_SCRIPT = `
local done = redis.call('GET', KEYS[2])
if done then return done end
local b = redis.call('HMGET', KEYS[1], 'limit', 'balance', 'rate', 'slot')
local result
if not b[1] then
  result = 'bucket_not_found'
else
  local limit, balance, rate, last = tonumber(b[1]), tonumber(b[2]), tonumber(b[3]), tonumber(b[4])
  local slot = tonumber(ARGV[2])
  if slot > last then
    balance = math.min(limit, balance + (slot - last) * rate)
    last = slot
  end
  local amount = tonumber(ARGV[1])
  if balance >= amount then
    balance = balance - amount
    result = 'ok'
  else
    result = 'insufficient_funds'
  end
  redis.call('HSET', KEYS[1], 'balance', balance, 'slot', last)
end
redis.call('SET', KEYS[2], result, 'EX', ARGV[3])
return result
`;

/** The lease: SET NX PX, and the resource's fencing counter as the epoch; dedupe by operation id. */
export const RESERVE_SCRIPT = `
local done = redis.call('GET', KEYS[3])
if done then return done end
local result = 'resource_busy'
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  result = 'ok:' .. redis.call('INCR', KEYS[2])
end
redis.call('SET', KEYS[3], result, 'EX', ARGV[3])
return result
`;

/** The release: only the holder with the current fencing token; bumps the token. */
export const RELEASE_SCRIPT = `
local done = redis.call('GET', KEYS[3])
if done then return done end
local result = 'stale_epoch'
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('DEL', KEYS[1])
  redis.call('INCR', KEYS[2])
  result = 'ok'
end
redis.call('SET', KEYS[3], result, 'EX', ARGV[3])
return result
`;
