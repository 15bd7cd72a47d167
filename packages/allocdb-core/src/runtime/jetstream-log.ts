/**
 * A cluster's log: one JetStream stream (docs/cluster.md, "The log"). Each message is one
 * group-commit batch in the engine's own WAL framing (every frame CRC-checked), or a writer's
 * term marker. Appends are fenced: every publish carries the sequence the writer expects to be
 * the stream's last, so a deposed or paused writer's append fails once another writer has
 * appended (JetStream refuses it, code 10071: definitely not stored).
 *
 * Each message carries three headers: its kind (`batch` or `term`), the writer's term (the
 * stream sequence of that writer's term marker; empty on the marker itself) and the LSN of the
 * last command applied once the message is (`Log-Lsn-End`), which maps LSNs to stream
 * sequences without reading the frames (`seqOfLsn`).
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/` (the NATS packages through `nats-peer.ts`).
 */
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { assert } from './assert.js';
import type { NatsPeer } from './nats-peer.js';
import { PackageError } from './package-error.js';

export type LogMessageKind = 'batch' | 'term';

export interface LogMessage {
  readonly seq: number;
  readonly kind: LogMessageKind;
  /** The term the message was written in (the seq of its writer's marker); 0 on a marker. */
  readonly term: number;
  /** The LSN of the last command applied once this message is (a marker: the one before it). */
  readonly lsnEnd: bigint;
  readonly data: Uint8Array;
}

export interface JetStreamLogOptions {
  /** The stream's name (letters, digits, `_`, `-`). */
  readonly stream: string;
  /** The one subject it stores. */
  readonly subject: string;
  /** Replicas of a stream this node creates; an existing stream must have as many. */
  readonly replicas: number;
  /** How long a publish may wait for JetStream's acknowledgement before its fate is unknown. */
  readonly publishTimeoutMs: number;
}

/** Another writer appended first: this publish was refused and definitely not stored. */
export class LogFencedError extends PackageError {
  declare readonly code: 'log_fenced';
  readonly expectedLastSeq: number;
  constructor(expectedLastSeq: number, cause: unknown) {
    super(
      'log_fenced',
      `the log moved past sequence ${expectedLastSeq}: another writer appended, so this append was refused (nothing stored); this node is no longer the writer`,
      { cause },
    );
    this.expectedLastSeq = expectedLastSeq;
  }
}

/** A publish without an answer (timeout, lost connection): it may or may not be stored. */
export class LogUnavailableError extends PackageError {
  declare readonly code: 'log_unavailable';
  constructor(what: string, cause: unknown) {
    super(
      'log_unavailable',
      `${what} got no answer from JetStream (${(cause as Error)?.message ?? String(cause)}); whether it was stored is unknown until the log is read again`,
      { cause },
    );
  }
}

/** The stream exists with a configuration this node cannot use. */
export class LogConfigError extends PackageError {
  declare readonly code: 'log_config';
  constructor(message: string) {
    super('log_config', message);
  }
}

const KIND = 'Log-Kind';
const TERM = 'Log-Term';
const LSN_END = 'Log-Lsn-End';
/** JetStream's "wrong last sequence" API error code. */
const WRONG_LAST_SEQUENCE = 10071;
/** JetStream's "no message found" API error code. */
const NO_MESSAGE_FOUND = 10037;
/** JetStream's "stream not found" API error code. */
const STREAM_NOT_FOUND = 10059;

function apiCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

interface HeaderReader {
  get(key: string): string;
}

/** A stored message (`header`) or a delivered one (`headers`), as a log message. */
function parseMessage(stored: {
  seq: number;
  data: Uint8Array;
  header?: HeaderReader | undefined;
  headers?: HeaderReader | undefined;
}): LogMessage {
  const header = stored.headers ?? stored.header;
  const kind = header?.get(KIND);
  const term = Number(header?.get(TERM) ?? '');
  const lsnText = header?.get(LSN_END) ?? '';
  if (
    (kind !== 'batch' && kind !== 'term') ||
    !Number.isSafeInteger(term) ||
    !/^\d+$/.test(lsnText)
  ) {
    throw new LogConfigError(
      `stream message ${stored.seq} is not a log message of this engine (headers ${KIND} ${JSON.stringify(kind)}, ${TERM} ${JSON.stringify(header?.get(TERM))}, ${LSN_END} ${JSON.stringify(lsnText)}): the stream holds something else; give the cluster another --name`,
    );
  }
  return { seq: stored.seq, kind, term, lsnEnd: BigInt(lsnText), data: stored.data };
}

