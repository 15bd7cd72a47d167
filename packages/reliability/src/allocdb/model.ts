/**
 * An independent reference model of the allocdb-core state machine, written from the
 * specification (docs/allocdb-state-machine.md) with plain Maps and no shared code: no fixed maps, no wheel,
 * no retire queues. It answers every command and produces the whole state in the shape of
 * `AllocDb.snapshot()`, so the suites can compare the engine with it record by record.
 */
import type { AllocDbConfig, ClientRequest, Command } from 'allocdb-core';
import { encodeCommand } from 'allocdb-core/codec';
import { toHex } from '../canon.js';

const U64_MAX = (1n << 64n) - 1n;

type ResourceState = 'available' | 'reserved' | 'confirmed' | 'revoking';
type ReservationState = 'reserved' | 'confirmed' | 'revoking' | 'released' | 'expired' | 'revoked';

export interface ModelOutcome {
  readonly resultCode: string;
  readonly reservationId?: bigint;
  readonly leaseEpoch?: bigint;
  readonly deadlineSlot?: bigint;
}

interface Resource {
  state: ResourceState;
  current: bigint | undefined;
  version: bigint;
}

interface Reservation {
  readonly reservationId: bigint;
  readonly holderId: bigint;
  leaseEpoch: bigint;
  state: ReservationState;
  readonly createdLsn: bigint;
  readonly deadlineSlot: bigint;
  releasedLsn: bigint | undefined;
  retireAfterSlot: bigint | undefined;
  readonly members: readonly bigint[];
}

interface Operation {
  readonly commandHex: string;
  readonly command: Uint8Array;
  readonly outcome: ModelOutcome;
  readonly appliedLsn: bigint;
  readonly retireAfterSlot: bigint;
}

/** How a client command was answered. */
export type Disposition = 'executed' | 'cached' | 'conflict' | 'table_full' | 'slot_overflow';

const isTerminal = (state: ReservationState) =>
  state === 'released' || state === 'expired' || state === 'revoked';

export class AllocModel {
  readonly config: AllocDbConfig;
  private readonly window: bigint;
  private readonly resources = new Map<bigint, Resource>();
  private readonly reservations = new Map<bigint, Reservation>();
  private readonly operations = new Map<bigint, Operation>();
  private lastLsn = 0n;
  private lastSlot = 0n;
  private maxRetired = 0n;

  constructor(config: AllocDbConfig) {
    this.config = config;
    this.window = config.maxTtlSlots + config.maxClientRetryWindowSlots;
  }

  get lastAppliedLsn(): bigint {
    return this.lastLsn;
  }

  get lastRequestSlot(): bigint {
    return this.lastSlot;
  }

  /** The live operation record of `operationId` as of the last applied command. */
  operation(operationId: bigint): Operation | undefined {
    return this.operations.get(operationId);
  }

  /** The answer a retry submitted at `slot` gets without executing, if it gets one. */
  lookupRetry(
    request: ClientRequest,
    slot: bigint,
  ): { outcome: ModelOutcome; appliedLsn: bigint } | undefined {
    const record = this.operations.get(request.operationId);
    if (record === undefined || record.retireAfterSlot < slot) return undefined;
    if (record.commandHex !== toHex(encodeCommand(request.command))) return undefined;
    return { outcome: record.outcome, appliedLsn: record.appliedLsn };
  }

  private overflows(a: bigint, b: bigint): boolean {
    return a + b > U64_MAX;
  }

  private slotPrecheck(slot: bigint, command: Command, client: boolean): boolean {
    if (command.kind === 'reserve' || command.kind === 'reserve_bundle') {
      if (this.overflows(slot, command.ttlSlots)) return false;
    }
    if (command.kind === 'release' || command.kind === 'reclaim' || command.kind === 'expire') {
      if (this.overflows(slot, this.config.reservationHistoryWindowSlots)) return false;
    }
    if (client && this.overflows(slot, this.window)) return false;
    return true;
  }

