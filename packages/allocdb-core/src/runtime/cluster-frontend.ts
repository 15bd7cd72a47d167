/**
 * What every engine's cluster class shares (docs/cluster.md): the options a node takes and their
 * checks, the names of a cluster's JetStream assets, starting a node (the stream, the lease, the
 * store, then `ClusterNode`), the files of a node's directory a cluster reads and writes, the
 * answer a writer sends to a forwarded submission, and the base class of `QuotaCluster` and
 * `AllocDbCluster` (status, waiting for an LSN, forwarding, closing). Each engine's cluster
 * module adds what is its own: opening its engine, its wire encoding, its reads.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/` (the NATS packages through `nats-peer.ts`).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type ClusterEvent,
  ClusterNode,
  type ClusterNodeStatus,
  ForwardError,
  type NodeRole,
  type ReplicaHost,
  whenReady,
} from './cluster-node.js';
import { ClusterStore, type NodeStatus } from './cluster-store.js';
import { EngineClosedError, SubmissionError, type SubmissionErrorCode } from './commit-pipeline.js';
import { fsyncDirectory, nodeFileSystem, writeFileAtomically } from './file-system.js';
import { JetStreamLog } from './jetstream-log.js';
import { loadNatsPeer } from './nats-peer.js';
import { PackageError } from './package-error.js';
import { WriterLease } from './writer-lease.js';

/** The options of a cluster node that do not depend on the engine. */
export interface ClusterSettings {
  /** This node's own data directory (created if missing). */
  readonly dir: string;
  /** The embedder's NATS connection (the cluster never closes it). */
  readonly nats: NatsConnection;
  /** The cluster's name: letters, digits, `_` and `-`; every node of one cluster gives the same. */
  readonly name: string;
  /** This node's id, stable across restarts (default: host name and directory). */
  readonly node?: string;
  /** Where this node serves HTTP, advertised to clients (default: none). */
  readonly url?: string;
  /** Replicas of the cluster's stream and buckets when this node creates them (default 3). */
  readonly replicas?: number;
  /** The writer's lease (ms): a dead writer is replaced within about this long (default 2,000). */
  readonly leaseMs?: number;
  /** How long a forwarded submission waits for the writer's answer (default 10,000 ms). */
  readonly forwardTimeoutMs?: number;
  /** Stream messages kept below the published snapshot when the stream is trimmed (10,000). */
  readonly keepMessages?: number;
  /** Role changes and background retries, for logs (never thrown). */
  readonly onEvent?: (event: ClusterEvent) => void;
}

/**
 * A cluster node checkpoints after this much log unless its engine options set a policy: its
 * snapshots are what the writer publishes and trims the stream below, so a node that never
 * checkpointed would let the stream grow without bound.
 */
export const DEFAULT_CLUSTER_CHECKPOINT_BYTES = 64 * 1024 * 1024;

export const DEFAULT_CLUSTER_SETTINGS = Object.freeze({
  replicas: 3,
  leaseMs: 2_000,
  forwardTimeoutMs: 10_000,
  publishTimeoutMs: 5_000,
  keepMessages: 10_000,
});

