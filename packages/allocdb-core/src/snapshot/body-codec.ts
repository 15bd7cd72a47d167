/**
 * The snapshot body: a schema-versioned, canonical little-endian encoding of `AllocDbSnapshot`
 * (layout in docs/format.md). The durable engine wraps it in the snapshot file (header, CRC).
 *
 *   u16 schema version
 *   u64 lastAppliedLsn, u64 lastRequestSlot, u128 maxRetiredReservationId
 *                            (0, 0, 0 while absent: no real LSN or reservation id is 0, so
 *                            LSN 0 means "no command yet", and then the slot must be 0 too)
 *   u32 n, n × resource      u128 id, u8 state, u64 version, u8 has-reservation, [u128 id]
 *   u32 n, n × reservation   u128 id, u128 resourceId, u128 holderId, u64 leaseEpoch, u8 state,
 *                            u64 createdLsn, u64 deadlineSlot, u8 flags (1 releasedLsn,
 *                            2 retireAfterSlot), [u64 releasedLsn], [u64 retireAfterSlot],
 *                            u32 memberCount
 *   u32 n, n × member        u128 reservationId, u128 resourceId, u32 memberIndex
 *   u32 n, n × operation     u128 id, u32 length, command bytes, u8 resultCode, u8 has-fields,
 *                            [u128 reservationId, u64 leaseEpoch, u64 deadlineSlot],
 *                            u64 appliedLsn, u64 retireAfterSlot
 *   u32 n, n × bucket        u64 bucket, u32 m, m × u128 reservationId
 *
 * Decoding checks every count against the configured capacity and against the bytes left
 * before allocating anything for it, rejects unknown enum values and flags, and rejects
 * trailing bytes. All failures are SnapshotErrors with the byte offset.
 */

