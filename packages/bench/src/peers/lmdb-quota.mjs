// The quota engine's semantics (docs/quota-core.md) on LMDB through lmdb-js: the same rules as the
// SQLite peer (sqlite-quota.mjs), over three binary sub-databases instead of tables:
// - `buckets`: u128 id → limit, balance, lastRefillSlot, rate (4 × u64);
// - `operations`: u128 operationId → result code, has-bucketId, [u128 bucketId], applied LSN,
//   retireAfterSlot, then the canonical command bytes (compared byte for byte on a retry);
// - `retire`: u64 retireAfterSlot ‖ u128 operationId → nothing, the index retirement walks in
//   key order (LMDB keys are ordered byte strings; big-endian numbers sort as numbers).
// One `transactionSync` per batch: one durable commit (LMDB's synchronous commit flushes before
// it returns). Single writer: table sizes are cached in memory (reloaded after an abort), as in
// the SQLite peer.
import { binaryStore, key128, openEnvironment, read128, scratchDir } from './lmdb-common.mjs';
import { refill } from './sqlite-quota.mjs';

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
const U64_MAX = (1n << 64n) - 1n;
const META_KEY = Buffer.from('meta');

/** Canonical bytes of a command (as the SQLite peer's). */
function encodeCommand(command) {
  if (command.kind === 'debit') {
    const bytes = Buffer.allocUnsafe(25);
    bytes[0] = 2;
    key128(command.bucketId).copy(bytes, 1);
    bytes.writeBigUInt64BE(command.amount, 17);
    return bytes;
  }
  const bytes = Buffer.allocUnsafe(41);
  bytes[0] = 1;
  key128(command.bucketId).copy(bytes, 1);
  bytes.writeBigUInt64BE(command.limit, 17);
  bytes.writeBigUInt64BE(command.initialBalance, 25);
  bytes.writeBigUInt64BE(command.refillRatePerSlot, 33);
  return bytes;
}

function retireKey(slot, operationKey) {
  const bytes = Buffer.allocUnsafe(24);
  bytes.writeBigUInt64BE(slot, 0);
  operationKey.copy(bytes, 8);
  return bytes;
}

export class LmdbQuota {
  /**
   * @param {{ dir?: string, durable?: boolean, config: { maxBuckets: number,
   *   maxOperations: number, maxClientRetryWindowSlots: bigint } }} options `dir` undefined: a
   *   scratch directory, not durable (removed by close).
   */
  constructor({ dir, durable = dir !== undefined, config }) {
    this.config = config;
    this.scratch = dir === undefined ? scratchDir() : undefined;
    this.env = openEnvironment(dir ?? this.scratch, { durable });
    this.bucketStore = binaryStore(this.env, 'buckets');
    this.operationStore = binaryStore(this.env, 'operations');
    this.retireStore = binaryStore(this.env, 'retire');
    this.metaStore = binaryStore(this.env, 'meta');
    this.load();
  }

  /** (Re)loads the watermarks and the cached table sizes. */
  load() {
    const meta = this.metaStore.get(META_KEY);
    this.lastLsn = meta === undefined || meta[0] === 0 ? undefined : meta.readBigUInt64BE(1);
    this.lastSlot = meta === undefined || meta[0] === 0 ? undefined : meta.readBigUInt64BE(9);
    this.retiredBelow = this.lastSlot ?? 0n;
    this.buckets = this.bucketStore.getKeysCount();
    this.operations = this.operationStore.getKeysCount();
  }

  saveMeta() {
    const meta = Buffer.alloc(17);
    if (this.lastLsn !== undefined) {
      meta[0] = 1;
      meta.writeBigUInt64BE(this.lastLsn, 1);
      meta.writeBigUInt64BE(this.lastSlot, 9);
    }
    this.metaStore.putSync(META_KEY, meta);
  }

