import { describe, expect, it } from 'vitest';
import { U128_MAX } from '../../src/constants.js';
import { newOperationId } from '../../src/runtime/operation-id.js';

describe('newOperationId', () => {
  it('puts the wall-clock milliseconds in the high 64 bits', () => {
    const before = BigInt(Date.now());
    const id = newOperationId();
    const after = BigInt(Date.now());
    expect(id >> 64n).toBeGreaterThanOrEqual(before);
    expect(id >> 64n).toBeLessThanOrEqual(after + 1n);
    expect(id).toBeLessThanOrEqual(U128_MAX);
  });

  it('is strictly increasing within the process, even within one millisecond', () => {
    let previous = newOperationId();
    const seen = new Set<bigint>([previous]);
    for (let i = 0; i < 20_000; i++) {
      const id = newOperationId();
      expect(id > previous).toBe(true);
      seen.add(id);
      previous = id;
    }
    expect(seen.size).toBe(20_001);
  });

  it('has random low bits, across the refills of its pool of random words', () => {
    const lows = new Set<bigint>();
    for (let i = 0; i < 100; i++) lows.add(newOperationId() & ((1n << 64n) - 1n));
    expect(lows.size).toBeGreaterThan(90);
    // 512 words per draw: ids far apart in a long run still differ in their low bits.
    const far = new Set<bigint>();
    for (let i = 0; i < 3_000; i++) {
      const id = newOperationId();
      if (i % 100 === 0) far.add(id & ((1n << 64n) - 1n));
    }
    expect(far.size).toBe(30);
  });
});
