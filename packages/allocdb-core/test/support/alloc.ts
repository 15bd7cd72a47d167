import type { AllocDbConfig } from '../../src/config.js';
import { AllocDb } from '../../src/state-machine/alloc-db.js';
import type { Command, Outcome } from '../../src/types.js';

/**
 * C0 of docs/allocdb-state-machine.md: shard 0, resources 8, reservations 8, bundle 1, operations 16, TTL 16,
 * retry 8, history 4, bucket 8 (W = 24, wheel 17).
 */
export const C0: AllocDbConfig = Object.freeze({
  shardId: 0n,
  maxResources: 8,
  maxReservations: 8,
  maxBundleSize: 1,
  maxOperations: 16,
  maxTtlSlots: 16n,
  maxClientRetryWindowSlots: 8n,
  reservationHistoryWindowSlots: 4n,
  maxExpirationBucketLen: 8,
});

/** The acceptance examples' notation: `d.client(L, S, op, command)`, holder 1 unless noted. */
export class Driver {
  readonly db: AllocDb;

  constructor(config: AllocDbConfig = C0) {
    this.db = new AllocDb(config);
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
}

export const create = (resourceId: bigint): Command => ({ kind: 'create_resource', resourceId });
export const reserve = (resourceId: bigint, ttlSlots: bigint, holderId = 1n): Command => ({
  kind: 'reserve',
  resourceId,
  holderId,
  ttlSlots,
});
export const bundle = (resourceIds: bigint[], ttlSlots: bigint, holderId = 1n): Command => ({
  kind: 'reserve_bundle',
  resourceIds,
  holderId,
  ttlSlots,
});
export const confirm = (reservationId: bigint, holderId: bigint, leaseEpoch: bigint): Command => ({
  kind: 'confirm',
  reservationId,
  holderId,
  leaseEpoch,
});
export const release = (reservationId: bigint, holderId: bigint, leaseEpoch: bigint): Command => ({
  kind: 'release',
  reservationId,
  holderId,
  leaseEpoch,
});
export const revoke = (reservationId: bigint): Command => ({ kind: 'revoke', reservationId });
export const reclaim = (reservationId: bigint): Command => ({ kind: 'reclaim', reservationId });
export const expire = (reservationId: bigint, deadlineSlot: bigint): Command => ({
  kind: 'expire',
  reservationId,
  deadlineSlot,
});