import { type AllocDbConfig, validateConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
import { CodecError, SnapshotError } from '../errors.js';
import { Reader, Writer } from '../runtime/binary.js';
import {
  type AllocDbSnapshot,
  type ExpirationBucket,
  type OperationRecord,
  type Outcome,
  RESERVATION_STATES,
  RESOURCE_STATES,
  RESULT_CODES,
  type ReservationMember,
  type ReservationRecord,
  type ResourceRecord,
} from '../types.js';

/** Smallest encodings, for checking a count against the bytes left. */
const RESOURCE_MIN_BYTES = 16 + 1 + 8 + 1;
const RESERVATION_MIN_BYTES = 16 + 16 + 16 + 8 + 1 + 8 + 8 + 1 + 4;
const MEMBER_BYTES = 16 + 16 + 4;
const OPERATION_MIN_BYTES = 16 + 4 + 1 + 1 + 8 + 8;
const BUCKET_MIN_BYTES = 8 + 4;
const ID_BYTES = 16;

const FLAG_RELEASED_LSN = 1;
const FLAG_RETIRE_AFTER_SLOT = 2;

/** Encodes a snapshot body. The snapshot should come from `AllocDb.snapshot()`. */
export function encodeSnapshotBody(snapshot: AllocDbSnapshot): Uint8Array {
  const writer = new Writer(1024);
  writer.u16(SNAPSHOT_SCHEMA_VERSION);
  writer.u64(snapshot.lastAppliedLsn ?? 0n);
  writer.u64(snapshot.lastRequestSlot ?? 0n);
  writer.u128(snapshot.maxRetiredReservationId ?? 0n);

  writer.u32(snapshot.resources.length);
  for (const record of snapshot.resources) {
    writer.u128(record.resourceId);
    writer.u8(RESOURCE_STATES.indexOf(record.state));
    writer.u64(record.version);
    if (record.currentReservationId === undefined) {
      writer.u8(0);
    } else {
      writer.u8(1);
      writer.u128(record.currentReservationId);
    }
  }

  writer.u32(snapshot.reservations.length);
  for (const record of snapshot.reservations) {
    writer.u128(record.reservationId);
    writer.u128(record.resourceId);
    writer.u128(record.holderId);
    writer.u64(record.leaseEpoch);
    writer.u8(RESERVATION_STATES.indexOf(record.state));
    writer.u64(record.createdLsn);
    writer.u64(record.deadlineSlot);
    writer.u8(
      (record.releasedLsn === undefined ? 0 : FLAG_RELEASED_LSN) |
        (record.retireAfterSlot === undefined ? 0 : FLAG_RETIRE_AFTER_SLOT),
    );
    if (record.releasedLsn !== undefined) writer.u64(record.releasedLsn);
    if (record.retireAfterSlot !== undefined) writer.u64(record.retireAfterSlot);
    writer.u32(record.memberCount);
  }

  writer.u32(snapshot.members.length);
  for (const member of snapshot.members) {
    writer.u128(member.reservationId);
    writer.u128(member.resourceId);
    writer.u32(member.memberIndex);
  }

  writer.u32(snapshot.operations.length);
  for (const record of snapshot.operations) {
    writer.u128(record.operationId);
    writer.u32(record.command.byteLength);
    writer.bytes(record.command);
    const { outcome } = record;
    writer.u8(RESULT_CODES.indexOf(outcome.resultCode));
    if (outcome.reservationId === undefined) {
      writer.u8(0);
    } else {
      writer.u8(1);
      writer.u128(outcome.reservationId);
      writer.u64(outcome.leaseEpoch!);
      writer.u64(outcome.deadlineSlot!);
    }
    writer.u64(record.appliedLsn);
    writer.u64(record.retireAfterSlot);
  }

  writer.u32(snapshot.expirationWheel.length);
  for (const bucket of snapshot.expirationWheel) {
    writer.u64(bucket.bucket);
    writer.u32(bucket.reservationIds.length);
    for (const id of bucket.reservationIds) writer.u128(id);
  }
  return writer.finish();
}

/** Reads a count, checking it against a capacity and against the bytes left. */
function readCount(reader: Reader, capacity: number, minItemBytes: number, what: string): number {
  const at = reader.offset;
  const count = reader.u32(`${what} count`);
  if (count > capacity) {
    throw new SnapshotError('count_exceeds_capacity', `${count} ${what}, capacity ${capacity}`, at);
  }
  reader.expectItems(count, minItemBytes, what);
  return count;
}

/** Reads a u8 enum index. */
function readEnum<T>(reader: Reader, values: readonly T[], what: string): T {
  const at = reader.offset;
  const index = reader.u8(what);
  const value = values[index];
  if (value === undefined) throw new SnapshotError('invalid_value', `${what} ${index}`, at);
  return value;
}

/** Reads a flag byte that may only contain bits of `mask`. */
function readFlags(reader: Reader, mask: number, what: string): number {
  const at = reader.offset;
  const flags = reader.u8(what);
  if ((flags & ~mask) !== 0) throw new SnapshotError('invalid_value', `${what} ${flags}`, at);
  return flags;
}

function readResource(reader: Reader): ResourceRecord {
  const resourceId = reader.u128('resourceId');
  const state = readEnum(reader, RESOURCE_STATES, 'resource state');
  const version = reader.u64('version');
  if (readFlags(reader, 1, 'has-reservation') === 0) return { resourceId, state, version };
  return { resourceId, state, currentReservationId: reader.u128('currentReservationId'), version };
}

function readReservation(reader: Reader): ReservationRecord {
  const reservationId = reader.u128('reservationId');
  const resourceId = reader.u128('resourceId');
  const holderId = reader.u128('holderId');
  const leaseEpoch = reader.u64('leaseEpoch');
  const state = readEnum(reader, RESERVATION_STATES, 'reservation state');
  const createdLsn = reader.u64('createdLsn');
  const deadlineSlot = reader.u64('deadlineSlot');
  const flags = readFlags(reader, FLAG_RELEASED_LSN | FLAG_RETIRE_AFTER_SLOT, 'reservation flags');
  const releasedLsn = flags & FLAG_RELEASED_LSN ? reader.u64('releasedLsn') : undefined;
  const retireAfterSlot =
    flags & FLAG_RETIRE_AFTER_SLOT ? reader.u64('retireAfterSlot') : undefined;
  const memberCount = reader.u32('memberCount');
  return {
    reservationId,
    resourceId,
    holderId,
    leaseEpoch,
    state,
    createdLsn,
    deadlineSlot,
    ...(releasedLsn === undefined ? {} : { releasedLsn }),
    ...(retireAfterSlot === undefined ? {} : { retireAfterSlot }),
    memberCount,
  };
}

function readMember(reader: Reader): ReservationMember {
  return {
    reservationId: reader.u128('reservationId'),
    resourceId: reader.u128('resourceId'),
    memberIndex: reader.u32('memberIndex'),
  };
}

function readOperation(reader: Reader): OperationRecord {
  const operationId = reader.u128('operationId');
  const length = reader.u32('command length');
  const command = reader.bytesCopy(length, 'command');
  const resultCode = readEnum(reader, RESULT_CODES, 'result code');
  // Typed as read; restore checks that the code and the fields fit the recorded command's kind
  // (checkOperationRecord) before the record is used.
  let outcome = { resultCode } as Outcome;
  if (readFlags(reader, 1, 'has-result-fields') === 1) {
    outcome = {
      resultCode,
      reservationId: reader.u128('reservationId'),
      leaseEpoch: reader.u64('leaseEpoch'),
      deadlineSlot: reader.u64('deadlineSlot'),
    } as Outcome;
  }
  return {
    operationId,
    command,
    outcome,
    appliedLsn: reader.u64('appliedLsn'),
    retireAfterSlot: reader.u64('retireAfterSlot'),
  };
}

function readBucket(reader: Reader, config: AllocDbConfig): ExpirationBucket {
  const bucket = reader.u64('bucket');
  const count = readCount(reader, config.maxExpirationBucketLen, ID_BYTES, 'bucket ids');
  const reservationIds = new Array<bigint>(count);
  for (let i = 0; i < count; i++) reservationIds[i] = reader.u128('reservationId');
  return { bucket, reservationIds };
}

function readList<T>(
  reader: Reader,
  capacity: number,
  minItemBytes: number,
  what: string,
  readItem: () => T,
): T[] {
  const count = readCount(reader, capacity, minItemBytes, what);
  const items = new Array<T>(count);
  for (let i = 0; i < count; i++) items[i] = readItem();
  return items;
}

/**
 * Decodes a snapshot body, checking counts against `config`'s capacities. Throws SnapshotError
 * (with the byte offset) or ConfigError. The result still has to pass `AllocDb.fromSnapshot`.
 */
export function decodeSnapshotBody(bytes: Uint8Array, config: AllocDbConfig): AllocDbSnapshot {
  const derived = validateConfig(config);
  const reader = new Reader(bytes);
  try {
    const version = reader.u16('schema version');
    if (version !== SNAPSHOT_SCHEMA_VERSION) {
      throw new SnapshotError(
        'unsupported_schema_version',
        `schema version ${version}, expected ${SNAPSHOT_SCHEMA_VERSION}`,
        0,
      );
    }
    const lastAppliedLsn = reader.u64('lastAppliedLsn');
    const slotAt = reader.offset;
    const lastRequestSlot = reader.u64('lastRequestSlot');
    if (lastAppliedLsn === 0n && lastRequestSlot !== 0n) {
      throw new SnapshotError(
        'watermark_inconsistent',
        `lastRequestSlot ${lastRequestSlot} with lastAppliedLsn 0 (no command applied)`,
        slotAt,
      );
    }
    const maxRetiredReservationId = reader.u128('maxRetiredReservationId');
    const resources = readList(reader, config.maxResources, RESOURCE_MIN_BYTES, 'resources', () =>
      readResource(reader),
    );
    const reservations = readList(
      reader,
      config.maxReservations,
      RESERVATION_MIN_BYTES,
      'reservations',
      () => readReservation(reader),
    );
    const members = readList(reader, derived.memberCapacity, MEMBER_BYTES, 'members', () =>
      readMember(reader),
    );
    const operations = readList(
      reader,
      config.maxOperations,
      OPERATION_MIN_BYTES,
      'operations',
      () => readOperation(reader),
    );
    const expirationWheel = readList(
      reader,
      config.maxReservations,
      BUCKET_MIN_BYTES,
      'expiration buckets',
      () => readBucket(reader, config),
    );
    reader.expectEnd('snapshot body');
    return {
      // 0 is never a real LSN nor a reservation id (ids are (shardId << 64) | LSN): it is "absent".
      ...(lastAppliedLsn === 0n ? {} : { lastAppliedLsn, lastRequestSlot }),
      ...(maxRetiredReservationId === 0n ? {} : { maxRetiredReservationId }),
      resources,
      reservations,
      members,
      operations,
      expirationWheel,
    };
  } catch (error) {
    if (error instanceof CodecError) {
      throw new SnapshotError(error.code, error.message, error.offset, { cause: error });
    }
    throw error;
  }
}
