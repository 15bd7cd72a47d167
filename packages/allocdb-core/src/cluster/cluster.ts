/**
 * `AllocDbCluster` (`allocdb-core/cluster`): the allocator replicated through NATS JetStream
 * (docs/cluster.md). Every node opens its own data directory with the embedder's NATS connection;
 * one node at a time is the writer, the others follow the cluster's stream and answer reads.
 * Submissions made on a follower are forwarded to the writer over NATS and answered as the
 * writer answers them, so any node takes any call.
 *
 * This module is allocdb-core's side of a node: how to open its engine on the node's directory,
 * apply the frames a writer logged, install a published snapshot, and carry a submission to the
 * writer and its answer back (the HTTP API's JSON). What does not depend on the domain — the
 * stream, the lease, the election, following, snapshots and trimming — is the copied runtime's
 * `cluster-node.ts`.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeResult } from '../client/client.js';
import type { AllocDbConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
import {
  CONFIG_FILE_NAME,
  CONFIG_SCHEMA_VERSION,
  encodeRecordedConfig,
  loadRecordedConfig,
  SNAPSHOT_FILE_NAME,
  settleConfig,
  WAL_FILE_NAME,
} from '../engine/directory.js';
import type {
  AllocDbEngineMetrics,
  EngineHealth,
  ReadOptions,
  SlotReadOptions,
  SubmitOptions,
  SubmitResult,
} from '../engine/engine.js';
import { AllocDbEngine } from '../engine/engine.js';
import { type EngineOptions, resolveEngineOptions } from '../engine/options.js';
import type { OpenProgress } from '../engine/recovery.js';
import { ConfigError, EngineClosedError, SubmissionError } from '../errors.js';
import {
  type ClusterEvent,
  ClusterNode,
  type ClusterNodeStatus,
  ForwardError,
  type ReplicaEngine,
  type ReplicaHost,
  whenReady,
} from '../runtime/cluster-node.js';
import { ClusterStore, type NodeStatus } from '../runtime/cluster-store.js';
import { encodeConfigFile } from '../runtime/config-file.js';
import { fsyncDirectory, nodeFileSystem, writeFileAtomically } from '../runtime/file-system.js';
import { parseJsonText, toJsonText } from '../runtime/http-json.js';
import { JetStreamLog } from '../runtime/jetstream-log.js';
import { loadNatsPeer } from '../runtime/nats-peer.js';
import type { ReplicatedWal } from '../runtime/replicated-wal.js';
import { decodeSnapshotFile, writeSnapshotFileBytesAsync } from '../runtime/snapshot-file.js';
import { WAL_MAGIC } from '../runtime/wal.js';
import type { WalFile } from '../runtime/wal-file.js';
import { WriterLease } from '../runtime/writer-lease.js';
import { decodeSubmission, resultJson } from '../server/server.js';
import type {
  ClientRequest,
  ClientRequestOf,
  CommandKind,
  OperationRecord,
  OutcomeOf,
  ReservationLookup,
  ReservationMember,
  ResourceRecord,
} from '../types.js';
import { validateClientRequest } from '../validate.js';

/** The names a cluster's JetStream assets take (docs/cluster.md, "What lives in JetStream"). */
export function clusterAssetNames(name: string) {
  return {
    stream: `ALLOCDB_${name}`,
    subject: `allocdb.${name}.log`,
    forwardSubject: `allocdb.${name}.forward`,
    leaseBucket: `ALLOCDB_${name}_lease`,
    storeBucket: `ALLOCDB_${name}`,
  } as const;
}

export const DEFAULT_CLUSTER_OPTIONS = Object.freeze({
  replicas: 3,
  leaseMs: 2_000,
  forwardTimeoutMs: 10_000,
  publishTimeoutMs: 5_000,
  keepMessages: 10_000,
});

