/**
 * One node of a cluster (docs/cluster.md): an engine whose log is a JetStream stream. At any time
 * one node is the writer and the others are followers; this module is the part that does not
 * depend on the engine's domain: following the stream, electing the writer, the takeover, the
 * step-down, publishing snapshots and trimming the stream, bootstrapping from a snapshot, and
 * forwarding submissions to the writer. The engine it drives is reached through `ReplicaHost`
 * (how to open, reopen and install a snapshot into this node's directory) and `ReplicaEngine`
 * (an open engine), which each engine implements for its own state machine, as the commit
 * pipeline moves `CommitJob`s each engine defines.
 *
 * - **Following.** A follower takes the stream's messages in order, checks each (sequences
 *   without a gap, the writer's term, CRC-checked frames with LSNs that count up by one) and
 *   hands the frames to its engine, which writes them to its own log and applies them through the
 *   same path as recovery. A gap in the stream (trimmed while the node was away) is a bootstrap.
 * - **Electing.** A follower that sees no writer takes the lease (`writer-lease.ts`); the
 *   writer renews it four times per TTL and steps down when it cannot.
 * - **Taking over.** The new writer applies the stream to its end, then appends its term marker
 *   fenced on that end; from then on no earlier writer can append (its fence is stale). Only then
 *   does it take submissions, and its slots start at the last applied one (the pipeline's rule).
 * - **Stepping down** (lease lost, an append refused or unanswered, a failed write): the engine is
 *   abandoned (queued submissions fail, indefinite, so clients retry elsewhere) and reopened from
 *   the node's directory, then the node follows again from where its log ends.
 * - **Snapshots.** The writer publishes each new local snapshot to the object store and trims the
 *   stream below it, keeping `keepMessages` more; a node whose position was trimmed, or whose
 *   directory is empty, starts from the published snapshot and the stream's tail.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/` (the NATS packages through `nats-peer.ts`).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { assert } from './assert.js';
import type { ClusterStore, NodeStatus } from './cluster-store.js';
import {
  type JetStreamLog,
  LogConfigError,
  LogFencedError,
  type LogFollower,
  type LogMessage,
  LogUnavailableError,
} from './jetstream-log.js';
import { PackageError } from './package-error.js';
import { ReplicatedWal } from './replicated-wal.js';
import { RecordType, scanLog, type WalCodecOptions, type WalFrame } from './wal.js';
import type { WalFile } from './wal-file.js';
import { LeaseLostError, type WriterLease } from './writer-lease.js';

export type NodeRole =
  | 'starting'
  | 'follower'
  | 'candidate'
  | 'writer'
  | 'stepping_down'
  | 'failed'
  | 'closed';

/** An open engine as a cluster node drives it. */
export interface ReplicaEngine {
  /** The last LSN applied (0 before the first). */
  readonly appliedLsn: bigint;
  /** The LSN of the snapshot in the node's directory (0 when none). */
  readonly snapshotLsn: bigint;
  /** Why the engine stopped taking commands (a failed write, append or apply), or undefined. */
  readonly haltReason: unknown;
  /**
   * Queues frames the writer logged (LSNs after `appliedLsn`, in order); the engine writes them
   * to its own log and applies them as recovery does. Resolves once the last one is applied.
   */
  applyFrames(frames: readonly WalFrame[]): Promise<void>;
  /** Starts and stops what only the writer does (allocdb's expiration tick). */
  startWriterDuties(): void;
  stopWriterDuties(): void;
  /** Runs a submission in the engine's wire encoding (the writer); the answer, never a throw. */
  executeEncoded(request: Uint8Array): Promise<Uint8Array>;
  /** Stops at once: queued submissions fail (indefinite); the batch in flight settles first. */
  abandon(): Promise<void>;
  /** Drains (commits what is queued) and closes. */
  close(): Promise<void>;
}

/** The engine's side of a node: its directory and how to open an engine on it. */
export interface ReplicaHost {
  /** How the engine's WAL frames are encoded (magic, largest payload). */
  readonly codec: WalCodecOptions;
  /** The bytes of the directory's recorded configuration, or undefined when it has none. */
  recordedConfig(): Uint8Array | undefined;
  /** The configuration file this node would record for a new cluster. */
  proposedConfig(): Uint8Array;
  /** Writes the cluster's configuration into a directory that has none (created if missing). */
  writeConfig(bytes: Uint8Array): void;
  /** Opens the engine on the directory with `log` wrapped around its WAL as the pipeline's log. */
  open(wrap: (wal: WalFile) => ReplicatedWal): Promise<ReplicaEngine>;
  /** The directory's snapshot file and its LSN, or undefined. */
  snapshotFile(): { readonly lsn: bigint; readonly fileBytes: Uint8Array } | undefined;
  /** The LSN a snapshot file's header states (throws on bytes that are not a snapshot file). */
  snapshotLsnOf(fileBytes: Uint8Array): bigint;
  /** Replaces the directory's snapshot with `fileBytes` and empties its log (engine closed). */
  installSnapshot(fileBytes: Uint8Array): Promise<void>;
}

