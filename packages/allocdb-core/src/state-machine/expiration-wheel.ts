/**
 * The expiration wheel: every `reserved` reservation is scheduled in bucket
 * `deadline mod (maxTtlSlots + 1)`, each bucket holding at most `maxExpirationBucketLen` ids.
 *
 * Memory. `maxTtlSlots` may be as large as 2^64 − 2, so the wheel cannot own an array of
 * buckets, and a flat `(maxTtlSlots + 1) × bucketLen` table would be enormous even for modest
 * TTLs. Only non-empty buckets matter, and there are never more of them than scheduled
 * reservations, which never exceed `maxReservations`. So the wheel is built from two structures
 * allocated once, at open, each sized by `maxReservations`, independent of `maxTtlSlots`:
 *
 * - `bucketLengths`, a FixedMap from bucket index to its length: answers the bucket bound
 *   (`expiration_index_full`) in one lookup;
 * - `heap`, a binary min-heap of the scheduled reservations ordered by `(deadline, id)`, with
 *   each entry remembering its position for O(log n) removal: answers `dueExpirations` (the k
 *   earliest, in order) and `expirationBacklog` without scanning every reservation.
 *
 * A bucket's ids in ascending order (the spec's view of the wheel, used by snapshots and the
 * invariant check) are derived from the heap on demand by `buckets()`.
 */
import { InvariantViolation } from '../errors.js';
import { FixedMap } from '../runtime/fixed-map.js';
import type { ExpirationBucket } from '../types.js';

/** What the wheel needs from a scheduled record. */
export interface WheelEntry {
  readonly reservationId: bigint;
  readonly deadlineSlot: bigint;
  /** Index in the heap while scheduled, −1 otherwise. Owned by the wheel. */
  wheelPosition: number;
  /** The length counter of its bucket while scheduled (no lookup to unschedule). Owned by the wheel. */
  wheelBucket: BucketLength | undefined;
}

/** A bucket's length counter (one object per non-empty bucket). */
export interface BucketLength {
  length: number;
  /** Its slot in `bucketLengths`: emptied, the bucket is removed by slot, with no `%` or hash. */
  slot: number;
}

/** Strict `(deadline, id)` order. */
function precedes(a: WheelEntry, b: WheelEntry): boolean {
  return (
    a.deadlineSlot < b.deadlineSlot ||
    (a.deadlineSlot === b.deadlineSlot && a.reservationId < b.reservationId)
  );
}

export class ExpirationWheel<E extends WheelEntry> {
  /** Number of buckets: maxTtlSlots + 1. */
  readonly bucketCount: bigint;
  readonly maxBucketLen: number;
  /** Most reservations that can be scheduled at once (maxReservations). */
  readonly capacity: number;
  private readonly bucketLengths: FixedMap<BucketLength>;
  private readonly heap: (E | undefined)[];
  private count = 0;
  /**
   * The last deadline looked up (`lookup`) and its bucket's counter: a reserve asks `hasRoom` and
   * then schedules at the same deadline, and consecutive reserves of one slot share a deadline,
   * so the bigint `%` and the hash lookup run once. Reset whenever a bucket is added or removed
   * (a counter's own length may change: it is read through the object).
   */
  private lookedUpDeadline: bigint | undefined = undefined;
  private lookedUpLength: BucketLength | undefined = undefined;

  constructor(maxTtlSlots: bigint, maxBucketLen: number, capacity: number) {
    this.bucketCount = maxTtlSlots + 1n;
    this.maxBucketLen = maxBucketLen;
    this.capacity = capacity;
    this.bucketLengths = new FixedMap<BucketLength>(capacity);
    this.heap = new Array<E | undefined>(capacity).fill(undefined);
  }

  /** Scheduled reservations. */
  get size(): number {
    return this.count;
  }

  /** Buckets holding at least one id. */
  get nonEmptyBuckets(): number {
    return this.bucketLengths.size;
  }

  bucketOf(deadlineSlot: bigint): bigint {
    return deadlineSlot % this.bucketCount;
  }

  /** The counter of the bucket of `deadlineSlot`, undefined when that bucket is empty. */
  private lookup(deadlineSlot: bigint): BucketLength | undefined {
    if (deadlineSlot !== this.lookedUpDeadline) {
      this.lookedUpLength = this.bucketLengths.get(this.bucketOf(deadlineSlot));
      this.lookedUpDeadline = deadlineSlot;
    }
    return this.lookedUpLength;
  }