export interface AllocDbClusterOptions {
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
  /** The allocator's configuration of a new cluster (the first node records it for all). */
  readonly config?: Partial<AllocDbConfig>;
  readonly engine?: EngineOptions;
  readonly onProgress?: (progress: OpenProgress) => void;
  /** The writer's expiration tick interval (ms; default 1,000: one slot). */
  readonly tickMs?: number;
  /** Role changes and background retries, for logs (never thrown). */
  readonly onEvent?: (event: ClusterEvent) => void;
}

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function checkOptions(options: AllocDbClusterOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(
      'invalid_value',
      'options',
      'AllocDbCluster.open needs { dir, nats, name }',
    );
  }
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new ConfigError('invalid_value', 'dir', "must be the node's data directory path");
  }
  if (typeof options.name !== 'string' || !NAME_PATTERN.test(options.name)) {
    throw new ConfigError(
      'invalid_value',
      'name',
      `must be 1 to 64 letters, digits, '_' or '-' (it names the cluster's stream), got ${JSON.stringify(options.name)}`,
    );
  }
  if (options.nats === undefined || typeof options.nats.request !== 'function') {
    throw new ConfigError(
      'invalid_value',
      'nats',
      'must be a connected NatsConnection (@nats-io/transport-node connect())',
    );
  }
  const integer = (field: string, value: unknown, min: number, max: number) => {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(
        'invalid_value',
        field,
        `must be an integer from ${min} to ${max}, got ${String(value)}`,
      );
    }
  };
  integer('replicas', options.replicas, 1, 5);
  integer('leaseMs', options.leaseMs, 200, 600_000);
  integer('forwardTimeoutMs', options.forwardTimeoutMs, 1, 600_000);
  integer('keepMessages', options.keepMessages, 0, Number.MAX_SAFE_INTEGER);
  integer('tickMs', options.tickMs, 1, 2_147_483_647);
  if (
    options.node !== undefined &&
    (typeof options.node !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(options.node))
  ) {
    throw new ConfigError('invalid_value', 'node', 'must be 1 to 128 letters, digits, or ._:-');
  }
}

/** Room in a NATS message for the headers a log message carries. */
const HEADER_ROOM_BYTES = 1024;

/** allocdb-core's side of a node: its directory and engine. */
class AllocDbReplicaHost implements ReplicaHost {
  private maxCommandBytes: number;
  private readonly tickMs: number;
  constructor(
    private readonly options: AllocDbClusterOptions,
    private readonly onEngine: (engine: AllocDbEngine | undefined) => void,
  ) {
    this.maxCommandBytes = 0;
    this.tickMs = options.tickMs ?? 1_000;
  }

  get codec() {
    return { magic: WAL_MAGIC, maxPayloadBytes: this.maxCommandBytes };
  }

  recordedConfig(): Uint8Array | undefined {
    const path = join(this.options.dir, CONFIG_FILE_NAME);
    return existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined;
  }

  proposedConfig(): Uint8Array {
    const engine = resolveEngineOptions(this.options.engine);
    const { effective } = settleConfig(undefined, {
      config: this.options.config ?? {},
      maxCommandBytes: engine.maxCommandBytes,
      slotDurationMs: engine.slotDurationMs,
    });
    return encodeConfigFile(CONFIG_SCHEMA_VERSION, encodeRecordedConfig(effective));
  }

