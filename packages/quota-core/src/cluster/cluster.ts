/**
 * `QuotaCluster` (`quota-core/cluster`): a quota engine replicated through NATS JetStream
 * (docs/cluster.md). Every node opens its own data directory with the embedder's NATS connection;
 * one node at a time is the writer, the others follow the cluster's stream and answer reads.
 * Submissions made on a follower are forwarded to the writer over NATS and answered as the
 * writer answers them, so any node takes any call.
 *
 * This module is quota-core's side of a node: opening its engine on the node's directory (with
 * the replicated log in front of its WAL), the configuration a new cluster records, reading a
 * snapshot's LSN, carrying a submission in the HTTP API's JSON, and the bucket reads. The
 * stream, the lease, the election, following, snapshots, trimming and forwarding are the copied
 * runtime's (`cluster-node.ts`, `cluster-frontend.ts`).
 */
import { decodeResult } from '../client/client.js';
import type { QuotaConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
import type { CheckpointEvent } from '../engine/checkpoints.js';
import {
  CONFIG_FILE_NAME,
  CONFIG_SCHEMA_VERSION,
  encodeRecordedConfig,
  loadRecordedConfig,
  SNAPSHOT_FILE_NAME,
  settleConfig,
  WAL_FILE_NAME,
} from '../engine/directory.js';
import {
  type BalanceReadOptions,
  type EngineHealth,
  QuotaEngine,
  type QuotaEngineMetrics,
  type ReadOptions,
  type SlotReadOptions,
  type SubmitOptions,
  type SubmitResult,
} from '../engine/engine.js';
import { type EngineOptions, resolveEngineOptions } from '../engine/options.js';
import type { OpenProgress } from '../engine/recovery.js';
import { SubmissionError } from '../errors.js';
import {
  ClusterFrontend,
  type ClusterSettings,
  checkClusterSettings,
  DEFAULT_CLUSTER_CHECKPOINT_BYTES,
  encodeForwardedAnswer,
  NodeDirectory,
  startClusterNode,
} from '../runtime/cluster-frontend.js';
import type {
  ClusterNode,
  ClusterNodeStatus,
  ReplicaEngine,
  ReplicaHost,
} from '../runtime/cluster-node.js';
import { encodeConfigFile } from '../runtime/config-file.js';
import { isJsonObject, parseJsonText, toJsonText } from '../runtime/http-json.js';
import type { ReplicatedWal } from '../runtime/replicated-wal.js';
import { decodeSnapshotFile, writeSnapshotFileBytesAsync } from '../runtime/snapshot-file.js';
import { WAL_MAGIC } from '../runtime/wal.js';
import type { WalFile } from '../runtime/wal-file.js';
import { decodeSubmission, resultJson, runBatchEntries } from '../server/server.js';
import type {
  BucketRecord,
  ClientRequest,
  ClientRequestOf,
  CommandKind,
  OperationRecord,
  OutcomeOf,
} from '../types.js';
import { validateClientRequest } from '../validate.js';

export interface QuotaClusterOptions extends ClusterSettings {
  /** The quota configuration of a new cluster (the first node records it for all). */
  readonly config?: Partial<QuotaConfig>;
  readonly engine?: EngineOptions;
  readonly onProgress?: (progress: OpenProgress) => void;
  /** After every checkpoint of this node's engine, and every failed one (as the engine's). */
  readonly onCheckpoint?: (event: CheckpointEvent) => void;
}

/** quota-core's side of a node: its directory and engine. */
class QuotaReplicaHost implements ReplicaHost {
  private readonly directory: NodeDirectory;
  private maxCommandBytes = 0;

  constructor(
    private readonly options: QuotaClusterOptions,
    private readonly onEngine: (engine: QuotaEngine | undefined) => void,
  ) {
    this.directory = new NodeDirectory(options.dir, {
      config: CONFIG_FILE_NAME,
      snapshot: SNAPSHOT_FILE_NAME,
      wal: WAL_FILE_NAME,
    });
  }

  get codec() {
    return { magic: WAL_MAGIC, maxPayloadBytes: this.maxCommandBytes };
  }

  recordedConfig(): Uint8Array | undefined {
    return this.directory.recordedConfig();
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
    this.directory.writeConfig(bytes);
  }

  async open(wrap: (wal: WalFile) => ReplicatedWal): Promise<ReplicaEngine> {
    const { dir, config, engine: engineOptions, onProgress, onCheckpoint } = this.options;
    // The replicated log is made while the engine opens, with the codec of the recorded
    // configuration (the node settled it with the cluster's before).
    const recorded = loadRecordedConfig(dir);
    if (recorded === undefined) throw new Error(`${dir} records no configuration`);
    this.maxCommandBytes = recorded.maxCommandBytes;
    const engine = await QuotaEngine.openWithSeams(
      {
        dir,
        ...(config === undefined ? {} : { config }),
        // Checkpoints on by default: the writer publishes them and trims the stream below.
        engine: {
          checkpointPolicy: { everyBytes: DEFAULT_CLUSTER_CHECKPOINT_BYTES },
          ...engineOptions,
        },
        ...(onProgress === undefined ? {} : { onProgress }),
        ...(onCheckpoint === undefined ? {} : { onCheckpoint }),
      },
      { pipelineLog: wrap },
    );
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
      startWriterDuties: () => undefined,
      stopWriterDuties: () => undefined,
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
    const fileBytes = this.directory.snapshotBytes();
    return fileBytes === undefined ? undefined : { lsn: this.snapshotLsnOf(fileBytes), fileBytes };
  }

  snapshotLsnOf(fileBytes: Uint8Array): bigint {
    return decodeSnapshotFile('the published snapshot', fileBytes, SNAPSHOT_SCHEMA_VERSION).header
      .lastAppliedLsn;
  }

  installSnapshot(fileBytes: Uint8Array): Promise<void> {
    const maxSnapshotBytes = resolveEngineOptions(this.options.engine).maxSnapshotBytes;
    return this.directory.installSnapshot(fileBytes, (path, bytes) =>
      writeSnapshotFileBytesAsync(path, bytes, { maxSnapshotBytes }),
    );
  }
}

/**
 * Runs a forwarded submission on the writer's engine: one request (the HTTP API's submission
 * JSON) or a whole batch (`{ "requests": [ … ] }`, as `POST /v1/batch` takes it, answered with
 * the same body).
 */
async function executeEncoded(engine: QuotaEngine, request: Uint8Array): Promise<Uint8Array> {
  try {
    const parsed = parseJsonText(new TextDecoder().decode(request));
    if (isJsonObject(parsed) && Array.isArray(parsed.requests)) {
      return encodeForwardedAnswer({ resultJson: await runBatchEntries(engine, parsed.requests) });
    }
    const { request: decoded, options } = decodeSubmission(parsed, '');
    return encodeForwardedAnswer({ resultJson: resultJson(await engine.submit(decoded, options)) });
  } catch (error) {
    return encodeForwardedAnswer({ error });
  }
}

export class QuotaCluster extends ClusterFrontend<QuotaEngine> {
  /** The most requests one `submitBatch` takes (`engine.maxBatch`, alike on every node). */
  readonly maxBatch: number;

  private constructor(
    node: ClusterNode,
    current: { engine: QuotaEngine | undefined },
    options: QuotaClusterOptions,
  ) {
    super(node, current, options);
    this.maxBatch = resolveEngineOptions(options.engine).maxBatch;
  }

  /**
   * Opens this node: the cluster's stream and buckets (created by the first node), the
   * directory (with the cluster's recorded configuration), the position in the stream
   * (bootstrapping from the published snapshot when needed); then it follows and takes part in
   * electing the writer. Throws `MissingPeerError` when the NATS packages are not installed.
   */
  static async open(options: QuotaClusterOptions): Promise<QuotaCluster> {
    checkClusterSettings(options, 'QuotaCluster.open');
    const current: { engine: QuotaEngine | undefined } = { engine: undefined };
    const host = new QuotaReplicaHost(options, (engine) => {
      current.engine = engine;
    });
    const maxCommandBytes = resolveEngineOptions(options.engine).maxCommandBytes;
    const node = await startClusterNode('quota', options, host, maxCommandBytes);
    return new QuotaCluster(node, current, options);
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
    const writer = this.writerEngine();
    if (writer !== undefined) return writer.submit(request, options);
    try {
      validateClientRequest(request);
    } catch (error) {
      throw new SubmissionError(
        'invalid_request',
        `${(error as Error).message}; nothing was written`,
        { cause: error },
      );
    }
    const answer = await this.forwardSubmission(
      toJsonText({ ...(request as ClientRequest), ...(options ?? {}) }),
    );
    const result = decodeResult(answer, (request as ClientRequest).operationId, 'ok');
    return {
      lsn: result.lsn,
      requestSlot: result.requestSlot,
      outcome: result.outcome as OutcomeOf<K>,
      fromRetryCache: result.fromRetryCache,
    };
  }

  getBucket(bucketId: bigint, options?: ReadOptions): BucketRecord | undefined {
    return this.engineFor('getBucket').getBucket(bucketId, options);
  }

  getBucketAt(bucketId: bigint, options?: BalanceReadOptions): BucketRecord | undefined {
    return this.engineFor('getBucketAt').getBucketAt(bucketId, options);
  }

  /**
   * Submits requests as one group (the engine's `submitBatch`): on the writer, one group commit;
   * on a follower, one forwarded request. Each entry's result or its definite `SubmissionError`,
   * in order; rejects as `submit` does when the batch's fate is unknown (retry every entry with
   * its operation id).
   */
  async submitBatch(
    requests: readonly ClientRequest[],
    options?: SubmitOptions,
  ): Promise<(SubmitResult | SubmissionError)[]> {
    const writer = this.writerEngine();
    if (writer !== undefined) return writer.submitBatch(requests, options);
    const answers = await this.forwardBatch(
      requests.map((request) => JSON.parse(toJsonText({ ...request, ...(options ?? {}) }))),
    );
    const results = (answers as { results: Record<string, unknown>[] }).results;
    return results.map((entry, index) => {
      const error = entry.error as { code: string; message: string; definite: boolean } | undefined;
      if (error === undefined) {
        const result = decodeResult(entry, requests[index]!.operationId, `results[${index}]`);
        return {
          lsn: result.lsn,
          requestSlot: result.requestSlot,
          outcome: result.outcome,
          fromRetryCache: result.fromRetryCache,
        };
      }
      const prefix = `${error.code}: `;
      return new SubmissionError(
        error.code as SubmissionError['code'],
        error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message,
      );
    });
  }

  getOperation(operationId: bigint, options?: SlotReadOptions): OperationRecord | undefined {
    return this.engineFor('getOperation').getOperation(operationId, options);
  }

  metrics(): QuotaEngineMetrics & { readonly cluster: ClusterNodeStatus } {
    return { ...this.engineFor('metrics').metrics(), cluster: this.node.status() };
  }

  /**
   * The health of this node's engine (docs/engine.md, "When checkpoints fail"); `degraded` while
   * the node reopens its engine.
   */
  health(): EngineHealth {
    const engine = this.currentEngine();
    if (engine !== undefined) return engine.health();
    return {
      status: 'degraded',
      problems: ['the node is reopening its engine'],
      checkpointFailures: 0,
      lastCheckpointError: undefined,
      logFull: false,
    };
  }
}
