/**
 * The shapes a cluster node works with (docs/cluster.md): the engine's side of a node
 * (`ReplicaHost`, `ReplicaEngine`), the node's options, events and status, and the errors that
 * stop a node or say that a NATS step kept failing; `whenReady` retries such a step, `isFatal`
 * tells the two apart.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/` (the NATS packages as types only).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { ClusterStore } from './cluster-store.js';
import { type JetStreamLog, LogFencedError, LogUnavailableError } from './jetstream-log.js';
import { PackageError } from './package-error.js';
import type { ReplicatedWal } from './replicated-wal.js';
import type { WalCodecOptions, WalFrame } from './wal.js';
import type { WalFile } from './wal-file.js';
import { LeaseLostError, type WriterLease } from './writer-lease.js';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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

/**
 * Whether a failure stops the node: the stream disagrees with this node (an invariant, a foreign
 * stream) or the engine cannot go on (its own typed errors: a damaged directory, a failed write
 * the reopen did not clear). NATS's own failures (timeouts, no responders, a server that lost
 * JetStream for a while) and this runtime's transient ones are retried.
 */
export function isFatal(error: unknown): boolean {
  if (!(error instanceof PackageError)) return false;
  return !(
    error instanceof LogUnavailableError ||
    error instanceof LogFencedError ||
    error instanceof ClusterUnavailableError ||
    error instanceof ForwardError ||
    error instanceof LeaseLostError
  );
}
