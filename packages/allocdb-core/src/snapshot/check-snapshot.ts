/**
 * Restore validation that needs no tables: every field's type and range, counts against the
 * configured capacities, strict key order (which also rules out duplicates), LSNs not after
 * `lastAppliedLsn`, ids of this shard, the retired watermark, retirement slots not already
 * passed, and operation records whose command bytes are a canonical command. Each failure is a
 * SnapshotError naming the record.
 */
import { bytesEqual, decodeCommand, encodeCommand } from '../codec/command-codec.js';
import type { AllocDbConfig, DerivedConfig } from '../config.js';
import { U64_MAX, U128_MAX } from '../constants.js';
import { CodecError, SnapshotError } from '../errors.js';
import {
  type AllocDbSnapshot,
  type CommandKind,
  RESERVATION_STATES,
  RESOURCE_STATES,
  RESULT_CODES,
  RESULT_CODES_BY_KIND,
  type ResultCode,
} from '../types.js';

/** Result codes that the client path never records (answered without executing). */
const UNRECORDED_CODES: readonly ResultCode[] = [
  'operation_conflict',
  'operation_table_full',
  'slot_overflow',
];

function invalid(path: string, message: string): never {
  throw new SnapshotError('invalid_value', `${path} ${message}`);
}

function checkObject(value: unknown, path: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) invalid(path, 'must be an object');
}

function checkArray(value: unknown, path: string): asserts value is unknown[] {
  if (!Array.isArray(value)) invalid(path, 'must be an array');
}

function checkU64(value: unknown, path: string): void {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) invalid(path, 'must be a u64');
}

function checkU128(value: unknown, path: string): void {
  if (typeof value !== 'bigint' || value < 0n || value > U128_MAX) invalid(path, 'must be a u128');
}

function checkOptionalU64(value: unknown, path: string): void {
  if (value !== undefined) checkU64(value, path);
}

function checkIndex(value: unknown, path: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    invalid(path, 'must be a non-negative integer');
  }
}

function checkEnum(value: unknown, allowed: readonly string[], path: string): void {
  if (typeof value !== 'string' || !allowed.includes(value)) invalid(path, 'is not a known value');
}

function checkCapacity(count: number, capacity: number, what: string): void {
  if (count > capacity) {
    throw new SnapshotError('count_exceeds_capacity', `${count} ${what}, capacity ${capacity}`);
  }
}

/**
 * Throws `duplicate_key` or `unsorted` unless the keys are strictly ascending. `compare`
 * returns <0, 0, >0 like a sort comparator.
 */
function checkStrictOrder<T>(
  items: readonly T[],
  compare: (a: T, b: T) => number,
  what: string,
): void {
  for (let i = 1; i < items.length; i++) {
    const order = compare(items[i - 1]!, items[i]!);
    if (order === 0) throw new SnapshotError('duplicate_key', `${what}[${i}] repeats a key`);
    if (order > 0) throw new SnapshotError('unsorted', `${what}[${i}] is out of key order`);
  }
}

const compareBigint = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

