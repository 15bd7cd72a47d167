/** The copied runtime's wire JSON (`http-json.ts`): bigints as decimal strings, and back. */
import { describe, expect, it } from 'vitest';
import {
  decimalAt,
  fromHex,
  objectAt,
  parseJsonText,
  toHex,
  toJsonText,
  WIRE_U64_MAX,
  WIRE_U128_MAX,
  WireError,
  withDecimals,
} from '../../src/runtime/http-json.js';

const U128_MAX = (1n << 128n) - 1n;

describe('wire JSON', () => {
  it('writes bigints as decimal strings and bytes as hex, exactly at any size', () => {
    expect(toJsonText({ a: 1n, b: [U128_MAX, 0n], c: 'x', d: new Uint8Array([0, 15, 255]) })).toBe(
      `{"a":"1","b":["${U128_MAX}","0"],"c":"x","d":"000fff"}`,
    );
  });

  it('decimalAt reads decimal strings only, naming the field otherwise', () => {
    expect(decimalAt('0', 'f')).toBe(0n);
    expect(decimalAt(U128_MAX.toString(), 'f')).toBe(U128_MAX);
    for (const bad of [
      '',
      '-1',
      '+1',
      '01',
      '1e3',
      '1.0',
      ' 1',
      '0x10',
      '9'.repeat(41),
      1,
      null,
      true,
      {},
    ]) {
      const error = (() => {
        try {
          decimalAt(bad, 'command.resourceId');
        } catch (e) {
          return e;
        }
      })();
      expect(error, JSON.stringify(bad)).toBeInstanceOf(WireError);
      expect(error).toMatchObject({ code: 'invalid_request', field: 'command.resourceId' });
    }
    expect(() => decimalAt(42, 'x')).toThrow(/JSON numbers lose precision/);
  });

  it('decimalAt with a maximum refuses a value above it, naming the field and the range', () => {
    const U64_MAX = (1n << 64n) - 1n;
    expect(decimalAt(U64_MAX.toString(), 'query.minLsn', WIRE_U64_MAX)).toBe(U64_MAX);
    expect(decimalAt(U128_MAX.toString(), 'path.bucketId', WIRE_U128_MAX)).toBe(U128_MAX);
    expect(() => decimalAt((U64_MAX + 1n).toString(), 'query.minLsn', WIRE_U64_MAX)).toThrow(
      expect.objectContaining({
        code: 'invalid_request',
        field: 'query.minLsn',
        message: expect.stringMatching(/must be at most 18446744073709551615 \(a u64\)/),
      }),
    );
    expect(() => decimalAt((U128_MAX + 1n).toString(), 'path.id', WIRE_U128_MAX)).toThrow(
      /at path\.id: must be at most \d+ \(a u128\)/,
    );
  });

  it('parseJsonText: bad_json with the reason', () => {
    expect(parseJsonText('{"a":1}')).toEqual({ a: 1 });
    expect(() => parseJsonText('{"a":')).toThrow(WireError);
    expect(() => parseJsonText('{"a":')).toThrow(/not valid JSON/);
    // Asserted as a throw: a try/catch would pass when nothing is thrown.
    expect(() => parseJsonText('nope')).toThrow(expect.objectContaining({ code: 'bad_json' }));
  });

  it('objectAt and withDecimals convert the named fields and leave the rest', () => {
    expect(() => objectAt([], 'body')).toThrow(/at body: must be a JSON object, got an array/);
    expect(withDecimals({ a: '1', b: ['2', '3'], c: 'x', d: 4 }, ['a', 'b', 'z'], 'cmd')).toEqual({
      a: 1n,
      b: [2n, 3n],
      c: 'x',
      d: 4,
    });
    expect(() => withDecimals({ b: ['2', 'x'] }, ['b'], '')).toThrow(/at b\[1\]/);
  });

  it('hex round-trips and refuses odd or foreign text', () => {
    const bytes = new Uint8Array([1, 2, 254]);
    expect(fromHex(toHex(bytes), 'f')).toEqual(bytes);
    expect(() => fromHex('abc', 'f')).toThrow(WireError);
    expect(() => fromHex('zz', 'f')).toThrow(WireError);
  });
});
