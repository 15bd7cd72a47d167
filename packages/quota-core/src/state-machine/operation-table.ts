/**
 * The operation table: one record per executed client command, live through its
 * `retireAfterSlot`, answering retries (same command) and conflicts (another command).
 *
 * Layout. At steady state the table holds every command of the last window of slots, and
 * records die in the order they were made, so a record per heap object (plus its command buffer,
 * LSN and slot bigints) would make the garbage collector copy tens of thousands of survivors on
 * every young collection. Instead the records live in arrays allocated at open, indexed by a slot
 * number: the slot the runtime's FixedMap keeps operationId in (a small integer, no allocation;
 * a lookup that misses leaves the insert that follows it no second hash or probe, and a record
 * is deleted by its slot with no hash at all), LSNs
 * and slots sit in BigUint64Arrays, and the canonical command bytes sit inline in one byte array,
 * `MAX_COMMAND_BYTES` per slot (every quota command fits). Outcomes are shared frozen objects
 * (`OUTCOMES`, or the bucket's own `okOutcome`), so a record retains no heap object of its own.
 */

import { MAX_COMMAND_BYTES } from '../constants.js';
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
   * and this one is read on every dedupe and every retirement. The values are shared (all the
   * commands of one slot carry the same bigint, see QuotaDb), so they cost the GC little.
   */
  private readonly retireAfterSlots: bigint[];
  private readonly outcomes: (Outcome | undefined)[];
  private readonly commandLengths: Uint8Array;
  /** `MAX_COMMAND_BYTES` per slot. */
  private readonly commands: Uint8Array;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.index = new FixedMap<true>(capacity);
    this.appliedLsns = new BigUint64Array(capacity);
    this.retireAfterSlots = new Array<bigint>(capacity).fill(0n);
    this.outcomes = new Array<Outcome | undefined>(capacity).fill(undefined);
    this.commandLengths = new Uint8Array(capacity);
    this.commands = new Uint8Array(capacity * MAX_COMMAND_BYTES);
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
    const stored = this.commands;
    const at = slot * MAX_COMMAND_BYTES;
    for (let i = 0; i < length; i++) if (stored[at + i] !== bytes[start + i]) return false;
    return true;
  }

  /** A copy of the command bytes of the record in `slot`. */
  commandAt(slot: number): Uint8Array {
    const start = slot * MAX_COMMAND_BYTES;
    return this.commands.slice(start, start + this.commandLengths[slot]!);
  }

  /**
   * Adds a record and returns its slot; the caller has checked that the id is absent and the
   * table not full.
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
    const length = end - start;
    if (length > MAX_COMMAND_BYTES) {
      throw new InvariantViolation('operation_insert', `a ${length}-byte command does not fit`);
    }
    const slot = this.index.insertSlot(operationId, true);
    if (slot < 0) {
      throw new InvariantViolation(
        'operation_insert',
        `cannot record ${operationId} (${slot === INSERT_FULL ? 'table is full' : 'duplicate id'})`,
      );
    }
    const commands = this.commands;
    const at = slot * MAX_COMMAND_BYTES;
    for (let i = 0; i < length; i++) commands[at + i] = bytes[start + i]!;
    this.commandLengths[slot] = length;
    this.outcomes[slot] = outcome;
    this.appliedLsns[slot] = appliedLsn;
    this.retireAfterSlots[slot] = retireAfterSlot;
    return slot;
  }

  /** Deletes the record in `slot`. */
  removeAt(slot: number): void {
    this.index.removeSlot(slot);
    this.outcomes[slot] = undefined;
  }

  /**
   * Whether `slot` holds a record that carries `retireAfterSlot`. The retire queue identifies
   * records by slot: a slot freed early (dedupe found its record past its window, at a request
   * slot beyond that window) is only reused by records with a later `retireAfterSlot`, so the
   * pair names one record.
   */
  isLiveEntry(slot: number, retireAfterSlot: bigint): boolean {
    return this.index.isUsed(slot) && this.retireAfterSlots[slot] === retireAfterSlot;
  }

  /**
   * Retirement: deletes the record in `slot` if it still carries `retireAfterSlot` (otherwise
   * the queue entry was stale). One hash-table removal, no lookup.
   */
  retire(slot: number, retireAfterSlot: bigint): void {
    if (this.isLiveEntry(slot, retireAfterSlot)) this.removeAt(slot);
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