export interface ClusterNodeOptions {
  readonly node: string;
  /** Where this node serves (advertised to clients through the lease and statuses); may be ''. */
  readonly url: string;
  readonly nc: NatsConnection;
  readonly log: JetStreamLog;
  readonly lease: WriterLease;
  readonly store: ClusterStore;
  readonly host: ReplicaHost;
  /** The subject forwarded submissions are sent on. */
  readonly forwardSubject: string;
  readonly forwardTimeoutMs: number;
  /** The largest stream message (the server's max_payload less room for headers). */
  readonly maxMessageBytes: number;
  /** Messages kept below the published snapshot when the stream is trimmed. */
  readonly keepMessages: number;
  /** Reports a background failure (a loop that failed and will retry); never thrown. */
  readonly onEvent?: (event: ClusterEvent) => void;
}

export type ClusterEvent =
  | { readonly kind: 'role'; readonly role: NodeRole; readonly why: string }
  | { readonly kind: 'retrying'; readonly what: string; readonly error: unknown }
  | { readonly kind: 'failed'; readonly error: unknown };

/** What `status()` says of this node. */
export interface ClusterNodeStatus {
  readonly node: string;
  readonly role: NodeRole;
  readonly writer: { readonly node: string; readonly url: string } | undefined;
  readonly term: number;
  readonly appliedLsn: bigint;
  readonly appliedSeq: number;
  /** The stream's last sequence when this node last looked (the writer: its own last append). */
  readonly streamLastSeq: number;
  readonly lagMessages: number;
  readonly failure: string | undefined;
}

/** The stream and this node disagree in a way no correct history can produce: fail closed. */
export class ClusterInvariantError extends PackageError {
  declare readonly code: 'cluster_invariant';
  constructor(message: string) {
    super('cluster_invariant', message);
  }
}

