/**
 * An independent reference model of the quota-core state machine, written from the
 * specification (docs/quota-core.md) with plain Maps: token buckets with exact refill, the dedupe
 * table with its retry window, and the snapshot shape of `QuotaDb.snapshot()`.
 */
import type { ClientRequest, Command, QuotaConfig } from 'quota-core';
import { encodeCommand } from 'quota-core/codec';
import { toHex } from '../canon.js';

const U64_MAX = (1n << 64n) - 1n;

export interface QuotaOutcome {
  readonly resultCode: string;
  readonly bucketId?: bigint;
}

interface Bucket {
  readonly limit: bigint;
  balance: bigint;
  lastRefillSlot: bigint;
  readonly rate: bigint;
}

interface Operation {
  readonly commandHex: string;
  readonly command: Uint8Array;
  readonly outcome: QuotaOutcome;
  readonly appliedLsn: bigint;
  readonly retireAfterSlot: bigint;
}

export class QuotaModel {
  private readonly config: QuotaConfig;
  private readonly buckets = new Map<bigint, Bucket>();
  private readonly operations = new Map<bigint, Operation>();
  private lastLsn: bigint | undefined;
  private lastSlot: bigint | undefined;

  constructor(config: QuotaConfig) {
    this.config = config;
  }

  get lastAppliedLsn(): bigint {
    return this.lastLsn ?? 0n;
  }

  lookupRetry(
    request: ClientRequest,
    slot: bigint,
  ): { outcome: QuotaOutcome; appliedLsn: bigint } | undefined {
    const record = this.operations.get(request.operationId);
    if (record === undefined || record.retireAfterSlot < slot) return undefined;
    if (record.commandHex !== toHex(encodeCommand(request.command))) return undefined;
    return { outcome: record.outcome, appliedLsn: record.appliedLsn };
  }

  private advance(lsn: bigint, slot: bigint): void {
    if (this.lastLsn !== undefined && lsn <= this.lastLsn)
      throw new Error(`model: lsn ${lsn} after ${this.lastLsn}`);
    if (this.lastSlot !== undefined && slot < this.lastSlot)
      throw new Error(`model: slot ${slot} below ${this.lastSlot}`);
    this.lastLsn = lsn;
    this.lastSlot = slot;
    for (const [id, op] of [...this.operations])
      if (op.retireAfterSlot < slot) this.operations.delete(id);
  }

  applyClient(
    lsn: bigint,
    slot: bigint,
    request: ClientRequest,
  ): { outcome: QuotaOutcome; disposition: string } {
    if (slot + this.config.maxClientRetryWindowSlots > U64_MAX) {
      return { outcome: { resultCode: 'slot_overflow' }, disposition: 'slot_overflow' };
    }
    this.advance(lsn, slot);
    const command = encodeCommand(request.command);
    const commandHex = toHex(command);
    const existing = this.operations.get(request.operationId);
    if (existing !== undefined) {
      return existing.commandHex === commandHex
        ? { outcome: existing.outcome, disposition: 'cached' }
        : { outcome: { resultCode: 'operation_conflict' }, disposition: 'conflict' };
    }
    if (this.operations.size >= this.config.maxOperations) {
      return { outcome: { resultCode: 'operation_table_full' }, disposition: 'table_full' };
    }
    const outcome = this.execute(slot, request.command);
    this.operations.set(request.operationId, {
      commandHex,
      command,
      outcome,
      appliedLsn: lsn,
      retireAfterSlot: slot + this.config.maxClientRetryWindowSlots,
    });
    return { outcome, disposition: 'executed' };
  }

  applyInternal(lsn: bigint, slot: bigint, command: Command): QuotaOutcome {
    this.advance(lsn, slot);
    return this.execute(slot, command);
  }

  /** Refill to `slot`, exactly as the specification's pseudo-code says. */
  private refill(bucket: Bucket, slot: bigint): void {
    const elapsed = slot - bucket.lastRefillSlot;
    if (elapsed !== 0n && bucket.rate !== 0n && bucket.balance !== bucket.limit) {
      const missing = bucket.limit - bucket.balance;
      const slotsNeeded = (missing + bucket.rate - 1n) / bucket.rate;
      bucket.balance =
        elapsed >= slotsNeeded ? bucket.limit : bucket.balance + elapsed * bucket.rate;
    }
    bucket.lastRefillSlot = slot;
  }

  private execute(slot: bigint, command: Command): QuotaOutcome {
    if (command.kind === 'create_bucket') {
      if (this.buckets.has(command.bucketId)) return { resultCode: 'already_exists' };
      if (this.buckets.size >= this.config.maxBuckets) return { resultCode: 'bucket_table_full' };
      this.buckets.set(command.bucketId, {
        limit: command.limit,
        balance: command.initialBalance,
        lastRefillSlot: slot,
        rate: command.refillRatePerSlot,
      });
      return { resultCode: 'ok', bucketId: command.bucketId };
    }
    const bucket = this.buckets.get(command.bucketId);
    if (bucket === undefined) return { resultCode: 'bucket_not_found' };
    this.refill(bucket, slot);
    if (bucket.balance < command.amount) return { resultCode: 'insufficient_funds' };
    bucket.balance -= command.amount;
    return { resultCode: 'ok', bucketId: command.bucketId };
  }

  /** The whole state in the shape of `QuotaDb.snapshot()`. */
  state(): unknown {
    const byKey = <T>(entries: Iterable<[bigint, T]>) =>
      [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      lastAppliedLsn: this.lastLsn,
      lastRequestSlot: this.lastSlot,
      buckets: byKey(this.buckets.entries()).map(([bucketId, b]) => ({
        bucketId,
        limit: b.limit,
        balance: b.balance,
        lastRefillSlot: b.lastRefillSlot,
        refillRatePerSlot: b.rate,
      })),
      operations: byKey(this.operations.entries()).map(([operationId, op]) => ({
        operationId,
        command: op.command,
        outcome: op.outcome,
        appliedLsn: op.appliedLsn,
        retireAfterSlot: op.retireAfterSlot,
      })),
    };
  }
}

/** Domain checks on a quota state: balance never above limit, refill never ahead of the log. */
export function checkQuotaState(state: unknown): string[] {
  const s = state as {
    lastRequestSlot?: bigint;
    buckets: { bucketId: bigint; limit: bigint; balance: bigint; lastRefillSlot: bigint }[];
  };
  const problems: string[] = [];
  for (const b of s.buckets) {
    if (b.balance > b.limit)
      problems.push(`bucket ${b.bucketId}: balance ${b.balance} above limit ${b.limit}`);
    if (s.lastRequestSlot !== undefined && b.lastRefillSlot > s.lastRequestSlot) {
      problems.push(
        `bucket ${b.bucketId} refilled to slot ${b.lastRefillSlot}, after the last request slot`,
      );
    }
  }
  return problems;
}
