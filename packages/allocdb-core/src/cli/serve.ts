/**
 * `allocdb serve`: the allocator as a network service (docs/serve.md). Opens the data directory
 * (recovering it), runs the expiration tick, serves HTTP until SIGTERM or SIGINT, then drains:
 * stops accepting, answers what is running, closes the engine. A SIGKILL is survived by recovery
 * on the next start. Every failure to start is one line with what to do and a documented status.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AllocDbCluster } from '../cluster/cluster.js';
import {
  AllocDbEngine,
  type CheckpointEvent,
  ConfigError,
  ConfigMismatchError,
  DataDirectoryError,
  EngineLockedError,
  type OpenProgress,
  RecoveryError,
} from '../index.js';
import { ClusterOptionError } from '../runtime/cluster-frontend.js';
import { ClusterInvariantError, ClusterUnavailableError } from '../runtime/cluster-node.js';
import {
  CLUSTER_FLAG_OPTIONS,
  clusterOptionsOf,
  clusterUsage,
  connectNats,
  NatsUnreachableError,
  readClusterFlags,
} from '../runtime/cluster-serve.js';
import {
  DEFAULT_HTTP_LIMITS,
  HTTP_LIMIT_RANGES,
  HttpListenError,
  isLoopbackHost,
  MAX_TIMER_MS,
} from '../runtime/http-server.js';
import { LogConfigError } from '../runtime/jetstream-log.js';
import { MissingPeerError } from '../runtime/nats-peer.js';
import { DEFAULT_MAX_BATCH_REQUESTS, startAllocDbServer } from '../server/server.js';
import { readConfigFile } from './config-file.js';
import { type CliIo, UsageError } from './usage.js';

const NAME = 'allocdb serve';
const TOKEN_ENV = 'ALLOCDB_TOKEN';
export const DEFAULT_PORT = 7470;
const DEFAULT_CHECKPOINT_BYTES = 64 * 1024 * 1024;
/**
 * How many slots a client's `requestSlot` may be ahead of the server's clock (docs/serve.md,
 * "Slots"): enough for a client whose clock runs a little ahead, far too little to age other
 * clients' retry records or leases.
 */
export const DEFAULT_MAX_SLOT_SKEW = 2;
/**
 * The log's hard limit unless `--max-wal-bytes` says otherwise: past it new writes are refused
 * (507 log_full) until a checkpoint succeeds. At least four checkpoint intervals.
 */
const DEFAULT_MAX_WAL_BYTES = 1024 * 1024 * 1024;
/** Recovery of a log at least this long reports its progress on stderr. */
const PROGRESS_MIN_WAL_BYTES = 8 * 1024 * 1024;

/**
 * The progress of a long recovery, for the operator waiting on a restart: one stderr line at
 * each new tenth of the log scanned (the engine reports after each slice of its replay), and
 * one when the replay is done. Quiet for a log under `PROGRESS_MIN_WAL_BYTES`.
 */
function recoveryProgress(io: CliIo): (progress: OpenProgress) => void {
  let tenthsShown = 0;
  return (progress) => {
    if (progress.walBytes < PROGRESS_MIN_WAL_BYTES) return;
    const frames = progress.replayedFrames.toLocaleString('en');
    if (progress.done) {
      const mib = (progress.walBytes / (1024 * 1024)).toFixed(1);
      io.stderr(`${NAME}: recovered: ${frames} frames replayed, ${mib} MiB of log scanned`);
      return;
    }
    const tenths = Math.floor((progress.walBytesScanned * 10) / progress.walBytes);
    // the whole log scanned is said by the "recovered" line that follows
    if (tenths <= tenthsShown || tenths >= 10) return;
    tenthsShown = tenths;
    io.stderr(`${NAME}: recovering: ${tenths * 10}% of the log scanned, ${frames} frames replayed`);
  };
}

/** A size for a log line: bytes, KiB or MiB. */
function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Checkpoint failures on stderr, for the operator: a line per failure (at most one a minute once
 * the backoff has grown) with the error, the failures in a row, the log's length and its limit,
 * and a line when a checkpoint succeeds again. Successes after a success stay quiet.
 */