function checkShapes(
  snapshot: unknown,
  config: AllocDbConfig,
): asserts snapshot is AllocDbSnapshot {
  checkObject(snapshot, 'snapshot');
  checkOptionalU64(snapshot.lastAppliedLsn, 'lastAppliedLsn');
  checkOptionalU64(snapshot.lastRequestSlot, 'lastRequestSlot');
  if (snapshot.maxRetiredReservationId !== undefined) {
    checkU128(snapshot.maxRetiredReservationId, 'maxRetiredReservationId');
  }
  const { resources, reservations, members, operations, expirationWheel } = snapshot;
  checkArray(resources, 'resources');
  checkArray(reservations, 'reservations');
  checkArray(members, 'members');
  checkArray(operations, 'operations');
  checkArray(expirationWheel, 'expirationWheel');

  resources.forEach((record, i) => {
    const path = `resources[${i}]`;
    checkObject(record, path);
    checkU128(record.resourceId, `${path}.resourceId`);
    checkEnum(record.state, RESOURCE_STATES, `${path}.state`);
    if (record.currentReservationId !== undefined) {
      checkU128(record.currentReservationId, `${path}.currentReservationId`);
    }
    checkU64(record.version, `${path}.version`);
  });
  reservations.forEach((record, i) => {
    const path = `reservations[${i}]`;
    checkObject(record, path);
    checkU128(record.reservationId, `${path}.reservationId`);
    checkU128(record.resourceId, `${path}.resourceId`);
    checkU128(record.holderId, `${path}.holderId`);
    checkU64(record.leaseEpoch, `${path}.leaseEpoch`);
    checkEnum(record.state, RESERVATION_STATES, `${path}.state`);
    checkU64(record.createdLsn, `${path}.createdLsn`);
    checkU64(record.deadlineSlot, `${path}.deadlineSlot`);
    checkOptionalU64(record.releasedLsn, `${path}.releasedLsn`);
    checkOptionalU64(record.retireAfterSlot, `${path}.retireAfterSlot`);
    checkIndex(record.memberCount, `${path}.memberCount`);
    const memberCount = record.memberCount as number;
    if (memberCount < 1) invalid(`${path}.memberCount`, 'must be at least 1');
    checkCapacity(memberCount, config.maxBundleSize, `members in ${path}`);
  });
  members.forEach((record, i) => {
    const path = `members[${i}]`;
    checkObject(record, path);
    checkU128(record.reservationId, `${path}.reservationId`);
    checkU128(record.resourceId, `${path}.resourceId`);
    checkIndex(record.memberIndex, `${path}.memberIndex`);
  });
  operations.forEach((record, i) => {
    const path = `operations[${i}]`;
    checkObject(record, path);
    checkU128(record.operationId, `${path}.operationId`);
    if (!(record.command instanceof Uint8Array)) invalid(`${path}.command`, 'must be a Uint8Array');
    checkObject(record.outcome, `${path}.outcome`);
    checkEnum(record.outcome.resultCode, RESULT_CODES, `${path}.outcome.resultCode`);
    if (record.outcome.reservationId !== undefined) {
      checkU128(record.outcome.reservationId, `${path}.outcome.reservationId`);
    }
    checkOptionalU64(record.outcome.leaseEpoch, `${path}.outcome.leaseEpoch`);
    checkOptionalU64(record.outcome.deadlineSlot, `${path}.outcome.deadlineSlot`);
    checkU64(record.appliedLsn, `${path}.appliedLsn`);
    checkU64(record.retireAfterSlot, `${path}.retireAfterSlot`);
  });
  expirationWheel.forEach((bucket, i) => {
    const path = `expirationWheel[${i}]`;
    checkObject(bucket, path);
    checkU64(bucket.bucket, `${path}.bucket`);
    checkArray(bucket.reservationIds, `${path}.reservationIds`);
    bucket.reservationIds.forEach((id, j) => checkU128(id, `${path}.reservationIds[${j}]`));
  });
}

/** Checks an operation record's command bytes and outcome. */
function checkOperationRecord(record: AllocDbSnapshot['operations'][number], path: string): void {
  let kind: CommandKind;
  try {
    const command = decodeCommand(record.command);
    if (!bytesEqual(encodeCommand(command), record.command)) {
      throw new SnapshotError('invalid_operation_record', `${path}.command is not canonical`);
    }
    kind = command.kind;
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    throw new SnapshotError(
      'invalid_operation_record',
      `${path}.command: ${error.message}`,
      undefined,
      { cause: error },
    );
  }
  const { outcome } = record;
  if (UNRECORDED_CODES.includes(outcome.resultCode)) {
    throw new SnapshotError(
      'invalid_operation_record',
      `${path} records ${outcome.resultCode}, which is never recorded`,
    );
  }
  if (!(RESULT_CODES_BY_KIND[kind] as readonly ResultCode[]).includes(outcome.resultCode)) {
    throw new SnapshotError(
      'invalid_operation_record',
      `${path} records ${outcome.resultCode}, which a ${kind} cannot answer`,
    );
  }
  const present = [outcome.reservationId, outcome.leaseEpoch, outcome.deadlineSlot].filter(
    (field) => field !== undefined,
  ).length;
  const successfulReserve =
    outcome.resultCode === 'ok' && (kind === 'reserve' || kind === 'reserve_bundle');
  if (present !== (successfulReserve ? 3 : 0)) {
    throw new SnapshotError(
      'invalid_operation_record',
      `${path}: result fields must be present exactly on a successful reserve`,
    );
  }
}

function inconsistent(message: string): never {
  throw new SnapshotError('watermark_inconsistent', message);
}

/**
 * The watermarks are absent until first set: `lastAppliedLsn` and `lastRequestSlot` together
 * (no command applied yet), `maxRetiredReservationId` until the first retirement. A present
 * watermark is a real value (LSNs start at 1), and records or a retirement need a command.
 */
function checkWatermarkPresence(snapshot: AllocDbSnapshot): void {
  const { lastAppliedLsn, lastRequestSlot, maxRetiredReservationId } = snapshot;
  if ((lastAppliedLsn === undefined) !== (lastRequestSlot === undefined)) {
    inconsistent('lastAppliedLsn and lastRequestSlot must be both present or both absent');
  }
  if (lastAppliedLsn === 0n) {
    inconsistent(
      'lastAppliedLsn 0 is not an LSN (LSNs start at 1); leave both watermarks out when no command was applied',
    );
  }
  if (maxRetiredReservationId === 0n) {
    inconsistent(
      'maxRetiredReservationId 0 is not a reservation id; leave it out when none retired',
    );
  }
  if (
    lastAppliedLsn === undefined &&
    (snapshot.resources.length > 0 ||
      snapshot.reservations.length > 0 ||
      snapshot.members.length > 0 ||
      snapshot.operations.length > 0 ||
      snapshot.expirationWheel.length > 0 ||
      maxRetiredReservationId !== undefined)
  ) {
    inconsistent('records or a retired watermark exist but no command was ever applied');
  }
}

