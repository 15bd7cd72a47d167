/**
 * The allocator's commands as they travel through the commit pipeline: a client request (with
 * its logged bytes, and its in-flight entry for joining) and an internal `expire` from the tick.
 */
import { CommitJob } from '../runtime/commit-pipeline.js';
import { RecordType } from '../runtime/wal.js';
import type { AllocDb } from '../state-machine/alloc-db.js';
import type { ClientRequest, Command, Outcome } from '../types.js';

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
 * A client command in the commit pipeline: the engine's copy of the request and its logged
 * bytes. While queued or being flushed it is also the in-flight entry under its operation id, so
 * that an identical request joins it (`promise`) instead of being logged twice.
 */
export class ClientJob extends CommitJob<SubmitResult> {
  readonly recordType = RecordType.client;
  /** The job's answer, once queued. */
  promise: Promise<SubmitResult> | undefined;

  constructor(
    private readonly host: JobHost,
    readonly request: ClientRequest,
    readonly payload: Uint8Array,
    /** The canonical command bytes (joining compares these). */
    readonly commandBytes: Uint8Array,
    readonly requestedSlot: bigint | undefined,
    readonly strictSlot: boolean,
  ) {
    super();
  }

  admit(slot: bigint): 'slot_overflow' | undefined {
    return this.host.db.wouldValidatedSlotOverflow(slot, this.request.command, 'client')
      ? 'slot_overflow'
      : undefined;
  }

  apply(): SubmitResult {
    const db = this.host.db;
    const outcome = db.applyValidatedClient(this.lsn, this.requestSlot, this.request);
    this.host.applied();
    return {
      lsn: this.lsn,
      requestSlot: this.requestSlot,
      outcome,
      fromRetryCache: db.lastClientDisposition === 'retry_cache',
    };
  }

  override settled(): void {
    this.host.forget(this);
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

/** The engine's private copy of a validated request (every field the codec writes, nothing else). */
export function copyRequest(request: ClientRequest): ClientRequest {
  return {
    operationId: request.operationId,
    clientId: request.clientId,
    command: copyCommand(request.command),
  };
}

function copyCommand(command: Command): Command {
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