  writeConfig(bytes: Uint8Array): void {
    mkdirSync(this.options.dir, { recursive: true });
    const path = join(this.options.dir, CONFIG_FILE_NAME);
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

  async open(wrap: (wal: WalFile) => ReplicatedWal): Promise<ReplicaEngine> {
    const { dir, config, engine: engineOptions, onProgress } = this.options;
    // The codec is needed while the engine opens (the replicated log is made then): from the
    // directory's recorded configuration, which the node settled with the cluster's before.
    const recorded = loadRecordedConfig(dir);
    if (recorded === undefined) throw new Error(`${dir} records no configuration`);
    this.maxCommandBytes = recorded.maxCommandBytes;
    const engine = await AllocDbEngine.openWithSeams(
      {
        dir,
        ...(config === undefined ? {} : { config }),
        ...(engineOptions === undefined ? {} : { engine: engineOptions }),
        ...(onProgress === undefined ? {} : { onProgress }),
      },
      { pipelineLog: wrap },
    );
    this.maxCommandBytes = engine.maxCommandBytes;
    this.onEngine(engine);
    const onEngine = this.onEngine;
    return {
      get appliedLsn() {
        return engine.lastAppliedLsn;
      },
      get snapshotLsn() {
        return engine.snapshotLsn;
      },
      get haltReason() {
        return engine.haltReason;
      },
      applyFrames: (frames) => engine.applyReplicated(frames),
      // Only the writer logs expirations: its tick is the cluster's.
      startWriterDuties: () => engine.startTicker(this.tickMs),
      stopWriterDuties: () => engine.stopTicker(),
      executeEncoded: (request) => executeEncoded(engine, request),
      abandon: async () => {
        onEngine(undefined);
        await engine.abandon();
      },
      close: async () => {
        onEngine(undefined);
        await engine.close();
      },
    };
  }

  snapshotFile(): { readonly lsn: bigint; readonly fileBytes: Uint8Array } | undefined {
    const path = join(this.options.dir, SNAPSHOT_FILE_NAME);
    if (!existsSync(path)) return undefined;
    const fileBytes = new Uint8Array(readFileSync(path));
    return { lsn: this.snapshotLsnOf(fileBytes), fileBytes };
  }

  snapshotLsnOf(fileBytes: Uint8Array): bigint {
    return decodeSnapshotFile('the published snapshot', fileBytes, SNAPSHOT_SCHEMA_VERSION).header
      .lastAppliedLsn;
  }

  async installSnapshot(fileBytes: Uint8Array): Promise<void> {
    const { dir } = this.options;
    // The log first: a crash before the snapshot is written leaves the old snapshot (or none)
    // and no log, from which the node bootstraps again.
    rmSync(join(dir, WAL_FILE_NAME), { force: true });
    rmSync(join(dir, `${WAL_FILE_NAME}.tmp`), { force: true });
    fsyncDirectory(nodeFileSystem, dir);
    await writeSnapshotFileBytesAsync(join(dir, SNAPSHOT_FILE_NAME), fileBytes, {
      maxSnapshotBytes: resolveEngineOptions(this.options.engine).maxSnapshotBytes,
    });
  }
}

/** Runs a forwarded submission on the writer's engine; the answer as bytes, never a throw. */
async function executeEncoded(engine: AllocDbEngine, request: Uint8Array): Promise<Uint8Array> {
  let text: string;
  try {
    const { request: decoded, options } = decodeSubmission(
      parseJsonText(new TextDecoder().decode(request)),
      '',
    );
    text = `{"ok":${resultJson(await engine.submit(decoded, options))}}`;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const definite = error instanceof SubmissionError ? error.definite : false;
    text = toJsonText({
      error: {
        code: typeof code === 'string' ? code : 'internal',
        message: (error as Error)?.message ?? String(error),
        definite,
      },
    });
  }
  return new TextEncoder().encode(text);
}

function stripCode(code: string, message: string): string {
  return message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
}

export interface AllocDbClusterStatus extends ClusterNodeStatus {
  /** Every node's last report (each node reports once a second). */
  readonly nodes: readonly NodeStatus[];
}

export class AllocDbCluster {
  readonly dir: string;
  readonly name: string;
  private readonly node: ClusterNode;
  private readonly current: { engine: AllocDbEngine | undefined };

  private constructor(
    node: ClusterNode,
    current: { engine: AllocDbEngine | undefined },
    options: AllocDbClusterOptions,
  ) {
    this.node = node;
    this.current = current;
    this.dir = options.dir;
    this.name = options.name;
  }