/** The node cannot go on (see the message), and is stopped: restart it after the fix. */
export class ClusterNodeFailedError extends PackageError {
  declare readonly code: 'cluster_node_failed';
  constructor(cause: unknown) {
    super(
      'cluster_node_failed',
      `this cluster node stopped: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
}

/** Forwarding found no writer, or got no answer from it. */
export class ForwardError extends PackageError {
  declare readonly code: 'no_writer' | 'forward_failed';
  /** True when the submission certainly did not run (no writer took it). */
  readonly definite: boolean;
  constructor(code: 'no_writer' | 'forward_failed', message: string, cause?: unknown) {
    super(code, message, { cause });
    this.definite = code === 'no_writer';
  }
}

/** The node's directory no longer matches the stream (see the message). */
class NeedsBootstrap extends Error {}

/** A NATS or JetStream step that kept failing while the cluster formed or recovered. */
export class ClusterUnavailableError extends PackageError {
  declare readonly code: 'cluster_unavailable';
  constructor(what: string, timeoutMs: number, cause: unknown) {
    super(
      'cluster_unavailable',
      `${what} kept failing for ${timeoutMs} ms (${(cause as Error)?.message ?? String(cause)}); check that the NATS servers run with JetStream and form a cluster`,
      { cause },
    );
  }
}

/**
 * Runs `work` until it succeeds, retrying failures that are NATS's own (a timeout, no responders,
 * a stream whose leader is being elected) for up to `timeoutMs`; this runtime's own errors
 * (a configuration refused, an invariant) are thrown at once.
 */
export async function whenReady<T>(
  what: string,
  work: () => Promise<T>,
  timeoutMs = 30_000,
  onRetry?: (error: unknown) => void,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (let pause = 50; ; pause = Math.min(pause * 2, 1_000)) {
    try {
      return await work();
    } catch (error) {
      if (error instanceof PackageError) throw error;
      if (performance.now() + pause > deadline)
        throw new ClusterUnavailableError(what, timeoutMs, error);
      onRetry?.(error);
      await delay(pause);
    }
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Whether a failure stops the node: the stream disagrees with this node (an invariant, a foreign
 * stream) or the engine cannot go on (its own typed errors: a damaged directory, a failed write
 * the reopen did not clear). NATS's own failures (timeouts, no responders, a server that lost
 * JetStream for a while) and this runtime's transient ones are retried.
 */
function isFatal(error: unknown): boolean {
  if (!(error instanceof PackageError)) return false;
  return !(
    error instanceof LogUnavailableError ||
    error instanceof LogFencedError ||
    error instanceof ClusterUnavailableError ||
    error instanceof ForwardError ||
    error instanceof LeaseLostError
  );
}

/** Longest a takeover waits to apply the stream to its end before it gives the lease up. */
const CATCH_UP_TIMEOUT_MS = 60_000;
/** Unapplied follower messages at most (then the follower waits for its engine). */
const MAX_PENDING_MESSAGES = 64;

export class ClusterNode {
  readonly node: string;
  private readonly options: ClusterNodeOptions;
  /** Where this node serves, as the lease and the statuses advertise it. */
  private url: string;
  private engineOpen: ReplicaEngine | undefined;
  private wal: ReplicatedWal | undefined;
  private currentRole: NodeRole = 'starting';
  private failure: unknown;
  private follower: LogFollower | undefined;
  private followerGeneration = 0;
  /** The stream sequence of the last message whose frames are all applied. */
  private appliedSeq = 0;
  /** The highest LSN handed to the engine (applied, or queued in it). */
  private enqueuedLsn = 0n;
  /** The current writer's term: the sequence of its marker (0 before one is known). */
  private term = 0;
  private expectedSeq = 0;
  private pending: Promise<void>[] = [];
  private lastKnownSeq = 0;
  private leaseRevision: number | undefined;
  private leaseRenewedAt = 0;
  private writerHint: { node: string; url: string } | undefined;
  private forwardSubscription: Subscription | undefined;
  private publishedSnapshotLsn = 0n;
  private transition: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private waiters: { lsn: bigint; resolve: (reached: boolean) => void }[] = [];
  private closing: Promise<void> | undefined;

  private constructor(options: ClusterNodeOptions) {
    this.node = options.node;
    this.options = options;
    this.url = options.url;
  }

  /**
   * Starts a node: settles the cluster's configuration with the directory's, opens the engine,
   * finds where its log ends in the stream (bootstrapping from the published snapshot when the
   * stream no longer holds what follows), follows, and takes part in elections.
   */
  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(options);
    const retrying = (what: string) => (error: unknown) =>
      node.emit({ kind: 'retrying', what, error });
    await whenReady(
      "recording the cluster's configuration",
      () => node.settleConfig(),
      30_000,
      retrying('recording the configuration'),
    );
    await whenReady(
      "finding this node's place in the stream",
      () => node.openAndFollow(),
      60_000,
      retrying("finding this node's place in the stream"),
    );
    node.setRole('follower', 'started');
    const ttl = options.lease.ttlMs;
    node.every(Math.max(50, Math.floor(ttl / 4)), () => node.leaseTurn(), 'the writer lease');
    node.every(1_000, () => node.reportStatus(), "reporting this node's status");
    node.every(2_000, () => node.snapshotTurn(), 'publishing the snapshot');
    node.every(20, () => node.wakeWaiters(), undefined);
    return node;
  }

  // -------------------------------------------------------------------------------------------
  // What callers see

  /** Sets the address advertised from now on (a server that learns its port after start). */
  advertise(url: string): void {
    this.url = url;
  }

  get role(): NodeRole {
    return this.currentRole;
  }

  get isWriter(): boolean {
    return this.currentRole === 'writer';
  }

  /** The open engine (undefined only while it is being reopened, or after close). */
  get engine(): ReplicaEngine | undefined {
    return this.engineOpen;
  }

  get appliedLsn(): bigint {
    return this.engineOpen?.appliedLsn ?? this.enqueuedLsn;
  }

  status(): ClusterNodeStatus {
    const appliedSeq =
      this.currentRole === 'writer' ? (this.wal?.lastSeq ?? this.appliedSeq) : this.appliedSeq;
    const streamLastSeq = Math.max(this.lastKnownSeq, appliedSeq);
    return {
      node: this.node,
      role: this.currentRole,
      writer: this.currentRole === 'writer' ? { node: this.node, url: this.url } : this.writerHint,
      term: this.term,
      appliedLsn: this.appliedLsn,
      appliedSeq,
      streamLastSeq,
      lagMessages: streamLastSeq - appliedSeq,
      failure:
        this.failure === undefined
          ? undefined
          : String((this.failure as Error)?.message ?? this.failure),
    };
  }

  /** Every node's last report (from the cluster's key-value bucket). */
  statuses(): Promise<NodeStatus[]> {
    return this.options.store.statuses();
  }

  /** Resolves true once `lsn` is applied here, false after `timeoutMs`. */
  waitForLsn(lsn: bigint, timeoutMs: number): Promise<boolean> {
    if (this.appliedLsn >= lsn) return Promise.resolve(true);
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = { lsn, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(this.appliedLsn >= lsn);
      }, timeoutMs).unref();
    });
  }

  /**
   * Sends a submission (in the engine's wire encoding) to the writer over NATS and resolves with
   * its answer. `ForwardError` `no_writer` (definite) when no writer listens, `forward_failed`
   * (indefinite) when the writer did not answer in time.
   */
  async forward(request: Uint8Array): Promise<Uint8Array> {
    if (this.currentRole === 'writer' && this.engineOpen !== undefined) {
      return this.engineOpen.executeEncoded(request);
    }
    try {
      const reply = await this.options.nc.request(this.options.forwardSubject, request, {
        timeout: this.options.forwardTimeoutMs,
      });
      return reply.data;
    } catch (error) {
      const text = `${(error as Error)?.name ?? ''} ${(error as Error)?.message ?? ''}`;
      if (/no ?responders|503/i.test(text)) {
        throw new ForwardError(
          'no_writer',
          'no writer is elected right now (a failover is under way); nothing was written; retry shortly',
          error,
        );
      }
      throw new ForwardError(
        'forward_failed',
        `the writer did not answer within ${this.options.forwardTimeoutMs} ms (${(error as Error)?.message}); the command may have run: retry it with the same operation id`,
        error,
      );
    }
  }

  /** Stops the node: a writer drains, appends what was queued and gives its lease up. */
  close(): Promise<void> {
    this.closing ??= this.serialized(async () => {
      for (const timer of this.timers) clearInterval(timer);
      this.timers = [];
      const wasWriter = this.currentRole === 'writer';
      this.setRole('closed', 'closed');
      await this.forwardSubscription?.drain().catch(() => undefined);
      this.forwardSubscription = undefined;
      await this.stopFollowing();
      this.engineOpen?.stopWriterDuties();
      await this.engineOpen?.close().catch(() => undefined);
      if (wasWriter && this.leaseRevision !== undefined) {
        await this.options.lease.resign(this.leaseRevision).catch(() => undefined);
      }
      this.leaseRevision = undefined;
      for (const waiter of this.waiters.splice(0)) waiter.resolve(false);
    });
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------
  // Starting

  private async settleConfig(): Promise<void> {
    const { host, store } = this.options;
    const local = host.recordedConfig();
    const recorded = await store.recordConfig(local ?? host.proposedConfig());
    if (local === undefined) {
      host.writeConfig(recorded);
      return;
    }
    if (!sameBytes(local, recorded)) {
      throw new ClusterInvariantError(
        "this node's directory records another configuration than the cluster's (the first node's): " +
          "give the node an empty --dir to join with the cluster's configuration, or a --name of its own for a new cluster",
      );
    }
  }

  /** Opens the engine, finds its position in the stream and follows; bootstraps when needed. */
  private async openAndFollow(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.engineOpen === undefined) await this.openEngine();
      try {
        await this.startFollowing();
        return;
      } catch (error) {
        if (!(error instanceof NeedsBootstrap) || attempt >= 3) throw error;
        await this.bootstrap(error.message);
      }
    }
  }

  private async openEngine(): Promise<void> {
    const { host, maxMessageBytes } = this.options;
    const engine = await host.open((wal) => {
      this.wal = new ReplicatedWal(wal, host.codec, maxMessageBytes);
      return this.wal;
    });
    this.engineOpen = engine;
    this.enqueuedLsn = engine.appliedLsn;
  }

  /** Replaces the directory's state with the published snapshot (the stream lost what follows). */
  private async bootstrap(why: string): Promise<void> {
    const { host, store } = this.options;
    const published = await store.fetchSnapshot();
    if (published === undefined) {
      throw new ClusterInvariantError(
        `${why}, and no snapshot was published to start from: the stream was trimmed or emptied by something other than this cluster`,
      );
    }
    const lsn = host.snapshotLsnOf(published.fileBytes);
    if (lsn < this.appliedLsn) {
      throw new ClusterInvariantError(
        `${why}, and the published snapshot (lsn ${lsn}) is older than this node's state (lsn ${this.appliedLsn})`,
      );
    }
    this.emit({
      kind: 'role',
      role: this.currentRole,
      why: `bootstrapping from the published snapshot at lsn ${lsn}: ${why}`,
    });
    await this.engineOpen?.abandon();
    this.engineOpen = undefined;
    await host.installSnapshot(published.fileBytes);
    await this.openEngine();
  }

  /** Starts following from the message that holds the LSN after the engine's. */
  private async startFollowing(): Promise<void> {
    const { log } = this.options;
    const engine = this.engineOpen!;
    const applied = engine.appliedLsn;
    const { firstSeq, lastSeq } = await log.bounds();
    this.lastKnownSeq = lastSeq;
    let from: number;
    if (lastSeq === 0 || lastSeq < firstSeq) {
      // An empty stream: a new cluster, or one trimmed to nothing (a trim keeps messages).
      if (applied > 0n) {
        if (lastSeq === 0) {
          throw new ClusterInvariantError(
            `this node's directory holds lsn ${applied} but the cluster's stream is empty: it belongs to another cluster, or the stream was deleted; give the node an empty --dir`,
          );
        }
        throw new NeedsBootstrap(`the stream holds nothing after sequence ${lastSeq}`);
      }
      from = lastSeq + 1;
      this.appliedSeq = lastSeq;
      this.term = 0;
    } else {
      const seq = await log.seqOfLsn(applied + 1n);
      if (seq === undefined) {
        const last = await log.read(lastSeq);
        if (last === undefined) throw new NeedsBootstrap('the stream was trimmed meanwhile');
        if (last.lsnEnd < applied) {
          throw new ClusterInvariantError(
            `this node's directory holds lsn ${applied} but the cluster's stream ends at lsn ${last.lsnEnd}: the directory is ahead of the cluster (another cluster's, or acknowledged messages were lost); give the node an empty --dir`,
          );
        }
        from = lastSeq + 1;
        this.appliedSeq = lastSeq;
        this.term = last.kind === 'term' ? last.seq : last.term;
      } else {
        if (seq === firstSeq && firstSeq > 1) {
          const first = await log.read(seq);
          if (first !== undefined && first.kind === 'batch') {
            const lowest = firstFrameLsn(first, this.options.host.codec);
            if (lowest > applied + 1n) {
              throw new NeedsBootstrap(
                `the stream starts at lsn ${lowest}; this node's state ends at lsn ${applied}`,
              );
            }
          }
        }
        from = seq;
        this.appliedSeq = seq - 1;
        this.term = 0;
      }
    }
    this.enqueuedLsn = applied;
    this.expectedSeq = from;
    this.pending = [];
    const generation = ++this.followerGeneration;
    this.follower = await log.follow(from, (message) => this.onMessage(message, generation));
    this.follower.done.then(
      () => undefined,
      (error) => this.followerEnded(error, generation),
    );
  }

  private async stopFollowing(): Promise<void> {
    this.followerGeneration++;
    const follower = this.follower;
    this.follower = undefined;
    await follower?.stop();
    await this.drainPending();
  }

  private async drainPending(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    for (const each of pending) await each;
  }

  /** A follower loop that ended on its own (a handler's error, or the consumer failed). */
  private followerEnded(error: unknown, generation: number): void {
    if (generation !== this.followerGeneration) return;
    if (
      error instanceof ClusterInvariantError ||
      error instanceof LogConfigError ||
      this.engineOpen?.haltReason !== undefined
    ) {
      this.fail(error);
      return;
    }
    void this.serialized(async () => {
      if (generation !== this.followerGeneration || this.currentRole === 'closed') return;
      this.follower = undefined;
      await this.drainPending().catch(() => undefined);
      if (error instanceof NeedsBootstrap) {
        await this.recoverFollowing(error);
      } else {
        this.emit({ kind: 'retrying', what: 'following the stream', error });
        await this.recoverFollowing(undefined);
      }
    }).catch((failure) => this.fail(failure));
  }

  /**
   * Opens the engine if it is closed and follows again, bootstrapping first when `bootstrapFor`
   * says the stream lost what the directory needs; transient failures are retried (with a
   * growing pause) until it works or the node closes, fatal ones thrown.
   */
  private async recoverFollowing(bootstrapFor: NeedsBootstrap | undefined): Promise<void> {
    let bootstrap = bootstrapFor;
    for (let pause = 100; this.closing === undefined; pause = Math.min(pause * 2, 2_000)) {
      try {
        if (bootstrap !== undefined) {
          await this.bootstrap(bootstrap.message);
          bootstrap = undefined;
        }
        await this.openAndFollow();
        return;
      } catch (error) {
        if (error instanceof NeedsBootstrap) bootstrap = error;
        else if (isFatal(error)) throw error;
        this.emit({ kind: 'retrying', what: 'rejoining the stream', error });
        await delay(pause);
      }
    }
  }

  /** One stream message on a follower (or a candidate catching up). */
  private async onMessage(message: LogMessage, generation: number): Promise<void> {
    if (generation !== this.followerGeneration) return;
    if (message.seq !== this.expectedSeq) {
      if (message.seq > this.expectedSeq) {
        throw new NeedsBootstrap(
          `the stream skipped from sequence ${this.expectedSeq} to ${message.seq} (trimmed while this node was behind)`,
        );
      }
      throw new ClusterInvariantError(
        `stream message ${message.seq} arrived where ${this.expectedSeq} was due`,
      );
    }
    this.expectedSeq = message.seq + 1;
    if (message.seq > this.lastKnownSeq) this.lastKnownSeq = message.seq;
    if (message.kind === 'term') {
      await this.drainPending();
      if (message.seq <= this.term) {
        throw new ClusterInvariantError(`term marker ${message.seq} after term ${this.term}`);
      }
      if (message.lsnEnd !== this.enqueuedLsn) {
        throw new ClusterInvariantError(
          `term marker ${message.seq} states lsn ${message.lsnEnd}, but the log before it ends at lsn ${this.enqueuedLsn}`,
        );
      }
      this.term = message.seq;
      this.appliedSeq = message.seq;
      return;
    }
    if (this.term === 0) this.term = message.term;
    else if (message.term !== this.term) {
      throw new ClusterInvariantError(
        `stream message ${message.seq} was written in term ${message.term}, but term ${this.term} began before it: a deposed writer's append got past the fence`,
      );
    }
    const frames = decodeMessageFrames(message, this.options.host.codec);
    const fresh = frames.filter((frame) => frame.lsn > this.enqueuedLsn);
    if (fresh.length === 0) {
      this.appliedSeq = Math.max(this.appliedSeq, message.seq);
      return;
    }
    if (fresh[0]!.lsn !== this.enqueuedLsn + 1n) {
      throw new NeedsBootstrap(
        `stream message ${message.seq} starts at lsn ${fresh[0]!.lsn}; this node's state ends at lsn ${this.enqueuedLsn}`,
      );
    }
    this.enqueuedLsn = fresh[fresh.length - 1]!.lsn;
    const seq = message.seq;
    const applied = this.engineOpen!.applyFrames(fresh).then(() => {
      if (seq > this.appliedSeq) this.appliedSeq = seq;
    });
    // A failed apply halts the engine: the node stops at once, not when the promise is awaited.
    applied.catch((error) => this.followerEnded(error, generation));
    this.pending.push(applied);
    while (this.pending.length >= MAX_PENDING_MESSAGES) await this.pending.shift();
  }

  // -------------------------------------------------------------------------------------------
  // The writer's lease, the takeover and the step-down

  private async leaseTurn(): Promise<void> {
    if (this.failure !== undefined || this.closing !== undefined) return;
    const { lease } = this.options;
    const role = this.currentRole;
    if (role === 'writer' || role === 'candidate') {
      if (this.engineOpen?.haltReason !== undefined) {
        await this.stepDown(
          `the engine halted (${String((this.engineOpen.haltReason as Error)?.message ?? this.engineOpen.haltReason)})`,
        );
        return;
      }
      const started = performance.now();
      try {
        this.leaseRevision = await lease.renew(this.node, this.url, this.leaseRevision!);
        this.leaseRenewedAt = started;
      } catch (error) {
        if (error instanceof LeaseLostError) {
          await this.stepDown('the lease was lost');
          return;
        }
        // Unreachable for now: a writer keeps the role only while its last renewal is fresh.
        if (performance.now() - this.leaseRenewedAt > lease.ttlMs * 0.75) {
          await this.stepDown(`the lease could not be renewed (${(error as Error).message})`);
        }
      }
      return;
    }
    if (role !== 'follower') return;
    const holder = await lease.current();
    this.writerHint = holder === undefined ? undefined : { node: holder.node, url: holder.url };
    if (holder !== undefined) return;
    const started = performance.now();
    const revision = await lease.campaign(this.node, this.url);
    if (revision === undefined) return;
    this.leaseRevision = revision;
    this.leaseRenewedAt = started;
    void this.serialized(async () => {
      try {
        await this.takeOver();
      } catch (error) {
        if (isFatal(error)) throw error;
        this.emit({ kind: 'retrying', what: 'taking over as the writer', error });
        await this.stepDownNow(
          `the takeover failed (${(error as Error)?.message ?? String(error)})`,
        );
      }
    }).catch((error) => this.fail(error));
  }

  /** Holding the lease: apply the stream to its end, append the term marker, take submissions. */
  private async takeOver(): Promise<void> {
    if (this.currentRole !== 'follower' || this.leaseRevision === undefined) return;
    this.setRole('candidate', 'won the writer lease');
    const { log } = this.options;
    const deadline = performance.now() + CATCH_UP_TIMEOUT_MS;
    for (;;) {
      const { lastSeq } = await log.bounds();
      this.lastKnownSeq = Math.max(this.lastKnownSeq, lastSeq);
      while (this.appliedSeq < lastSeq || this.pending.length > 0) {
        if (!this.isRole('candidate')) return;
        if (performance.now() > deadline) {
          await this.stepDownNow(
            `could not apply the stream to its end (sequence ${lastSeq}) in time`,
          );
          return;
        }
        await this.drainPending();
        if (this.appliedSeq < lastSeq) await delay(2);
      }
      if (!this.isRole('candidate')) return;
      await this.stopFollowing();
      const engine = this.engineOpen!;
      const wal = this.wal!;
      const end = this.appliedSeq;
      let marker: number;
      try {
        marker = await log.append(new Uint8Array(0), {
          expectLastSeq: end,
          kind: 'term',
          term: 0,
          lsnEnd: engine.appliedLsn,
        });
      } catch (error) {
        if (error instanceof LogFencedError) {
          // Someone appended after `end` (a writer that had not yet seen it was deposed):
          // follow again, and take over at the new end.
          await this.startFollowing();
          continue;
        }
        await this.stepDownNow(
          `the term marker could not be appended (${(error as Error).message})`,
        );
        return;
      }
      this.term = marker;
      this.appliedSeq = marker;
      this.lastKnownSeq = marker;
      wal.startPublishing(log, marker, marker);
      this.forwardSubscription = this.options.nc.subscribe(this.options.forwardSubject, {
        callback: (error, message) => {
          if (error !== null) return;
          const running = this.engineOpen;
          if (this.currentRole !== 'writer' || running === undefined) return;
          void running.executeEncoded(message.data).then(
            (answer) => message.respond(answer),
            () => undefined,
          );
        },
      });
      engine.startWriterDuties();
      this.setRole(
        'writer',
        `term ${marker}: appended the term marker after sequence ${end} (lsn ${engine.appliedLsn})`,
      );
      return;
    }
  }

  /** Gives the writer's role up: abandon the engine, reopen it, follow again. */
  private stepDown(why: string): Promise<void> {
    return this.serialized(() => this.stepDownNow(why)).catch((error) => this.fail(error));
  }

  /** `stepDown` from inside a transition already running. */
  private async stepDownNow(why: string): Promise<void> {
    const role = this.currentRole;
    if (role !== 'writer' && role !== 'candidate') return;
    this.setRole('stepping_down', why);
    const subscription = this.forwardSubscription;
    this.forwardSubscription = undefined;
    subscription?.unsubscribe();
    this.engineOpen?.stopWriterDuties();
    this.wal?.stopPublishing();
    await this.stopFollowing();
    await this.engineOpen?.abandon();
    this.engineOpen = undefined;
    const revision = this.leaseRevision;
    this.leaseRevision = undefined;
    if (revision !== undefined) await this.options.lease.resign(revision).catch(() => undefined);
    await this.recoverFollowing(undefined);
    this.setRole('follower', 'stepped down');
  }

  // -------------------------------------------------------------------------------------------
  // Snapshots, status, waiters

  private async snapshotTurn(): Promise<void> {
    if (this.currentRole !== 'writer') return;
    const engine = this.engineOpen;
    if (engine === undefined || engine.snapshotLsn <= this.publishedSnapshotLsn) return;
    const snapshot = this.options.host.snapshotFile();
    if (snapshot === undefined || snapshot.lsn <= this.publishedSnapshotLsn) return;
    await this.options.store.publishSnapshot(snapshot.fileBytes, snapshot.lsn);
    this.publishedSnapshotLsn = snapshot.lsn;
    const { log, keepMessages } = this.options;
    const seq = await log.seqOfLsn(snapshot.lsn);
    if (seq === undefined) return;
    const below = seq - keepMessages;
    const { firstSeq } = await log.bounds();
    if (below > firstSeq) await log.purgeBelow(below);
  }

  private async reportStatus(): Promise<void> {
    const status = this.status();
    await this.options.store.reportStatus({
      node: this.node,
      role: status.role,
      url: this.url,
      appliedLsn: status.appliedLsn.toString(),
      appliedSeq: status.appliedSeq,
      term: status.term,
      reportedAtMs: Date.now(),
    });
    if (this.currentRole === 'follower') {
      const { lastSeq } = await this.options.log.bounds();
      this.lastKnownSeq = Math.max(this.lastKnownSeq, lastSeq);
    }
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    const applied = this.appliedLsn;
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.lsn > applied) return true;
      waiter.resolve(true);
      return false;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing

  /** The role now (a call, so that a check after an await is not narrowed away). */
  private isRole(role: NodeRole): boolean {
    return this.currentRole === role;
  }

  private setRole(role: NodeRole, why: string): void {
    if (this.currentRole === role) return;
    this.currentRole = role;
    this.emit({ kind: 'role', role, why });
  }

  private emit(event: ClusterEvent): void {
    if (event.kind === 'retrying') this.noteFailure(event.error);
    this.options.onEvent?.(event);
  }

  private staleServerFailures = 0;
  private lastReconnectAt = -Infinity;

  /**
   * A NATS server that lost JetStream for a while (restarted, catching up) answers every
   * JetStream request with "jetstream is not enabled" while the connection to it is fine, so the
   * client would never leave it: after a few such answers in a row, move to another server.
   */
  private noteFailure(error: unknown): void {
    if (
      !/jetstream (is )?not enabled|temporarily unavailable/i.test(
        String((error as Error)?.message),
      )
    ) {
      this.staleServerFailures = 0;
      return;
    }
    this.staleServerFailures++;
    const now = performance.now();
    if (this.staleServerFailures < 3 || now - this.lastReconnectAt < 5_000) return;
    this.staleServerFailures = 0;
    this.lastReconnectAt = now;
    this.options.nc.reconnect().catch(() => undefined);
  }

  /** Runs role transitions one at a time. */
  private serialized(work: () => Promise<void>): Promise<void> {
    const next = this.transition.then(work);
    this.transition = next.catch(() => undefined);
    return next;
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined || this.closing !== undefined) return;
    this.failure = error;
    this.setRole('failed', (error as Error)?.message ?? String(error));
    this.emit({ kind: 'failed', error });
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.followerGeneration++;
    void this.follower?.stop();
    this.forwardSubscription?.unsubscribe();
    this.engineOpen?.stopWriterDuties();
    void this.engineOpen?.abandon().catch(() => undefined);
  }

  /** Why the node stopped, if it did. */
  get failed(): ClusterNodeFailedError | undefined {
    return this.failure === undefined ? undefined : new ClusterNodeFailedError(this.failure);
  }

  private every(ms: number, work: () => Promise<void> | void, what: string | undefined): void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      Promise.resolve()
        .then(work)
        .catch((error) => {
          if (what !== undefined) this.emit({ kind: 'retrying', what, error });
        })
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A batch message's frames, every one CRC-checked; a damaged message fails closed. */
export function decodeMessageFrames(message: LogMessage, codec: WalCodecOptions): WalFrame[] {
  const scan = scanLog(message.data, codec);
  if (scan.stop.kind !== 'clean' || scan.frames.length === 0) {
    throw new ClusterInvariantError(
      `stream message ${message.seq} does not hold whole, valid frames (${scan.stop.kind === 'clean' ? 'none' : `${scan.stop.kind} at byte ${scan.stop.offset}`})`,
    );
  }
  let previous: bigint | undefined;
  for (const frame of scan.frames) {
    if (frame.recordType === RecordType.snapshotMarker) {
      throw new ClusterInvariantError(`stream message ${message.seq} holds a snapshot marker`);
    }
    if (previous !== undefined && frame.lsn !== previous + 1n) {
      throw new ClusterInvariantError(
        `stream message ${message.seq}: lsn ${frame.lsn} follows lsn ${previous}`,
      );
    }
    previous = frame.lsn;
  }
  if (previous !== message.lsnEnd) {
    throw new ClusterInvariantError(
      `stream message ${message.seq} states lsn ${message.lsnEnd} as its end but its frames end at ${previous}`,
    );
  }
  return scan.frames;
}

function firstFrameLsn(message: LogMessage, codec: WalCodecOptions): bigint {
  const frames = decodeMessageFrames(message, codec);
  assert(frames.length > 0, 'a batch message holds frames');
  return frames[0]!.lsn;
}