  private advance(lsn: bigint, slot: bigint): void {
    if (lsn <= this.lastLsn) throw new Error(`model: lsn ${lsn} after ${this.lastLsn}`);
    if (slot < this.lastSlot) throw new Error(`model: slot ${slot} below ${this.lastSlot}`);
    this.lastLsn = lsn;
    this.lastSlot = slot;
    for (const [id, reservation] of [...this.reservations]) {
      if (reservation.retireAfterSlot !== undefined && reservation.retireAfterSlot < slot) {
        this.reservations.delete(id);
        if (id > this.maxRetired) this.maxRetired = id;
      }
    }
    for (const [id, operation] of [...this.operations]) {
      if (operation.retireAfterSlot < slot) this.operations.delete(id);
    }
  }

  applyClient(
    lsn: bigint,
    slot: bigint,
    request: ClientRequest,
  ): { outcome: ModelOutcome; disposition: Disposition } {
    if (!this.slotPrecheck(slot, request.command, true)) {
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
    const outcome = this.execute(lsn, slot, request.command);
    this.operations.set(request.operationId, {
      commandHex,
      command,
      outcome,
      appliedLsn: lsn,
      retireAfterSlot: slot + this.window,
    });
    return { outcome, disposition: 'executed' };
  }

  applyInternal(lsn: bigint, slot: bigint, command: Command): ModelOutcome {
    if (!this.slotPrecheck(slot, command, false)) return { resultCode: 'slot_overflow' };
    this.advance(lsn, slot);
    return this.execute(lsn, slot, command);
  }

  private execute(lsn: bigint, slot: bigint, command: Command): ModelOutcome {
    switch (command.kind) {
      case 'create_resource':
        if (this.resources.has(command.resourceId)) return { resultCode: 'already_exists' };
        if (this.resources.size >= this.config.maxResources)
          return { resultCode: 'resource_table_full' };
        this.resources.set(command.resourceId, {
          state: 'available',
          current: undefined,
          version: 0n,
        });
        return { resultCode: 'ok' };
      case 'reserve':
        return this.reserve(lsn, slot, [command.resourceId], command.holderId, command.ttlSlots);
      case 'reserve_bundle':
        return this.reserve(lsn, slot, command.resourceIds, command.holderId, command.ttlSlots);
      case 'confirm': {
        const r = this.reservations.get(command.reservationId);
        if (r === undefined) return { resultCode: 'reservation_not_found' };
        if (r.holderId !== command.holderId) return { resultCode: 'holder_mismatch' };
        if (r.leaseEpoch !== command.leaseEpoch) return { resultCode: 'stale_epoch' };
        if (isTerminal(r.state)) return { resultCode: 'reservation_retired' };
        if (r.state !== 'reserved') return { resultCode: 'invalid_state' };
        r.state = 'confirmed';
        this.touch(r, 'confirmed', r.reservationId);
        return { resultCode: 'ok' };
      }
      case 'release': {
        const r = this.reservations.get(command.reservationId);
        if (r === undefined) return { resultCode: 'reservation_not_found' };
        if (r.holderId !== command.holderId) return { resultCode: 'holder_mismatch' };
        if (r.leaseEpoch !== command.leaseEpoch) return { resultCode: 'stale_epoch' };
        if (isTerminal(r.state)) return { resultCode: 'reservation_retired' };
        if (r.state === 'revoking') return { resultCode: 'invalid_state' };
        this.finish(r, 'released', lsn, slot, true);
        return { resultCode: 'ok' };
      }
      case 'revoke': {
        const r = this.reservations.get(command.reservationId);
        if (r === undefined) return { resultCode: 'reservation_not_found' };
        if (isTerminal(r.state)) return { resultCode: 'reservation_retired' };
        if (r.state !== 'confirmed') return { resultCode: 'invalid_state' };
        r.state = 'revoking';
        r.leaseEpoch += 1n;
        this.touch(r, 'revoking', r.reservationId);
        return { resultCode: 'ok' };
      }
      case 'reclaim': {
        const r = this.reservations.get(command.reservationId);
        if (r === undefined) return { resultCode: 'reservation_not_found' };
        if (isTerminal(r.state)) return { resultCode: 'reservation_retired' };
        if (r.state !== 'revoking') return { resultCode: 'invalid_state' };
        this.finish(r, 'revoked', lsn, slot, false);
        return { resultCode: 'ok' };
      }
      case 'expire': {
        const r = this.reservations.get(command.reservationId);
        if (r === undefined) return { resultCode: 'reservation_not_found' };
        if (r.deadlineSlot !== command.deadlineSlot) return { resultCode: 'noop' };
        if (r.state !== 'reserved') return { resultCode: 'noop' };
        this.finish(r, 'expired', lsn, slot, true);
        return { resultCode: 'ok' };
      }
    }
  }

  /** Moves every member resource to `state` (pointing at `current`) and bumps its version. */
  private touch(r: Reservation, state: ResourceState, current: bigint | undefined): void {
    for (const id of r.members) {
      const resource = this.resources.get(id)!;
      resource.state = state;
      resource.current = current;
      resource.version += 1n;
    }
  }

  private finish(
    r: Reservation,
    state: 'released' | 'expired' | 'revoked',
    lsn: bigint,
    slot: bigint,
    bumpEpoch: boolean,
  ): void {
    r.state = state;
    if (bumpEpoch) r.leaseEpoch += 1n;
    r.releasedLsn = lsn;
    r.retireAfterSlot = slot + this.config.reservationHistoryWindowSlots;
    this.touch(r, 'available', undefined);
  }

  private bucketOf(deadline: bigint): bigint {
    return deadline % (this.config.maxTtlSlots + 1n);
  }

  private reserve(
    lsn: bigint,
    slot: bigint,
    ids: readonly bigint[],
    holderId: bigint,
    ttl: bigint,
  ): ModelOutcome {
    const c = this.config;
    if (ids.length === 0 || ids.length > c.maxBundleSize) return { resultCode: 'bundle_too_large' };
    if (ttl === 0n || ttl > c.maxTtlSlots) return { resultCode: 'ttl_out_of_range' };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (ids.slice(0, i).includes(id)) return { resultCode: 'resource_busy' };
      const resource = this.resources.get(id);
      if (resource === undefined) return { resultCode: 'resource_not_found' };
      if (resource.state !== 'available') return { resultCode: 'resource_busy' };
    }
    if (this.reservations.size >= c.maxReservations)
      return { resultCode: 'reservation_table_full' };
    let members = 0;
    for (const r of this.reservations.values()) members += r.members.length;
    if (members + ids.length > c.maxReservations * c.maxBundleSize) {
      return { resultCode: 'reservation_member_table_full' };
    }
    const deadlineSlot = slot + ttl;
    const bucket = this.bucketOf(deadlineSlot);
    let inBucket = 0;
    for (const r of this.reservations.values()) {
      if (r.state === 'reserved' && this.bucketOf(r.deadlineSlot) === bucket) inBucket++;
    }
    if (inBucket >= c.maxExpirationBucketLen) return { resultCode: 'expiration_index_full' };
    const reservationId = (c.shardId << 64n) | lsn;
    const r: Reservation = {
      reservationId,
      holderId,
      leaseEpoch: 1n,
      state: 'reserved',
      createdLsn: lsn,
      deadlineSlot,
      releasedLsn: undefined,
      retireAfterSlot: undefined,
      members: [...ids],
    };
    this.reservations.set(reservationId, r);
    this.touch(r, 'reserved', reservationId);
    return { resultCode: 'ok', reservationId, leaseEpoch: 1n, deadlineSlot };
  }

