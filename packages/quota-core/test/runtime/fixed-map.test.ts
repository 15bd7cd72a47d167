import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FixedMap, hashKey, INSERT_DUPLICATE, INSERT_FULL } from '../../src/runtime/fixed-map.js';
import { runs, SEED } from '../support/thorough.js';

function indexMaskFor(capacity: number): number {
  let size = 2;
  while (size < 2 * capacity) size *= 2;
  return size - 1;
}

/**
 * Keys whose home bucket is one of the last two buckets or the first one: inserting a few of
 * them builds a cluster that wraps around the end of the index, and they all collide.
 */
function wrappingKeys(capacity: number, count: number, base: bigint): bigint[] {
  const mask = indexMaskFor(capacity);
  const homes = new Set([mask - 1, mask, 0]);
  const found: bigint[] = [];
  for (let candidate = base; found.length < count; candidate++) {
    if (homes.has(hashKey(candidate) & mask)) found.push(candidate);
  }
  return found;
}

type Model = Map<bigint, number>;
type Real = FixedMap<number>;

class InsertCommand implements fc.Command<Model, Real> {
  constructor(
    readonly key: bigint,
    readonly value: number,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const expected = model.has(this.key)
      ? 'duplicate_key'
      : model.size === real.capacity
        ? 'full'
        : 'ok';
    expect(real.insert(this.key, this.value)).toBe(expected);
    if (expected === 'ok') model.set(this.key, this.value);
    expect(real.size).toBe(model.size);
  }
  toString = () => `insert(${this.key}, ${this.value})`;
}

class RemoveCommand implements fc.Command<Model, Real> {
  constructor(readonly key: bigint) {}
  check = () => true;
  run(model: Model, real: Real): void {
    expect(real.remove(this.key)).toBe(model.delete(this.key));
    expect(real.size).toBe(model.size);
    // After a backward shift every remaining key must still be reachable.
    for (const [key, value] of model) expect(real.get(key)).toBe(value);
  }
  toString = () => `remove(${this.key})`;
}

class GetCommand implements fc.Command<Model, Real> {
  constructor(readonly key: bigint) {}
  check = () => true;
  run(model: Model, real: Real): void {
    expect(real.get(this.key)).toBe(model.get(this.key));
    expect(real.has(this.key)).toBe(model.has(this.key));
  }
  toString = () => `get(${this.key})`;
}

class ReplaceCommand implements fc.Command<Model, Real> {
  constructor(
    readonly key: bigint,
    readonly value: number,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const present = model.has(this.key);
    expect(real.replace(this.key, this.value)).toBe(present);
    if (present) model.set(this.key, this.value);
  }
  toString = () => `replace(${this.key}, ${this.value})`;
}

/** `slotOf` then `insertSlot` of the same key: the insert reuses the miss's probe. */
class LookupThenInsertCommand implements fc.Command<Model, Real> {
  constructor(
    readonly key: bigint,
    readonly value: number,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const found = real.slotOf(this.key);
    expect(found >= 0).toBe(model.has(this.key));
    if (found >= 0) {
      expect(real.keyAt(found)).toBe(this.key);
      expect(real.valueAt(found)).toBe(model.get(this.key));
    }
    const slot = real.insertSlot(this.key, this.value);
    if (model.has(this.key)) expect(slot).toBe(INSERT_DUPLICATE);
    else if (model.size === real.capacity) expect(slot).toBe(INSERT_FULL);
    else {
      expect(slot).toBeGreaterThanOrEqual(0);
      expect(real.slotOf(this.key)).toBe(slot);
      model.set(this.key, this.value);
    }
    for (const [key, value] of model) expect(real.get(key)).toBe(value);
  }
  toString = () => `lookupThenInsert(${this.key}, ${this.value})`;
}

/** Removal by slot: no hash; every other key stays reachable at its own slot. */
class RemoveSlotCommand implements fc.Command<Model, Real> {
  constructor(readonly key: bigint) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const slot = real.slotOf(this.key);
    expect(slot >= 0).toBe(model.has(this.key));
    if (slot < 0) return;
    real.removeSlot(slot);
    model.delete(this.key);
    expect(real.isUsed(slot)).toBe(false);
    expect(real.size).toBe(model.size);
    for (const [key, value] of model) {
      const at = real.slotOf(key);
      expect(real.keyAt(at)).toBe(key);
      expect(real.valueAt(at)).toBe(value);
    }
  }
  toString = () => `removeSlot(${this.key})`;
}