/** Every check that precedes rebuilding the tables; see the module comment. */
export function checkSnapshot(
  snapshot: unknown,
  config: AllocDbConfig,
  derived: DerivedConfig,
): asserts snapshot is AllocDbSnapshot {
  checkShapes(snapshot, config);
  const { resources, reservations, members, operations, expirationWheel } = snapshot;
  const { maxRetiredReservationId } = snapshot;
  checkWatermarkPresence(snapshot);
  // Absent watermarks compare as 0 below: with no command applied there is no record to compare.
  const lastAppliedLsn = snapshot.lastAppliedLsn ?? 0n;
  const lastRequestSlot = snapshot.lastRequestSlot ?? 0n;

  checkCapacity(resources.length, config.maxResources, 'resources');
  checkCapacity(reservations.length, config.maxReservations, 'reservations');
  checkCapacity(members.length, derived.memberCapacity, 'members');
  checkCapacity(operations.length, config.maxOperations, 'operations');
  checkCapacity(expirationWheel.length, config.maxReservations, 'expiration buckets');
  expirationWheel.forEach((bucket, i) =>
    checkCapacity(
      bucket.reservationIds.length,
      config.maxExpirationBucketLen,
      `ids in expirationWheel[${i}]`,
    ),
  );

  checkStrictOrder(resources, (a, b) => compareBigint(a.resourceId, b.resourceId), 'resources');
  checkStrictOrder(
    reservations,
    (a, b) => compareBigint(a.reservationId, b.reservationId),
    'reservations',
  );
  checkStrictOrder(
    members,
    (a, b) => compareBigint(a.reservationId, b.reservationId) || a.memberIndex - b.memberIndex,
    'members',
  );
  checkStrictOrder(operations, (a, b) => compareBigint(a.operationId, b.operationId), 'operations');
  checkStrictOrder(expirationWheel, (a, b) => compareBigint(a.bucket, b.bucket), 'expirationWheel');
  expirationWheel.forEach((bucket, i) =>
    checkStrictOrder(bucket.reservationIds, compareBigint, `expirationWheel[${i}].reservationIds`),
  );

  const lsnAfter = (lsn: bigint | undefined, path: string) => {
    if (lsn !== undefined && lsn > lastAppliedLsn) {
      throw new SnapshotError(
        'lsn_after_last_applied',
        `${path} ${lsn} is after lastAppliedLsn ${lastAppliedLsn}`,
      );
    }
  };
  const slotPassed = (slot: bigint | undefined, path: string) => {
    if (slot !== undefined && slot < lastRequestSlot) {
      throw new SnapshotError(
        'retire_after_slot_passed',
        `${path} ${slot} is before lastRequestSlot ${lastRequestSlot}: it would have been retired`,
      );
    }
  };
  reservations.forEach((record, i) => {
    const path = `reservations[${i}]`;
    lsnAfter(record.createdLsn, `${path}.createdLsn`);
    lsnAfter(record.releasedLsn, `${path}.releasedLsn`);
    slotPassed(record.retireAfterSlot, `${path}.retireAfterSlot`);
    if (record.reservationId >> 64n !== config.shardId) {
      throw new SnapshotError(
        'wrong_shard',
        `${path}.reservationId is not of shard ${config.shardId}`,
      );
    }
  });
  operations.forEach((record, i) => {
    const path = `operations[${i}]`;
    lsnAfter(record.appliedLsn, `${path}.appliedLsn`);
    slotPassed(record.retireAfterSlot, `${path}.retireAfterSlot`);
    checkOperationRecord(record, path);
  });

  if (
    maxRetiredReservationId !== undefined &&
    (maxRetiredReservationId >> 64n !== config.shardId ||
      (maxRetiredReservationId & U64_MAX) === 0n ||
      (maxRetiredReservationId & U64_MAX) > lastAppliedLsn)
  ) {
    throw new SnapshotError(
      'watermark_inconsistent',
      `maxRetiredReservationId ${maxRetiredReservationId} is not a reservation id this shard has created by LSN ${lastAppliedLsn}`,
    );
  }
  for (const record of reservations) {
    if (record.reservationId === maxRetiredReservationId) {
      throw new SnapshotError(
        'watermark_inconsistent',
        `reservation ${record.reservationId} is both retired (the watermark) and present`,
      );
    }
  }
}
