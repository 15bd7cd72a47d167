/**
 * The allocator's commands as they travel through the commit pipeline: a client request (with
 * its logged bytes, and its in-flight entry for joining) and an internal `expire` from the tick.
 */
import { CLIENT_REQUEST_COMMAND_OFFSET } from '../codec/command-codec.js';
import { assert } from '../runtime/assert.js';
import { CommitJob, SubmissionError } from '../runtime/commit-pipeline.js';
import { RecordType, type WalFrame } from '../runtime/wal.js';
import type { AllocDb } from '../state-machine/alloc-db.js';
import type { ClientRequest, Command, Outcome } from '../types.js';
import { applyDecoded, decodeFramePayload } from './recovery.js';

/** `{ lsn, requestSlot, outcome, fromRetryCache }`; `O` narrows the outcome (`OutcomeOf<K>`). */
export interface SubmitResult<O extends Outcome = Outcome> {
  /** LSN of the command; for an answer from the retry cache, the LSN of the original. */
  readonly lsn: bigint;
  /** The request slot the command ran at (for a cached answer: the slot it was looked up at). */
  readonly requestSlot: bigint;
  readonly outcome: O;
  /** True when the answer is a stored outcome: the command did not execute again. */
  readonly fromRetryCache: boolean;
}

/** What a job needs from its engine. */
export interface JobHost {
  readonly db: AllocDb;
  /** Counts an applied command (the automatic checkpoint policy). */
  applied(): void;
  /** Removes a settled client job from the in-flight entries. */
  forget(job: ClientJob): void;
}

/**
 * A client command in the commit pipeline. The job is also the engine's private copy of the
 * request (`operationId`, `clientId` and a copy of the command: the state machine applies it as
 * the request) and carries the logged bytes, whose canonical command starts at
 * `CLIENT_REQUEST_COMMAND_OFFSET`. While queued or being flushed it is the in-flight entry under
 * its operation id, so that an identical request joins it (`promise`) instead of being logged
 * twice. One object per command, so that little lives across the fsync.
 */
export class ClientJob extends CommitJob<SubmitResult> {
  readonly recordType = RecordType.client;
  /**
   * The job's answer, once queued through `submit` (a job queued by `submitBatch` has none until
   * a request joins it: `joined()`).
   */
  promise: Promise<SubmitResult> | undefined;
  /** Whether the job is the in-flight entry under its operation id (`forget` removes it). */
  registered = false;
  /** The batch submission this job answers into, at `index`; undefined for `submit`. */
  group: SubmitGroup | undefined;
  index = 0;

  constructor(
    private readonly host: JobHost,
    readonly operationId: bigint,
    readonly clientId: bigint,
    /** The engine's copy of the caller's command. */
    readonly command: Command,
    readonly payload: Uint8Array,
    readonly requestedSlot: bigint | undefined,
    readonly strictSlot: boolean,
  ) {
    super();
  }

  admit(slot: bigint): 'slot_overflow' | undefined {
    return this.host.db.wouldValidatedSlotOverflow(slot, this.command, 'client')
      ? 'slot_overflow'
      : undefined;
  }

  apply(): SubmitResult {
    const db = this.host.db;
    const payload = this.payload;
    const outcome = db.applyEncodedClient(
      this.lsn,
      this.requestSlot,
      this as unknown as ClientRequest,
      payload,
      CLIENT_REQUEST_COMMAND_OFFSET,
      payload.length,
    );
    this.host.applied();
    return {
      lsn: this.lsn,
      requestSlot: this.requestSlot,
      outcome,
      fromRetryCache: db.lastClientDisposition === 'retry_cache',
    };
  }