/** A cluster option out of range; nothing was opened. */
export class ClusterOptionError extends PackageError {
  declare readonly code: 'invalid_value';
  readonly field: string;
  constructor(field: string, message: string) {
    super('invalid_value', `${field} ${message}`);
    this.field = field;
  }
}

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** A node id is a key of the cluster's key-value bucket: these characters only. */
const NODE_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/** Checks the engine-independent options; `ClusterOptionError` names the first bad one. */
export function checkClusterSettings(options: ClusterSettings, what: string): void {
  if (typeof options !== 'object' || options === null) {
    throw new ClusterOptionError('options', `must be an object: ${what} needs { dir, nats, name }`);
  }
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new ClusterOptionError('dir', "must be the node's data directory path");
  }
  if (typeof options.name !== 'string' || !NAME_PATTERN.test(options.name)) {
    throw new ClusterOptionError(
      'name',
      `must be 1 to 64 letters, digits, '_' or '-' (it names the cluster's stream), got ${JSON.stringify(options.name)}`,
    );
  }
  if (options.nats === undefined || typeof options.nats?.request !== 'function') {
    throw new ClusterOptionError(
      'nats',
      'must be a connected NatsConnection (@nats-io/transport-node connect())',
    );
  }
  const integer = (field: string, value: unknown, min: number, max: number) => {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ClusterOptionError(
        field,
        `must be an integer from ${min} to ${max}, got ${String(value)}`,
      );
    }
  };
  integer('replicas', options.replicas, 1, 5);
  integer('leaseMs', options.leaseMs, 200, 600_000);
  integer('forwardTimeoutMs', options.forwardTimeoutMs, 1, 600_000);
  integer('keepMessages', options.keepMessages, 0, Number.MAX_SAFE_INTEGER);
  if (
    options.node !== undefined &&
    (typeof options.node !== 'string' || !NODE_PATTERN.test(options.node))
  ) {
    throw new ClusterOptionError(
      'node',
      `must be 1 to 128 letters, digits, or ._-, got ${JSON.stringify(options.node)}`,
    );
  }
  if (options.url !== undefined && typeof options.url !== 'string') {
    throw new ClusterOptionError('url', 'must be the URL this node serves on');
  }
}

/** The names of a cluster's JetStream assets (docs/cluster.md, "What lives in JetStream"). */
export function clusterAssetNames(engine: 'quota' | 'allocdb', name: string) {
  const upper = engine.toUpperCase();
  return {
    stream: `${upper}_${name}`,
    subject: `${engine}.${name}.log`,
    forwardSubject: `${engine}.${name}.forward`,
    leaseBucket: `${upper}_${name}_lease`,
    storeBucket: `${upper}_${name}`,
  } as const;
}

/** Room in a NATS message for the headers a log message carries. */
const HEADER_ROOM_BYTES = 1024;
/** Room in a stream message for one frame's header and trailer. */
const FRAME_ROOM_BYTES = 64;

/**
 * Starts a node: loads the NATS packages, opens (or creates) the cluster's stream, lease bucket
 * and store, each retried while the NATS cluster forms, then starts `ClusterNode` with `host`.
 * `maxCommandBytes` (when the engine options give one) must fit in one NATS message.
 */
