/**
 * A reference model of docs/allocdb-state-machine.md written separately from the engine: plain objects and
 * arrays, linear scans, no FixedMap, no retire queues, no wheel, no codec. Slow and obvious on
 * purpose; the model-based test checks the engine against it.
 */
import type { AllocDbConfig } from '../../src/config.js';
import type { Command, Outcome } from '../../src/types.js';

const MAX64 = 2n ** 64n - 1n;

export interface ModelResource {
  resourceId: bigint;
  state: 'available' | 'reserved' | 'confirmed' | 'revoking';
  currentReservationId?: bigint;
  version: bigint;
}

export interface ModelReservation {
  reservationId: bigint;
  resourceId: bigint;
  holderId: bigint;
  leaseEpoch: bigint;
  state: 'reserved' | 'confirmed' | 'revoking' | 'released' | 'expired' | 'revoked';
  createdLsn: bigint;
  deadlineSlot: bigint;
  releasedLsn?: bigint;
  retireAfterSlot?: bigint;
  memberCount: number;
  memberResourceIds: bigint[];
}

export interface ModelOperation {
  operationId: bigint;
  command: Command;
  outcome: Outcome;
  appliedLsn: bigint;
  retireAfterSlot: bigint;
}

/** A string that is equal for two commands exactly when they are the same command. */
export function commandSignature(command: Command): string {
  const parts: string[] = [command.kind];
  switch (command.kind) {
    case 'create_resource':
      parts.push(String(command.resourceId));
      break;
    case 'reserve':
      parts.push(String(command.resourceId), String(command.holderId), String(command.ttlSlots));
      break;
    case 'reserve_bundle':
      parts.push(command.resourceIds.join(','), String(command.holderId), String(command.ttlSlots));
      break;
    case 'confirm':
    case 'release':
      parts.push(
        String(command.reservationId),
        String(command.holderId),
        String(command.leaseEpoch),
      );
      break;
    case 'revoke':
    case 'reclaim':
      parts.push(String(command.reservationId));
      break;
    case 'expire':
      parts.push(String(command.reservationId), String(command.deadlineSlot));
      break;
  }
  return parts.join('|');
}

const isTerminalState = (state: ModelReservation['state']) =>
  state === 'released' || state === 'expired' || state === 'revoked';

export class AllocModel {
  readonly config: AllocDbConfig;
  resources: ModelResource[] = [];
  reservations: ModelReservation[] = [];
  operations: ModelOperation[] = [];
  /** Absent until the first retirement; the LSN and slot until the first apply. */
  watermark: bigint | undefined = undefined;
  lastLsn: bigint | undefined = undefined;
  lastSlot: bigint | undefined = undefined;
  /** Every reservation id ever created (for picking targets in tests). */
  createdIds: bigint[] = [];

  constructor(config: AllocDbConfig) {
    this.config = config;
  }

  get operationWindow(): bigint {
    return this.config.maxTtlSlots + this.config.maxClientRetryWindowSlots;
  }

  overflows(slot: bigint, command: Command, fromClient: boolean): boolean {
    if (command.kind === 'reserve' || command.kind === 'reserve_bundle') {
      if (slot + command.ttlSlots > MAX64) return true;
    }
    if (command.kind === 'release' || command.kind === 'reclaim' || command.kind === 'expire') {
      if (slot + this.config.reservationHistoryWindowSlots > MAX64) return true;
    }
    return fromClient && slot + this.operationWindow > MAX64;
  }

  private begin(lsn: bigint, slot: bigint): void {
    if (lsn <= (this.lastLsn ?? 0n) || slot < (this.lastSlot ?? 0n)) {
      throw new Error('model: out of order');
    }
    this.lastLsn = lsn;
    this.lastSlot = slot;
    const keep: ModelReservation[] = [];
    for (const reservation of this.reservations) {
      if (reservation.retireAfterSlot !== undefined && reservation.retireAfterSlot < slot) {
        if (this.watermark === undefined || reservation.reservationId > this.watermark) {
          this.watermark = reservation.reservationId;
        }
      } else {
        keep.push(reservation);
      }
    }
    this.reservations = keep;
    this.operations = this.operations.filter((operation) => operation.retireAfterSlot >= slot);
  }

  /** What the operation table answers at `slot` (after that slot's retirement). */
  retryAnswer(operationId: bigint, command: Command, slot: bigint): 'miss' | 'hit' | 'conflict' {
    const record = this.operations.find(
      (operation) => operation.operationId === operationId && operation.retireAfterSlot >= slot,
    );
    if (record === undefined) return 'miss';
    return commandSignature(record.command) === commandSignature(command) ? 'hit' : 'conflict';
  }

