/**
 * Restore validation (docs/quota-core.md, "Snapshot"), everything that can be checked before the
 * tables are rebuilt: every field's type and range, watermarks both present or both absent (a
 * present LSN at least 1), counts within capacity, ids strictly ascending (no duplicates),
 * `balance ≤ limit`, `lastRefillSlot ≤ lastRequestSlot`, every record's `appliedLsn ≤
 * lastAppliedLsn`, and operation records that the client path could have made. Each failure is a
 * SnapshotError naming the record.
 */
import { bytesEqual, decodeCommand, encodeCommand } from '../codec/command-codec.js';
import type { QuotaConfig } from '../config.js';
import { U64_MAX, U128_MAX } from '../constants.js';
import { CodecError, SnapshotError, type SnapshotErrorCode } from '../errors.js';
import {
  type Command,
  type OperationRecord,
  type QuotaDbSnapshot,
  RESULT_CODES,
  type ResultCode,
} from '../types.js';
import { compareBigint } from './capture.js';

/** What each command kind can answer when it executes (so what its record can hold). */
const RECORDABLE_CODES: { readonly [kind in Command['kind']]: readonly ResultCode[] } = {
  create_bucket: ['ok', 'already_exists', 'bucket_table_full'],
  debit: ['ok', 'bucket_not_found', 'insufficient_funds'],
};

/** Outcomes that prove the command's bucket existed (and buckets are never deleted). */
const BUCKET_EXISTS_CODES: readonly ResultCode[] = ['ok', 'already_exists', 'insufficient_funds'];

function fail(code: SnapshotErrorCode, message: string): never {
  throw new SnapshotError(code, message);
}