function checkpointReport(io: CliIo, maxWalBytes: number | undefined) {
  return (event: CheckpointEvent): void => {
    if (event.ok) {
      if (event.afterFailures > 0) {
        io.stderr(
          `${NAME}: checkpoint succeeded after ${event.afterFailures} failure${event.afterFailures === 1 ? '' : 's'}; the log is ${size(event.result.walBytes)}`,
        );
      }
      return;
    }
    const log = event.logFull
      ? `the log is ${size(event.walBytes)}, at its limit: new writes are refused (507 log_full) until a checkpoint succeeds`
      : `the log is ${size(event.walBytes)}${maxWalBytes === undefined ? '' : ` (new writes are refused at ${size(maxWalBytes)})`}`;
    const next =
      event.retryInMs === undefined
        ? 'the engine halted'
        : `next attempt in ${Math.ceil(event.retryInMs / 1000)} s`;
    io.stderr(
      `${NAME}: checkpoint failed (${event.consecutiveFailures} in a row): ${event.error.message}; ${log}; ${next}`,
    );
  };
}

/** Stopped by SIGTERM or SIGINT after draining. */
export const SERVE_EXIT_STOPPED = 0;
export const SERVE_EXIT_DAMAGED = 2;
export const SERVE_EXIT_USAGE = 3;
export const SERVE_EXIT_NOT_A_DIRECTORY = 4;
export const SERVE_EXIT_IO_ERROR = 5;
export const SERVE_EXIT_CONFIG_MISMATCH = 6;
export const SERVE_EXIT_LOCKED = 7;
export const SERVE_EXIT_LISTEN = 8;
export const SERVE_EXIT_INTERNAL = 70;
/**
 * A cluster node could not start or had to stop: NATS unreachable, the NATS packages missing, the
 * directory disagreeing with the cluster's stream (docs/cluster.md).
 */
export const SERVE_EXIT_CLUSTER = 9;
/** The engine halted (a failed write or fsync): start the server again; recovery replays the log. */
export const SERVE_EXIT_HALTED = 75;

export function serveUsage(): string {
  return `usage: allocdb serve --dir <dir> [--port ${DEFAULT_PORT}] [--host 127.0.0.1] [options]

Serves the allocator in <dir> (created if missing, recovered if not) over HTTP/1.1 with a JSON
API (docs/serve.md), and runs the expiration tick. SIGTERM or SIGINT drains and stops it.
Plain HTTP: put a TLS-terminating proxy in front of it for anything beyond one machine.

options:
  --dir <dir>                   the data directory (required)
  --port <n>                    default ${DEFAULT_PORT}; 0 picks a free one (printed at start)
  --host <addr>                 default 127.0.0.1. Any other than a loopback address needs a token
  --token-file <file>           the bearer token every request must carry (its first line);
                                or set ${TOKEN_ENV}. Optional on a loopback host
  --config <file>               the allocator's configuration (JSON, as 'allocdb inspect' takes
                                it), for a new directory; an existing one uses its recorded one
  --max-connections <n>         connections open at once; a new one beyond it takes the place of
                                the oldest idle one (default ${DEFAULT_HTTP_LIMITS.maxConnections})
  --max-body-bytes <n>          largest request body (default ${DEFAULT_HTTP_LIMITS.maxBodyBytes})
  --request-timeout-ms <n>      answer 503 request_timeout after this (default ${DEFAULT_HTTP_LIMITS.requestTimeoutMs})
  --receive-timeout-ms <n>      a client must send a whole request within it (default ${DEFAULT_HTTP_LIMITS.receiveTimeoutMs})
  --max-batch <n>               submissions per POST /v1/batch (default ${DEFAULT_MAX_BATCH_REQUESTS})
  --tick-ms <n>                 expiration tick interval (default: one slot, 1000)
  --checkpoint-every-bytes <n>  checkpoint after this much log (default ${DEFAULT_CHECKPOINT_BYTES}; 0: never)
  --max-slot-skew <slots>       refuse (400 slot_ahead) a requestSlot more than this many slots
                                ahead of the server's clock (default ${DEFAULT_MAX_SLOT_SKEW})
  --max-wal-bytes <n>           refuse new writes (507 log_full) while the log is this long, as
                                when checkpoints fail (default ${DEFAULT_MAX_WAL_BYTES}, or four
                                checkpoint intervals if more; 0: no limit)

exit status:
  0   stopped by SIGTERM or SIGINT, after draining and closing the engine
  2   the directory is damaged or another engine's: recovery refused it ('allocdb verify <dir>')
  3   usage error (a missing token on a non-loopback host, a bad --config, …)
  4   --dir is a file, not a directory
  5   the directory or a file in it cannot be created or read
  6   --config disagrees with the directory's recorded configuration
  7   another live engine holds the directory
  8   the address cannot be listened on (in use, or not this machine's)
  70  internal error (a bug)
  9   a cluster node could not start or had to stop (NATS unreachable, the NATS packages not
      installed, a directory that disagrees with the cluster's stream)
  75  the engine halted after a failed write or fsync: start the server again (recovery replays
      the log; clients retry with the same operation ids)

${clusterUsage()}
`;
}