  applyClient(lsn: bigint, slot: bigint, operationId: bigint, command: Command): Outcome {
    if (this.overflows(slot, command, true)) return { resultCode: 'slot_overflow' };
    this.begin(lsn, slot);
    const existing = this.operations.find((operation) => operation.operationId === operationId);
    if (existing !== undefined) {
      if (commandSignature(existing.command) === commandSignature(command)) return existing.outcome;
      return { resultCode: 'operation_conflict' };
    }
    if (this.operations.length >= this.config.maxOperations) {
      return { resultCode: 'operation_table_full' };
    }
    const outcome = this.execute(lsn, slot, command);
    this.operations.push({
      operationId,
      command,
      outcome,
      appliedLsn: lsn,
      retireAfterSlot: slot + this.operationWindow,
    });
    return outcome;
  }

  applyInternal(lsn: bigint, slot: bigint, command: Command): Outcome {
    if (this.overflows(slot, command, false)) return { resultCode: 'slot_overflow' };
    this.begin(lsn, slot);
    return this.execute(lsn, slot, command);
  }

  private resource(id: bigint): ModelResource | undefined {
    return this.resources.find((resource) => resource.resourceId === id);
  }

  private reservation(id: bigint): ModelReservation | undefined {
    return this.reservations.find((reservation) => reservation.reservationId === id);
  }

  private bucketSize(deadline: bigint): number {
    const buckets = this.config.maxTtlSlots + 1n;
    return this.reservations.filter(
      (reservation) =>
        reservation.state === 'reserved' &&
        reservation.deadlineSlot % buckets === deadline % buckets,
    ).length;
  }

  private execute(lsn: bigint, slot: bigint, command: Command): Outcome {
    const config = this.config;
    switch (command.kind) {
      case 'create_resource': {
        if (this.resource(command.resourceId)) return { resultCode: 'already_exists' };
        if (this.resources.length >= config.maxResources) {
          return { resultCode: 'resource_table_full' };
        }
        this.resources.push({ resourceId: command.resourceId, state: 'available', version: 0n });
        return { resultCode: 'ok' };
      }
      case 'reserve':
      case 'reserve_bundle': {
        const ids = command.kind === 'reserve' ? [command.resourceId] : [...command.resourceIds];
        if (ids.length === 0 || ids.length > config.maxBundleSize) {
          return { resultCode: 'bundle_too_large' };
        }
        if (command.ttlSlots === 0n || command.ttlSlots > config.maxTtlSlots) {
          return { resultCode: 'ttl_out_of_range' };
        }
        for (let i = 0; i < ids.length; i++) {
          if (ids.slice(0, i).includes(ids[i]!)) return { resultCode: 'resource_busy' };
          const resource = this.resource(ids[i]!);
          if (!resource) return { resultCode: 'resource_not_found' };
          if (resource.state !== 'available') return { resultCode: 'resource_busy' };
        }
        if (this.reservations.length >= config.maxReservations) {
          return { resultCode: 'reservation_table_full' };
        }
        const memberTotal = this.reservations.reduce((sum, r) => sum + r.memberCount, 0);
        if (memberTotal + ids.length > config.maxReservations * config.maxBundleSize) {
          return { resultCode: 'reservation_member_table_full' };
        }
        const deadlineSlot = slot + command.ttlSlots;
        if (this.bucketSize(deadlineSlot) >= config.maxExpirationBucketLen) {
          return { resultCode: 'expiration_index_full' };
        }
        const reservationId = (config.shardId << 64n) | lsn;
        this.reservations.push({
          reservationId,
          resourceId: ids[0]!,
          holderId: command.holderId,
          leaseEpoch: 1n,
          state: 'reserved',
          createdLsn: lsn,
          deadlineSlot,
          memberCount: ids.length,
          memberResourceIds: ids,
        });
        this.createdIds.push(reservationId);
        for (const id of ids) {
          const resource = this.resource(id)!;
          resource.state = 'reserved';
          resource.currentReservationId = reservationId;
          resource.version += 1n;
        }
        return { resultCode: 'ok', reservationId, leaseEpoch: 1n, deadlineSlot };
      }
      case 'confirm':
      case 'release': {
        const reservation = this.reservation(command.reservationId);
        if (!reservation) return { resultCode: 'reservation_not_found' };
        if (reservation.holderId !== command.holderId) return { resultCode: 'holder_mismatch' };
        if (reservation.leaseEpoch !== command.leaseEpoch) return { resultCode: 'stale_epoch' };
        if (isTerminalState(reservation.state)) return { resultCode: 'reservation_retired' };
        if (command.kind === 'confirm') {
          if (reservation.state !== 'reserved') return { resultCode: 'invalid_state' };
          reservation.state = 'confirmed';
          this.setResources(reservation, 'confirmed');
          return { resultCode: 'ok' };
        }
        if (reservation.state === 'revoking') return { resultCode: 'invalid_state' };
        this.end(reservation, 'released', lsn, slot, true);
        return { resultCode: 'ok' };
      }
      case 'revoke': {
        const reservation = this.reservation(command.reservationId);
        if (!reservation) return { resultCode: 'reservation_not_found' };
        if (isTerminalState(reservation.state)) return { resultCode: 'reservation_retired' };
        if (reservation.state !== 'confirmed') return { resultCode: 'invalid_state' };
        reservation.state = 'revoking';
        reservation.leaseEpoch += 1n;
        this.setResources(reservation, 'revoking');
        return { resultCode: 'ok' };
      }
      case 'reclaim': {
        const reservation = this.reservation(command.reservationId);
        if (!reservation) return { resultCode: 'reservation_not_found' };
        if (isTerminalState(reservation.state)) return { resultCode: 'reservation_retired' };
        if (reservation.state !== 'revoking') return { resultCode: 'invalid_state' };
        this.end(reservation, 'revoked', lsn, slot, false);
        return { resultCode: 'ok' };
      }
      case 'expire': {
        const reservation = this.reservation(command.reservationId);
        if (!reservation) return { resultCode: 'reservation_not_found' };
        if (reservation.deadlineSlot !== command.deadlineSlot) return { resultCode: 'noop' };
        if (reservation.state !== 'reserved') return { resultCode: 'noop' };
        this.end(reservation, 'expired', lsn, slot, true);
        return { resultCode: 'ok' };
      }
    }
  }

