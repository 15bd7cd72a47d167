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
 * - **Following** (`cluster-follower.ts`). A follower takes the stream's messages in order, checks
 *   each (sequences without a gap, the writer's term, CRC-checked frames with LSNs that count up
 *   by one) and hands the frames to its engine, which writes them to its own log and applies them
 *   through the same path as recovery. A gap in the stream (trimmed while the node was away) is a
 *   bootstrap.
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
import type { Subscription } from '@nats-io/transport-node';
import { NeedsBootstrap, StreamFollower } from './cluster-follower.js';
import type { NodeStatus } from './cluster-store.js';
import {
  type ClusterEvent,
  ClusterInvariantError,
  ClusterNodeFailedError,
  type ClusterNodeOptions,
  type ClusterNodeStatus,
  ForwardError,
  isFatal,
  type NodeRole,
  type ReplicaEngine,
  whenReady,
} from './cluster-types.js';
import { LogConfigError, LogFencedError } from './jetstream-log.js';
import { ReplicatedWal } from './replicated-wal.js';
import { LeaseLostError } from './writer-lease.js';

export { decodeMessageFrames } from './cluster-follower.js';
export * from './cluster-types.js';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Longest a takeover waits to apply the stream to its end before it gives the lease up. */
const CATCH_UP_TIMEOUT_MS = 60_000;

export class ClusterNode {
  readonly node: string;
  private readonly options: ClusterNodeOptions;
  /** Where this node serves, as the lease and the statuses advertise it. */
  private url: string;
  private engineOpen: ReplicaEngine | undefined;
  private wal: ReplicatedWal | undefined;
  private currentRole: NodeRole = 'starting';
  private failure: unknown;
  /** Where this node is in the stream, and the loop that follows it. */
  private readonly follower: StreamFollower;
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
    this.follower = new StreamFollower(
      options.log,
      () => options.host.codec,
      (error) => this.followerEnded(error),
    );
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
    return this.engineOpen?.appliedLsn ?? this.follower.enqueuedLsn;
  }

  status(): ClusterNodeStatus {
    const { follower } = this;
    const appliedSeq =
      this.currentRole === 'writer'
        ? (this.wal?.lastSeq ?? follower.appliedSeq)
        : follower.appliedSeq;
    const streamLastSeq = Math.max(follower.lastKnownSeq, appliedSeq);
    return {
      node: this.node,
      role: this.currentRole,
      writer: this.currentRole === 'writer' ? { node: this.node, url: this.url } : this.writerHint,
      term: this.follower.term,
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
      this.setRole('closed', 'closed');
      await this.forwardSubscription?.drain().catch(() => undefined);
      this.forwardSubscription = undefined;
      await this.follower.stop();
      this.engineOpen?.stopWriterDuties();
      await this.engineOpen?.close().catch(() => undefined);
      // A writer (or a candidate) gives its lease up at once: the next one need not wait for it.
      if (this.leaseRevision !== undefined) {
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
        await this.follower.start(this.engineOpen!);
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

  /** A follower loop that ended on its own (a handler's error, or the consumer failed). */
  private followerEnded(error: unknown): void {
    if (
      error instanceof ClusterInvariantError ||
      error instanceof LogConfigError ||
      this.engineOpen?.haltReason !== undefined
    ) {
      this.fail(error);
      return;
    }
    void this.serialized(async () => {
      if (this.follower.following || this.currentRole === 'closed') return;
      await this.follower.drain().catch(() => undefined);
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
      const { follower } = this;
      follower.lastKnownSeq = Math.max(follower.lastKnownSeq, lastSeq);
      while (follower.appliedSeq < lastSeq || follower.pendingCount > 0) {
        if (!this.isRole('candidate')) return;
        if (performance.now() > deadline) {
          await this.stepDownNow(
            `could not apply the stream to its end (sequence ${lastSeq}) in time`,
          );
          return;
        }
        await follower.drain();
        if (follower.appliedSeq < lastSeq) await delay(2);
      }
      if (!this.isRole('candidate')) return;
      await this.follower.stop();
      const engine = this.engineOpen!;
      const wal = this.wal!;
      const end = follower.appliedSeq;
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
          await this.follower.start(this.engineOpen!);
          continue;
        }
        await this.stepDownNow(
          `the term marker could not be appended (${(error as Error).message})`,
        );
        return;
      }
      follower.term = marker;
      follower.appliedSeq = marker;
      follower.lastKnownSeq = marker;
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
    await this.follower.stop();
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
      this.follower.lastKnownSeq = Math.max(this.follower.lastKnownSeq, lastSeq);
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
    void this.follower.stop().catch(() => undefined);
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
