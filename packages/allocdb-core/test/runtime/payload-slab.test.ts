import { describe, expect, it } from 'vitest';
import { PayloadSlab } from '../../src/runtime/payload-slab.js';

describe('PayloadSlab', () => {
  it('hands out copies that later copies never overwrite, across slab boundaries', () => {
    const slab = new PayloadSlab();
    const copies: { bytes: Uint8Array; fill: number }[] = [];
    for (let i = 0; i < 5_000; i++) {
      const source = new Uint8Array(1 + (i % 74)).fill(i & 0xff);
      const copy = slab.copy(source);
      source.fill(0xee); // the caller may reuse its buffer
      copies.push({ bytes: copy, fill: i & 0xff });
    }
    for (const { bytes, fill } of copies) expect(bytes.every((b) => b === fill)).toBe(true);
    expect(new Set(copies.map((c) => c.bytes.buffer)).size).toBeGreaterThan(1);
  });

  it('copies a payload larger than a slab into a buffer of its own', () => {
    const big = new Uint8Array(100_000).fill(7);
    const copy = new PayloadSlab().copy(big);
    big.fill(1);
    expect(copy.length).toBe(100_000);
    expect(copy.every((b) => b === 7)).toBe(true);
  });
});
