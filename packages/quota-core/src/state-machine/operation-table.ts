/**
 * The operation table: one record per executed client command, live through its
 * `retireAfterSlot`, answering retries (same command) and conflicts (another command).
 *
 * Layout. At steady state the table holds every command of the last window of slots, and
 * records die in the order they were made, so a record per heap object (plus its command buffer,
 * LSN and slot bigints) would make the garbage collector copy tens of thousands of survivors on
 * every young collection. Instead the records live in arrays allocated at open, indexed by a slot
 * number: the runtime's FixedMap maps operationId → slot (a small integer, no allocation), LSNs
 * and slots sit in BigUint64Arrays, and the canonical command bytes sit inline in one byte array,
 * `MAX_COMMAND_BYTES` per slot (every quota command fits). Outcomes are shared frozen objects
 * (`OUTCOMES`, or the bucket's own `okOutcome`), so a record retains no heap object of its own.
 */

import { MAX_COMMAND_BYTES } from '../constants.js';
import { InvariantViolation } from '../errors.js';
import { FixedMap } from '../runtime/fixed-map.js';
import type { OperationRecord, Outcome } from '../types.js';

export class OperationTable {
  readonly capacity: number;
  /** operationId → slot. */
  private readonly index: FixedMap<number>;
  private readonly operationIds: (bigint | undefined)[];
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
  /** Stack of free slots; the top is at `freeTop - 1`. */
  private readonly freeSlots: Int32Array;
  private freeTop: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.index = new FixedMap<number>(capacity);
    this.operationIds = new Array<bigint | undefined>(capacity).fill(undefined);
    this.appliedLsns = new BigUint64Array(capacity);
    this.retireAfterSlots = new Array<bigint>(capacity).fill(0n);
    this.outcomes = new Array<Outcome | undefined>(capacity).fill(undefined);
    this.commandLengths = new Uint8Array(capacity);
    this.commands = new Uint8Array(capacity * MAX_COMMAND_BYTES);
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
    if (this.freeTop === 0) throw new InvariantViolation('operation_insert', 'table is full');
    const slot = this.freeSlots[--this.freeTop]!;
    if (this.index.insert(operationId, slot) !== 'ok') {
      this.freeTop++;
      throw new InvariantViolation('operation_insert', `cannot record ${operationId}`);
    }
    const commands = this.commands;
    const at = slot * MAX_COMMAND_BYTES;
    for (let i = 0; i < length; i++) commands[at + i] = bytes[start + i]!;
    this.commandLengths[slot] = length;
    this.operationIds[slot] = operationId;
    this.outcomes[slot] = outcome;
    this.appliedLsns[slot] = appliedLsn;
    this.retireAfterSlots[slot] = retireAfterSlot;
    return slot;
  }

  /** Deletes the record in `slot`. */
  removeAt(slot: number): void {
    this.index.remove(this.operationIds[slot]!);
    this.operationIds[slot] = undefined;
    this.outcomes[slot] = undefined;
    this.freeSlots[this.freeTop++] = slot;
  }

  /**
   * Whether `slot` holds a record that carries `retireAfterSlot`. The retire queue identifies
   * records by slot: a slot freed early (dedupe found its record past its window, at a request
   * slot beyond that window) is only reused by records with a later `retireAfterSlot`, so the
   * pair names one record.
   */
  isLiveEntry(slot: number, retireAfterSlot: bigint): boolean {
    return this.operationIds[slot] !== undefined && this.retireAfterSlots[slot] === retireAfterSlot;
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