  /**
   * Opens this node: the cluster's stream and buckets (created by the first node), the
   * directory (with the cluster's recorded configuration), the position in the stream
   * (bootstrapping from the published snapshot when needed); then it follows and takes part in
   * electing the writer. Throws `MissingPeerError` when the NATS packages are not installed.
   */
  static async open(options: AllocDbClusterOptions): Promise<AllocDbCluster> {
    checkOptions(options);
    const peer = await loadNatsPeer();
    const settings = { ...DEFAULT_CLUSTER_OPTIONS, ...dropUndefined(options) };
    const names = clusterAssetNames(options.name);
    const nc = options.nats;
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    const maxMessageBytes = maxPayload - HEADER_ROOM_BYTES;
    const maxCommandBytes = resolveEngineOptions(options.engine).maxCommandBytes;
    if (maxCommandBytes !== undefined && maxCommandBytes + 64 > maxMessageBytes) {
      throw new ConfigError(
        'invalid_value',
        'engine.maxCommandBytes',
        `a command of ${maxCommandBytes} bytes does not fit in one NATS message (the server's max_payload is ${maxPayload}); lower it or raise max_payload`,
      );
    }
    const retrying = (what: string) => (error: unknown) =>
      options.onEvent?.({ kind: 'retrying', what, error });
    const log = await whenReady(
      `opening the stream ${names.stream}`,
      () =>
        JetStreamLog.open(peer, nc, {
          stream: names.stream,
          subject: names.subject,
          replicas: settings.replicas,
          publishTimeoutMs: settings.publishTimeoutMs,
        }),
      30_000,
      retrying('opening the stream'),
    );
    const lease = await whenReady(
      `opening the lease bucket ${names.leaseBucket}`,
      () =>
        WriterLease.open(peer, nc, {
          bucket: names.leaseBucket,
          replicas: settings.replicas,
          ttlMs: settings.leaseMs,
        }),
      30_000,
      retrying('opening the lease bucket'),
    );
    const store = await whenReady(
      `opening the buckets of ${names.storeBucket}`,
      () => ClusterStore.open(peer, nc, { bucket: names.storeBucket, replicas: settings.replicas }),
      30_000,
      retrying('opening the cluster store'),
    );
    const current: { engine: AllocDbEngine | undefined } = { engine: undefined };
    const host = new AllocDbReplicaHost(options, (engine) => {
      current.engine = engine;
    });
    const node = await ClusterNode.start({
      node:
        options.node ??
        `${hostname()}:${options.dir}`.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 128),
      url: options.url ?? '',
      nc,
      log,
      lease,
      store,
      host,
      forwardSubject: names.forwardSubject,
      forwardTimeoutMs: settings.forwardTimeoutMs,
      maxMessageBytes,
      keepMessages: settings.keepMessages,
      onEvent: options.onEvent,
    });
    return new AllocDbCluster(node, current, options);
  }

  /** Sets the HTTP address this node advertises (the lease, the statuses). */
  advertise(url: string): void {
    this.node.advertise(url);
  }

  /** This node's id. */
  get nodeId(): string {
    return this.node.node;
  }

