/**
 * The commit pipeline's log on a cluster node (docs/cluster.md, "What is acknowledged when"):
 * the node's own `WalFile`, with the cluster's JetStream log in front of it while the node is the
 * writer. A writer's batch is encoded once, appended to the stream with the fence (the sequence
 * the writer expects to be last), and only once JetStream acknowledged it written to the local
 * log with the very same bytes; then the pipeline fdatasyncs the local log and applies. A
 * follower's pipeline writes the frames it took from the stream to the local log only.
 *
 * A batch larger than one NATS message may carry (the server's `max_payload`) is appended as
 * several messages, each fenced on the one before. Any failure throws, which halts the
 * pipeline: the batch's fate is unknown to its submitters until the log is read again.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { assert } from './assert.js';
import type { PipelineLog } from './commit-pipeline.js';
import type { JetStreamLog } from './jetstream-log.js';
import { PackageError } from './package-error.js';
import { encodedFrameLength, encodeFrames, type WalCodecOptions, type WalFrame } from './wal.js';
import type { WalFile } from './wal-file.js';

/** A synchronous submission on a cluster node: only the asynchronous path publishes. */
export class ReplicatedSyncError extends PackageError {
  declare readonly code: 'replicated_sync';
  constructor() {
    super(
      'replicated_sync',
      'a cluster node takes asynchronous submissions only (submit, not submitSync); nothing was written',
    );
  }
}

interface Publisher {
  readonly log: JetStreamLog;
  readonly term: number;
  lastSeq: number;
}

export class ReplicatedWal implements PipelineLog {
  private readonly wal: WalFile;
  private readonly codec: WalCodecOptions;
  private readonly maxMessageBytes: number;
  private publisher: Publisher | undefined;

  /**
   * `maxMessageBytes`: the largest stream message (the NATS server's `max_payload`, less room
   * for headers); a frame larger than it cannot be replicated, which the caller checks at open.
   */
  constructor(wal: WalFile, codec: WalCodecOptions, maxMessageBytes: number) {
    assert(maxMessageBytes > 0, 'a stream message holds at least one byte');
    this.wal = wal;
    this.codec = codec;
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Whether batches go to the stream first (this node is the writer). */
  get publishing(): boolean {
    return this.publisher !== undefined;
  }

  /** The stream's last sequence as this writer knows it (undefined on a follower). */
  get lastSeq(): number | undefined {
    return this.publisher?.lastSeq;
  }

  /** From now on, batches are appended to `log` in `term`, fenced after `lastSeq`. */
  startPublishing(log: JetStreamLog, term: number, lastSeq: number): void {
    assert(this.publisher === undefined, 'a node starts publishing once per term');
    this.publisher = { log, term, lastSeq };
  }

  /** Batches go to the local log only again; returns the last sequence this writer appended. */
  stopPublishing(): number | undefined {
    const last = this.publisher?.lastSeq;
    this.publisher = undefined;
    return last;
  }

  async append(frames: readonly WalFrame[]): Promise<unknown> {
    const publisher = this.publisher;
    if (publisher === undefined) return this.wal.append(frames);
    let start = 0;
    let written = 0;
    while (start < frames.length) {
      let end = start;
      let bytes = 0;
      do {
        bytes += encodedFrameLength(frames[end]!.payload.length);
        end++;
      } while (
        end < frames.length &&
        bytes + encodedFrameLength(frames[end]!.payload.length) <= this.maxMessageBytes
      );
      const chunk = start === 0 && end === frames.length ? frames : frames.slice(start, end);
      const encoded = encodeFrames(chunk, this.codec);
      const seq = await publisher.log.append(encoded, {
        expectLastSeq: publisher.lastSeq,
        kind: 'batch',
        term: publisher.term,
        lsnEnd: chunk[chunk.length - 1]!.lsn,
      });
      publisher.lastSeq = seq;
      written += await this.wal.appendEncoded(encoded);
      start = end;
    }
    return written;
  }

  appendSync(frames: readonly WalFrame[]): unknown {
    if (this.publisher !== undefined) throw new ReplicatedSyncError();
    return this.wal.appendSync(frames);
  }

  sync(): Promise<void> {
    return this.wal.sync();
  }

  syncSync(): void {
    this.wal.syncSync();
  }

  get length(): number {
    return this.wal.length;
  }
}
