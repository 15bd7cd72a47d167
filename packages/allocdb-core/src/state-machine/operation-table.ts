/**
 * The operation table: one record per executed client command, live until its
 * `retireAfterSlot`, answering retries (same command) and conflicts (another command).
 *
 * Layout. At steady state the table holds every command of the last W slots, and records die in
 * the order they were made, so a record per heap object (plus its command buffer, LSN and slot
 * bigints) would make the garbage collector copy tens of thousands of survivors on every young
 * collection. Instead the records live in arrays allocated at open, indexed by a slot number:
 * the FixedMap from the runtime maps operationId → slot (a small integer, no allocation), LSNs
 * and slots sit in BigUint64Arrays, and the canonical command bytes sit inline in one byte
 * array, `INLINE_COMMAND_BYTES` per slot. A longer command (a bundle of two or more) gets a
 * buffer of its own. A record then retains no heap object of its own apart from the outcome of a
 * successful reserve.
 */

import { INLINE_COMMAND_BYTES } from '../constants.js';
import { InvariantViolation } from '../errors.js';
import { FixedMap } from '../runtime/fixed-map.js';
import type { OperationRecord, Outcome } from '../types.js';

export class OperationTable {
  readonly capacity: number;
  /** operationId → slot. */
  private readonly index: FixedMap<number>;
  private readonly operationIds: (bigint | undefined)[];
  private readonly appliedLsns: BigUint64Array;
  private readonly retireAfterSlots: BigUint64Array;
  private readonly outcomes: (Outcome | undefined)[];
  private readonly commandLengths: Int32Array;
  /** `INLINE_COMMAND_BYTES` per slot. */
  private readonly inlineCommands: Uint8Array;
  /** Commands longer than `INLINE_COMMAND_BYTES`, by slot. */
  private readonly longCommands: (Uint8Array | undefined)[];
  /** Stack of free slots; the top is at `freeTop - 1`. */
  private readonly freeSlots: Int32Array;
  private freeTop: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.index = new FixedMap<number>(capacity);
    this.operationIds = new Array<bigint | undefined>(capacity).fill(undefined);
    this.appliedLsns = new BigUint64Array(capacity);
    this.retireAfterSlots = new BigUint64Array(capacity);
    this.outcomes = new Array<Outcome | undefined>(capacity).fill(undefined);
    this.commandLengths = new Int32Array(capacity);
    this.inlineCommands = new Uint8Array(capacity * INLINE_COMMAND_BYTES);
    this.longCommands = new Array<Uint8Array | undefined>(capacity).fill(undefined);
    this.freeSlots = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.freeSlots[i] = capacity - 1 - i;
    this.freeTop = capacity;
  }

  get size(): number {
    return this.index.size;
  }

  isFull(): boolean {
    return this.freeTop === 0;
  }

  /** Slot of the record of `operationId`, or −1. */
  slotOf(operationId: bigint): number {
    return this.index.get(operationId) ?? -1;
  }

  outcomeAt(slot: number): Outcome {
    return this.outcomes[slot]!;
  }

  appliedLsnAt(slot: number): bigint {
    return this.appliedLsns[slot]!;
  }

  retireAfterSlotAt(slot: number): bigint {
    return this.retireAfterSlots[slot]!;
  }

  /** Whether the record in `slot` holds exactly `bytes[start, end)` (no copy). */
  commandMatches(slot: number, bytes: Uint8Array, start: number, end: number): boolean {
    const length = this.commandLengths[slot]!;
    if (end - start !== length) return false;
    const long = this.longCommands[slot];
    const stored = long ?? this.inlineCommands;
    const at = long === undefined ? slot * INLINE_COMMAND_BYTES : 0;
    for (let i = 0; i < length; i++) if (stored[at + i] !== bytes[start + i]) return false;
    return true;
  }

  /** A copy of the command bytes of the record in `slot`. */
  commandAt(slot: number): Uint8Array {
    const long = this.longCommands[slot];
    if (long !== undefined) return long.slice();
    const start = slot * INLINE_COMMAND_BYTES;
    return this.inlineCommands.slice(start, start + this.commandLengths[slot]!);
  }

  /**
   * Adds a record of the command bytes `bytes[start, end)` and returns its slot; the caller has
   * checked that the id is absent and the table not full.
   */
  record(
    operationId: bigint,
    bytes: Uint8Array,
    start: number,
    end: number,
    outcome: Outcome,
    appliedLsn: bigint,
    retireAfterSlot: bigint,
  ): number {
    if (this.freeTop === 0) throw new InvariantViolation('operation_insert', 'table is full');
    const slot = this.freeSlots[--this.freeTop]!;
    if (this.index.insert(operationId, slot) !== 'ok') {
      this.freeTop++;
      throw new InvariantViolation('operation_insert', `cannot record ${operationId}`);
    }
    const length = end - start;
    if (length <= INLINE_COMMAND_BYTES) {
      const inline = this.inlineCommands;
      const at = slot * INLINE_COMMAND_BYTES;
      for (let i = 0; i < length; i++) inline[at + i] = bytes[start + i]!;
      this.longCommands[slot] = undefined;
    } else {
      this.longCommands[slot] = bytes.slice(start, end);
    }
    this.commandLengths[slot] = length;
    this.operationIds[slot] = operationId;
    this.outcomes[slot] = outcome;
    this.appliedLsns[slot] = appliedLsn;
    this.retireAfterSlots[slot] = retireAfterSlot;
    return slot;
  }

  /**
   * Retirement: deletes the record of `operationId` if it still carries `retireAfterSlot`
   * (otherwise the queue entry was stale).
   */
  retire(operationId: bigint, retireAfterSlot: bigint): void {
    const slot = this.index.get(operationId);
    if (slot === undefined || this.retireAfterSlots[slot] !== retireAfterSlot) return;
    this.index.remove(operationId);
    this.operationIds[slot] = undefined;
    this.outcomes[slot] = undefined;
    this.longCommands[slot] = undefined;
    this.freeSlots[this.freeTop++] = slot;
  }

  /** The record in `slot` as a public record (copies). */
  recordAt(slot: number): OperationRecord {
    return {
      operationId: this.operationIds[slot]!,
      command: this.commandAt(slot),
      outcome: this.outcomes[slot]!,
      appliedLsn: this.appliedLsns[slot]!,
      retireAfterSlot: this.retireAfterSlots[slot]!,
    };
  }

  /** Calls `fn` with every record's slot and id (in the index's slot order). */
  forEach(fn: (slot: number, operationId: bigint) => void): void {
    this.index.forEach(fn);
  }

  /** Checks the index against the slot arrays (for the invariant check). */
  checkStructure(): void {
    if (this.index.size + this.freeTop !== this.capacity) {
      throw new InvariantViolation('operation_slots', 'used and free slots do not add up');
    }
    this.index.forEach((slot, operationId) => {
      if (this.operationIds[slot] !== operationId || this.outcomes[slot] === undefined) {
        throw new InvariantViolation('operation_slots', `slot ${slot} disagrees with the index`);
      }
    });
  }
}
