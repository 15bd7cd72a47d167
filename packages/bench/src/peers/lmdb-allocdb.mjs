// The lease allocator's semantics (docs/allocdb-state-machine.md) on LMDB through lmdb-js: the same rules, in
// the same order, as the SQLite peer (sqlite-allocdb.mjs), over binary sub-databases:
// - `resources`: u128 id → state u8, has-reservation u8, reservation id (16), version u64;
// - `reservations`: u128 id → the record (fixed layout below);
// - `members`: reservation id ‖ u32 member index → resource id;
// - `operations`: u128 operationId → result, optional result fields, applied LSN,
//   retireAfterSlot, then the canonical command bytes (compared byte for byte on a retry);
// - `retiring` and `opRetire`: u64 retireAfterSlot ‖ id → nothing, the indexes retirement walks
//   in key order (LMDB keys are ordered byte strings; big-endian numbers sort as numbers).
// One `transactionSync` per batch: one durable commit. Single writer: table sizes and the wheel's
// bucket lengths are cached in memory (rebuilt after an abort), as in the SQLite peer.
import { binaryStore, key128, openEnvironment, read128, scratchDir } from './lmdb-common.mjs';

const CODES = [
  'ok',
  'noop',
  'already_exists',
  'resource_table_full',
  'resource_not_found',
  'resource_busy',
  'bundle_too_large',
  'ttl_out_of_range',
  'reservation_table_full',
  'reservation_member_table_full',
  'reservation_not_found',
  'reservation_retired',
  'expiration_index_full',
  'operation_table_full',
  'operation_conflict',
  'invalid_state',
  'holder_mismatch',
  'stale_epoch',
  'slot_overflow',
];
const CODE = Object.fromEntries(CODES.map((code, i) => [code, i]));
const outcome = (resultCode) => ({ resultCode });
const U64_MAX = (1n << 64n) - 1n;
const META_KEY = Buffer.from('meta');
const EMPTY = Buffer.alloc(0);

const AVAILABLE = 0;
const HELD = { reserved: 1, confirmed: 2, revoking: 3 };
const RESOURCE_STATES = ['available', 'reserved', 'confirmed', 'revoking'];
const R = { reserved: 0, confirmed: 1, revoking: 2, released: 3, expired: 4, revoked: 5 };
const RESERVATION_STATES = ['reserved', 'confirmed', 'revoking', 'released', 'expired', 'revoked'];
const isTerminal = (state) => state >= R.released;
const KIND = {
  create_resource: 1,
  reserve: 2,
  reserve_bundle: 3,
  confirm: 4,
  release: 5,
  revoke: 6,
  reclaim: 7,
  expire: 8,
};

// Reservation record layout.
const V = {
  resourceId: 0,
  holderId: 16,
  leaseEpoch: 32,
  state: 40,
  createdLsn: 41,
  deadlineSlot: 49,
  hasReleased: 57,
  releasedLsn: 58,
  hasRetire: 66,
  retireAfterSlot: 67,
  memberCount: 75,
  hasWheel: 79,
  wheelBucket: 80,
  bytes: 88,
};

/** Canonical bytes of a command (as the SQLite peer's). */
function encodeCommand(command) {
  const ids = [];
  switch (command.kind) {
    case 'create_resource':
      ids.push(command.resourceId);
      break;
    case 'reserve':
      ids.push(command.resourceId, command.holderId, command.ttlSlots);
      break;
    case 'reserve_bundle':
      ids.push(command.holderId, command.ttlSlots, ...command.resourceIds);
      break;
    case 'confirm':
    case 'release':
      ids.push(command.reservationId, command.holderId, command.leaseEpoch);
      break;
    case 'revoke':
    case 'reclaim':
      ids.push(command.reservationId);
      break;
    case 'expire':
      ids.push(command.reservationId, command.deadlineSlot);
      break;
    default:
      throw new Error(`unknown command kind ${command.kind}`);
  }
  const bytes = Buffer.allocUnsafe(1 + 16 * ids.length);
  bytes[0] = KIND[command.kind];
  for (let i = 0; i < ids.length; i++) key128(ids[i]).copy(bytes, 1 + 16 * i);
  return bytes;
}

function slotKey(slot, idKey) {
  const bytes = Buffer.allocUnsafe(24);
  bytes.writeBigUInt64BE(slot, 0);
  idKey.copy(bytes, 8);
  return bytes;
}

