/**
 * A bounded open-addressing hash table keyed by non-negative bigints (u128 ids, or composite
 * keys packed into one bigint).
 *
 * - Capacity is fixed at construction and all memory is allocated then. The index has the next
 *   power of two ≥ max(2, 2 × capacity) buckets, so it is never more than half full and every
 *   probe ends at an empty bucket.
 * - Linear probing from a deterministic mix of every bit of the key (no random seed).
 * - Entries live in dense slot arrays with a free-slot stack; the index maps key → slot + 1
 *   (0 marks an empty bucket) and keeps each key's hash beside it, so that a probe compares
 *   hashes in sequential memory before touching a bigint, and removal never rehashes.
 * - `remove` uses backward-shift deletion (no tombstones). Each slot remembers its bucket, so a
 *   caller that keeps the slot (`slotOf`, `insertSlot`) removes by it with no hash and no probe.
 * - A miss of `slotOf` remembers where its probe ended: an insert of that same key right after
 *   (nothing changed in between) takes that bucket without hashing or probing again. The state
 *   machines' operation tables look every new operation id up and then insert it.
 * - Iteration is in slot order: deterministic for a given history of inserts and removes. Nothing
 *   persisted may depend on it; snapshots sort by key.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */

import { assert } from './assert.js';

/**
 * Result of `insert`. Probing comes first, so an existing key answers `'duplicate_key'` even when
 * the map is full: the more useful answer for a caller deciding between "exists" and "no room".
 */
export type FixedMapInsertResult = 'ok' | 'full' | 'duplicate_key';

/** What `insertSlot` answers instead of a slot. */
export const INSERT_FULL = -1;
export const INSERT_DUPLICATE = -2;

const SAFE_INTEGER_KEY_LIMIT = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_POW_32 = 0x1_0000_0000;
const scratchWide = new BigUint64Array(1);
const scratchWords = new Uint32Array(scratchWide.buffer);

