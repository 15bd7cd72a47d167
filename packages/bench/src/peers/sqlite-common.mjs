// What both SQLite peers share: loading better-sqlite3, opening a database with the benchmark's
// durability, and exact encodings of the engines' u64 and u128 values in SQLite's signed 64-bit
// integers and blobs.
//
// better-sqlite3 is an optional dependency of this package: it is a native addon, and where no
// prebuilt binary fits, its install compiles SQLite (python3, make and a C++ compiler), which
// nobody who only installs and tests the engines should need. So it is loaded here, once, and
// `sqlite.available` says whether it works; the suites leave the SQLite rows out when it does not,
// and run.mjs says why (or fails, with --require-peers).

/** Loads better-sqlite3 and opens an in-memory database (the addon loads lazily, on first use). */
async function loadSqlite() {
  try {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(':memory:');
    try {
      const { v } = db.prepare('SELECT sqlite_version() AS v').get();
      return { available: true, Database, version: v, reason: undefined };
    } finally {
      db.close();
    }
  } catch (error) {
    // One line: the messages of a missing addon list every path tried, one per line.
    const message = String(error?.message ?? error)
      .replace(/\s+/g, ' ')
      .trim();
    const reason = message.length > 200 ? `${message.slice(0, 199)}…` : message;
    return { available: false, Database: undefined, version: undefined, reason };
  }
}

/** better-sqlite3, if it loads here: `{ available, Database, version, reason }`. */
export const sqlite = await loadSqlite();

function database(file) {
  if (!sqlite.available) {
    throw new Error(
      `the SQLite peer is not available: better-sqlite3 did not load (${sqlite.reason})`,
    );
  }
  return new sqlite.Database(file);
}

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
  const db = database(file ?? ':memory:');
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

/** Byte-wise equality of two canonical command encodings. */
export const sameBytes = (a, b) => Buffer.compare(a, b) === 0;
