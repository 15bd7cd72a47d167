// The lease allocator's semantics (docs/allocdb-state-machine.md) on SQLite: resources, reservations, members
// and operations tables; the eight commands with the spec's checks in the spec's order; the slot
// pre-check; dedupe on operationId with conflicting reuse answered; bounded tables; retirement of
// terminal reservations and operation records after their windows; the expiration wheel's
// per-bucket bound. One transaction per batch.
//
// Single writer: table sizes and wheel-bucket lengths are cached in memory (reloaded after a
// rollback) instead of counted on every command: the favourable choice for the peer.
import {
  fromU64,
  fromU128,
  openDatabase,
  sameBytes,
  U64_MAX,
  u64,
  u128,
} from './sqlite-common.mjs';

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

// Resource states and reservation states as small integers.
const AVAILABLE = 0n;
const HELD = { reserved: 1n, confirmed: 2n, revoking: 3n };
const RESOURCE_STATES = ['available', 'reserved', 'confirmed', 'revoking'];
const R = { reserved: 0n, confirmed: 1n, revoking: 2n, released: 3n, expired: 4n, revoked: 5n };
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  last_lsn INTEGER,
  last_slot INTEGER,
  max_retired_reservation_id BLOB
);
INSERT OR IGNORE INTO meta (id) VALUES (0);
CREATE TABLE IF NOT EXISTS resources (
  resource_id BLOB PRIMARY KEY,
  state INTEGER NOT NULL,
  reservation_id BLOB,
  version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reservations (
  reservation_id BLOB PRIMARY KEY,
  resource_id BLOB NOT NULL,
  holder_id BLOB NOT NULL,
  lease_epoch INTEGER NOT NULL,
  state INTEGER NOT NULL,
  created_lsn INTEGER NOT NULL,
  deadline_slot INTEGER NOT NULL,
  released_lsn INTEGER,
  retire_after_slot INTEGER,
  member_count INTEGER NOT NULL,
  wheel_bucket INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reservations_retire ON reservations (retire_after_slot)
  WHERE retire_after_slot IS NOT NULL;
CREATE TABLE IF NOT EXISTS members (
  reservation_id BLOB NOT NULL,
  member_index INTEGER NOT NULL,
  resource_id BLOB NOT NULL,
  PRIMARY KEY (reservation_id, member_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS operations (
  operation_id BLOB PRIMARY KEY,
  command BLOB NOT NULL,
  result_code INTEGER NOT NULL,
  reservation_id BLOB,
  lease_epoch INTEGER,
  deadline_slot INTEGER,
  applied_lsn INTEGER NOT NULL,
  retire_after_slot INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS operations_retire ON operations (retire_after_slot);
`;

/** Canonical bytes of a command (kind byte, then fixed-width fields), compared by dedupe. */
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
  for (let i = 0; i < ids.length; i++) {
    bytes.writeBigUInt64BE(ids[i] >> 64n, 1 + 16 * i);
    bytes.writeBigUInt64BE(BigInt.asUintN(64, ids[i]), 9 + 16 * i);
  }
  return bytes;
}

export class SqliteAllocDb {
  /** @param {{ file?: string, config: object }} options `file` undefined: in memory. */
  constructor({ file, config }) {
    this.config = config;
    this.window = config.maxTtlSlots + config.maxClientRetryWindowSlots;
    this.wheelSize = config.maxTtlSlots + 1n;
    this.memberCapacity = config.maxReservations * config.maxBundleSize;
    this.idBase = config.shardId << 64n;
    const db = openDatabase(file);
    this.db = db;
    db.exec(SCHEMA);
    const p = (sql) => db.prepare(sql);
    this.st = {
      meta: p('SELECT last_lsn, last_slot, max_retired_reservation_id FROM meta WHERE id = 0'),
      setMeta: p(
        'UPDATE meta SET last_lsn = ?, last_slot = ?, max_retired_reservation_id = ? WHERE id = 0',
      ),
      counts: p(`SELECT (SELECT count(*) FROM resources) AS resources,
        (SELECT count(*) FROM reservations) AS reservations,
        (SELECT count(*) FROM members) AS members,
        (SELECT count(*) FROM operations) AS operations`),
      wheel: p(
        'SELECT wheel_bucket, count(*) AS n FROM reservations WHERE wheel_bucket IS NOT NULL GROUP BY wheel_bucket',
      ),
      // Retirement.
      dueReservations: p(
        'SELECT reservation_id, member_count FROM reservations WHERE retire_after_slot < ?',
      ),
      deleteMembers: p('DELETE FROM members WHERE reservation_id = ?'),
      deleteReservation: p('DELETE FROM reservations WHERE reservation_id = ?'),
      retireOperations: p('DELETE FROM operations WHERE retire_after_slot < ?'),
      // Dedupe.
      getOperation: p(
        'SELECT command, result_code, reservation_id, lease_epoch, deadline_slot FROM operations WHERE operation_id = ?',
      ),
      putOperation: p(
        'INSERT INTO operations (operation_id, command, result_code, reservation_id, lease_epoch, deadline_slot, applied_lsn, retire_after_slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      // Resources.
      getResource: p('SELECT state, reservation_id, version FROM resources WHERE resource_id = ?'),
      resourceState: p('SELECT state FROM resources WHERE resource_id = ?'),
      putResource: p(
        'INSERT INTO resources (resource_id, state, reservation_id, version) VALUES (?, 0, NULL, 0)',
      ),
      holdResource: p(
        'UPDATE resources SET state = 1, reservation_id = ?, version = version + 1 WHERE resource_id = ?',
      ),
      setMemberResources: p(
        'UPDATE resources SET state = ?, reservation_id = ?, version = version + 1 WHERE resource_id IN (SELECT resource_id FROM members WHERE reservation_id = ?)',
      ),
      // Reservations.
      getReservation: p(
        'SELECT holder_id, lease_epoch, state, deadline_slot, wheel_bucket FROM reservations WHERE reservation_id = ?',
      ),
      putReservation: p(
        'INSERT INTO reservations (reservation_id, resource_id, holder_id, lease_epoch, state, created_lsn, deadline_slot, released_lsn, retire_after_slot, member_count, wheel_bucket) VALUES (?, ?, ?, 1, 0, ?, ?, NULL, NULL, ?, ?)',
      ),
      putMember: p(
        'INSERT INTO members (reservation_id, member_index, resource_id) VALUES (?, ?, ?)',
      ),
      confirmReservation: p(
        'UPDATE reservations SET state = 1, wheel_bucket = NULL WHERE reservation_id = ?',
      ),
      revokeReservation: p(
        'UPDATE reservations SET state = 2, lease_epoch = lease_epoch + 1 WHERE reservation_id = ?',
      ),
      finishReservation: p(
        'UPDATE reservations SET state = ?, lease_epoch = lease_epoch + ?, released_lsn = ?, retire_after_slot = ?, wheel_bucket = NULL WHERE reservation_id = ?',
      ),
      fullReservation: p('SELECT * FROM reservations WHERE reservation_id = ?'),
    };
    this.load();
    this.transaction = db.transaction((items, out) => {
      for (const item of items) {
        out.push(
          item.request === undefined
            ? this.applyInternal(item.context, item.command)
            : this.applyClient(item.context, item.request),
        );
      }
      this.saveMeta();
    });
  }

  saveMeta() {
    this.st.setMeta.run(
      this.lastLsn === undefined ? null : u64(this.lastLsn),
      this.lastSlot === undefined ? null : u64(this.lastSlot),
      this.maxRetired === undefined ? null : u128(this.maxRetired),
    );
  }

  /** (Re)loads the watermarks and cached sizes from the database. */
  load() {
    const meta = this.st.meta.get();
    this.lastLsn = meta.last_lsn === null ? undefined : fromU64(meta.last_lsn);
    this.lastSlot = meta.last_slot === null ? undefined : fromU64(meta.last_slot);
    this.maxRetired =
      meta.max_retired_reservation_id === null
        ? undefined
        : fromU128(meta.max_retired_reservation_id);
    this.retiredBelow = this.lastSlot ?? 0n;
    const counts = this.st.counts.get();
    this.resources = Number(counts.resources);
    this.reservations = Number(counts.reservations);
    this.members = Number(counts.members);
    this.operations = Number(counts.operations);
    this.wheel = new Map();
    for (const { wheel_bucket, n } of this.st.wheel.all()) this.wheel.set(wheel_bucket, Number(n));
  }

  /**
   * Applies items in one transaction (one commit, so one WAL fsync when durable): client items
   * `{ context, request }`, internal items `{ context, command }`. Returns the outcomes.
   */
  applyBatch(items) {
    const out = [];
    try {
      this.transaction(items, out);
    } catch (error) {
      this.load();
      throw error;
    }
    return out;
  }

  /**
   * Runs `fn(this)` in one transaction; `fn` calls `applyClient` / `applyInternal` itself
   * (for workloads whose next command depends on the previous outcome).
   */
  transact(fn) {
    if (this.transactFn === undefined) {
      this.transactFn = this.db.transaction((body) => {
        const result = body(this);
        this.saveMeta();
        return result;
      });
    }
    try {
      return this.transactFn(fn);
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
    const below = u64(slot);
    for (const due of this.st.dueReservations.all(below)) {
      this.members -= this.st.deleteMembers.run(due.reservation_id).changes;
      this.st.deleteReservation.run(due.reservation_id);
      this.reservations--;
      const id = fromU128(due.reservation_id);
      if (this.maxRetired === undefined || id > this.maxRetired) this.maxRetired = id;
    }
    this.operations -= this.st.retireOperations.run(below).changes;
  }

  applyClient({ lsn, requestSlot }, request) {
    if (this.slotOverflows(requestSlot, request.command, true)) return outcome('slot_overflow');
    this.advance(lsn, requestSlot);
    const operationKey = u128(request.operationId);
    const command = encodeCommand(request.command);
    const stored = this.st.getOperation.get(operationKey);
    if (stored !== undefined) {
      if (!sameBytes(stored.command, command)) return outcome('operation_conflict');
      const resultCode = CODES[Number(stored.result_code)];
      if (stored.reservation_id === null) return outcome(resultCode);
      return {
        resultCode,
        reservationId: fromU128(stored.reservation_id),
        leaseEpoch: stored.lease_epoch,
        deadlineSlot: fromU64(stored.deadline_slot),
      };
    }
    if (this.operations >= this.config.maxOperations) return outcome('operation_table_full');
    const result = this.execute(lsn, requestSlot, request.command);
    this.st.putOperation.run(
      operationKey,
      command,
      CODE[result.resultCode],
      result.reservationId === undefined ? null : u128(result.reservationId),
      result.leaseEpoch ?? null,
      result.deadlineSlot === undefined ? null : u64(result.deadlineSlot),
      u64(lsn),
      u64(requestSlot + this.window),
    );
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
        const key = u128(command.resourceId);
        if (this.st.resourceState.get(key) !== undefined) return outcome('already_exists');
        if (this.resources >= this.config.maxResources) return outcome('resource_table_full');
        this.st.putResource.run(key);
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
        const key = u128(command.reservationId);
        const r = this.st.getReservation.get(key);
        if (r === undefined) return outcome('reservation_not_found');
        if (isTerminal(r.state)) return outcome('reservation_retired');
        if (r.state !== R.confirmed) return outcome('invalid_state');
        this.st.revokeReservation.run(key);
        this.st.setMemberResources.run(HELD.revoking, key, key);
        return outcome('ok');
      }
      case 'reclaim': {
        const key = u128(command.reservationId);
        const r = this.st.getReservation.get(key);
        if (r === undefined) return outcome('reservation_not_found');
        if (isTerminal(r.state)) return outcome('reservation_retired');
        if (r.state !== R.revoking) return outcome('invalid_state');
        this.finish(key, r, R.revoked, lsn, slot, 0n);
        return outcome('ok');
      }
      case 'expire': {
        const key = u128(command.reservationId);
        const r = this.st.getReservation.get(key);
        if (r === undefined) return outcome('reservation_not_found');
        if (fromU64(r.deadline_slot) !== command.deadlineSlot) return outcome('noop');
        if (r.state !== R.reserved) return outcome('noop');
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
      keys[i] = u128(id);
      const resource = this.st.resourceState.get(keys[i]);
      if (resource === undefined) return outcome('resource_not_found');
      if (resource.state !== AVAILABLE) return outcome('resource_busy');
    }
    if (this.reservations >= config.maxReservations) return outcome('reservation_table_full');
    if (this.members + count > this.memberCapacity) {
      return outcome('reservation_member_table_full');
    }
    const deadlineSlot = slot + ttlSlots;
    const bucket = u64(deadlineSlot % this.wheelSize);
    const inBucket = this.wheel.get(bucket) ?? 0;
    if (inBucket >= config.maxExpirationBucketLen) return outcome('expiration_index_full');

    const reservationId = this.idBase | lsn;
    const key = u128(reservationId);
    this.st.putReservation.run(
      key,
      keys[0],
      u128(holderId),
      u64(lsn),
      u64(deadlineSlot),
      count,
      bucket,
    );
    for (let i = 0; i < count; i++) {
      this.st.putMember.run(key, i, keys[i]);
      this.st.holdResource.run(key, keys[i]);
    }
    this.reservations++;
    this.members += count;
    this.wheel.set(bucket, inBucket + 1);
    return { resultCode: 'ok', reservationId, leaseEpoch: 1n, deadlineSlot };
  }

  confirmOrRelease(lsn, slot, command) {
    const key = u128(command.reservationId);
    const r = this.st.getReservation.get(key);
    if (r === undefined) return outcome('reservation_not_found');
    if (fromU128(r.holder_id) !== command.holderId) return outcome('holder_mismatch');
    if (r.lease_epoch !== command.leaseEpoch) return outcome('stale_epoch');
    if (isTerminal(r.state)) return outcome('reservation_retired');
    if (command.kind === 'confirm') {
      if (r.state !== R.reserved) return outcome('invalid_state');
      this.unschedule(r);
      this.st.confirmReservation.run(key);
      this.st.setMemberResources.run(HELD.confirmed, key, key);
      return outcome('ok');
    }
    if (r.state === R.revoking) return outcome('invalid_state');
    this.finish(key, r, R.released, lsn, slot, 1n);
    return outcome('ok');
  }

  unschedule(r) {
    if (r.wheel_bucket !== null) {
      this.wheel.set(r.wheel_bucket, this.wheel.get(r.wheel_bucket) - 1);
    }
  }

  /** Release, expire and reclaim: terminal, resources freed, retirement after the window. */
  finish(key, r, terminalState, lsn, slot, epochIncrement) {
    if (r.state === R.reserved) this.unschedule(r);
    this.st.finishReservation.run(
      terminalState,
      epochIncrement,
      u64(lsn),
      u64(slot + this.config.reservationHistoryWindowSlots),
      key,
    );
    this.st.setMemberResources.run(AVAILABLE, null, key);
  }

  /** The resource record as allocdb-core's getResource returns its fields. */
  getResource(resourceId) {
    const resource = this.st.getResource.get(u128(resourceId));
    if (resource === undefined) return undefined;
    return {
      resourceId,
      state: RESOURCE_STATES[Number(resource.state)],
      currentReservationId:
        resource.reservation_id === null ? undefined : fromU128(resource.reservation_id),
      version: resource.version,
    };
  }

  /** The reservation's state and epoch, or undefined when not in the table. */
  getReservation(reservationId) {
    const r = this.st.fullReservation.get(u128(reservationId));
    if (r === undefined) return undefined;
    return {
      state: RESERVATION_STATES[Number(r.state)],
      leaseEpoch: r.lease_epoch,
      deadlineSlot: fromU64(r.deadline_slot),
      retireAfterSlot: r.retire_after_slot === null ? undefined : fromU64(r.retire_after_slot),
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
    this.db.close();
  }
}