function invalid(path: string, message: string): never {
  fail('invalid_value', `${path} ${message}`);
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

/** Every field's type and range. */
function checkShapes(snapshot: unknown): asserts snapshot is QuotaDbSnapshot {
  checkObject(snapshot, 'snapshot');
  if (snapshot.lastAppliedLsn !== undefined) checkU64(snapshot.lastAppliedLsn, 'lastAppliedLsn');
  if (snapshot.lastRequestSlot !== undefined) checkU64(snapshot.lastRequestSlot, 'lastRequestSlot');
  const { buckets, operations } = snapshot;
  checkArray(buckets, 'buckets');
  checkArray(operations, 'operations');
  buckets.forEach((bucket, i) => {
    const path = `buckets[${i}]`;
    checkObject(bucket, path);
    checkU128(bucket.bucketId, `${path}.bucketId`);
    checkU64(bucket.limit, `${path}.limit`);
    checkU64(bucket.balance, `${path}.balance`);
    checkU64(bucket.lastRefillSlot, `${path}.lastRefillSlot`);
    checkU64(bucket.refillRatePerSlot, `${path}.refillRatePerSlot`);
  });
  operations.forEach((record, i) => {
    const path = `operations[${i}]`;
    checkObject(record, path);
    checkU128(record.operationId, `${path}.operationId`);
    if (!(record.command instanceof Uint8Array)) invalid(`${path}.command`, 'must be a Uint8Array');
    checkObject(record.outcome, `${path}.outcome`);
    const { resultCode, bucketId } = record.outcome;
    if (!RESULT_CODES.includes(resultCode as ResultCode)) {
      invalid(`${path}.outcome.resultCode`, `is not a result code: ${String(resultCode)}`);
    }
    if (bucketId !== undefined) checkU128(bucketId, `${path}.outcome.bucketId`);
    checkU64(record.appliedLsn, `${path}.appliedLsn`);
    checkU64(record.retireAfterSlot, `${path}.retireAfterSlot`);
  });
}

function checkCapacity(count: number, capacity: number, what: string): void {
  if (count > capacity) {
    fail('count_exceeds_capacity', `${count} ${what}, capacity ${capacity}`);
  }
}

/** Ids strictly ascending: a repeat is `duplicate_key`, a step back `unsorted`. */
function checkStrictOrder<T>(items: readonly T[], id: (item: T) => bigint, what: string): void {
  for (let i = 1; i < items.length; i++) {
    const order = compareBigint(id(items[i - 1]!), id(items[i]!));
    if (order === 0) fail('duplicate_key', `${what}[${i}] repeats id ${id(items[i]!)}`);
    if (order > 0) fail('unsorted', `${what}[${i}] is out of id order`);
  }
}

/** The record's command must be a canonical command, and its outcome one that command gives. */
function checkOperationRecord(
  record: OperationRecord,
  path: string,
  bucketIds: ReadonlySet<bigint>,
): void {
  let command: Command;
  try {
    command = decodeCommand(record.command);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    throw new SnapshotError(
      'invalid_operation_record',
      `${path}.command: ${error.message}`,
      undefined,
      { cause: error },
    );
  }
  if (!bytesEqual(encodeCommand(command), record.command)) {
    fail('invalid_operation_record', `${path}.command is not canonical`);
  }
  const { resultCode, bucketId } = record.outcome;
  if (!RECORDABLE_CODES[command.kind].includes(resultCode)) {
    fail('invalid_operation_record', `${path}: ${command.kind} never records ${resultCode}`);
  }
  if (resultCode === 'ok' ? bucketId !== command.bucketId : bucketId !== undefined) {
    fail(
      'invalid_operation_record',
      `${path}: an ok outcome carries the command's bucket id, any other outcome none`,
    );
  }
  if (BUCKET_EXISTS_CODES.includes(resultCode) && !bucketIds.has(command.bucketId)) {
    fail(
      'invalid_operation_record',
      `${path} answered ${resultCode} for bucket ${command.bucketId}, which is not in the snapshot (buckets are never deleted)`,
    );
  }
}

/** Every check that precedes rebuilding the tables; see the module comment. */
export function checkSnapshot(
  snapshot: unknown,
  config: QuotaConfig,
): asserts snapshot is QuotaDbSnapshot {
  checkShapes(snapshot);
  const { buckets, operations, lastAppliedLsn, lastRequestSlot } = snapshot;
  if ((lastAppliedLsn === undefined) !== (lastRequestSlot === undefined)) {
    fail(
      'watermark_inconsistent',
      'lastAppliedLsn and lastRequestSlot must be both present or both absent',
    );
  }
  if (lastAppliedLsn === 0n) {
    fail(
      'watermark_inconsistent',
      'lastAppliedLsn 0 is not an LSN (LSNs start at 1); leave both watermarks out when no command was applied',
    );
  }
  if (lastAppliedLsn === undefined && (buckets.length > 0 || operations.length > 0)) {
    fail('watermark_inconsistent', 'records exist but no command was ever applied');
  }
  checkCapacity(buckets.length, config.maxBuckets, 'buckets');
  checkCapacity(operations.length, config.maxOperations, 'operations');
  checkStrictOrder(buckets, (bucket) => bucket.bucketId, 'buckets');
  checkStrictOrder(operations, (record) => record.operationId, 'operations');

  const bucketIds = new Set<bigint>();
  buckets.forEach((bucket, i) => {
    const path = `buckets[${i}]`;
    if (bucket.balance > bucket.limit) {
      fail('balance_above_limit', `${path}: balance ${bucket.balance} > limit ${bucket.limit}`);
    }
    if (bucket.lastRefillSlot > lastRequestSlot!) {
      fail(
        'refill_slot_after_last_request',
        `${path}.lastRefillSlot ${bucket.lastRefillSlot} is after lastRequestSlot ${lastRequestSlot}`,
      );
    }
    bucketIds.add(bucket.bucketId);
  });

  const appliedLsns = new Set<bigint>();
  operations.forEach((record, i) => {
    const path = `operations[${i}]`;
    if (record.appliedLsn > lastAppliedLsn!) {
      fail(
        'lsn_after_last_applied',
        `${path}.appliedLsn ${record.appliedLsn} is after lastAppliedLsn ${lastAppliedLsn}`,
      );
    }
    if (appliedLsns.has(record.appliedLsn)) {
      fail('invalid_operation_record', `${path} shares appliedLsn ${record.appliedLsn}`);
    }
    appliedLsns.add(record.appliedLsn);
    if (record.retireAfterSlot < lastRequestSlot!) {
      fail(
        'retire_after_slot_passed',
        `${path}.retireAfterSlot ${record.retireAfterSlot} is before lastRequestSlot ${lastRequestSlot}: it would have been retired`,
      );
    }
    checkOperationRecord(record, path, bucketIds);
  });
}