  /** Applies `items` ({ context, request }) in one transaction (one durable commit). */
  applyBatch(items) {
    return this.transact(() =>
      items.map(({ context, request }) => this.applyClient(context, request)),
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

  /** The sequencer the engines have: next LSNs, the slot raised to the last one. */
  submitBatch(requests, requestSlot) {
    let lsn = this.lastLsn ?? 0n;
    const slot =
      this.lastSlot !== undefined && requestSlot < this.lastSlot ? this.lastSlot : requestSlot;
    return this.applyBatch(
      requests.map((request) => ({ context: { lsn: ++lsn, requestSlot: slot }, request })),
    );
  }

  /** Deletes every operation record with retireAfterSlot < slot. */
  retire(slot) {
    const end = retireKey(slot, Buffer.alloc(16));
    // Collected first (copies): the range is not walked while it is being deleted from.
    const due = Array.from(this.retireStore.getKeys({ end }), (key) => Buffer.from(key));
    for (const key of due) {
      this.retireStore.removeSync(key);
      this.operationStore.removeSync(key.subarray(8));
      this.operations--;
    }
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
      this.retire(requestSlot);
      this.retiredBelow = requestSlot;
    }
    const operationKey = key128(request.operationId);
    const command = encodeCommand(request.command);
    const stored = this.operationStore.get(operationKey);
    if (stored !== undefined) {
      const at = stored[1] === 1 ? 34 : 18;
      if (Buffer.compare(stored.subarray(at), command) !== 0) return outcome('operation_conflict');
      const resultCode = CODES[stored[0]];
      return stored[1] === 1 ? { resultCode, bucketId: read128(stored, 2) } : outcome(resultCode);
    }
    if (this.operations >= this.config.maxOperations) return outcome('operation_table_full');
    const result = this.execute(requestSlot, request.command);
    const hasBucket = result.bucketId !== undefined;
    const at = hasBucket ? 34 : 18;
    const record = Buffer.allocUnsafe(at + command.length);
    record[0] = CODE[result.resultCode];
    record[1] = hasBucket ? 1 : 0;
    if (hasBucket) key128(result.bucketId).copy(record, 2);
    const retireAfterSlot = requestSlot + window;
    record.writeBigUInt64BE(lsn, at - 16);
    record.writeBigUInt64BE(retireAfterSlot, at - 8);
    command.copy(record, at);
    this.operationStore.putSync(operationKey, record);
    this.retireStore.putSync(retireKey(retireAfterSlot, operationKey), Buffer.alloc(0));
    this.operations++;
    return result;
  }

  execute(slot, command) {
    const key = key128(command.bucketId);
    const stored = this.bucketStore.get(key);
    if (command.kind === 'create_bucket') {
      if (stored !== undefined) return outcome('already_exists');
      if (this.buckets >= this.config.maxBuckets) return outcome('bucket_table_full');
      this.bucketStore.putSync(
        key,
        bucketBytes(command.limit, command.initialBalance, slot, command.refillRatePerSlot),
      );
      this.buckets++;
      return { resultCode: 'ok', bucketId: command.bucketId };
    }
    if (stored === undefined) return outcome('bucket_not_found');
    const limit = stored.readBigUInt64BE(0);
    const rate = stored.readBigUInt64BE(24);
    const balance = refill(
      limit,
      stored.readBigUInt64BE(8),
      stored.readBigUInt64BE(16),
      rate,
      slot,
    );
    if (balance < command.amount) {
      // The refill stays even though the debit fails (docs/quota-core.md, debit step 3).
      this.bucketStore.putSync(key, bucketBytes(limit, balance, slot, rate));
      return outcome('insufficient_funds');
    }
    this.bucketStore.putSync(key, bucketBytes(limit, balance - command.amount, slot, rate));
    return { resultCode: 'ok', bucketId: command.bucketId };
  }

  /** The stored bucket, as quota-core's getBucket returns it. */
  getBucket(bucketId) {
    const stored = this.bucketStore.get(key128(bucketId));
    if (stored === undefined) return undefined;
    return {
      bucketId,
      limit: stored.readBigUInt64BE(0),
      balance: stored.readBigUInt64BE(8),
      lastRefillSlot: stored.readBigUInt64BE(16),
      refillRatePerSlot: stored.readBigUInt64BE(24),
    };
  }

  get operationCount() {
    return this.operations;
  }

  close() {
    const closing = this.env.close();
    if (this.scratch !== undefined) {
      const dir = this.scratch;
      return Promise.resolve(closing).then(() =>
        import('node:fs').then(({ rmSync }) => rmSync(dir, { recursive: true, force: true })),
      );
    }
    return closing;
  }
}

function bucketBytes(limit, balance, lastRefillSlot, rate) {
  const bytes = Buffer.allocUnsafe(32);
  bytes.writeBigUInt64BE(limit, 0);
  bytes.writeBigUInt64BE(balance, 8);
  bytes.writeBigUInt64BE(lastRefillSlot, 16);
  bytes.writeBigUInt64BE(rate, 24);
  return bytes;
}