  get role() {
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

  /**
   * Submits a request: run by this node's engine when it is the writer, forwarded to the writer
   * otherwise. Resolves once the command is in the cluster's stream (stored on a quorum) and
   * applied by the writer. Rejects with `SubmissionError`; `no_writer` (definite) during a
   * failover and `forward_failed` (indefinite: retry with the same operation id) are the
   * cluster's own.
   */
  async submit<K extends CommandKind>(
    request: ClientRequestOf<K>,
    options?: SubmitOptions,
  ): Promise<SubmitResult<OutcomeOf<K>>> {
    const failed = this.node.failed;
    if (failed !== undefined) {
      throw new SubmissionError('engine_halted', failed.message, { cause: failed });
    }
    const engine = this.current.engine;
    if (this.node.isWriter && engine !== undefined) return engine.submit(request, options);
    try {
      validateClientRequest(request);
    } catch (error) {
      throw new SubmissionError(
        'invalid_request',
        `${(error as Error).message}; nothing was written`,
        {
          cause: error,
        },
      );
    }
    const body = toJsonText({ ...(request as ClientRequest), ...(options ?? {}) });
    let reply: Uint8Array;
    try {
      reply = await this.node.forward(new TextEncoder().encode(body));
    } catch (error) {
      if (error instanceof ForwardError) {
        throw new SubmissionError(error.code, error.message, { cause: error });
      }
      throw error;
    }
    const answer = parseJsonText(new TextDecoder().decode(reply)) as Record<string, unknown>;
    if (answer.error !== undefined) {
      const error = answer.error as { code: string; message: string; definite: boolean };
      const code = error.code as SubmissionError['code'];
      const rebuilt = new SubmissionError(code, stripCode(code, error.message));
      if (rebuilt.definite !== error.definite) {
        // A code this node does not know as the writer does: keep the writer's verdict.
        Object.defineProperty(rebuilt, 'definite', { value: error.definite });
      }
      throw rebuilt;
    }
    const result = decodeResult(answer.ok, (request as ClientRequest).operationId, 'ok');
    return {
      lsn: result.lsn,
      requestSlot: result.requestSlot,
      outcome: result.outcome as OutcomeOf<K>,
      fromRetryCache: result.fromRetryCache,
    };
  }

  private engineForRead(what: string): AllocDbEngine {
    const engine = this.current.engine;
    if (engine === undefined)
      throw new EngineClosedError(`${what} while the node reopens its engine`);
    return engine;
  }

  /** Resolves true once `lsn` is applied on this node, false after `timeoutMs`. */
  waitForLsn(lsn: bigint, timeoutMs: number): Promise<boolean> {
    return this.node.waitForLsn(lsn, timeoutMs);
  }

  getResource(resourceId: bigint, options?: ReadOptions): ResourceRecord | undefined {
    return this.engineForRead('getResource').getResource(resourceId, options);
  }

  getReservation(reservationId: bigint, options?: SlotReadOptions): ReservationLookup {
    return this.engineForRead('getReservation').getReservation(reservationId, options);
  }

  getReservationMembers(reservationId: bigint, options?: ReadOptions): ReservationMember[] {
    return this.engineForRead('getReservationMembers').getReservationMembers(
      reservationId,
      options,
    );
  }

  getOperation(operationId: bigint, options?: SlotReadOptions): OperationRecord | undefined {
    return this.engineForRead('getOperation').getOperation(operationId, options);
  }

  metrics(): AllocDbEngineMetrics & { readonly cluster: ClusterNodeStatus } {
    return { ...this.engineForRead('metrics').metrics(), cluster: this.node.status() };
  }

  /**
   * The health of this node's engine (docs/engine.md, "When checkpoints fail"); `degraded` while
   * the node reopens its engine.
   */
  health(): EngineHealth {
    const engine = this.current.engine;
    if (engine !== undefined) return engine.health();
    return {
      status: 'degraded',
      problems: ['the node is reopening its engine'],
      checkpointFailures: 0,
      lastCheckpointError: undefined,
      logFull: false,
    };
  }

  /** This node's view: its role, the writer, its applied LSN and sequence, its lag. */
  status(): ClusterNodeStatus {
    return this.node.status();
  }

  /** This node's view and every node's last report. */
  async clusterStatus(): Promise<AllocDbClusterStatus> {
    return { ...this.node.status(), nodes: await this.node.statuses() };
  }

  /** Stops this node (a writer drains and gives its lease up). The NATS connection stays open. */
  close(): Promise<void> {
    return this.node.close();
  }
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
