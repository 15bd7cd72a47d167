import { describe, expect, it } from 'vitest';
import { U64_MAX, U128_MAX } from '../../src/constants.js';
import { CodecError } from '../../src/errors.js';
import { Reader, Writer } from '../../src/runtime/binary.js';

describe('Reader and Writer', () => {
  it('round-trip every width little-endian, u128 low word first', () => {
    const writer = new Writer(4);
    writer.u8(0xab);
    writer.u16(0x1234);
    writer.u32(0xdeadbeef);
    writer.u64(U64_MAX);
    writer.u128((2n << 64n) | 1n);
    writer.u128(U128_MAX);
    writer.bytes(new Uint8Array([7, 8]));
    const bytes = writer.finish();
    expect(bytes.length).toBe(1 + 2 + 4 + 8 + 16 + 16 + 2);
    expect([...bytes.subarray(0, 3)]).toEqual([0xab, 0x34, 0x12]);
    expect(bytes[15]).toBe(1);
    expect(bytes[23]).toBe(2);
    const reader = new Reader(bytes);
    expect(reader.u8()).toBe(0xab);
    expect(reader.u16()).toBe(0x1234);
    expect(reader.u32()).toBe(0xdeadbeef);
    expect(reader.u64()).toBe(U64_MAX);
    expect(reader.u128()).toBe((2n << 64n) | 1n);
    expect(reader.u128()).toBe(U128_MAX);
    expect([...reader.bytesCopy(2)]).toEqual([7, 8]);
    reader.expectEnd('test');
  });

  it('reads from a view at a non-zero offset of a larger buffer', () => {
    const backing = new Uint8Array([9, 9, 9, 5, 0, 0, 0]);
    expect(new Reader(backing.subarray(3)).u32()).toBe(5);
  });

  it('an overrun is a truncated CodecError at the offset of the missing value', () => {
    const reader = new Reader(new Uint8Array(10));
    reader.u64();
    try {
      reader.u32('field');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CodecError);
      expect((error as CodecError).code).toBe('truncated');
      expect((error as CodecError).offset).toBe(8);
    }
  });

  it('expectItems refuses a count the remaining bytes cannot hold, before any allocation', () => {
    const reader = new Reader(new Uint8Array(32));
    expect(() => reader.expectItems(2, 16, 'ids')).not.toThrow();
    expect(() => reader.expectItems(0xffff_ffff, 16, 'ids')).toThrow(CodecError);
  });

  it('expectEnd reports trailing bytes', () => {
    const reader = new Reader(new Uint8Array(3));
    reader.u8();
    expect(() => reader.expectEnd('x')).toThrow(
      expect.objectContaining({ code: 'trailing_bytes', offset: 1 }),
    );
  });

  it('the writer refuses values that do not fit (DataView would wrap them silently)', () => {
    const writer = new Writer();
    expect(() => writer.u64(U64_MAX + 1n)).toThrow(RangeError);
    expect(() => writer.u64(-1n)).toThrow(RangeError);
    expect(() => writer.u128(U128_MAX + 1n)).toThrow(RangeError);
    expect(() => writer.u8(256)).toThrow(RangeError);
    expect(() => writer.u16(-1)).toThrow(RangeError);
    expect(() => writer.u32(2 ** 32)).toThrow(RangeError);
    expect(writer.length).toBe(0);
  });

  it('reset reuses the buffer; written() is a view, finish() a copy', () => {
    const writer = new Writer(2);
    for (let i = 0; i < 100; i++) writer.u8(i);
    const copy = writer.finish();
    writer.reset();
    writer.u8(42);
    expect(writer.written()).toEqual(new Uint8Array([42]));
    expect(copy[0]).toBe(0);
    expect(copy.length).toBe(100);
  });
  it('Readers over views into one buffer, and over other buffers in between, read their own bytes', () => {
    // Replay's Readers share one DataView per (small) buffer: each must still read from its own
    // offset and report offsets relative to its own bytes.
    const shared = new Uint8Array(64);
    for (let i = 0; i < shared.length; i++) shared[i] = i;
    const other = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const big = new Uint8Array(2 * 1024 * 1024);
    big[100] = 77;
    for (const offset of [0, 1, 7, 13, 40]) {
      const reader = new Reader(shared.subarray(offset, offset + 20));
      expect(reader.u8()).toBe(offset);
      expect(new Reader(other.subarray(3)).u8()).toBe(6);
      expect(new Reader(big.subarray(100)).u8()).toBe(77);
      expect(reader.u16()).toBe((offset + 1) | ((offset + 2) << 8));
      expect(reader.bytesCopy(2)).toEqual(new Uint8Array([offset + 3, offset + 4]));
      expect(reader.offset).toBe(5);
      reader.bytesCopy(8);
      try {
        reader.u64();
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(CodecError);
        expect((error as CodecError).offset).toBe(13);
      }
    }
  });
});
