/**
 * A cluster node following the stream (docs/cluster.md, "The log"): where the node's log ends in
 * the stream, and the checks every message passes before its frames reach the engine — sequences
 * without a gap (a gap is a trim the node missed: it needs the published snapshot), the writer's
 * term (a batch in a term its marker did not open would be a deposed writer's), CRC-checked frames
 * whose LSNs count up by one from where the node's state ends. A bounded number of messages is
 * handed to the engine ahead of their apply.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { assert } from './assert.js';
import { ClusterInvariantError, type ReplicaEngine } from './cluster-types.js';
import type { JetStreamLog, LogFollower, LogMessage } from './jetstream-log.js';
import { RecordType, scanLog, type WalCodecOptions, type WalFrame } from './wal.js';

/** The node's directory no longer matches the stream (see the message). */
export class NeedsBootstrap extends Error {}

/** Unapplied follower messages at most (then the follower waits for its engine). */
const MAX_PENDING_MESSAGES = 64;

export class StreamFollower {
  /** The stream sequence of the last message whose frames are all applied. */
  appliedSeq = 0;
  /** The highest LSN handed to the engine (applied, or queued in it). */
  enqueuedLsn = 0n;
  /** The current writer's term: the sequence of its marker (0 before one is known). */
  term = 0;
  /** The stream's last sequence as last seen. */
  lastKnownSeq = 0;
  private expectedSeq = 0;
  private pending: Promise<void>[] = [];
  private running: LogFollower | undefined;
  private generation = 0;

  constructor(
    private readonly log: JetStreamLog,
    private readonly codec: () => WalCodecOptions,
    /** A follow loop that ended by itself (a message refused, the consumer failed). */
    private readonly onEnded: (error: unknown) => void,
  ) {}

  /** Whether a follow loop runs. */
  get following(): boolean {
    return this.running !== undefined;
  }

  /** Messages handed to the engine and not yet applied. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Finds where `engine`'s log ends in the stream and follows from the message that holds the
   * next LSN. `NeedsBootstrap` when the stream no longer holds it; `ClusterInvariantError` when
   * the directory is ahead of the stream.
   */
  async start(engine: ReplicaEngine): Promise<void> {
    const log = this.log;
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
          // The stream was trimmed: does what it still holds start right after this node?
          const first = await log.read(seq);
          if (first === undefined) throw new NeedsBootstrap('the stream was trimmed meanwhile');
          const lowest =
            first.kind === 'batch' ? firstFrameLsn(first, this.codec()) : first.lsnEnd + 1n;
          if (lowest > applied + 1n) {
            throw new NeedsBootstrap(
              `the stream starts at lsn ${lowest}; this node's state ends at lsn ${applied}`,
            );
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
    const generation = ++this.generation;
    this.running = await log.follow(from, (message) => this.onMessage(message, generation, engine));
    this.running.done.then(
      () => undefined,
      (error) => this.ended(error, generation),
    );
  }

  /** Stops following; resolves once every message handed to the engine is applied. */
  async stop(): Promise<void> {
    this.generation++;
    const running = this.running;
    this.running = undefined;
    await running?.stop();
    await this.drain();
  }

  /** Waits until every message handed to the engine is applied. */
  async drain(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    for (const each of pending) await each;
  }

  private ended(error: unknown, generation: number): void {
    if (generation !== this.generation) return;
    this.running = undefined;
    this.onEnded(error);
  }

  /** One stream message on a follower (or a candidate catching up). */
  private async onMessage(
    message: LogMessage,
    generation: number,
    engine: ReplicaEngine,
  ): Promise<void> {
    if (generation !== this.generation) return;
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
      await this.drain();
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
    const frames = decodeMessageFrames(message, this.codec());
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
    const applied = engine.applyFrames(fresh).then(() => {
      if (seq > this.appliedSeq) this.appliedSeq = seq;
    });
    // A failed apply halts the engine: the node stops at once, not when the promise is awaited.
    applied.catch((error) => this.ended(error, generation));
    this.pending.push(applied);
    while (this.pending.length >= MAX_PENDING_MESSAGES) await this.pending.shift();
  }
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