export async function startClusterNode(
  engine: 'quota' | 'allocdb',
  settings: ClusterSettings,
  host: ReplicaHost,
  maxCommandBytes: number | undefined,
): Promise<ClusterNode> {
  const peer = await loadNatsPeer();
  const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  const options = { ...DEFAULT_CLUSTER_SETTINGS, ...given } as typeof DEFAULT_CLUSTER_SETTINGS &
    ClusterSettings;
  const names = clusterAssetNames(engine, settings.name);
  const nc = settings.nats;
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
  const maxMessageBytes = maxPayload - HEADER_ROOM_BYTES;
  if (maxCommandBytes !== undefined && maxCommandBytes + FRAME_ROOM_BYTES > maxMessageBytes) {
    throw new ClusterOptionError(
      'engine.maxCommandBytes',
      `of ${maxCommandBytes} does not fit in one NATS message (the server's max_payload is ${maxPayload}); lower it or raise max_payload`,
    );
  }
  const retrying = (what: string) => (error: unknown) =>
    settings.onEvent?.({ kind: 'retrying', what, error });
  const log = await whenReady(
    `opening the stream ${names.stream}`,
    () =>
      JetStreamLog.open(peer, nc, {
        stream: names.stream,
        subject: names.subject,
        replicas: options.replicas,
        publishTimeoutMs: options.publishTimeoutMs,
      }),
    30_000,
    retrying('opening the stream'),
  );
  const lease = await whenReady(
    `opening the lease bucket ${names.leaseBucket}`,
    () =>
      WriterLease.open(peer, nc, {
        bucket: names.leaseBucket,
        replicas: options.replicas,
        ttlMs: options.leaseMs,
      }),
    30_000,
    retrying('opening the lease bucket'),
  );
  const store = await whenReady(
    `opening the buckets of ${names.storeBucket}`,
    () => ClusterStore.open(peer, nc, { bucket: names.storeBucket, replicas: options.replicas }),
    30_000,
    retrying('opening the cluster store'),
  );
  return ClusterNode.start({
    node:
      settings.node ??
      `${hostname()}-${settings.dir}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128),
    url: settings.url ?? '',
    nc,
    log,
    lease,
    store,
    host,
    forwardSubject: names.forwardSubject,
    forwardTimeoutMs: options.forwardTimeoutMs,
    maxMessageBytes,
    keepMessages: options.keepMessages,
    onEvent: settings.onEvent,
  });
}

/** The files of a node's directory that a cluster reads and writes (the engine owns the rest). */
export class NodeDirectory {
  constructor(
    readonly dir: string,
    private readonly files: {
      readonly config: string;
      readonly snapshot: string;
      readonly wal: string;
    },
  ) {}

  /** The recorded configuration file's bytes, or undefined when the directory has none. */
  recordedConfig(): Uint8Array | undefined {
    const path = join(this.dir, this.files.config);
    return existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined;
  }

  /** Writes the cluster's configuration file (created with the directory when missing). */
  writeConfig(bytes: Uint8Array): void {
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, this.files.config);
    writeFileAtomically(
      nodeFileSystem,
      path,
      bytes,
      (step, cause) =>
        new Error(
          `writing the cluster's configuration to ${path}: ${step} failed: ${(cause as Error).message}`,
        ),
    );
  }

  /** The snapshot file's bytes, or undefined. */
  snapshotBytes(): Uint8Array | undefined {
    const path = join(this.dir, this.files.snapshot);
    return existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined;
  }

  /**
   * Replaces the directory's state with a published snapshot: the log first (a crash before the
   * snapshot is written leaves the old snapshot, or none, and no log: the node bootstraps
   * again), then the snapshot file, written by the engine's own `write` (atomically).
   */
  async installSnapshot(
    fileBytes: Uint8Array,
    write: (path: string, fileBytes: Uint8Array) => Promise<unknown>,
  ): Promise<void> {
    rmSync(join(this.dir, this.files.wal), { force: true });
    rmSync(join(this.dir, `${this.files.wal}.tmp`), { force: true });
    fsyncDirectory(nodeFileSystem, this.dir);
    await write(join(this.dir, this.files.snapshot), fileBytes);
  }
}

/** The writer's answer to a forwarded submission: the result's JSON text, or the error. */
export function encodeForwardedAnswer(
  answer: { readonly resultJson: string } | { readonly error: unknown },
): Uint8Array {
  if ('resultJson' in answer) return new TextEncoder().encode(`{"ok":${answer.resultJson}}`);
  const error = answer.error;
  const code = (error as { code?: unknown })?.code;
  return new TextEncoder().encode(
    JSON.stringify({
      error: {
        code: typeof code === 'string' ? code : 'internal',
        message: (error as Error)?.message ?? String(error),
        definite: error instanceof SubmissionError ? error.definite : false,
      },
    }),
  );
}

/** Reads a forwarded answer: the result's JSON value, or the writer's error as a `SubmissionError`. */
export function decodeForwardedAnswer(bytes: Uint8Array): unknown {
  const answer = JSON.parse(new TextDecoder().decode(bytes)) as {
    ok?: unknown;
    error?: { code: string; message: string; definite: boolean };
  };
  if (answer.error === undefined) return answer.ok;
  const { code, message, definite } = answer.error;
  const prefix = `${code}: `;
  const rebuilt = new SubmissionError(
    code as SubmissionErrorCode,
    message.startsWith(prefix) ? message.slice(prefix.length) : message,
  );
  // The writer's verdict stands, also for a code this node does not know.
  if (rebuilt.definite !== definite)
    Object.defineProperty(rebuilt, 'definite', { value: definite });
  throw rebuilt;
}

export interface ClusterStatusWithNodes extends ClusterNodeStatus {
  /**
   * Every node's last report (each node reports once a second), with its lag behind the
   * stream's last sequence as this node knows it.
   */
  readonly nodes: readonly (NodeStatus & { readonly lagMessages: number })[];
}

