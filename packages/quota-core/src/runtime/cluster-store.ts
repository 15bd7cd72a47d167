/**
 * What a cluster keeps in JetStream beside its log (docs/cluster.md): a key-value bucket with the
 * cluster's recorded configuration (the bytes of the engine's configuration file, written once
 * by the first node) and each node's last reported status; and an object store holding the latest
 * published snapshot (the bytes of the engine's snapshot file), from which a node with an empty
 * directory, or one away longer than the log keeps, starts.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/` (the NATS packages through `nats-peer.ts`).
 */
import type { KV } from '@nats-io/kv';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsPeer } from './nats-peer.js';

const CONFIG_KEY = 'config';
const NODE_PREFIX = 'node.';
const SNAPSHOT_NAME = 'snapshot';

/** What a node reports about itself (`GET /v1/cluster`). */
export interface NodeStatus {
  readonly node: string;
  readonly role: string;
  readonly url: string;
  readonly appliedLsn: string;
  readonly appliedSeq: number;
  readonly term: number;
  /** The node's wall clock (ms) when it reported: for an operator's eyes only. */
  readonly reportedAtMs: number;
}

/** How long a snapshot download may wait for its next chunk before it starts again. */
export const SNAPSHOT_STALL_MS = 10_000;

/**
 * A snapshot download that stopped receiving chunks, most likely because a newer snapshot
 * replaced it (its chunks were purged). Transient: not a `PackageError`, so the node's retry
 * loops (`whenReady`, rejoining the stream) fetch the latest snapshot again.
 */
export class SnapshotStalledError extends Error {
  constructor(received: number, stallMs: number) {
    super(
      `the published snapshot's download received no chunk for ${stallMs} ms after ${received} bytes (a newer snapshot replaced it); fetching the latest again`,
    );
    this.name = 'SnapshotStalledError';
  }
}

/** A published snapshot's description (the object's metadata). */
export interface PublishedSnapshot {
  readonly lsn: bigint;
  readonly bytes: number;
}

export class ClusterStore {
  private readonly meta: KV;
  private readonly snapshots: ObjectStore;

  private constructor(meta: KV, snapshots: ObjectStore) {
    this.meta = meta;
    this.snapshots = snapshots;
  }

  static async open(
    peer: NatsPeer,
    nc: NatsConnection,
    options: { readonly bucket: string; readonly replicas: number },
  ): Promise<ClusterStore> {
    const kvm = new peer.kv.Kvm(nc);
    const meta = await kvm.create(`${options.bucket}_meta`, {
      history: 1,
      replicas: options.replicas,
      storage: peer.jetstream.StorageType.File,
    });
    const objm = new peer.obj.Objm(nc);
    const snapshots = await objm.create(`${options.bucket}_snapshots`, {
      replicas: options.replicas,
      storage: peer.jetstream.StorageType.File,
    });
    return new ClusterStore(meta, snapshots);
  }

  /**
   * The cluster's recorded configuration: `proposed` if none was recorded yet (this node records
   * it), or the one recorded before (by whichever node came first).
   */
  async recordConfig(proposed: Uint8Array): Promise<Uint8Array> {
    const existing = await this.meta.get(CONFIG_KEY);
    if (existing !== null && existing.operation === 'PUT') return existing.value;
    try {
      await this.meta.create(CONFIG_KEY, proposed);
      return proposed;
    } catch (error) {
      const again = await this.meta.get(CONFIG_KEY);
      if (again !== null && again.operation === 'PUT') return again.value;
      throw error;
    }
  }

  /** The recorded configuration, or undefined before the first node recorded one. */
  async config(): Promise<Uint8Array | undefined> {
    const entry = await this.meta.get(CONFIG_KEY);
    return entry === null || entry.operation !== 'PUT' ? undefined : entry.value;
  }

  async reportStatus(status: NodeStatus): Promise<void> {
    await this.meta.put(
      `${NODE_PREFIX}${status.node}`,
      new TextEncoder().encode(JSON.stringify(status)),
    );
  }

  /** Every node's last report, by node id. */
  async statuses(): Promise<NodeStatus[]> {
    const keys = await this.meta.keys(`${NODE_PREFIX}>`);
    const statuses: NodeStatus[] = [];
    for await (const key of keys) {
      const entry = await this.meta.get(key);
      if (entry === null || entry.operation !== 'PUT') continue;
      try {
        statuses.push(JSON.parse(new TextDecoder().decode(entry.value)) as NodeStatus);
      } catch {
        // A status no node of this runtime wrote: not listed.
      }
    }
    return statuses.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /** Publishes a snapshot file's bytes as the cluster's latest (replacing the previous one). */
  async publishSnapshot(fileBytes: Uint8Array, lsn: bigint): Promise<void> {
    await this.snapshots.putBlob(
      { name: SNAPSHOT_NAME, metadata: { lsn: lsn.toString() } },
      fileBytes,
    );
  }

  /** The latest published snapshot's description, or undefined when none was published. */
  async latestSnapshot(): Promise<PublishedSnapshot | undefined> {
    const info = await this.snapshots.info(SNAPSHOT_NAME);
    if (info === null || info.deleted) return undefined;
    const lsn = info.metadata?.lsn;
    if (lsn === undefined || !/^\d+$/.test(lsn)) return undefined;
    return { lsn: BigInt(lsn), bytes: info.size };
  }

  /** The latest published snapshot's file bytes and LSN, or undefined. */
  async fetchSnapshot(): Promise<
    { readonly lsn: bigint; readonly fileBytes: Uint8Array } | undefined
  > {
    const info = await this.latestSnapshot();
    if (info === undefined) return undefined;
    const result = await this.snapshots.get(SNAPSHOT_NAME);
    if (result === null) return undefined;
    // Read chunk by chunk, each awaited at most SNAPSHOT_STALL_MS: a writer that publishes a new
    // snapshot meanwhile purges the chunks of this one, and a reader still waiting for them
    // would wait for ever (a node bootstrapping under load did, in the thorough fault suite).
    // Observed from the start: a failed download also rejects `result.error`, which nothing
    // would await once the read below throws (an unhandled rejection ends the process).
    const outcome = result.error.then(
      (error) => error ?? undefined,
      (error: unknown) => error,
    );
    const reader = result.data.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<'stalled'>((resolve) => {
        timer = setTimeout(() => resolve('stalled'), SNAPSHOT_STALL_MS);
      });
      const next = await Promise.race([reader.read(), stalled]).finally(() => clearTimeout(timer));
      if (next === 'stalled') {
        await reader.cancel().catch(() => undefined);
        throw new SnapshotStalledError(size, SNAPSHOT_STALL_MS);
      }
      if (next.done) break;
      chunks.push(next.value);
      size += next.value.length;
    }
    // The object store checks the digest of what it delivered.
    const digestError = await outcome;
    if (digestError !== undefined) throw digestError;
    const fileBytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      fileBytes.set(chunk, offset);
      offset += chunk.length;
    }
    return { lsn: info.lsn, fileBytes };
  }
}
