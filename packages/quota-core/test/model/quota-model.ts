/**
 * A reference model of docs/quota-core.md, written independently of the engine and sharing no code
 * with it (not even its types): plain arrays of plain objects, linear scans, commands compared
 * field by field instead of by their encoding, retirement by filtering the whole list instead of
 * a queue, and refill as `min(limit, balance + elapsed × rate)` in unbounded integers instead of
 * the spec's division form. Slow and obviously correct is the point.
 */

const MAX_U64 = 18_446_744_073_709_551_615n;

export type ModelCommand =
  | {
      kind: 'create_bucket';
      bucketId: bigint;
      limit: bigint;
      initialBalance: bigint;
      refillRatePerSlot: bigint;
    }
  | { kind: 'debit'; bucketId: bigint; amount: bigint };

export interface ModelOutcome {
  resultCode: string;
  bucketId?: bigint;
}

export interface ModelBucket {
  bucketId: bigint;
  limit: bigint;
  balance: bigint;
  lastRefillSlot: bigint;
  refillRatePerSlot: bigint;
}

export interface ModelRecord {
  operationId: bigint;
  command: ModelCommand;
  outcome: ModelOutcome;
  appliedLsn: bigint;
  retireAfterSlot: bigint;
}

export interface ModelConfig {
  maxBuckets: number;
  maxOperations: number;
  maxClientRetryWindowSlots: bigint;
}

export type ModelDisposition =
  | 'executed'
  | 'retry_cache'
  | 'operation_conflict'
  | 'operation_table_full'
  | 'slot_overflow';

function sameCommand(a: ModelCommand, b: ModelCommand): boolean {
  if (a.kind === 'debit' && b.kind === 'debit') {
    return a.bucketId === b.bucketId && a.amount === b.amount;
  }
  if (a.kind === 'create_bucket' && b.kind === 'create_bucket') {
    return (
      a.bucketId === b.bucketId &&
      a.limit === b.limit &&
      a.initialBalance === b.initialBalance &&
      a.refillRatePerSlot === b.refillRatePerSlot
    );
  }
  return false;
}

/** The balance a bucket would have at `slot` (slot ≥ its lastRefillSlot). */
export function modelBalanceAt(bucket: ModelBucket, slot: bigint): bigint {
  const grown = bucket.balance + (slot - bucket.lastRefillSlot) * bucket.refillRatePerSlot;
  return grown > bucket.limit ? bucket.limit : grown;
}

export class QuotaModel {
  buckets: ModelBucket[] = [];
  records: ModelRecord[] = [];
  lastLsn: bigint | undefined;
  lastSlot: bigint | undefined;
  disposition: ModelDisposition = 'executed';

  constructor(readonly config: ModelConfig) {}

  applyClient(lsn: bigint, slot: bigint, operationId: bigint, command: ModelCommand): ModelOutcome {
    if (slot + this.config.maxClientRetryWindowSlots > MAX_U64) {
      this.disposition = 'slot_overflow';
      return { resultCode: 'slot_overflow' };
    }
    this.advance(lsn, slot);
    const existing = this.records.find((record) => record.operationId === operationId);
    if (existing !== undefined) {
      if (sameCommand(existing.command, command)) {
        this.disposition = 'retry_cache';
        return existing.outcome;
      }
      this.disposition = 'operation_conflict';
      return { resultCode: 'operation_conflict' };
    }
    if (this.records.length >= this.config.maxOperations) {
      this.disposition = 'operation_table_full';
      return { resultCode: 'operation_table_full' };
    }
    const outcome = this.execute(slot, command);
    this.records.push({
      operationId,
      command,
      outcome,
      appliedLsn: lsn,
      retireAfterSlot: slot + this.config.maxClientRetryWindowSlots,
    });
    this.disposition = 'executed';
    return outcome;
  }

  applyInternal(lsn: bigint, slot: bigint, command: ModelCommand): ModelOutcome {
    this.advance(lsn, slot);
    return this.execute(slot, command);
  }

  /** What a client request at `slot` would find: `hit`, `conflict` or `miss`. */
  retryAnswer(operationId: bigint, command: ModelCommand, slot: bigint): string {
    const existing = this.records.find(
      (record) => record.operationId === operationId && record.retireAfterSlot >= slot,
    );
    if (existing === undefined) return 'miss';
    return sameCommand(existing.command, command) ? 'hit' : 'conflict';
  }

  getBucket(bucketId: bigint): ModelBucket | undefined {
    const bucket = this.buckets.find((b) => b.bucketId === bucketId);
    return bucket === undefined ? undefined : { ...bucket };
  }

  getBucketAt(bucketId: bigint, slot: bigint): ModelBucket | undefined {
    const bucket = this.getBucket(bucketId);
    if (bucket === undefined || slot <= bucket.lastRefillSlot) return bucket;
    return { ...bucket, balance: modelBalanceAt(bucket, slot), lastRefillSlot: slot };
  }

  getOperation(operationId: bigint, slot: bigint): ModelRecord | undefined {
    return this.records.find(
      (record) => record.operationId === operationId && record.retireAfterSlot >= slot,
    );
  }

  private advance(lsn: bigint, slot: bigint): void {
    if (this.lastLsn !== undefined && (lsn <= this.lastLsn || slot < this.lastSlot!)) {
      throw new Error('the test driver sent commands out of order');
    }
    this.lastLsn = lsn;
    this.lastSlot = slot;
    this.records = this.records.filter((record) => record.retireAfterSlot >= slot);
  }

  private execute(slot: bigint, command: ModelCommand): ModelOutcome {
    const bucket = this.buckets.find((b) => b.bucketId === command.bucketId);
    if (command.kind === 'create_bucket') {
      if (bucket !== undefined) return { resultCode: 'already_exists' };
      if (this.buckets.length >= this.config.maxBuckets) return { resultCode: 'bucket_table_full' };
      this.buckets.push({
        bucketId: command.bucketId,
        limit: command.limit,
        balance: command.initialBalance,
        lastRefillSlot: slot,
        refillRatePerSlot: command.refillRatePerSlot,
      });
      return { resultCode: 'ok', bucketId: command.bucketId };
    }
    if (bucket === undefined) return { resultCode: 'bucket_not_found' };
    bucket.balance = modelBalanceAt(bucket, slot);
    bucket.lastRefillSlot = slot;
    if (bucket.balance < command.amount) return { resultCode: 'insufficient_funds' };
    bucket.balance -= command.amount;
    return { resultCode: 'ok', bucketId: command.bucketId };
  }
}