/** murmur3's 32-bit finaliser over two 32-bit halves of a 64-bit word; returns an int32. */
function mixWords(lo: number, hi: number): number {
  let h = (lo ^ Math.imul(hi, 0x9e3779b1)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Deterministic hash of a bigint key as an int32. Keys up to 2^53 − 1 (the common case: LSN-based
 * ids of shard 0, small resource ids) take an arithmetic fast path that allocates no bigints;
 * larger keys fold every 64-bit word, so ids that differ only in their high bits (other shards)
 * still spread over the index.
 */
export function hashKey(key: bigint): number {
  // No `key >= 0n` test: a negative key is never stored (insert asserts it), so it only has to
  // hash deterministically, which the fast path does too; one bigint comparison fewer per hash.
  if (key <= SAFE_INTEGER_KEY_LIMIT) {
    const n = Number(key);
    return mixWords(n >>> 0, (n / TWO_POW_32) >>> 0);
  }
  // Writing a bigint into a BigUint64Array keeps its low 64 bits without allocating; the
  // Uint32Array view then reads them as two words.
  scratchWide[0] = key;
  let h = mixWords(scratchWords[0]!, scratchWords[1]!);
  let rest = key >> 64n;
  while (rest !== 0n && rest !== -1n) {
    scratchWide[0] = rest;
    h = mixWords(scratchWords[0]! ^ h, scratchWords[1]!);
    rest >>= 64n;
  }
  return h;
}

function indexSizeFor(capacity: number): number {
  let size = 2;
  while (size < 2 * capacity) size *= 2;
  return size;
}

export class FixedMap<V> {
  readonly capacity: number;
  private readonly mask: number;
  /** bucket → slot + 1; 0 means empty. */
  private readonly index: Int32Array;
  /** bucket → hash of the key stored there, so probes compare hashes in sequential memory. */
  private readonly indexHashes: Int32Array;
  private readonly slotKeys: bigint[];
  private readonly slotValues: (V | undefined)[];
  private readonly slotUsed: Uint8Array;
  /** slot → the bucket of the index that points at it (kept through backward shifts). */
  private readonly slotBuckets: Int32Array;
  /**
   * The key of the last `slotOf` miss, its hash and the empty bucket its probe ended at; reset by
   * every insert, removal and clear, which could move that bucket.
   */
  private missKey: bigint | undefined = undefined;
  private missHash = 0;
  private missBucket = -1;
  /** Stack of free slots; the top is at `freeTop - 1`. Initially yields slot 0 first. */
  private readonly freeSlots: Int32Array;
  private freeTop: number;
  /** One past the highest slot ever used: iteration stops there. */
  private slotHighWater = 0;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`FixedMap capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    const buckets = indexSizeFor(capacity);
    if (buckets > 2 ** 30) {
      throw new RangeError(
        `FixedMap capacity ${capacity} is too large (index would need ${buckets} buckets)`,
      );
    }
    this.mask = buckets - 1;
    this.index = new Int32Array(buckets);
    this.indexHashes = new Int32Array(buckets);
    this.slotKeys = new Array<bigint>(capacity).fill(0n);
    this.slotValues = new Array<V | undefined>(capacity).fill(undefined);
    this.slotUsed = new Uint8Array(capacity);
    this.slotBuckets = new Int32Array(capacity);
    this.freeSlots = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.freeSlots[i] = capacity - 1 - i;
    this.freeTop = capacity;
  }

  get size(): number {
    return this.count;
  }

  isFull(): boolean {
    return this.count === this.capacity;
  }

  /** Slot of `key`, or -1. */
  private findSlot(key: bigint, hash: number): number {
    const index = this.index;
    const mask = this.mask;
    let bucket = hash & mask;
    for (;;) {
      const stored = index[bucket]!;
      if (stored === 0) return -1;
      if (this.indexHashes[bucket] === hash && this.slotKeys[stored - 1] === key) return stored - 1;
      bucket = (bucket + 1) & mask;
    }
  }

  /**
   * The slot holding `key` (an integer in 0..capacity − 1, stable while the key stays), or −1.
   * A miss is remembered for an `insert`/`insertSlot` of the same key that follows it directly.
   */
  slotOf(key: bigint): number {
    const hash = hashKey(key);
    const index = this.index;
    const mask = this.mask;
    let bucket = hash & mask;
    for (;;) {
      const stored = index[bucket]!;
      if (stored === 0) break;
      if (this.indexHashes[bucket] === hash && this.slotKeys[stored - 1] === key) return stored - 1;
      bucket = (bucket + 1) & mask;
    }
    this.missKey = key;
    this.missHash = hash;
    this.missBucket = bucket;
    return -1;
  }

  /** Whether `slot` holds an entry. */
  isUsed(slot: number): boolean {
    return this.slotUsed[slot] === 1;
  }

  /** The key in a used slot. */
  keyAt(slot: number): bigint {
    return this.slotKeys[slot]!;
  }

  /** The value in a used slot. */
  valueAt(slot: number): V {
    return this.slotValues[slot] as V;
  }

  get(key: bigint): V | undefined {
    const slot = this.findSlot(key, hashKey(key));
    return slot < 0 ? undefined : this.slotValues[slot];
  }

  has(key: bigint): boolean {
    return this.findSlot(key, hashKey(key)) >= 0;
  }

  /** Adds a new entry. Never overwrites: an existing key answers `'duplicate_key'`. */
  insert(key: bigint, value: V): FixedMapInsertResult {
    const slot = this.insertSlot(key, value);
    return slot >= 0 ? 'ok' : slot === INSERT_FULL ? 'full' : 'duplicate_key';
  }

  /**
   * `insert` answering the new entry's slot, or `INSERT_FULL` (−1) / `INSERT_DUPLICATE` (−2).
   * Right after a `slotOf` miss of the same key it neither hashes nor probes again.
   */
  insertSlot(key: bigint, value: V): number {
    assert(key >= 0n, 'FixedMap keys are non-negative');
    const index = this.index;
    let hash: number;
    let bucket: number;
    if (this.missKey === key) {
      // Nothing was inserted or removed since that miss (both reset missKey), so the bucket it
      // ended at is still the first empty one of the key's probe sequence.
      hash = this.missHash;
      bucket = this.missBucket;
    } else {
      hash = hashKey(key);
      const mask = this.mask;
      bucket = hash & mask;
      for (;;) {
        const stored = index[bucket]!;
        if (stored === 0) break;
        if (this.indexHashes[bucket] === hash && this.slotKeys[stored - 1] === key) {
          return INSERT_DUPLICATE;
        }
        bucket = (bucket + 1) & mask;
      }
    }
    if (this.freeTop === 0) return INSERT_FULL;
    this.missKey = undefined;
    const slot = this.freeSlots[--this.freeTop]!;
    this.slotKeys[slot] = key;
    this.slotValues[slot] = value;
    this.slotUsed[slot] = 1;
    this.slotBuckets[slot] = bucket;
    if (slot >= this.slotHighWater) this.slotHighWater = slot + 1;
    index[bucket] = slot + 1;
    this.indexHashes[bucket] = hash;
    this.count++;
    assert(this.count <= this.capacity, 'a FixedMap never holds more than its capacity');
    return slot;
  }

  /** Replaces the value of an existing key; false (and nothing changes) when the key is absent. */
  replace(key: bigint, value: V): boolean {
    const slot = this.findSlot(key, hashKey(key));
    if (slot < 0) return false;
    this.slotValues[slot] = value;
    return true;
  }

  /** Removes `key`; returns whether it was present. */
  remove(key: bigint): boolean {
    const hash = hashKey(key);
    const index = this.index;
    const mask = this.mask;
    let gap = hash & mask;
    for (;;) {
      const stored = index[gap]!;
      if (stored === 0) return false;
      if (this.indexHashes[gap] === hash && this.slotKeys[stored - 1] === key) {
        this.removeFrom(gap, stored - 1);
        return true;
      }
      gap = (gap + 1) & mask;
    }
  }

  /** Removes the entry in a used `slot` (from `slotOf` or `insertSlot`): no hash, no probe. */
  removeSlot(slot: number): void {
    assert(this.slotUsed[slot] === 1, 'FixedMap.removeSlot of an unused slot');
    const bucket = this.slotBuckets[slot]!;
    assert(this.index[bucket] === slot + 1, 'FixedMap slot and index agree');
    this.removeFrom(bucket, slot);
  }

  /** Deletes the entry in `slot`, which the index holds at bucket `gap`. */
  private removeFrom(gap: number, slot: number): void {
    const index = this.index;
    const mask = this.mask;
    this.missKey = undefined;
    // Backward-shift deletion: walk the rest of the cluster and pull back every entry whose home
    // bucket lies at or before the gap (cyclically). Do not stop at an entry sitting in its own
    // home: an entry further on may have wrapped around and still need to move.
    let bucket = (gap + 1) & mask;
    for (;;) {
      const stored = index[bucket]!;
      if (stored === 0) break;
      const movedHash = this.indexHashes[bucket]!;
      const home = movedHash & mask;
      if (((bucket - home) & mask) >= ((bucket - gap) & mask)) {
        index[gap] = stored;
        this.indexHashes[gap] = movedHash;
        this.slotBuckets[stored - 1] = gap;
        gap = bucket;
      }
      bucket = (bucket + 1) & mask;
    }
    index[gap] = 0;

    this.slotValues[slot] = undefined;
    this.slotKeys[slot] = 0n;
    this.slotUsed[slot] = 0;
    this.freeSlots[this.freeTop++] = slot;
    this.count--;
    assert(this.count >= 0 && this.freeTop <= this.capacity, 'FixedMap slot accounting holds');
  }

  /** Removes every entry, keeping the memory. */
  clear(): void {
    this.missKey = undefined;
    this.index.fill(0);
    this.slotKeys.fill(0n);
    this.slotValues.fill(undefined);
    this.slotUsed.fill(0);
    for (let i = 0; i < this.capacity; i++) this.freeSlots[i] = this.capacity - 1 - i;
    this.freeTop = this.capacity;
    this.slotHighWater = 0;
    this.count = 0;
  }

  /** `[key, value]` pairs in slot order. Do not insert or remove while iterating. */
  *entries(): IterableIterator<[bigint, V]> {
    for (let slot = 0; slot < this.slotHighWater; slot++) {
      if (this.slotUsed[slot] === 1) yield [this.slotKeys[slot]!, this.slotValues[slot] as V];
    }
  }

  *keys(): IterableIterator<bigint> {
    for (let slot = 0; slot < this.slotHighWater; slot++) {
      if (this.slotUsed[slot] === 1) yield this.slotKeys[slot]!;
    }
  }

  *values(): IterableIterator<V> {
    for (let slot = 0; slot < this.slotHighWater; slot++) {
      if (this.slotUsed[slot] === 1) yield this.slotValues[slot] as V;
    }
  }

  /** Calls `fn` for every entry in slot order, without allocating an iterator per entry. */
  forEach(fn: (value: V, key: bigint) => void): void {
    for (let slot = 0; slot < this.slotHighWater; slot++) {
      if (this.slotUsed[slot] === 1) fn(this.slotValues[slot] as V, this.slotKeys[slot]!);
    }
  }

  [Symbol.iterator](): IterableIterator<[bigint, V]> {
    return this.entries();
  }
}
