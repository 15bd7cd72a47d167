/**
 * The writer's lease (docs/cluster.md, "One writer at a time"): one key in a JetStream
 * key-value bucket whose entries are removed `ttlMs` after they are written. A node becomes the
 * writer by creating the key (which fails while it exists) and stays the writer by updating it
 * with compare-and-set on its revision well within the TTL; a writer that stops renewing (dead,
 * paused, cut off) loses it when the entry expires, and a follower creates it again.
 *
 * The lease keeps two writers from competing; it is not what keeps the log consistent. That is
 * the fence on every append (`jetstream-log.ts`): a writer that still believes it holds the lease
 * after it expired cannot append once the next writer has.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/` (the NATS packages through `nats-peer.ts`).
 */
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsPeer } from './nats-peer.js';
import { PackageError } from './package-error.js';

const KEY = 'writer';
/** JetStream's "wrong last sequence": the compare-and-set lost. */
const WRONG_LAST_SEQUENCE = 10071;

/** Who holds the lease: its node id and the address it serves on (empty when it serves none). */
export interface LeaseHolder {
  readonly node: string;
  readonly url: string;
  readonly revision: number;
}

/** The lease was taken by another node, or expired and was taken again. */
export class LeaseLostError extends PackageError {
  declare readonly code: 'lease_lost';
  constructor(node: string, cause?: unknown) {
    super('lease_lost', `node ${node} no longer holds the writer's lease`, { cause });
  }
}

function encode(node: string, url: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ node, url }));
}

function decode(value: Uint8Array, revision: number): LeaseHolder | undefined {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(value)) as { node?: unknown; url?: unknown };
    if (typeof parsed.node !== 'string' || typeof parsed.url !== 'string') return undefined;
    return { node: parsed.node, url: parsed.url, revision };
  } catch {
    // Not a lease this runtime wrote: treated as held by nobody it can name.
    return undefined;
  }
}

export class WriterLease {
  readonly ttlMs: number;
  private readonly kv: KV;

  private constructor(kv: KV, ttlMs: number) {
    this.kv = kv;
    this.ttlMs = ttlMs;
  }

  /** Opens (creating if needed) the lease's bucket, whose entries live `ttlMs`. */
  static async open(
    peer: NatsPeer,
    nc: NatsConnection,
    options: { readonly bucket: string; readonly replicas: number; readonly ttlMs: number },
  ): Promise<WriterLease> {
    const kvm = new peer.kv.Kvm(nc);
    const kv = await kvm.create(options.bucket, {
      history: 1,
      ttl: options.ttlMs,
      replicas: options.replicas,
      storage: peer.jetstream.StorageType.File,
    });
    return new WriterLease(kv, options.ttlMs);
  }

  /** The current holder, or undefined when nobody holds the lease. */
  async current(): Promise<LeaseHolder | undefined> {
    const entry = await this.kv.get(KEY);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return decode(entry.value, entry.revision);
  }

  /** Takes the lease if nobody holds it: resolves with its revision, or undefined when held. */
  async campaign(node: string, url: string): Promise<number | undefined> {
    try {
      return await this.kv.create(KEY, encode(node, url));
    } catch (error) {
      if ((error as { code?: unknown }).code === WRONG_LAST_SEQUENCE) return undefined;
      if (/wrong last sequence/.test(String((error as Error).message))) return undefined;
      throw error;
    }
  }

  /** Renews a held lease (compare-and-set on `revision`); `LeaseLostError` when it is gone. */
  async renew(node: string, url: string, revision: number): Promise<number> {
    try {
      return await this.kv.update(KEY, encode(node, url), revision);
    } catch (error) {
      if (
        (error as { code?: unknown }).code === WRONG_LAST_SEQUENCE ||
        /wrong last sequence/.test(String((error as Error).message))
      ) {
        throw new LeaseLostError(node, error);
      }
      throw error;
    }
  }

  /** Gives a held lease up at once (a clean stop), so a follower need not wait for the TTL. */
  async resign(revision: number): Promise<void> {
    try {
      await this.kv.delete(KEY, { previousSeq: revision });
    } catch (error) {
      // Lost already (someone else holds it, or it expired): nothing to give up.
      if ((error as { code?: unknown }).code === WRONG_LAST_SEQUENCE) return;
      if (/wrong last sequence/.test(String((error as Error).message))) return;
      throw error;
    }
  }
}
