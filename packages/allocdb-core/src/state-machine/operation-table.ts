/**
 * The operation table: one record per executed client command, live until its
 * `retireAfterSlot`, answering retries (same command) and conflicts (another command).
 *
 * Layout. At steady state the table holds every command of the last W slots, and records die in
 * the order they were made, so a record per heap object (plus its command buffer, LSN and slot
 * bigints) would make the garbage collector copy tens of thousands of survivors on every young
 * collection. Instead the records live in arrays allocated at open, indexed by a slot number:
 * the slot the runtime's FixedMap keeps operationId in (a small integer, no allocation; a lookup
 * that misses leaves the insert that follows it no second hash or probe, and a record is deleted
 * by its slot with no hash at all), LSNs sit in a BigUint64Array, retirement slots in plain
 * references shared by every record of one request slot, and the canonical command bytes sit inline in one byte
 * array, `INLINE_COMMAND_BYTES` per slot. A longer command (a bundle of two or more) gets a
 * buffer of its own. A record then retains no heap object of its own apart from the outcome of a
 * successful reserve.
 */

import { INLINE_COMMAND_BYTES } from '../constants.js';
import { InvariantViolation } from '../errors.js';
import { FixedMap, INSERT_FULL } from '../runtime/fixed-map.js';
import type { OperationRecord, Outcome } from '../types.js';

export class OperationTable {
  readonly capacity: number;
  /** The operation ids; an id's slot in this map is its record's slot in the arrays below. */
  private readonly index: FixedMap<true>;
  private readonly appliedLsns: BigUint64Array;
  /**
   * Plain references, not a BigUint64Array: every read of a BigUint64Array makes a new bigint,
   * and this one is read on every retirement and every invariant check. The values are shared
   * (all the commands of one request slot carry the same bigint, see `windowEnds`).
   */
  private readonly retireAfterSlots: bigint[];
  private readonly outcomes: (Outcome | undefined)[];
  private readonly commandLengths: Int32Array;
  /** `INLINE_COMMAND_BYTES` per slot. */
  private readonly inlineCommands: Uint8Array;
  /** Commands longer than `INLINE_COMMAND_BYTES`, by slot. */
  private readonly longCommands: (Uint8Array | undefined)[];

  constructor(capacity: number) {
    this.capacity = capacity;
    this.index = new FixedMap<true>(capacity);
    this.appliedLsns = new BigUint64Array(capacity);
    this.retireAfterSlots = new Array<bigint>(capacity).fill(0n);
    this.outcomes = new Array<Outcome | undefined>(capacity).fill(undefined);
    this.commandLengths = new Int32Array(capacity);
    this.inlineCommands = new Uint8Array(capacity * INLINE_COMMAND_BYTES);
    this.longCommands = new Array<Uint8Array | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.index.size;
  }

  isFull(): boolean {
    return this.index.isFull();
  }

  /** Slot of the record of `operationId`, or −1. */
  slotOf(operationId: bigint): number {
    return this.index.slotOf(operationId);
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
    const slot = this.index.insertSlot(operationId, true);
    if (slot < 0) {
      throw new InvariantViolation(
        'operation_insert',
        `cannot record ${operationId} (${slot === INSERT_FULL ? 'table is full' : 'duplicate id'})`,
      );
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
    this.outcomes[slot] = outcome;
    this.appliedLsns[slot] = appliedLsn;
    this.retireAfterSlots[slot] = retireAfterSlot;
    return slot;
  }

  /**
   * Whether `slot` holds a record that carries `retireAfterSlot`. The retire queue names records
   * by slot; a record leaves the table only when its own queue entry is retired, so a slot is
   * never reused while an entry for its previous record waits.
   */
  isLiveEntry(slot: number, retireAfterSlot: bigint): boolean {
    return this.index.isUsed(slot) && this.retireAfterSlots[slot] === retireAfterSlot;
  }

  /**
   * Retirement: deletes the record in `slot` if it still carries `retireAfterSlot` (otherwise
   * the queue entry was stale). One removal by slot: no hash, no lookup.
   */
  retire(slot: number, retireAfterSlot: bigint): void {
    if (!this.isLiveEntry(slot, retireAfterSlot)) return;
    this.index.removeSlot(slot);
    this.outcomes[slot] = undefined;
    this.longCommands[slot] = undefined;
  }

  /** The record in `slot` as a public record (copies). */
  recordAt(slot: number): OperationRecord {
    return {
      operationId: this.index.keyAt(slot),
      command: this.commandAt(slot),
      outcome: this.outcomes[slot]!,
      appliedLsn: this.appliedLsns[slot]!,
      retireAfterSlot: this.retireAfterSlots[slot]!,
    };
  }

  /** Calls `fn` with every record's slot and id (in slot order). */
  forEach(fn: (slot: number, operationId: bigint) => void): void {
    const index = this.index;
    for (let slot = 0; slot < this.capacity; slot++) {
      if (index.isUsed(slot)) fn(slot, index.keyAt(slot));
    }
  }

  /** Checks the index against the slot arrays (for the invariant check). */
  checkStructure(): void {
    let used = 0;
    for (let slot = 0; slot < this.capacity; slot++) {
      const live = this.index.isUsed(slot);
      if (live) used++;
      if (live !== (this.outcomes[slot] !== undefined)) {
        throw new InvariantViolation('operation_slots', `slot ${slot} disagrees with the index`);
      }
      if (live && this.index.slotOf(this.index.keyAt(slot)) !== slot) {
        throw new InvariantViolation('operation_slots', `slot ${slot} is not where its id is`);
      }
    }
    if (used !== this.index.size) {
      throw new InvariantViolation('operation_slots', 'used slots and the index do not add up');
    }
  }
}