function memberKey(reservationKey, index) {
  const bytes = Buffer.allocUnsafe(20);
  reservationKey.copy(bytes, 0);
  bytes.writeUInt32BE(index, 16);
  return bytes;
}

export class LmdbAllocDb {
  /**
   * @param {{ dir?: string, durable?: boolean, config: object }} options `dir` undefined: a
   *   scratch directory, not durable (removed by close).
   */
  constructor({ dir, durable = dir !== undefined, config }) {
    this.config = config;
    this.window = config.maxTtlSlots + config.maxClientRetryWindowSlots;
    this.wheelSize = config.maxTtlSlots + 1n;
    this.memberCapacity = config.maxReservations * config.maxBundleSize;
    this.idBase = config.shardId << 64n;
    this.scratch = dir === undefined ? scratchDir() : undefined;
    const env = openEnvironment(dir ?? this.scratch, { durable });
    this.env = env;
    this.resourcesDb = binaryStore(env, 'resources');
    this.reservationsDb = binaryStore(env, 'reservations');
    this.membersDb = binaryStore(env, 'members');
    this.operationsDb = binaryStore(env, 'operations');
    this.retiringDb = binaryStore(env, 'retiring');
    this.opRetireDb = binaryStore(env, 'opRetire');
    this.metaDb = binaryStore(env, 'meta');
    this.load();
  }

  /** (Re)loads the watermarks, the cached sizes and the wheel's bucket lengths. */
  load() {
    const meta = this.metaDb.get(META_KEY);
    this.lastLsn = meta === undefined || meta[0] === 0 ? undefined : meta.readBigUInt64BE(1);
    this.lastSlot = meta === undefined || meta[0] === 0 ? undefined : meta.readBigUInt64BE(9);
    this.maxRetired = meta === undefined || meta[17] === 0 ? undefined : read128(meta, 18);
    this.retiredBelow = this.lastSlot ?? 0n;
    this.resources = this.resourcesDb.getKeysCount();
    this.reservations = this.reservationsDb.getKeysCount();
    this.members = this.membersDb.getKeysCount();
    this.operations = this.operationsDb.getKeysCount();
    this.wheel = new Map();
    for (const { value } of this.reservationsDb.getRange({})) {
      if (value[V.hasWheel] === 1) {
        const bucket = value.readBigUInt64BE(V.wheelBucket);
        this.wheel.set(bucket, (this.wheel.get(bucket) ?? 0) + 1);
      }
    }
  }

  saveMeta() {
    const meta = Buffer.alloc(34);
    if (this.lastLsn !== undefined) {
      meta[0] = 1;
      meta.writeBigUInt64BE(this.lastLsn, 1);
      meta.writeBigUInt64BE(this.lastSlot, 9);
    }
    if (this.maxRetired !== undefined) {
      meta[17] = 1;
      key128(this.maxRetired).copy(meta, 18);
    }
    this.metaDb.putSync(META_KEY, meta);
  }

  /** Applies items (`{ context, request }` or `{ context, command }`) in one transaction. */
  applyBatch(items) {
    return this.transact(() =>
      items.map((item) =>
        item.request === undefined
          ? this.applyInternal(item.context, item.command)
          : this.applyClient(item.context, item.request),
      ),
    );
  }

  /** Runs `fn(this)` in one transaction. */
  transact(fn) {
    try {
      return this.env.transactionSync(() => {
        const result = fn(this);
        this.saveMeta();
        return result;
      });
    } catch (error) {
      this.load();
      throw error;
    }
  }

  /** The engines' sequencer: next LSNs, the slot raised to the last one. */
  submitBatch(requests, requestSlot) {
    let lsn = this.lastLsn ?? 0n;
    const slot =
      this.lastSlot !== undefined && requestSlot < this.lastSlot ? this.lastSlot : requestSlot;
    return this.applyBatch(
      requests.map((request) => ({ context: { lsn: ++lsn, requestSlot: slot }, request })),
    );
  }

  slotOverflows(slot, command, fromClient) {
    const kind = command.kind;
    if (kind === 'reserve' || kind === 'reserve_bundle') {
      if (slot + command.ttlSlots > U64_MAX) return true;
    } else if (kind === 'release' || kind === 'reclaim' || kind === 'expire') {
      if (slot + this.config.reservationHistoryWindowSlots > U64_MAX) return true;
    }
    return fromClient && slot + this.window > U64_MAX;
  }

