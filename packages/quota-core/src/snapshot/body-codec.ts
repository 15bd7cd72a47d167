/**
 * The snapshot body: a schema-versioned, canonical little-endian encoding of `QuotaDbSnapshot`
 * (layout in docs/format.md). The durable engine wraps it in the snapshot file (header, CRC).
 *
 *   u16 schema version
 *   u8 has-watermarks (0/1), [u64 lastAppliedLsn, u64 lastRequestSlot]
 *   u32 n, n × bucket      u128 bucketId, u64 limit, u64 balance, u64 lastRefillSlot,
 *                          u64 refillRatePerSlot
 *   u32 n, n × operation   u128 operationId, u32 length, command bytes, u8 resultCode,
 *                          u8 has-bucketId (0/1), [u128 bucketId], u64 appliedLsn,
 *                          u64 retireAfterSlot
 *
 * Decoding checks every count against the configured capacity and against the bytes left
 * before allocating anything for it, rejects unknown enum values and flags, and rejects
 * trailing bytes. All failures are SnapshotErrors with the byte offset.
 */

import { type QuotaConfig, validateConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
import { CodecError, SnapshotError } from '../errors.js';
import { Reader, Writer } from '../runtime/binary.js';
import {
  type BucketRecord,
  type OperationRecord,
  type Outcome,
  type QuotaDbSnapshot,
  RESULT_CODES,
} from '../types.js';

/** Smallest encodings, for checking a count against the bytes left. */
const BUCKET_BYTES = 16 + 8 + 8 + 8 + 8;
const OPERATION_MIN_BYTES = 16 + 4 + 1 + 1 + 8 + 8;

/** Encodes a snapshot body. The snapshot should come from `QuotaDb.snapshot()`. */
export function encodeSnapshotBody(snapshot: QuotaDbSnapshot): Uint8Array {
  const writer = new Writer(1024);
  writer.u16(SNAPSHOT_SCHEMA_VERSION);
  const { lastAppliedLsn, lastRequestSlot } = snapshot;
  if (lastAppliedLsn === undefined || lastRequestSlot === undefined) {
    writer.u8(0);
  } else {
    writer.u8(1);
    writer.u64(lastAppliedLsn);
    writer.u64(lastRequestSlot);
  }

  writer.u32(snapshot.buckets.length);
  for (const bucket of snapshot.buckets) {
    writer.u128(bucket.bucketId);
    writer.u64(bucket.limit);
    writer.u64(bucket.balance);
    writer.u64(bucket.lastRefillSlot);
    writer.u64(bucket.refillRatePerSlot);
  }

  writer.u32(snapshot.operations.length);
  for (const record of snapshot.operations) {
    writer.u128(record.operationId);
    writer.u32(record.command.byteLength);
    writer.bytes(record.command);
    const { outcome } = record;
    writer.u8(RESULT_CODES.indexOf(outcome.resultCode));
    if (outcome.bucketId === undefined) {
      writer.u8(0);
    } else {
      writer.u8(1);
      writer.u128(outcome.bucketId);
    }
    writer.u64(record.appliedLsn);
    writer.u64(record.retireAfterSlot);
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

/** Reads a 0/1 flag byte. */
function readFlag(reader: Reader, what: string): boolean {
  const at = reader.offset;
  const flag = reader.u8(what);
  if (flag > 1) throw new SnapshotError('invalid_value', `${what} ${flag}`, at);
  return flag === 1;
}

function readBucket(reader: Reader): BucketRecord {
  return {
    bucketId: reader.u128('bucketId'),
    limit: reader.u64('limit'),
    balance: reader.u64('balance'),
    lastRefillSlot: reader.u64('lastRefillSlot'),
    refillRatePerSlot: reader.u64('refillRatePerSlot'),
  };
}

function readOperation(reader: Reader): OperationRecord {
  const operationId = reader.u128('operationId');
  const length = reader.u32('command length');
  const command = reader.bytesCopy(length, 'command');
  const codeOffset = reader.offset;
  const codeIndex = reader.u8('result code');
  const resultCode = RESULT_CODES[codeIndex];
  if (resultCode === undefined) {
    throw new SnapshotError('invalid_value', `result code ${codeIndex}`, codeOffset);
  }
  // Typed as read; restore checks that the code and the bucket id fit the recorded command
  // (checkOperationRecord) before the record is used.
  const outcome = (
    readFlag(reader, 'has-bucketId')
      ? { resultCode, bucketId: reader.u128('bucketId') }
      : { resultCode }
  ) as Outcome;
  return {
    operationId,
    command,
    outcome,
    appliedLsn: reader.u64('appliedLsn'),
    retireAfterSlot: reader.u64('retireAfterSlot'),
  };
}

function readList<T>(
  reader: Reader,
  capacity: number,
  minItemBytes: number,
  what: string,
  readItem: (reader: Reader) => T,
): T[] {
  const count = readCount(reader, capacity, minItemBytes, what);
  const items = new Array<T>(count);
  for (let i = 0; i < count; i++) items[i] = readItem(reader);
  return items;
}

/**
 * Decodes a snapshot body, checking counts against `config`'s capacities. Throws SnapshotError
 * (with the byte offset) or ConfigError. The result still has to pass `QuotaDb.fromSnapshot`.
 */
export function decodeSnapshotBody(bytes: Uint8Array, config: QuotaConfig): QuotaDbSnapshot {
  validateConfig(config);
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
    const watermarks = readFlag(reader, 'has-watermarks')
      ? {
          lastAppliedLsn: reader.u64('lastAppliedLsn'),
          lastRequestSlot: reader.u64('lastRequestSlot'),
        }
      : {};
    const buckets = readList(reader, config.maxBuckets, BUCKET_BYTES, 'buckets', readBucket);
    const operations = readList(
      reader,
      config.maxOperations,
      OPERATION_MIN_BYTES,
      'operations',
      readOperation,
    );
    reader.expectEnd('snapshot body');
    return { ...watermarks, buckets, operations };
  } catch (error) {
    if (error instanceof CodecError) {
      throw new SnapshotError(error.code, error.message, error.offset, { cause: error });
    }
    throw error;
  }
}