  /** Ids currently in the bucket of `deadlineSlot`. */
  bucketLength(deadlineSlot: bigint): number {
    return this.lookup(deadlineSlot)?.length ?? 0;
  }

  /** Whether the bucket of this deadline has room for one more id. */
  hasRoom(deadlineSlot: bigint): boolean {
    return this.bucketLength(deadlineSlot) < this.maxBucketLen;
  }

  /** Length of the fullest bucket (a scan over non-empty buckets: for metrics only). */
  largestBucketLength(): number {
    let largest = 0;
    this.bucketLengths.forEach((bucket) => {
      if (bucket.length > largest) largest = bucket.length;
    });
    return largest;
  }

  /** Adds an entry; the caller has checked `hasRoom`. */
  schedule(entry: E): void {
    if (entry.wheelPosition !== -1) {
      throw new InvariantViolation('wheel_double_schedule', `${entry.reservationId} is scheduled`);
    }
    // Both are guaranteed by the caller: a full bucket answers expiration_index_full, and no
    // more reservations than the reservation table holds can be scheduled.
    let length = this.lookup(entry.deadlineSlot);
    if ((length?.length ?? 0) >= this.maxBucketLen || this.count === this.capacity) {
      throw new InvariantViolation('wheel_bound', `no room for ${entry.reservationId}`);
    }
    if (length === undefined) {
      length = { length: 1, slot: -1 };
      length.slot = this.bucketLengths.insertSlot(this.bucketOf(entry.deadlineSlot), length);
      if (length.slot < 0) {
        throw new InvariantViolation('wheel_bound', `no bucket for ${entry.reservationId}`);
      }
      this.lookedUpDeadline = undefined;
    } else {
      length.length++;
    }
    entry.wheelBucket = length;
    const position = this.count++;
    this.heap[position] = entry;
    entry.wheelPosition = position;
    this.siftUp(position);
  }

  /** Removes a scheduled entry. */
  unschedule(entry: E): void {
    const position = entry.wheelPosition;
    if (position < 0 || this.heap[position] !== entry) {
      throw new InvariantViolation('wheel_membership', `${entry.reservationId} is not scheduled`);
    }
    const length = entry.wheelBucket!;
    entry.wheelBucket = undefined;
    if (--length.length === 0) {
      this.bucketLengths.removeSlot(length.slot);
      this.lookedUpDeadline = undefined;
    }

    const last = --this.count;
    const moved = this.heap[last]!;
    this.heap[last] = undefined;
    entry.wheelPosition = -1;
    if (position !== last) {
      this.heap[position] = moved;
      moved.wheelPosition = position;
      this.siftDown(position);
      this.siftUp(moved.wheelPosition);
    }
  }

  /** Entry at heap position `i` (for the invariant check). */
  entryAt(i: number): E | undefined {
    return i < this.count ? this.heap[i] : undefined;
  }

  /** Up to `limit` entries with `deadline ≤ currentSlot`, in `(deadline, id)` order. */
  due(currentSlot: bigint, limit: number): E[] {
    const result: E[] = [];
    if (limit <= 0 || this.count === 0) return result;
    // Best-first walk of the heap: a small frontier heap of positions holds the candidates; the
    // smallest is taken and its two children join the frontier. O(k log k) for k results.
    const frontier: number[] = [0];
    while (frontier.length > 0 && result.length < limit) {
      const position = this.popFrontier(frontier);
      const entry = this.heap[position]!;
      if (entry.deadlineSlot > currentSlot) break;
      result.push(entry);
      const left = 2 * position + 1;
      if (left < this.count) this.pushFrontier(frontier, left);
      if (left + 1 < this.count) this.pushFrontier(frontier, left + 1);
    }
    return result;
  }

  /** Number of scheduled entries with `deadline ≤ slot` (visits only those, plus a boundary). */
  backlog(slot: bigint): number {
    if (this.count === 0) return 0;
    let total = 0;
    const stack: number[] = [0];
    while (stack.length > 0) {
      const position = stack.pop()!;
      if (this.heap[position]!.deadlineSlot > slot) continue;
      total++;
      const left = 2 * position + 1;
      if (left < this.count) stack.push(left);
      if (left + 1 < this.count) stack.push(left + 1);
    }
    return total;
  }