class IterateCommand implements fc.Command<Model, Real> {
  check = () => true;
  run(model: Model, real: Real): void {
    const seen = new Map(real.entries());
    expect(seen).toEqual(model);
    expect([...real.keys()].length).toBe(model.size);
    const viaForEach = new Map<bigint, number>();
    real.forEach((value, key) => viaForEach.set(key, value));
    expect(viaForEach).toEqual(model);
  }
  toString = () => 'iterate()';
}

describe('FixedMap', () => {
  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new FixedMap(0)).toThrow(RangeError);
    expect(() => new FixedMap(1.5)).toThrow(RangeError);
  });

  it('reports duplicate_key before full', () => {
    const map = new FixedMap<string>(1);
    expect(map.insert(7n, 'a')).toBe('ok');
    expect(map.insert(7n, 'b')).toBe('duplicate_key');
    expect(map.insert(8n, 'c')).toBe('full');
    expect(map.get(7n)).toBe('a');
  });

  it('keeps u128 keys that differ only in their high bits apart', () => {
    const map = new FixedMap<number>(8);
    for (let shard = 0n; shard < 8n; shard++)
      expect(map.insert((shard << 64n) | 1n, Number(shard))).toBe('ok');
    for (let shard = 0n; shard < 8n; shard++)
      expect(map.get((shard << 64n) | 1n)).toBe(Number(shard));
    expect(map.get(2n ** 128n - 1n)).toBeUndefined();
  });

  it('iterates in a deterministic slot order for the same history', () => {
    const build = () => {
      const map = new FixedMap<number>(16);
      for (let i = 0n; i < 16n; i++) map.insert(i * 977n, Number(i));
      for (let i = 0n; i < 16n; i += 3n) map.remove(i * 977n);
      map.insert(5n, 99);
      return [...map.keys()];
    };
    expect(build()).toEqual(build());
  });

  it('removes from a cluster that wraps around the index and keeps every other key reachable', () => {
    const capacity = 8;
    const keys = wrappingKeys(capacity, capacity, 0n);
    for (let victim = 0; victim < keys.length; victim++) {
      const map = new FixedMap<number>(capacity);
      keys.forEach((key, i) => expect(map.insert(key, i)).toBe('ok'));
      expect(map.remove(keys[victim]!)).toBe(true);
      keys.forEach((key, i) => expect(map.get(key)).toBe(i === victim ? undefined : i));
    }
  });

  it('behaves like a Map (model-based, colliding and wrapping keys, capacities 1–64)', () => {
    const scenario = fc.integer({ min: 1, max: 64 }).chain((capacity) => {
      const pool = [
        ...wrappingKeys(capacity, Math.min(2 * capacity, 24), 0n),
        ...wrappingKeys(capacity, 4, 2n ** 64n),
        0n,
        2n ** 128n - 1n,
      ];
      const key = fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...pool) },
        { weight: 1, arbitrary: fc.bigInt(0n, 2n ** 128n - 1n) },
      );
      const value = fc.integer();
      const command = fc.oneof(
        { weight: 4, arbitrary: fc.tuple(key, value).map(([k, v]) => new InsertCommand(k, v)) },
        { weight: 3, arbitrary: key.map((k) => new RemoveCommand(k)) },
        { weight: 2, arbitrary: key.map((k) => new GetCommand(k)) },
        { weight: 1, arbitrary: fc.tuple(key, value).map(([k, v]) => new ReplaceCommand(k, v)) },
        { weight: 1, arbitrary: fc.constant(new IterateCommand()) },
        {
          weight: 3,
          arbitrary: fc.tuple(key, value).map(([k, v]) => new LookupThenInsertCommand(k, v)),
        },
        { weight: 3, arbitrary: key.map((k) => new RemoveSlotCommand(k)) },
      );
      return fc.tuple(
        fc.constant(capacity),
        fc.commands([command], { maxCommands: 150, size: 'max' }),
      );
    });
    fc.assert(
      fc.property(scenario, ([capacity, commands]) => {
        fc.modelRun(
          () => ({ model: new Map<bigint, number>(), real: new FixedMap<number>(capacity) }),
          commands,
        );
      }),
      { seed: SEED, numRuns: runs(300) },
    );
  });

  it('clear empties the map and keeps it usable', () => {
    const map = new FixedMap<number>(4);
    for (let i = 0n; i < 4n; i++) map.insert(i, 1);
    map.clear();
    expect(map.size).toBe(0);
    expect([...map.entries()]).toEqual([]);
    for (let i = 10n; i < 14n; i++) expect(map.insert(i, 2)).toBe('ok');
    expect(map.insert(99n, 2)).toBe('full');
  });
});