/**
 * A flag's integer value from `min` to `max`; anything else (a fraction, a sign, an exponent, out
 * of range: a timeout past `MAX_TIMER_MS` would fire at once) is a usage error.
 */
function positiveInteger(
  text: string | undefined,
  flag: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (text === undefined) return undefined;
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got ${text}`);
  return value;
}

function readToken(file: string | undefined): string | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --token-file ${file}: ${(error as Error).message}`);
    }
    const token = text.split(/\r?\n/)[0]!.trim();
    if (token === '')
      throw new UsageError(`--token-file ${file} is empty: put the token on its first line`);
    return token;
  }
  const fromEnv = process.env[TOKEN_ENV];
  return fromEnv === undefined || fromEnv.trim() === '' ? undefined : fromEnv.trim();
}

/** The exit status and one line for an error that stops the server from starting. */
function startFailure(error: unknown): { status: number; line: string } {
  if (error instanceof UsageError)
    return { status: SERVE_EXIT_USAGE, line: `${error.message} (run 'allocdb serve --help')` };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
    return {
      status: SERVE_EXIT_USAGE,
      line: `${(error as Error).message} (run 'allocdb serve --help')`,
    };
  if (error instanceof ConfigError)
    return { status: SERVE_EXIT_USAGE, line: `--config: ${error.message}` };
  if (error instanceof ConfigMismatchError) {
    return {
      status: SERVE_EXIT_CONFIG_MISMATCH,
      line: `--config disagrees with the directory's recorded configuration (${error.differences
        .map((d) => `${d.field} recorded ${d.recorded}, --config ${d.requested}`)
        .join('; ')}); drop --config to serve with the recorded one`,
    };
  }
  if (error instanceof DataDirectoryError) {
    return {
      status: error.code === 'not_a_directory' ? SERVE_EXIT_NOT_A_DIRECTORY : SERVE_EXIT_IO_ERROR,
      line: error.message,
    };
  }
  if (error instanceof EngineLockedError) return { status: SERVE_EXIT_LOCKED, line: error.message };
  if (error instanceof RecoveryError) {
    return {
      status: SERVE_EXIT_DAMAGED,
      line: `recovery refused the directory: ${error.message}; inspect it with 'allocdb verify <dir>'`,
    };
  }
  if (error instanceof HttpListenError) return { status: SERVE_EXIT_LISTEN, line: error.message };
  if (
    error instanceof NatsUnreachableError ||
    error instanceof MissingPeerError ||
    error instanceof ClusterInvariantError ||
    error instanceof ClusterUnavailableError ||
    error instanceof LogConfigError ||
    error instanceof ClusterOptionError
  ) {
    return { status: SERVE_EXIT_CLUSTER, line: error.message };
  }
  const io = ['wal_io', 'snapshot_file', 'config_file'];
  if (typeof code === 'string' && io.includes(code))
    return { status: SERVE_EXIT_IO_ERROR, line: (error as Error).message };
  return {
    status: SERVE_EXIT_INTERNAL,
    line: `internal error (please report it): ${(error as Error)?.stack ?? String(error)}`,
  };
}