/** A running tail of the log (`follow`). */
export interface LogFollower {
  /** Stops delivering; resolves once the last delivered message's handler has returned. */
  stop(): Promise<void>;
  /** Settles when following ends: resolved after `stop`, rejected with a handler's error. */
  readonly done: Promise<void>;
}

export class JetStreamLog {
  readonly stream: string;
  readonly subject: string;
  private readonly peer: NatsPeer;
  private readonly js: JetStreamClient;
  private readonly jsm: JetStreamManager;
  private readonly publishTimeoutMs: number;

  private constructor(
    peer: NatsPeer,
    js: JetStreamClient,
    jsm: JetStreamManager,
    options: JetStreamLogOptions,
  ) {
    this.peer = peer;
    this.js = js;
    this.jsm = jsm;
    this.stream = options.stream;
    this.subject = options.subject;
    this.publishTimeoutMs = options.publishTimeoutMs;
  }

  /** Opens the stream, creating it (file storage, `replicas`) if it does not exist yet. */
  static async open(
    peer: NatsPeer,
    nc: NatsConnection,
    options: JetStreamLogOptions,
  ): Promise<JetStreamLog> {
    const jsm = await peer.jetstream.jetstreamManager(nc);
    const js = peer.jetstream.jetstream(nc);
    const log = new JetStreamLog(peer, js, jsm, options);
    await log.ensureStream(options.replicas);
    return log;
  }