  private setResources(reservation: ModelReservation, state: ModelResource['state']): void {
    for (const id of reservation.memberResourceIds) {
      const resource = this.resource(id)!;
      resource.state = state;
      resource.version += 1n;
    }
  }

  private end(
    reservation: ModelReservation,
    state: 'released' | 'expired' | 'revoked',
    lsn: bigint,
    slot: bigint,
    bumpEpoch: boolean,
  ): void {
    reservation.state = state;
    if (bumpEpoch) reservation.leaseEpoch += 1n;
    reservation.releasedLsn = lsn;
    reservation.retireAfterSlot = slot + this.config.reservationHistoryWindowSlots;
    for (const id of reservation.memberResourceIds) {
      const resource = this.resource(id)!;
      resource.state = 'available';
      delete resource.currentReservationId;
      resource.version += 1n;
    }
  }

  // Reads

  getResource(id: bigint): ModelResource | undefined {
    const resource = this.resource(id);
    return resource && { ...resource };
  }

  getReservation(
    id: bigint,
    slot: bigint,
  ):
    | { status: 'found'; reservation: Omit<ModelReservation, 'memberResourceIds'> }
    | { status: 'retired' }
    | { status: 'not_found' } {
    const reservation = this.reservation(id);
    if (reservation) {
      if (reservation.retireAfterSlot !== undefined && slot > reservation.retireAfterSlot) {
        return { status: 'retired' };
      }
      const { memberResourceIds: _members, ...record } = reservation;
      return { status: 'found', reservation: record };
    }
    if (this.watermark !== undefined && id >> 64n === this.config.shardId && id <= this.watermark) {
      return { status: 'retired' };
    }
    return { status: 'not_found' };
  }

  getMembers(id: bigint): { reservationId: bigint; resourceId: bigint; memberIndex: number }[] {
    const reservation = this.reservation(id);
    if (!reservation) return [];
    return reservation.memberResourceIds.map((resourceId, memberIndex) => ({
      reservationId: id,
      resourceId,
      memberIndex,
    }));
  }

  getOperation(id: bigint, slot: bigint): ModelOperation | undefined {
    return this.operations.find(
      (operation) => operation.operationId === id && operation.retireAfterSlot >= slot,
    );
  }

  due(slot: bigint, limit: number): { reservationId: bigint; deadlineSlot: bigint }[] {
    return this.reservations
      .filter((reservation) => reservation.state === 'reserved' && reservation.deadlineSlot <= slot)
      .sort((a, b) =>
        a.deadlineSlot !== b.deadlineSlot
          ? a.deadlineSlot < b.deadlineSlot
            ? -1
            : 1
          : a.reservationId < b.reservationId
            ? -1
            : 1,
      )
      .slice(0, limit)
      .map((reservation) => ({
        reservationId: reservation.reservationId,
        deadlineSlot: reservation.deadlineSlot,
      }));
  }

  backlog(slot: bigint): number {
    return this.reservations.filter((r) => r.state === 'reserved' && r.deadlineSlot <= slot).length;
  }

  memberCount(): number {
    return this.reservations.reduce((sum, reservation) => sum + reservation.memberCount, 0);
  }

  scheduledCount(): number {
    return this.reservations.filter((reservation) => reservation.state === 'reserved').length;
  }
}
