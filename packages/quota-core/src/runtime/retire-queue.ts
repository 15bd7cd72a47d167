/**
 * A bounded FIFO of retirement deadlines: a ring buffer of `{ key, retireAfterSlot }`.
 *
 * Engines push an entry when a record becomes retirable and, at the start of every applied
 * command at slot `s`, pop entries while the front's `retireAfterSlot < s`, deleting the live
 * record only if it still exists and still carries that same `retireAfterSlot` (otherwise the
 * entry is stale and dropped). The queue itself knows nothing about the records.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */

/** Result of `push`: the ring never grows, so a full ring is an answer, not an exception. */
export type RetireQueuePushResult = 'ok' | 'full';

export interface RetireEntry<K> {
  readonly key: K;
  readonly retireAfterSlot: bigint;
}

export class RetireQueue<K> {
  readonly capacity: number;
  private readonly keys: (K | undefined)[];
  private readonly slots: bigint[];
  private head = 0;
  private count = 0;

  /** Capacity is `max(1, requested)`; all memory is allocated here. */
  constructor(requestedCapacity: number) {
    if (!Number.isSafeInteger(requestedCapacity) || requestedCapacity < 0) {
      throw new RangeError(
        `RetireQueue capacity must be a non-negative integer, got ${requestedCapacity}`,
      );
    }
    this.capacity = Math.max(1, requestedCapacity);
    this.keys = new Array<K | undefined>(this.capacity).fill(undefined);
    this.slots = new Array<bigint>(this.capacity).fill(0n);
  }

  get size(): number {
    return this.count;
  }

  isEmpty(): boolean {
    return this.count === 0;
  }

  isFull(): boolean {
    return this.count === this.capacity;
  }

  /** Appends an entry at the back; `'full'` (and nothing changes) when the ring is full. */
  push(key: K, retireAfterSlot: bigint): RetireQueuePushResult {
    if (this.count === this.capacity) return 'full';
    let tail = this.head + this.count;
    if (tail >= this.capacity) tail -= this.capacity;
    this.keys[tail] = key;
    this.slots[tail] = retireAfterSlot;
    this.count++;
    return 'ok';
  }

  /** The oldest entry, or undefined when empty. Allocates a small object; see `frontSlot`. */
  front(): RetireEntry<K> | undefined {
    if (this.count === 0) return undefined;
    return { key: this.keys[this.head] as K, retireAfterSlot: this.slots[this.head]! };
  }

  /** `retireAfterSlot` of the oldest entry, or undefined when empty (allocation-free peek). */
  frontSlot(): bigint | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  /** Key of the oldest entry, or undefined when empty (allocation-free peek). */
  frontKey(): K | undefined {
    return this.count === 0 ? undefined : this.keys[this.head];
  }

  /** Removes and returns the oldest entry; undefined when empty. */
  popFront(): RetireEntry<K> | undefined {
    if (this.count === 0) return undefined;
    const entry = { key: this.keys[this.head] as K, retireAfterSlot: this.slots[this.head]! };
    this.dropFront();
    return entry;
  }

  /** Removes the oldest entry without returning it (allocation-free); no-op when empty. */
  dropFront(): void {
    if (this.count === 0) return;
    this.keys[this.head] = undefined;
    this.head++;
    if (this.head === this.capacity) this.head = 0;
    this.count--;
  }

  /** Entries from oldest to newest. */
  *entries(): IterableIterator<RetireEntry<K>> {
    for (let i = 0; i < this.count; i++) {
      let at = this.head + i;
      if (at >= this.capacity) at -= this.capacity;
      yield { key: this.keys[at] as K, retireAfterSlot: this.slots[at]! };
    }
  }

  /** Empties the queue, keeping its memory. */
  clear(): void {
    this.keys.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}