/**
 * The base of each engine's cluster class: one node, with the engine it currently has open
 * (`engineFor`), forwarding to the writer, waiting for an LSN, statuses, closing.
 */
export abstract class ClusterFrontend<E> {
  readonly dir: string;
  readonly name: string;
  protected readonly node: ClusterNode;
  private readonly current: { engine: E | undefined };

  protected constructor(
    node: ClusterNode,
    current: { engine: E | undefined },
    settings: ClusterSettings,
  ) {
    this.node = node;
    this.current = current;
    this.dir = settings.dir;
    this.name = settings.name;
  }

  /** Sets the HTTP address this node advertises (the lease, the statuses). */
  advertise(url: string): void {
    this.node.advertise(url);
  }

  /** This node's id. */
  get nodeId(): string {
    return this.node.node;
  }

  get role(): NodeRole {
    return this.node.role;
  }

  get isWriter(): boolean {
    return this.node.isWriter;
  }

  /** The last LSN applied on this node. */
  get lastAppliedLsn(): bigint {
    return this.node.appliedLsn;
  }

  get closed(): boolean {
    return this.node.role === 'closed';
  }

  /** Why the node stopped, if it did (`cluster_node_failed`). */
  get failure(): Error | undefined {
    return this.node.failed;
  }

  /** The engine when this node is the writer and has it open (submissions run there). */
  protected writerEngine(): E | undefined {
    const failed = this.node.failed;
    if (failed !== undefined)
      throw new SubmissionError('engine_halted', failed.message, { cause: failed });
    return this.node.isWriter ? this.current.engine : undefined;
  }

  /** The engine open on this node, or undefined while it is being reopened. */
  protected currentEngine(): E | undefined {
    return this.current.engine;
  }

  /** The engine open on this node, for a read (`engine_closed` while it is being reopened). */
  protected engineFor(what: string): E {
    const engine = this.current.engine;
    if (engine === undefined)
      throw new EngineClosedError(`${what} while the node reopens its engine`);
    return engine;
  }

  /**
   * Sends a submission (the engine's wire JSON) to the writer and returns its result's JSON
   * value; the writer's error is thrown as the `SubmissionError` it was, forwarding's own as
   * `no_writer` (definite) or `forward_failed` (indefinite).
   */
  protected async forwardSubmission(body: string): Promise<unknown> {
    let reply: Uint8Array;
    try {
      reply = await this.node.forward(new TextEncoder().encode(body));
    } catch (error) {
      if (error instanceof ForwardError)
        throw new SubmissionError(error.code, error.message, { cause: error });
      throw error;
    }
    return decodeForwardedAnswer(reply);
  }

  /**
   * Sends a whole batch (the `requests` of `POST /v1/batch`) to the writer as one forwarded
   * request; resolves with the writer's answer (`{ results: [ … ] }`, each entry's result or
   * error), or throws as `forwardSubmission` does.
   */
  forwardBatch(requests: readonly unknown[]): Promise<unknown> {
    return this.forwardSubmission(JSON.stringify({ requests }));
  }

  /** Resolves true once `lsn` is applied on this node, false after `timeoutMs`. */
  waitForLsn(lsn: bigint, timeoutMs: number): Promise<boolean> {
    return this.node.waitForLsn(lsn, timeoutMs);
  }

  /** This node's view: its role, the writer, its applied LSN and sequence, its lag. */
  status(): ClusterNodeStatus {
    return this.node.status();
  }

  /** This node's view and every node's last report. */
  async clusterStatus(): Promise<ClusterStatusWithNodes> {
    const here = this.node.status();
    const nodes = await this.node.statuses();
    const last = Math.max(here.streamLastSeq, ...nodes.map((node) => node.appliedSeq));
    return {
      ...here,
      nodes: nodes.map((node) => ({ ...node, lagMessages: Math.max(0, last - node.appliedSeq) })),
    };
  }

  /** Stops this node (a writer drains and gives its lease up). The NATS connection stays open. */
  close(): Promise<void> {
    return this.node.close();
  }
}
