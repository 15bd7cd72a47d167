import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetireQueue } from '../../src/runtime/retire-queue.js';
import { runs, SEED } from '../support/thorough.js';

describe('RetireQueue', () => {
  it('has capacity max(1, n)', () => {
    expect(new RetireQueue<bigint>(0).capacity).toBe(1);
    expect(new RetireQueue<bigint>(5).capacity).toBe(5);
    expect(() => new RetireQueue<bigint>(-1)).toThrow(RangeError);
  });

  it('answers undefined when empty', () => {
    const queue = new RetireQueue<bigint>(2);
    expect(queue.isEmpty()).toBe(true);
    expect(queue.front()).toBeUndefined();
    expect(queue.frontSlot()).toBeUndefined();
    expect(queue.popFront()).toBeUndefined();
    queue.dropFront();
    expect(queue.size).toBe(0);
  });

  it('refuses a push when full and keeps its contents', () => {
    const queue = new RetireQueue<bigint>(2);
    expect(queue.push(1n, 10n)).toBe('ok');
    expect(queue.push(2n, 11n)).toBe('ok');
    expect(queue.isFull()).toBe(true);
    expect(queue.push(3n, 12n)).toBe('full');
    expect([...queue.entries()]).toEqual([
      { key: 1n, retireAfterSlot: 10n },
      { key: 2n, retireAfterSlot: 11n },
    ]);
  });

  it('wraps around the ring in FIFO order', () => {
    const queue = new RetireQueue<bigint>(3);
    let next = 0n;
    const popped: bigint[] = [];
    for (let round = 0; round < 10; round++) {
      while (queue.push(next, next) === 'ok') next++;
      popped.push(queue.popFront()!.key, queue.popFront()!.key);
    }
    expect(popped).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));
    expect(queue.frontKey()).toBe(20n);
    expect(queue.frontSlot()).toBe(20n);
    expect(queue.size).toBe(1);
  });

  it('behaves like an array (model-based)', () => {
    type Step = { op: 'push'; key: bigint; slot: bigint } | { op: 'pop' } | { op: 'clear' };
    const step: fc.Arbitrary<Step> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          op: fc.constant('push' as const),
          key: fc.bigInt(0n, 1000n),
          slot: fc.bigInt(0n, 2n ** 64n - 1n),
        }),
      },
      { weight: 4, arbitrary: fc.constant({ op: 'pop' as const }) },
      { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9 }),
        fc.array(step, { maxLength: 200, size: 'max' }),
        (capacity, steps) => {
          const queue = new RetireQueue<bigint>(capacity);
          const model: { key: bigint; retireAfterSlot: bigint }[] = [];
          const limit = Math.max(1, capacity);
          for (const s of steps) {
            if (s.op === 'push') {
              const expected = model.length < limit ? 'ok' : 'full';
              expect(queue.push(s.key, s.slot)).toBe(expected);
              if (expected === 'ok') model.push({ key: s.key, retireAfterSlot: s.slot });
            } else if (s.op === 'pop') {
              expect(queue.popFront()).toEqual(model.shift());
            } else {
              queue.clear();
              model.length = 0;
            }
            expect(queue.size).toBe(model.length);
            expect(queue.front()).toEqual(model[0]);
            expect(queue.isFull()).toBe(model.length === limit);
            expect([...queue.entries()]).toEqual(model);
          }
        },
      ),
      { seed: SEED, numRuns: runs(200) },
    );
  });
});
