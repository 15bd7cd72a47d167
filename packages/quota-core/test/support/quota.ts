import type { QuotaConfig } from '../../src/config.js';
import { QuotaDb } from '../../src/state-machine/quota-db.js';
import type { Command, Outcome } from '../../src/types.js';

/** The acceptance examples' config: maxBuckets 8, maxOperations 16, window 8. */
export const A0: QuotaConfig = Object.freeze({
  maxBuckets: 8,
  maxOperations: 16,
  maxClientRetryWindowSlots: 8n,
});

/** The acceptance examples' notation: `d.client(L, S, op, command)` is `ctx(L, S)`. */
export class Driver {
  readonly db: QuotaDb;

  constructor(config: QuotaConfig = A0) {
    this.db = new QuotaDb(config);
  }

  client(
    lsn: number,
    slot: bigint | number,
    operationId: bigint | number,
    command: Command,
  ): Outcome {
    const outcome = this.db.applyClient(
      { lsn: BigInt(lsn), requestSlot: BigInt(slot) },
      { operationId: BigInt(operationId), clientId: 1n, command },
    );
    this.db.checkInvariants();
    return outcome;
  }

  internal(lsn: number, slot: bigint | number, command: Command): Outcome {
    const outcome = this.db.applyInternal({ lsn: BigInt(lsn), requestSlot: BigInt(slot) }, command);
    this.db.checkInvariants();
    return outcome;
  }

  balance(bucketId: bigint): bigint | undefined {
    return this.db.getBucket(bucketId)?.balance;
  }
}

export const create = (
  bucketId: bigint,
  limit: bigint,
  initialBalance: bigint,
  refillRatePerSlot: bigint,
): Command => ({ kind: 'create_bucket', bucketId, limit, initialBalance, refillRatePerSlot });

export const debit = (bucketId: bigint, amount: bigint): Command => ({
  kind: 'debit',
  bucketId,
  amount,
});

export const ok = (bucketId: bigint): Outcome => ({ resultCode: 'ok', bucketId });
export const code = (resultCode: Outcome['resultCode']): Outcome => ({ resultCode }) as Outcome;