/** Runs `allocdb serve`; resolves with the exit status once the server has stopped. */
export async function runServe(argv: readonly string[], io: CliIo): Promise<number> {
  let engine: AllocDbEngine | undefined;
  let clusterNode: { close: () => Promise<void> } | undefined;
  let closeServed: (() => Promise<void>) | undefined;
  let server: Awaited<ReturnType<typeof startAllocDbServer>> | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'token-file': { type: 'string' },
        config: { type: 'string' },
        'max-connections': { type: 'string' },
        'max-body-bytes': { type: 'string' },
        'request-timeout-ms': { type: 'string' },
        'receive-timeout-ms': { type: 'string' },
        'max-batch': { type: 'string' },
        'tick-ms': { type: 'string' },
        'checkpoint-every-bytes': { type: 'string' },
        'max-slot-skew': { type: 'string' },
        'max-wal-bytes': { type: 'string' },
        ...CLUSTER_FLAG_OPTIONS,
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout(serveUsage());
      return SERVE_EXIT_STOPPED;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const dir = values.dir;
    if (dir === undefined)
      throw new UsageError('--dir <dir> is required: the data directory to serve');
    const host = values.host;
    const port = positiveInteger(values.port, '--port', 0, 65_535) ?? DEFAULT_PORT;
    const token = readToken(values['token-file']);
    if (token === undefined && !isLoopbackHost(host)) {
      throw new UsageError(
        `--host ${host} is not a loopback address, so the server needs a token: set ${TOKEN_ENV} or pass --token-file <file>`,
      );
    }
    const limits = {
      ...(values['max-connections'] === undefined
        ? {}
        : { maxConnections: positiveInteger(values['max-connections'], '--max-connections') }),
      ...(values['max-body-bytes'] === undefined
        ? {}
        : {
            maxBodyBytes: positiveInteger(
              values['max-body-bytes'],
              '--max-body-bytes',
              1,
              HTTP_LIMIT_RANGES.maxBodyBytes[1],
            ),
          }),
      ...(values['request-timeout-ms'] === undefined
        ? {}
        : {
            requestTimeoutMs: positiveInteger(
              values['request-timeout-ms'],
              '--request-timeout-ms',
              1,
              MAX_TIMER_MS,
            ),
          }),
      ...(values['receive-timeout-ms'] === undefined
        ? {}
        : {
            receiveTimeoutMs: positiveInteger(
              values['receive-timeout-ms'],
              '--receive-timeout-ms',
              1,
              MAX_TIMER_MS,
            ),
          }),
    };
    const maxBatchRequests = positiveInteger(values['max-batch'], '--max-batch');
    const tickMs = positiveInteger(values['tick-ms'], '--tick-ms', 1, MAX_TIMER_MS);
    const checkpointBytes =
      positiveInteger(values['checkpoint-every-bytes'], '--checkpoint-every-bytes', 0) ??
      DEFAULT_CHECKPOINT_BYTES;
    const maxSlotSkew =
      positiveInteger(values['max-slot-skew'], '--max-slot-skew', 0) ?? DEFAULT_MAX_SLOT_SKEW;
    const givenWalLimit = positiveInteger(values['max-wal-bytes'], '--max-wal-bytes', 0);
    if (givenWalLimit !== undefined && givenWalLimit > 0 && givenWalLimit < 2 * checkpointBytes) {
      throw new UsageError(
        `--max-wal-bytes must be at least twice --checkpoint-every-bytes (${2 * checkpointBytes}): a checkpoint keeps the log since the previous one, got ${givenWalLimit}`,
      );
    }
    const maxWalBytes =
      givenWalLimit === 0
        ? undefined
        : (givenWalLimit ?? Math.max(DEFAULT_MAX_WAL_BYTES, 4 * checkpointBytes));
    const config = values.config === undefined ? undefined : readConfigFile(values.config);
    const clusterSettings = readClusterFlags(
      values,
      (message) => new UsageError(message),
      (text, flag) =>
        positiveInteger(text, flag, 1, flag.endsWith('-ms') ? MAX_TIMER_MS : undefined),
    );

    const engineOptions = {
      maxSlotSkew,
      ...(checkpointBytes === 0 ? {} : { checkpointPolicy: { everyBytes: checkpointBytes } }),
      ...(maxWalBytes === undefined ? {} : { maxWalBytes }),
    };
    let stopping: Promise<number> | undefined;
    let resolveStopped: (status: number) => void = () => undefined;
    const stopped = new Promise<number>((resolve) => {
      resolveStopped = resolve;
    });
    const stop = (status: number, why: string) => {
      stopping ??= (async () => {
        io.stderr(`${NAME}: ${why}; draining`);
        engine?.stopTicker();
        await server?.close();
        await closeServed?.().catch(() => undefined);
        io.stderr(`${NAME}: stopped at lsn ${served?.lastAppliedLsn ?? 0n}`);
        return status;
      })();
      stopping.then(resolveStopped);
    };
    let served: AllocDbEngine | AllocDbCluster;
    let startup: string;
    if (clusterSettings === undefined) {
      engine = await AllocDbEngine.open({
        dir,
        ...(config === undefined ? {} : { config }),
        engine: engineOptions,
        onProgress: recoveryProgress(io),
        onCheckpoint: checkpointReport(io, maxWalBytes),
      });
      const opened = engine;
      served = opened;
      closeServed = () => opened.close();
      startup = `lsn ${opened.lastAppliedLsn}, ${opened.recoveryStatus.startupKind}`;
    } else {
      let lastRetry = '';
      const nats = await connectNats(clusterSettings, NAME);
      const closeNats = () => nats.close().catch(() => undefined);
      let cluster: AllocDbCluster;
      try {
        cluster = await AllocDbCluster.open({
          ...clusterOptionsOf(clusterSettings),
          nats,
          dir,
          ...(config === undefined ? {} : { config }),
          engine: engineOptions,
          tickMs: tickMs ?? 1_000,
          onProgress: recoveryProgress(io),
          onCheckpoint: checkpointReport(io, maxWalBytes),
          onEvent: (event) => {
            if (event.kind === 'role') {
              lastRetry = '';
              io.stderr(`${NAME}: cluster: ${event.role} (${event.why})`);
            } else if (event.kind === 'retrying') {
              const line = `${NAME}: cluster: retrying ${event.what}: ${(event.error as Error)?.message ?? String(event.error)}`;
              if (line !== lastRetry) io.stderr(line);
              lastRetry = line;
            } else {
              stop(
                SERVE_EXIT_CLUSTER,
                `the cluster node stopped (${(event.error as Error)?.message ?? String(event.error)})`,
              );
            }
          },
        });
      } catch (error) {
        await closeNats();
        throw error;
      }
      const opened = cluster;
      const node = {
        cluster: opened,
        close: async () => {
          await opened.close();
          await closeNats();
        },
      };
      clusterNode = node;
      served = node.cluster;
      closeServed = node.close;
      startup = `cluster ${clusterSettings.name}, node ${node.cluster.nodeId}, ${node.cluster.role}, lsn ${node.cluster.lastAppliedLsn}`;
    }
    server = await startAllocDbServer({
      engine: served,
      host,
      port,
      token,
      limits,
      ...(maxBatchRequests === undefined ? {} : { maxBatchRequests }),
      // A cluster node recovers from a failed write by itself (it steps down and reopens).
      ...(clusterSettings !== undefined
        ? {}
        : {
            onHalt: (error: Error) =>
              stop(
                SERVE_EXIT_HALTED,
                `the engine halted (${error.message}); start the server again to recover`,
              ),
          }),
      onInternalError: (error) =>
        io.stderr(
          `${NAME}: internal error (please report it): ${(error as Error)?.stack ?? String(error)}`,
        ),
    });
    // A single server ticks on its own; a cluster's writer ticks (the node starts it on takeover).
    if (served instanceof AllocDbCluster) served.advertise(server.url);
    else served.startTicker(tickMs ?? 1_000);
    const onSignal = (signal: NodeJS.Signals) => stop(SERVE_EXIT_STOPPED, `${signal} received`);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    io.stdout(
      `${NAME}: listening on ${server.url} (dir ${dir}, ${startup}, ${token === undefined ? 'no token' : 'token required'})`,
    );
    const status = await stopped;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    return status;
  } catch (error) {
    await server?.close().catch(() => undefined);
    await engine?.close().catch(() => undefined);
    await clusterNode?.close().catch(() => undefined);
    const { status, line } = startFailure(error);
    io.stderr(`${NAME}: ${line}`);
    return status;
  }
}
