// What both SQLite peers share: opening a database with the benchmark's durability, and exact
// encodings of the engines' u64 and u128 values in SQLite's signed 64-bit integers and blobs.
import Database from 'better-sqlite3';

export const U64_MAX = (1n << 64n) - 1n;
const BIAS = 1n << 63n;
const LOW_64 = (1n << 64n) - 1n;

/**
 * u64 → SQLite INTEGER, order-preserving and exact: the value minus 2^63 as a signed 64-bit
 * integer, so that `<` and indexes on stored values compare as the unsigned values do.
 */
export const u64 = (value) => BigInt.asIntN(64, value ^ BIAS);
/** SQLite INTEGER (as a bigint) → u64. */
export const fromU64 = (stored) => BigInt.asUintN(64, stored) ^ BIAS;

/** u128 → a 16-byte big-endian blob (SQLite compares blobs with memcmp: order-preserving). */
export function u128(value) {
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeBigUInt64BE(value >> 64n, 0);
  bytes.writeBigUInt64BE(value & LOW_64, 8);
  return bytes;
}
export const fromU128 = (bytes) => (bytes.readBigUInt64BE(0) << 64n) | bytes.readBigUInt64BE(8);

/**
 * Opens a SQLite database for a peer.
 * - durable (a file): WAL journal, `synchronous = FULL` (every commit fsyncs the WAL: the same
 *   durability as the engines' fdatasync before acknowledging), default auto-checkpointing;
 * - not durable (`file` undefined): an in-memory database, `synchronous = OFF`, for the
 *   state-machine comparison.
 * Integers come back as bigints (`safeIntegers`), so that u64 values stay exact.
 */
export function openDatabase(file) {
  const db = new Database(file ?? ':memory:');
  if (file !== undefined) {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`SQLite refused WAL mode (${mode})`);
    db.pragma('synchronous = FULL');
  } else {
    db.pragma('synchronous = OFF');
  }
  db.defaultSafeIntegers(true);
  return db;
}

/** SQLite and better-sqlite3 versions, for the report. */
export function sqliteVersions() {
  const db = new Database(':memory:');
  const { v } = db.prepare('SELECT sqlite_version() AS v').get();
  db.close();
  return v;
}

/** Byte-wise equality of two canonical command encodings. */
export const sameBytes = (a, b) => Buffer.compare(a, b) === 0;