  /** Steps 2 and 3: order check, watermarks, retirement (reservations, then operations). */
  advance(lsn, slot) {
    if (this.lastLsn !== undefined && (lsn <= this.lastLsn || slot < this.lastSlot)) {
      throw new Error(`apply order violated at lsn ${lsn}, slot ${slot}`);
    }
    this.lastLsn = lsn;
    this.lastSlot = slot;
    if (slot <= this.retiredBelow) return;
    this.retiredBelow = slot;
    const end = slotKey(slot, Buffer.alloc(16));
    const due = Array.from(this.retiringDb.getKeys({ end }), (key) => Buffer.from(key));
    for (const entry of due) {
      this.retiringDb.removeSync(entry);
      const key = entry.subarray(8);
      const record = this.reservationsDb.get(key);
      const count = record.readUInt32BE(V.memberCount);
      for (let i = 0; i < count; i++) this.membersDb.removeSync(memberKey(key, i));
      this.members -= count;
      this.reservationsDb.removeSync(key);
      this.reservations--;
      const id = read128(key);
      if (this.maxRetired === undefined || id > this.maxRetired) this.maxRetired = id;
    }
    const dueOperations = Array.from(this.opRetireDb.getKeys({ end }), (key) => Buffer.from(key));
    for (const entry of dueOperations) {
      this.opRetireDb.removeSync(entry);
      this.operationsDb.removeSync(entry.subarray(8));
      this.operations--;
    }
  }

  applyClient({ lsn, requestSlot }, request) {
    if (this.slotOverflows(requestSlot, request.command, true)) return outcome('slot_overflow');
    this.advance(lsn, requestSlot);
    const operationKey = key128(request.operationId);
    const command = encodeCommand(request.command);
    const stored = this.operationsDb.get(operationKey);
    if (stored !== undefined) {
      if (Buffer.compare(stored.subarray(50), command) !== 0) return outcome('operation_conflict');
      const resultCode = CODES[stored[0]];
      if (stored[1] === 0) return outcome(resultCode);
      return {
        resultCode,
        reservationId: read128(stored, 2),
        leaseEpoch: stored.readBigUInt64BE(18),
        deadlineSlot: stored.readBigUInt64BE(26),
      };
    }
    if (this.operations >= this.config.maxOperations) return outcome('operation_table_full');
    const result = this.execute(lsn, requestSlot, request.command);
    const record = Buffer.alloc(50 + command.length);
    record[0] = CODE[result.resultCode];
    if (result.reservationId !== undefined) {
      record[1] = 1;
      key128(result.reservationId).copy(record, 2);
      record.writeBigUInt64BE(result.leaseEpoch, 18);
      record.writeBigUInt64BE(result.deadlineSlot, 26);
    }
    const retireAfterSlot = requestSlot + this.window;
    record.writeBigUInt64BE(lsn, 34);
    record.writeBigUInt64BE(retireAfterSlot, 42);
    command.copy(record, 50);
    this.operationsDb.putSync(operationKey, record);
    this.opRetireDb.putSync(slotKey(retireAfterSlot, operationKey), EMPTY);
    this.operations++;
    return result;
  }

  applyInternal({ lsn, requestSlot }, command) {
    if (this.slotOverflows(requestSlot, command, false)) return outcome('slot_overflow');
    this.advance(lsn, requestSlot);
    return this.execute(lsn, requestSlot, command);
  }

