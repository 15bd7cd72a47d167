/**
 * The `serve --cluster …` flags of both engines' servers and the NATS connection a served node
 * opens for itself (docs/cluster.md, "Running a cluster"). The engine's `serve` opens its own
 * cluster class with that connection.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/` (the NATS packages through `nats-peer.ts`).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { loadNatsPeer } from './nats-peer.js';
import { PackageError } from './package-error.js';

export const CLUSTER_FLAG_OPTIONS = {
  cluster: { type: 'string' },
  name: { type: 'string' },
  node: { type: 'string' },
  replicas: { type: 'string' },
  'lease-ms': { type: 'string' },
  'keep-messages': { type: 'string' },
} as const;

export function clusterUsage(): string {
  return `cluster mode (docs/cluster.md):
  --cluster <urls>              NATS servers with JetStream, comma-separated
                                (nats://127.0.0.1:4222,nats://127.0.0.1:4223,…): run as one node of
                                a replicated cluster whose log is a JetStream stream
  --name <name>                 the cluster's name (required with --cluster; letters, digits, _ -)
  --node <id>                   this node's id, stable across restarts (default: host and --dir)
  --replicas <n>                replicas of the stream a first node creates (default 3; 1 for
                                development)
  --lease-ms <n>                the writer's lease: a dead writer is replaced within about
                                this long (default 2000)
  --keep-messages <n>           stream messages kept below the latest published snapshot when
                                the writer trims the stream (default 10000)`;
}

export interface ClusterFlags {
  readonly servers: readonly string[];
  readonly name: string;
  readonly node: string | undefined;
  readonly replicas: number | undefined;
  readonly leaseMs: number | undefined;
  readonly keepMessages: number | undefined;
}

/** The cluster flags, checked; undefined without `--cluster`. */
export function readClusterFlags(
  values: Record<string, string | boolean | undefined>,
  usage: (message: string) => Error,
  integer: (text: string | undefined, flag: string) => number | undefined,
): ClusterFlags | undefined {
  const servers = values.cluster;
  if (servers === undefined) {
    for (const flag of ['name', 'node', 'replicas', 'lease-ms', 'keep-messages']) {
      if (values[flag] !== undefined) throw usage(`--${flag} needs --cluster <urls>`);
    }
    return undefined;
  }
  const list = String(servers)
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  if (list.length === 0) throw usage('--cluster needs at least one NATS server URL');
  for (const url of list) {
    if (!/^(nats|tls):\/\/[^\s/]+$/.test(url) && !/^[^\s/:]+:\d+$/.test(url)) {
      throw usage(`--cluster: ${JSON.stringify(url)} is not a NATS server URL (nats://host:port)`);
    }
  }
  const name = values.name;
  if (typeof name !== 'string' || name === '') {
    throw usage('--name <name> is required with --cluster: the cluster this node belongs to');
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw usage(`--name must be 1 to 64 letters, digits, '_' or '-', got ${JSON.stringify(name)}`);
  }
  const node = values.node === undefined ? undefined : String(values.node);
  if (node !== undefined && !/^[A-Za-z0-9_.-]{1,128}$/.test(node)) {
    throw usage(`--node must be 1 to 128 letters, digits, or ._-, got ${JSON.stringify(node)}`);
  }
  const replicas = integer(values.replicas as string | undefined, '--replicas');
  if (replicas !== undefined && replicas > 5)
    throw usage(`--replicas must be 1 to 5, got ${replicas}`);
  const leaseMs = integer(values['lease-ms'] as string | undefined, '--lease-ms');
  if (leaseMs !== undefined && leaseMs < 200)
    throw usage(`--lease-ms must be at least 200, got ${leaseMs}`);
  const keepText = values['keep-messages'] as string | undefined;
  const keepMessages = keepText === '0' ? 0 : integer(keepText, '--keep-messages');
  return { servers: list, name, node, replicas, leaseMs, keepMessages };
}

/** No NATS server of `--cluster` answered when the node started. */
export class NatsUnreachableError extends PackageError {
  declare readonly code: 'nats_unreachable';
  constructor(message: string) {
    super('nats_unreachable', message);
  }
}

/**
 * Connects to the NATS servers of `--cluster` for a served node: reconnecting for ever (a
 * cluster outlives restarts of its NATS servers). `NatsUnreachableError` when none answers.
 */
export async function connectNats(settings: ClusterFlags, client: string): Promise<NatsConnection> {
  const peer = await loadNatsPeer();
  try {
    return await peer.transport.connect({
      servers: [...settings.servers],
      name: `${client} ${settings.name}${settings.node === undefined ? '' : ` ${settings.node}`}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 5_000,
    });
  } catch (error) {
    throw new NatsUnreachableError(
      `cannot reach NATS at ${settings.servers.join(',')} (${(error as Error).message}); start nats-server with JetStream (nats-server -js) or fix --cluster`,
    );
  }
}

/** The cluster options of the flags, for the engine's cluster class. */
export function clusterOptionsOf(settings: ClusterFlags) {
  return {
    name: settings.name,
    ...(settings.node === undefined ? {} : { node: settings.node }),
    ...(settings.replicas === undefined ? {} : { replicas: settings.replicas }),
    ...(settings.leaseMs === undefined ? {} : { leaseMs: settings.leaseMs }),
    ...(settings.keepMessages === undefined ? {} : { keepMessages: settings.keepMessages }),
  };
}