  /** Whether `other` logs the same command bytes (joining compares these). */
  sameCommand(other: ClientJob): boolean {
    const a = this.payload;
    const b = other.payload;
    if (a.length !== b.length) return false;
    for (let i = CLIENT_REQUEST_COMMAND_OFFSET; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** The promise of the job's answer, for an identical request that joins it. */
  joined(): Promise<SubmitResult> {
    this.promise ??= new Promise<SubmitResult>((resolve, reject) => this.answerTo(resolve, reject));
    return this.promise;
  }

  override settled(): void {
    this.host.forget(this);
    this.group?.settle(this.index, this.answer!);
  }
}

/**
 * The answers of one `submitBatch`: one promise for the whole batch, settled once every entry
 * has its answer. An entry is its result or its definite `SubmissionError`; if any entry's fate
 * is unknown (an indefinite error: the log's write or fsync failed, the engine halted), the
 * promise rejects with that error instead, as `submitBatchSync` throws it.
 */
export class SubmitGroup {
  readonly results: (SubmitResult | SubmissionError)[];
  /** Entries still waiting for their answer. */
  pending = 0;
  private indefinite: SubmissionError | undefined;
  private resolve!: (results: (SubmitResult | SubmissionError)[]) => void;
  private reject!: (error: SubmissionError) => void;
  readonly promise: Promise<(SubmitResult | SubmissionError)[]>;

  constructor(size: number) {
    this.results = new Array(size);
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Entry `index` waits for `joined` (an identical request in flight). */
  join(index: number, joined: Promise<SubmitResult>): void {
    this.pending++;
    joined.then(
      (result) => this.settle(index, result),
      (error: SubmissionError) => this.settle(index, error),
    );
  }

  settle(index: number, answer: SubmitResult | SubmissionError): void {
    this.results[index] = answer;
    if (answer instanceof SubmissionError && !answer.definite) this.indefinite ??= answer;
    if (--this.pending === 0) this.finish();
  }

  /** Settles the promise once nothing is pending (at once for a batch queued nothing). */
  finish(): void {
    if (this.pending > 0) return;
    if (this.indefinite !== undefined) this.reject(this.indefinite);
    else this.resolve(this.results);
  }
}

/** An internal `expire`, logged by the tick at the slot it judged the deadline at. */
export class ExpireJob extends CommitJob<SubmitResult> {
  readonly recordType = RecordType.internal;
  readonly strictSlot = false;

  constructor(
    private readonly host: JobHost,
    private readonly command: Command,
    readonly payload: Uint8Array,
    readonly requestedSlot: bigint,
  ) {
    super();
  }

  admit(slot: bigint): 'slot_overflow' | undefined {
    return this.host.db.wouldValidatedSlotOverflow(slot, this.command, 'internal')
      ? 'slot_overflow'
      : undefined;
  }

  apply(): SubmitResult {
    const outcome = this.host.db.applyValidatedInternal(this.lsn, this.requestSlot, this.command);
    this.host.applied();
    return { lsn: this.lsn, requestSlot: this.requestSlot, outcome, fromRetryCache: false };
  }
}

/** The engine's private copy of a validated command (every field the codec writes, nothing else). */
export function copyCommand(command: Command): Command {
  switch (command.kind) {
    case 'create_resource':
      return { kind: command.kind, resourceId: command.resourceId };
    case 'reserve':
      return {
        kind: command.kind,
        resourceId: command.resourceId,
        holderId: command.holderId,
        ttlSlots: command.ttlSlots,
      };
    case 'reserve_bundle':
      return {
        kind: command.kind,
        resourceIds: [...command.resourceIds],
        holderId: command.holderId,
        ttlSlots: command.ttlSlots,
      };
    case 'confirm':
    case 'release':
      return {
        kind: command.kind,
        reservationId: command.reservationId,
        holderId: command.holderId,
        leaseEpoch: command.leaseEpoch,
      };
    case 'revoke':
    case 'reclaim':
      return { kind: command.kind, reservationId: command.reservationId };
    case 'expire':
      return {
        kind: command.kind,
        reservationId: command.reservationId,
        deadlineSlot: command.deadlineSlot,
      };
  }
}

/**
 * A frame a cluster's writer logged, on a follower (docs/cluster.md, "Following"): a client
 * command or one of the writer's expirations, with the writer's LSN, slot and payload. It goes
 * through the commit pipeline like any command (written to the follower's own log and
 * fdatasynced before it is applied) and is applied through the path of recovery. The pipeline
 * gives it the next LSN, which must be the writer's; its slot is the writer's (strict: never
 * raised); anything else means the follower's state is not the writer's, and the apply throws,
 * which halts the engine.
 */
export class ReplicaJob extends CommitJob<void> {
  readonly recordType: typeof RecordType.client | typeof RecordType.internal;
  readonly payload: Uint8Array;
  readonly requestedSlot: bigint;
  readonly strictSlot = true;
  private readonly expectedLsn: bigint;

  constructor(
    private readonly host: JobHost,
    frame: WalFrame,
  ) {
    super();
    assert(
      frame.recordType === RecordType.client || frame.recordType === RecordType.internal,
      'a replicated frame is a command',
    );
    this.recordType = frame.recordType;
    this.payload = frame.payload;
    this.requestedSlot = frame.requestSlot;
    this.expectedLsn = frame.lsn;
  }

  /** The writer vetted the command at this slot; the apply checks the outcome. */
  admit(): undefined {
    return undefined;
  }

  apply(): void {
    assert(
      this.lsn === this.expectedLsn && this.requestSlot === this.requestedSlot,
      `a replicated frame keeps the writer's lsn ${this.expectedLsn} and slot ${this.requestedSlot} (got lsn ${this.lsn}, slot ${this.requestSlot})`,
    );
    const outcome = applyDecoded(
      this.host.db,
      this.lsn,
      this.requestSlot,
      decodeFramePayload(this),
      this.payload,
    );
    assert(
      outcome.resultCode !== 'slot_overflow',
      `the writer never logs a command whose slot arithmetic overflows (lsn ${this.lsn})`,
    );
    this.host.applied();
  }
}