  /** The non-empty buckets by index, each with its ids ascending. */
  buckets(): ExpirationBucket[] {
    const byBucket = new Map<bigint, bigint[]>();
    for (let i = 0; i < this.count; i++) {
      const entry = this.heap[i]!;
      const bucket = this.bucketOf(entry.deadlineSlot);
      const ids = byBucket.get(bucket);
      if (ids === undefined) byBucket.set(bucket, [entry.reservationId]);
      else ids.push(entry.reservationId);
    }
    const compare = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
    return [...byBucket.keys()].sort(compare).map((bucket) => ({
      bucket,
      reservationIds: byBucket.get(bucket)!.sort(compare),
    }));
  }

  /**
   * Checks the wheel's own structure: heap order, back-pointers, bucket lengths equal to the
   * grouped entries and within the bound.
   */
  checkStructure(): void {
    const grouped = new Map<bigint, number>();
    for (let i = 0; i < this.count; i++) {
      const entry = this.heap[i];
      if (entry === undefined || entry.wheelPosition !== i) {
        throw new InvariantViolation('wheel_position', `heap slot ${i} is inconsistent`);
      }
      const counter = this.bucketLengths.get(this.bucketOf(entry.deadlineSlot));
      if (
        counter === undefined ||
        entry.wheelBucket !== counter ||
        this.bucketLengths.valueAt(counter.slot) !== counter
      ) {
        throw new InvariantViolation('wheel_bucket_lengths', `heap slot ${i} has a stale bucket`);
      }
      if (i > 0 && precedes(entry, this.heap[(i - 1) >> 1]!)) {
        throw new InvariantViolation('wheel_order', `heap order broken at ${i}`);
      }
      const bucket = this.bucketOf(entry.deadlineSlot);
      grouped.set(bucket, (grouped.get(bucket) ?? 0) + 1);
    }
    if (grouped.size !== this.bucketLengths.size) {
      throw new InvariantViolation('wheel_bucket_lengths', 'non-empty bucket count differs');
    }
    for (const [bucket, length] of grouped) {
      if (this.bucketLengths.get(bucket)?.length !== length) {
        throw new InvariantViolation('wheel_bucket_lengths', `bucket ${bucket} length differs`);
      }
      if (length > this.maxBucketLen) {
        throw new InvariantViolation('wheel_bucket_bound', `bucket ${bucket} holds ${length}`);
      }
    }
  }

  private siftUp(position: number): void {
    const heap = this.heap;
    const entry = heap[position]!;
    while (position > 0) {
      const parentPosition = (position - 1) >> 1;
      const parent = heap[parentPosition]!;
      if (!precedes(entry, parent)) break;
      heap[position] = parent;
      parent.wheelPosition = position;
      position = parentPosition;
    }
    heap[position] = entry;
    entry.wheelPosition = position;
  }

  private siftDown(position: number): void {
    const heap = this.heap;
    const entry = heap[position]!;
    const count = this.count;
    for (;;) {
      const left = 2 * position + 1;
      if (left >= count) break;
      const right = left + 1;
      const child = right < count && precedes(heap[right]!, heap[left]!) ? right : left;
      const childEntry = heap[child]!;
      if (!precedes(childEntry, entry)) break;
      heap[position] = childEntry;
      childEntry.wheelPosition = position;
      position = child;
    }
    heap[position] = entry;
    entry.wheelPosition = position;
  }

  private pushFrontier(frontier: number[], position: number): void {
    const heap = this.heap;
    let i = frontier.length;
    frontier.push(position);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!precedes(heap[frontier[i]!]!, heap[frontier[parent]!]!)) break;
      [frontier[i], frontier[parent]] = [frontier[parent]!, frontier[i]!];
      i = parent;
    }
  }

  private popFrontier(frontier: number[]): number {
    const heap = this.heap;
    const top = frontier[0]!;
    const last = frontier.pop()!;
    if (frontier.length > 0) {
      frontier[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= frontier.length) break;
        const right = left + 1;
        const child =
          right < frontier.length && precedes(heap[frontier[right]!]!, heap[frontier[left]!]!)
            ? right
            : left;
        if (!precedes(heap[frontier[child]!]!, heap[frontier[i]!]!)) break;
        [frontier[i], frontier[child]] = [frontier[child]!, frontier[i]!];
        i = child;
      }
    }
    return top;
  }
}