  private async ensureStream(replicas: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let info: Awaited<ReturnType<JetStreamManager['streams']['info']>> | undefined;
      try {
        info = await this.jsm.streams.info(this.stream);
      } catch (error) {
        if (apiCode(error) !== STREAM_NOT_FOUND) throw error;
      }
      if (info !== undefined) {
        const config = info.config;
        if (config.subjects.length !== 1 || config.subjects[0] !== this.subject) {
          throw new LogConfigError(
            `stream ${this.stream} exists with subjects ${JSON.stringify(config.subjects)}, not ["${this.subject}"]: it is not this cluster's log`,
          );
        }
        if (config.storage !== this.peer.jetstream.StorageType.File) {
          throw new LogConfigError(
            `stream ${this.stream} exists with ${config.storage} storage; a cluster's log must be file storage`,
          );
        }
        if (config.num_replicas !== replicas) {
          throw new LogConfigError(
            `stream ${this.stream} exists with ${config.num_replicas} replicas, not ${replicas}: start every node with the same --replicas (${config.num_replicas})`,
          );
        }
        return;
      }
      try {
        await this.jsm.streams.add({
          name: this.stream,
          subjects: [this.subject],
          storage: this.peer.jetstream.StorageType.File,
          num_replicas: replicas,
          retention: this.peer.jetstream.RetentionPolicy.Limits,
          discard: this.peer.jetstream.DiscardPolicy.Old,
          max_msgs: -1,
          max_bytes: -1,
          max_age: 0,
          deny_delete: true,
          allow_direct: false,
        });
        return;
      } catch (error) {
        // Another node created it meanwhile: read it again (once).
        if (attempt > 0) throw error;
      }
    }
  }

  /**
   * Appends one message if the stream's last sequence is still `expectLastSeq`; resolves with its
   * sequence once JetStream acknowledged it (stored on a quorum of the stream's replicas).
   * `LogFencedError` when another writer appended first (definitely not stored);
   * `LogUnavailableError` when no acknowledgement came (fate unknown).
   */
  async append(
    data: Uint8Array,
    meta: {
      readonly expectLastSeq: number;
      readonly kind: LogMessageKind;
      readonly term: number;
      readonly lsnEnd: bigint;
    },
  ): Promise<number> {
    const headers = this.peer.transport.headers();
    headers.set(KIND, meta.kind);
    headers.set(TERM, String(meta.term));
    headers.set(LSN_END, meta.lsnEnd.toString());
    let ack: { seq: number };
    try {
      ack = await this.js.publish(this.subject, data, {
        headers,
        expect: { lastSequence: meta.expectLastSeq, streamName: this.stream },
        timeout: this.publishTimeoutMs,
      });
    } catch (error) {
      if (apiCode(error) === WRONG_LAST_SEQUENCE)
        throw new LogFencedError(meta.expectLastSeq, error);
      throw new LogUnavailableError(`appending after sequence ${meta.expectLastSeq}`, error);
    }
    assert(
      ack.seq === meta.expectLastSeq + 1,
      'a fenced append lands right after the expected sequence',
    );
    return ack.seq;
  }

  /** The first and last sequences the stream holds (first > last when it holds none). */
  async bounds(): Promise<{ readonly firstSeq: number; readonly lastSeq: number }> {
    const info = await this.jsm.streams.info(this.stream);
    return { firstSeq: info.state.first_seq, lastSeq: info.state.last_seq };
  }

  /** The message at `seq`, or undefined when the stream no longer (or not yet) holds it. */
  async read(seq: number): Promise<LogMessage | undefined> {
    let stored: StoredMsg | null;
    try {
      stored = await this.jsm.streams.getMessage(this.stream, { seq });
    } catch (error) {
      if (apiCode(error) === NO_MESSAGE_FOUND) return undefined;
      throw error;
    }
    if (stored === null) return undefined;
    return parseMessage(stored);
  }

  /**
   * The first sequence whose message ends at or after `lsn` (so it holds `lsn`, or `lsn` is its
   * end), by binary search over the `Log-Lsn-End` headers; undefined when every message the
   * stream holds ends before `lsn`. Retries when a trim moves the stream's start meanwhile.
   */
  async seqOfLsn(lsn: bigint): Promise<number | undefined> {
    for (;;) {
      const { firstSeq, lastSeq } = await this.bounds();
      if (lastSeq < firstSeq || lastSeq === 0) return undefined;
      let low = firstSeq;
      let high = lastSeq;
      let found: number | undefined;
      let trimmed = false;
      while (low <= high) {
        const middle = low + Math.floor((high - low) / 2);
        const message = await this.read(middle);
        if (message === undefined) {
          trimmed = true;
          break;
        }
        if (message.lsnEnd >= lsn) {
          found = middle;
          high = middle - 1;
        } else {
          low = middle + 1;
        }
      }
      if (!trimmed) return found;
    }
  }

  /**
   * Delivers the stream's messages in order from `fromSeq` (an ordered consumer: it recreates
   * itself after a lost connection or a server restart and never skips or repeats a delivered
   * message), awaiting `onMessage` for each before the next. A trimmed `fromSeq` starts at the
   * stream's first message: `onMessage` sees the jump in `seq` and decides.
   */
  async follow(
    fromSeq: number,
    onMessage: (message: LogMessage) => Promise<void> | void,
  ): Promise<LogFollower> {
    const consumer = await this.js.consumers.get(this.stream, {
      opt_start_seq: Math.max(1, fromSeq),
      deliver_policy: this.peer.jetstream.DeliverPolicy.StartSequence,
    });
    // Short heartbeats: a consumer whose server died is noticed and recreated within seconds.
    const messages = await consumer.consume({
      max_messages: 256,
      expires: 2_000,
      idle_heartbeat: 1_000,
    });
    let stopping = false;
    const done = (async () => {
      for await (const stored of messages) {
        if (stopping) break;
        await onMessage(parseMessage(stored));
      }
    })();
    // A handler's error ends the loop; the caller learns of it from `done`.
    done.catch(() => messages.stop());
    return {
      done,
      async stop() {
        stopping = true;
        messages.stop();
        await done.catch(() => undefined);
      },
    };
  }

  /** Removes every message below `seq` (the stream keeps `seq` and after). */
  async purgeBelow(seq: number): Promise<void> {
    await this.jsm.streams.purge(this.stream, { seq });
  }
}