  /** The whole state in the shape of `AllocDb.snapshot()`. */
  state(): unknown {
    const byKey = <T>(entries: Iterable<[bigint, T]>) =>
      [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const reservations = byKey(this.reservations.entries());
    const wheel = new Map<bigint, bigint[]>();
    for (const [id, r] of reservations) {
      if (r.state !== 'reserved') continue;
      const bucket = this.bucketOf(r.deadlineSlot);
      const list = wheel.get(bucket) ?? [];
      list.push(id);
      wheel.set(bucket, list);
    }
    return {
      // Watermarks are absent until first set (LSNs start at 1; no reservation id is 0).
      ...(this.lastLsn === 0n
        ? {}
        : { lastAppliedLsn: this.lastLsn, lastRequestSlot: this.lastSlot }),
      ...(this.maxRetired === 0n ? {} : { maxRetiredReservationId: this.maxRetired }),
      resources: byKey(this.resources.entries()).map(([resourceId, r]) => ({
        resourceId,
        state: r.state,
        currentReservationId: r.current,
        version: r.version,
      })),
      reservations: reservations.map(([reservationId, r]) => ({
        reservationId,
        resourceId: r.members[0]!,
        holderId: r.holderId,
        leaseEpoch: r.leaseEpoch,
        state: r.state,
        createdLsn: r.createdLsn,
        deadlineSlot: r.deadlineSlot,
        releasedLsn: r.releasedLsn,
        retireAfterSlot: r.retireAfterSlot,
        memberCount: r.members.length,
      })),
      members: reservations.flatMap(([reservationId, r]) =>
        r.members.map((resourceId, memberIndex) => ({ reservationId, resourceId, memberIndex })),
      ),
      operations: byKey(this.operations.entries()).map(([operationId, op]) => ({
        operationId,
        command: op.command,
        outcome: op.outcome,
        appliedLsn: op.appliedLsn,
        retireAfterSlot: op.retireAfterSlot,
      })),
      expirationWheel: byKey(wheel.entries()).map(([bucket, reservationIds]) => ({
        bucket,
        reservationIds,
      })),
    };
  }
}

/**
 * Domain checks on a state in the shape of `AllocDb.snapshot()` that do not need the model:
 * no half-applied bundle (a live reservation holds every member resource, a terminal one none),
 * and every held resource points at a live reservation that lists it.
 */
export function checkAllocState(state: unknown): string[] {
  const s = state as {
    resources: { resourceId: bigint; state: string; currentReservationId?: bigint }[];
    reservations: { reservationId: bigint; state: string; memberCount: number }[];
    members: { reservationId: bigint; resourceId: bigint; memberIndex: number }[];
  };
  const problems: string[] = [];
  const resources = new Map(s.resources.map((r) => [r.resourceId, r]));
  const reservations = new Map(s.reservations.map((r) => [r.reservationId, r]));
  const membersOf = new Map<bigint, bigint[]>();
  for (const m of s.members) {
    const list = membersOf.get(m.reservationId) ?? [];
    list[m.memberIndex] = m.resourceId;
    membersOf.set(m.reservationId, list);
  }
  for (const r of s.reservations) {
    const members = membersOf.get(r.reservationId) ?? [];
    if (members.length !== r.memberCount || members.some((m) => m === undefined)) {
      problems.push(
        `reservation ${r.reservationId} has ${members.length}/${r.memberCount} members`,
      );
    }
    const live = r.state === 'reserved' || r.state === 'confirmed' || r.state === 'revoking';
    const holding = members.filter(
      (id) => resources.get(id)?.currentReservationId === r.reservationId,
    );
    if (live && holding.length !== members.length) {
      problems.push(
        `half-applied bundle: live reservation ${r.reservationId} (${r.state}) holds ${holding.length} of its ${members.length} resources`,
      );
    }
    if (live) {
      for (const id of members) {
        const resource = resources.get(id);
        if (resource !== undefined && resource.state !== r.state) {
          problems.push(`resource ${id} is ${resource.state} but its reservation is ${r.state}`);
        }
      }
    }
    if (!live && holding.length > 0) {
      problems.push(
        `terminal reservation ${r.reservationId} still holds ${holding.length} resources`,
      );
    }
  }
  for (const resource of s.resources) {
    const held = resource.currentReservationId;
    if ((resource.state === 'available') !== (held === undefined)) {
      problems.push(`resource ${resource.resourceId} is ${resource.state} with holder ${held}`);
    }
    if (held === undefined) continue;
    const owner = reservations.get(held);
    if (owner === undefined) {
      problems.push(`resource ${resource.resourceId} points at missing reservation ${held}`);
    } else if (!(membersOf.get(held) ?? []).includes(resource.resourceId)) {
      problems.push(`resource ${resource.resourceId} points at ${held}, which does not list it`);
    }
  }
  return problems;
}