  execute(lsn, slot, command) {
    switch (command.kind) {
      case 'create_resource': {
        const key = key128(command.resourceId);
        if (this.resourcesDb.get(key) !== undefined) return outcome('already_exists');
        if (this.resources >= this.config.maxResources) return outcome('resource_table_full');
        this.resourcesDb.putSync(key, Buffer.alloc(26));
        this.resources++;
        return outcome('ok');
      }
      case 'reserve':
        return this.reserve(lsn, slot, [command.resourceId], command.holderId, command.ttlSlots);
      case 'reserve_bundle':
        return this.reserve(lsn, slot, command.resourceIds, command.holderId, command.ttlSlots);
      case 'confirm':
      case 'release':
        return this.confirmOrRelease(lsn, slot, command);
      case 'revoke': {
        const key = key128(command.reservationId);
        const r = this.reservationsDb.get(key);
        if (r === undefined) return outcome('reservation_not_found');
        const state = r[V.state];
        if (isTerminal(state)) return outcome('reservation_retired');
        if (state !== R.confirmed) return outcome('invalid_state');
        const updated = Buffer.from(r);
        updated[V.state] = R.revoking;
        updated.writeBigUInt64BE(r.readBigUInt64BE(V.leaseEpoch) + 1n, V.leaseEpoch);
        this.reservationsDb.putSync(key, updated);
        this.setMemberResources(key, r, HELD.revoking, key);
        return outcome('ok');
      }
      case 'reclaim': {
        const key = key128(command.reservationId);
        const r = this.reservationsDb.get(key);
        if (r === undefined) return outcome('reservation_not_found');
        if (isTerminal(r[V.state])) return outcome('reservation_retired');
        if (r[V.state] !== R.revoking) return outcome('invalid_state');
        this.finish(key, r, R.revoked, lsn, slot, 0n);
        return outcome('ok');
      }
      case 'expire': {
        const key = key128(command.reservationId);
        const r = this.reservationsDb.get(key);
        if (r === undefined) return outcome('reservation_not_found');
        if (r.readBigUInt64BE(V.deadlineSlot) !== command.deadlineSlot) return outcome('noop');
        if (r[V.state] !== R.reserved) return outcome('noop');
        this.finish(key, r, R.expired, lsn, slot, 1n);
        return outcome('ok');
      }
      default:
        throw new Error(`unknown command kind ${command.kind}`);
    }
  }

  reserve(lsn, slot, resourceIds, holderId, ttlSlots) {
    const config = this.config;
    const count = resourceIds.length;
    if (count === 0 || count > config.maxBundleSize) return outcome('bundle_too_large');
    if (ttlSlots === 0n || ttlSlots > config.maxTtlSlots) return outcome('ttl_out_of_range');
    const keys = new Array(count);
    for (let i = 0; i < count; i++) {
      const id = resourceIds[i];
      for (let j = 0; j < i; j++) if (resourceIds[j] === id) return outcome('resource_busy');
      keys[i] = key128(id);
      const resource = this.resourcesDb.get(keys[i]);
      if (resource === undefined) return outcome('resource_not_found');
      if (resource[0] !== AVAILABLE) return outcome('resource_busy');
    }
    if (this.reservations >= config.maxReservations) return outcome('reservation_table_full');
    if (this.members + count > this.memberCapacity) {
      return outcome('reservation_member_table_full');
    }
    const deadlineSlot = slot + ttlSlots;
    const bucket = deadlineSlot % this.wheelSize;
    const inBucket = this.wheel.get(bucket) ?? 0;
    if (inBucket >= config.maxExpirationBucketLen) return outcome('expiration_index_full');

    const reservationId = this.idBase | lsn;
    const key = key128(reservationId);
    const record = Buffer.alloc(V.bytes);
    keys[0].copy(record, V.resourceId);
    key128(holderId).copy(record, V.holderId);
    record.writeBigUInt64BE(1n, V.leaseEpoch);
    record[V.state] = R.reserved;
    record.writeBigUInt64BE(lsn, V.createdLsn);
    record.writeBigUInt64BE(deadlineSlot, V.deadlineSlot);
    record.writeUInt32BE(count, V.memberCount);
    record[V.hasWheel] = 1;
    record.writeBigUInt64BE(bucket, V.wheelBucket);
    this.reservationsDb.putSync(key, record);
    for (let i = 0; i < count; i++) {
      this.membersDb.putSync(memberKey(key, i), keys[i]);
      const resource = Buffer.from(this.resourcesDb.get(keys[i]));
      resource[0] = HELD.reserved;
      resource[1] = 1;
      key.copy(resource, 2);
      resource.writeBigUInt64BE(resource.readBigUInt64BE(18) + 1n, 18);
      this.resourcesDb.putSync(keys[i], resource);
    }
    this.reservations++;
    this.members += count;
    this.wheel.set(bucket, inBucket + 1);
    return { resultCode: 'ok', reservationId, leaseEpoch: 1n, deadlineSlot };
  }

