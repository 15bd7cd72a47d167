// The quota engine's semantics (docs/quota-core.md) on SQLite: a bucket row whose refill is computed
// inside the transaction with the spec's exact arithmetic, an operations table that makes every
// debit happen exactly once (dedupe on operationId, conflicting reuse answered, records retired
// after the retry window), bounded tables, and the same watermarks. One transaction per batch.
//
// Single writer: the table sizes are cached in memory (reloaded after a rollback) instead of
// counted with SELECT count(*) on every command, which is what a careful SQLite application
// would do, and is the favourable choice for the peer.
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
  'already_exists',
  'bucket_table_full',
  'bucket_not_found',
  'insufficient_funds',
  'operation_conflict',
  'operation_table_full',
  'slot_overflow',
];
const CODE = Object.fromEntries(CODES.map((code, i) => [code, i]));
const outcome = (resultCode) => ({ resultCode });

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  last_lsn INTEGER,
  last_slot INTEGER
);
INSERT OR IGNORE INTO meta (id, last_lsn, last_slot) VALUES (0, NULL, NULL);
CREATE TABLE IF NOT EXISTS buckets (
  bucket_id BLOB PRIMARY KEY,
  lim INTEGER NOT NULL,
  balance INTEGER NOT NULL,
  last_refill_slot INTEGER NOT NULL,
  rate INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS operations (
  operation_id BLOB PRIMARY KEY,
  command BLOB NOT NULL,
  result_code INTEGER NOT NULL,
  result_bucket_id BLOB,
  applied_lsn INTEGER NOT NULL,
  retire_after_slot INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS operations_retire ON operations (retire_after_slot);
`;

/** Canonical bytes of a command, compared byte for byte by dedupe. */
function encodeCommand(command) {
  if (command.kind === 'debit') {
    const bytes = Buffer.allocUnsafe(25);
    bytes[0] = 2;
    bytes.writeBigUInt64BE(command.bucketId >> 64n, 1);
    bytes.writeBigUInt64BE(BigInt.asUintN(64, command.bucketId), 9);
    bytes.writeBigUInt64BE(command.amount, 17);
    return bytes;
  }
  const bytes = Buffer.allocUnsafe(41);
  bytes[0] = 1;
  bytes.writeBigUInt64BE(command.bucketId >> 64n, 1);
  bytes.writeBigUInt64BE(BigInt.asUintN(64, command.bucketId), 9);
  bytes.writeBigUInt64BE(command.limit, 17);
  bytes.writeBigUInt64BE(command.initialBalance, 25);
  bytes.writeBigUInt64BE(command.refillRatePerSlot, 33);
  return bytes;
}

/** Refill to slot `s`, exactly as docs/quota-core.md says; returns the new balance. */
export function refill(limit, balance, lastRefillSlot, rate, s) {
  const elapsed = s - lastRefillSlot;
  if (elapsed === 0n || rate === 0n || balance === limit) return balance;
  const missing = limit - balance;
  const slotsNeeded = (missing + rate - 1n) / rate;
  return elapsed >= slotsNeeded ? limit : balance + elapsed * rate;
}

export class SqliteQuota {
  /**
   * @param {{ file?: string, config: { maxBuckets: number, maxOperations: number,
   *   maxClientRetryWindowSlots: bigint } }} options `file` undefined: in memory, not durable.
   */
  constructor({ file, config }) {
    this.config = config;
    const db = openDatabase(file);
    this.db = db;
    db.exec(SCHEMA);
    this.st = {
      meta: db.prepare('SELECT last_lsn, last_slot FROM meta WHERE id = 0'),
      setMeta: db.prepare('UPDATE meta SET last_lsn = ?, last_slot = ? WHERE id = 0'),
      countBuckets: db.prepare('SELECT count(*) AS n FROM buckets'),
      countOperations: db.prepare('SELECT count(*) AS n FROM operations'),
      retire: db.prepare('DELETE FROM operations WHERE retire_after_slot < ?'),
      getOperation: db.prepare(
        'SELECT command, result_code, result_bucket_id FROM operations WHERE operation_id = ?',
      ),
      putOperation: db.prepare(
        'INSERT INTO operations (operation_id, command, result_code, result_bucket_id, applied_lsn, retire_after_slot) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      getBucket: db.prepare(
        'SELECT lim, balance, last_refill_slot, rate FROM buckets WHERE bucket_id = ?',
      ),
      hasBucket: db.prepare('SELECT 1 FROM buckets WHERE bucket_id = ?'),
      putBucket: db.prepare(
        'INSERT INTO buckets (bucket_id, lim, balance, last_refill_slot, rate) VALUES (?, ?, ?, ?, ?)',
      ),
      setBucket: db.prepare(
        'UPDATE buckets SET balance = ?, last_refill_slot = ? WHERE bucket_id = ?',
      ),
    };
    this.load();
    this.transaction = db.transaction((items, out) => {
      for (const { context, request } of items) out.push(this.applyClient(context, request));
      this.saveMeta();
    });
  }

  saveMeta() {
    this.st.setMeta.run(
      this.lastLsn === undefined ? null : u64(this.lastLsn),
      this.lastSlot === undefined ? null : u64(this.lastSlot),
    );
  }

  /** (Re)loads the watermarks and the cached table sizes from the database. */
  load() {
    const meta = this.st.meta.get();
    this.lastLsn = meta.last_lsn === null ? undefined : fromU64(meta.last_lsn);
    this.lastSlot = meta.last_slot === null ? undefined : fromU64(meta.last_slot);
    this.retiredBelow = this.lastSlot ?? 0n;
    this.buckets = Number(this.st.countBuckets.get().n);
    this.operations = Number(this.st.countOperations.get().n);
  }

  /**
   * Applies `items` ({ context: { lsn, requestSlot }, request }) in one transaction: one commit,
   * so one WAL fsync when durable. Returns the outcomes in order.
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

  /** The sequencer the engines have: next LSNs, the slot raised to the last one. */
  submitBatch(requests, requestSlot) {
    let lsn = this.lastLsn ?? 0n;
    const slot =
      this.lastSlot !== undefined && requestSlot < this.lastSlot ? this.lastSlot : requestSlot;
    return this.applyBatch(
      requests.map((request) => ({ context: { lsn: ++lsn, requestSlot: slot }, request })),
    );
  }

  /** docs/quota-core.md, client path, steps 1–7. Runs inside the batch's transaction. */
  applyClient({ lsn, requestSlot }, request) {
    const window = this.config.maxClientRetryWindowSlots;
    if (requestSlot + window > U64_MAX) return outcome('slot_overflow');
    if (this.lastLsn !== undefined && (lsn <= this.lastLsn || requestSlot < this.lastSlot)) {
      throw new Error(`apply order violated at lsn ${lsn}, slot ${requestSlot}`);
    }
    this.lastLsn = lsn;
    this.lastSlot = requestSlot;
    if (requestSlot > this.retiredBelow) {
      this.operations -= this.st.retire.run(u64(requestSlot)).changes;
      this.retiredBelow = requestSlot;
    }
    const operationKey = u128(request.operationId);
    const command = encodeCommand(request.command);
    const stored = this.st.getOperation.get(operationKey);
    if (stored !== undefined) {
      // Every record left after retirement has retire_after_slot >= requestSlot: it is live.
      if (!sameBytes(stored.command, command)) return outcome('operation_conflict');
      const resultCode = CODES[Number(stored.result_code)];
      return stored.result_bucket_id === null
        ? outcome(resultCode)
        : { resultCode, bucketId: fromU128(stored.result_bucket_id) };
    }
    if (this.operations >= this.config.maxOperations) return outcome('operation_table_full');
    const result = this.execute(requestSlot, request.command);
    this.st.putOperation.run(
      operationKey,
      command,
      CODE[result.resultCode],
      result.bucketId === undefined ? null : u128(result.bucketId),
      u64(lsn),
      u64(requestSlot + window),
    );
    this.operations++;
    return result;
  }

  execute(slot, command) {
    const key = u128(command.bucketId);
    if (command.kind === 'create_bucket') {
      if (this.st.hasBucket.get(key) !== undefined) return outcome('already_exists');
      if (this.buckets >= this.config.maxBuckets) return outcome('bucket_table_full');
      this.st.putBucket.run(
        key,
        u64(command.limit),
        u64(command.initialBalance),
        u64(slot),
        u64(command.refillRatePerSlot),
      );
      this.buckets++;
      return { resultCode: 'ok', bucketId: command.bucketId };
    }
    const bucket = this.st.getBucket.get(key);
    if (bucket === undefined) return outcome('bucket_not_found');
    const balance = refill(
      fromU64(bucket.lim),
      fromU64(bucket.balance),
      fromU64(bucket.last_refill_slot),
      fromU64(bucket.rate),
      slot,
    );
    if (balance < command.amount) {
      // The refill stays even though the debit fails (docs/quota-core.md, debit step 3).
      this.st.setBucket.run(u64(balance), u64(slot), key);
      return outcome('insufficient_funds');
    }
    this.st.setBucket.run(u64(balance - command.amount), u64(slot), key);
    return { resultCode: 'ok', bucketId: command.bucketId };
  }

  /** The stored bucket, as quota-core's getBucket returns it. */
  getBucket(bucketId) {
    const bucket = this.st.getBucket.get(u128(bucketId));
    if (bucket === undefined) return undefined;
    return {
      bucketId,
      limit: fromU64(bucket.lim),
      balance: fromU64(bucket.balance),
      lastRefillSlot: fromU64(bucket.last_refill_slot),
      refillRatePerSlot: fromU64(bucket.rate),
    };
  }

  get operationCount() {
    return this.operations;
  }

  close() {
    this.db.close();
  }
}