  confirmOrRelease(lsn, slot, command) {
    const key = key128(command.reservationId);
    const r = this.reservationsDb.get(key);
    if (r === undefined) return outcome('reservation_not_found');
    if (read128(r, V.holderId) !== command.holderId) return outcome('holder_mismatch');
    if (r.readBigUInt64BE(V.leaseEpoch) !== command.leaseEpoch) return outcome('stale_epoch');
    const state = r[V.state];
    if (isTerminal(state)) return outcome('reservation_retired');
    if (command.kind === 'confirm') {
      if (state !== R.reserved) return outcome('invalid_state');
      this.unschedule(r);
      const updated = Buffer.from(r);
      updated[V.state] = R.confirmed;
      updated[V.hasWheel] = 0;
      this.reservationsDb.putSync(key, updated);
      this.setMemberResources(key, r, HELD.confirmed, key);
      return outcome('ok');
    }
    if (state === R.revoking) return outcome('invalid_state');
    this.finish(key, r, R.released, lsn, slot, 1n);
    return outcome('ok');
  }

  unschedule(r) {
    if (r[V.hasWheel] === 1) {
      const bucket = r.readBigUInt64BE(V.wheelBucket);
      this.wheel.set(bucket, this.wheel.get(bucket) - 1);
    }
  }

  /** Every member resource of the reservation: state, holder, version + 1. */
  setMemberResources(key, r, state, holder) {
    const count = r.readUInt32BE(V.memberCount);
    for (let i = 0; i < count; i++) {
      const resourceKey = Buffer.from(this.membersDb.get(memberKey(key, i)));
      const resource = Buffer.from(this.resourcesDb.get(resourceKey));
      resource[0] = state;
      if (holder === null) {
        resource[1] = 0;
        resource.fill(0, 2, 18);
      } else {
        resource[1] = 1;
        holder.copy(resource, 2);
      }
      resource.writeBigUInt64BE(resource.readBigUInt64BE(18) + 1n, 18);
      this.resourcesDb.putSync(resourceKey, resource);
    }
  }

  /** Release, expire and reclaim: terminal, resources freed, retirement after the window. */
  finish(key, r, terminalState, lsn, slot, epochIncrement) {
    if (r[V.state] === R.reserved) this.unschedule(r);
    const retireAfterSlot = slot + this.config.reservationHistoryWindowSlots;
    const updated = Buffer.from(r);
    updated[V.state] = terminalState;
    updated.writeBigUInt64BE(r.readBigUInt64BE(V.leaseEpoch) + epochIncrement, V.leaseEpoch);
    updated[V.hasReleased] = 1;
    updated.writeBigUInt64BE(lsn, V.releasedLsn);
    updated[V.hasRetire] = 1;
    updated.writeBigUInt64BE(retireAfterSlot, V.retireAfterSlot);
    updated[V.hasWheel] = 0;
    this.reservationsDb.putSync(key, updated);
    this.retiringDb.putSync(slotKey(retireAfterSlot, key), EMPTY);
    this.setMemberResources(key, r, AVAILABLE, null);
  }

  /** The resource record as allocdb-core's getResource returns its fields. */
  getResource(resourceId) {
    const resource = this.resourcesDb.get(key128(resourceId));
    if (resource === undefined) return undefined;
    return {
      resourceId,
      state: RESOURCE_STATES[resource[0]],
      currentReservationId: resource[1] === 0 ? undefined : read128(resource, 2),
      version: resource.readBigUInt64BE(18),
    };
  }

  /** The reservation's state and epoch, or undefined when not in the table. */
  getReservation(reservationId) {
    const r = this.reservationsDb.get(key128(reservationId));
    if (r === undefined) return undefined;
    return {
      state: RESERVATION_STATES[r[V.state]],
      leaseEpoch: r.readBigUInt64BE(V.leaseEpoch),
      deadlineSlot: r.readBigUInt64BE(V.deadlineSlot),
      retireAfterSlot: r[V.hasRetire] === 0 ? undefined : r.readBigUInt64BE(V.retireAfterSlot),
    };
  }

  get sizes() {
    return {
      resources: this.resources,
      reservations: this.reservations,
      members: this.members,
      operations: this.operations,
    };
  }

  close() {
    const closing = this.env.close();
    if (this.scratch === undefined) return closing;
    const dir = this.scratch;
    return Promise.resolve(closing).then(() =>
      import('node:fs').then(({ rmSync }) => rmSync(dir, { recursive: true, force: true })),
    );
  }
}
