import { describe, expect, it } from 'vitest';
import {
  countKeys,
  editDistance,
  findUnknownKey,
  missingKeys,
  quoteKey,
  suggestKey,
  unknownKeyHint,
} from '../../src/runtime/known-keys.js';

describe('known keys', () => {
  it('countKeys counts what for…in visits: own and inherited enumerable string keys', () => {
    expect(countKeys({})).toBe(0);
    expect(countKeys({ a: 1, b: undefined })).toBe(2);
    const inherited = Object.create({ base: 1 }) as Record<string, unknown>;
    inherited.own = 2;
    expect(countKeys(inherited)).toBe(2);
    expect(countKeys({ [Symbol('s')]: 1, a: 1 })).toBe(1);
    class WithGetter {
      get kind(): string {
        return 'x';
      }
      field = 1;
    }
    expect(countKeys(new WithGetter())).toBe(1);
  });

  it('findUnknownKey names the first foreign key, or nothing', () => {
    const known = ['kind', 'resourceId'];
    expect(findUnknownKey({ kind: 1, resourceId: 2 }, known)).toBeUndefined();
    expect(findUnknownKey({ kind: 1 }, known)).toBeUndefined();
    expect(findUnknownKey({ kind: 1, id: 2, other: 3 }, known)).toBe('id');
  });

  it('missingKeys lists the required keys that read as undefined, in order', () => {
    expect(missingKeys({ b: 1, c: undefined }, ['a', 'b', 'c'])).toEqual(['a', 'c']);
    expect(missingKeys({ a: 0, b: false, c: '' }, ['a', 'b', 'c'])).toEqual([]);
  });

  it('editDistance counts insertions, deletions, substitutions and adjacent transpositions', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('', 'ab')).toBe(2);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('holderid', 'hodlerid')).toBe(1);
    expect(editDistance('ttl', 'ttlslots')).toBe(5);
  });

  it('suggestKey finds typos, case and separator slips, and names contained in others', () => {
    const reserve = ['kind', 'resourceId', 'holderId', 'ttlSlots'];
    expect(suggestKey('ttl', reserve)).toBe('ttlSlots');
    expect(suggestKey('ttlSlot', reserve)).toBe('ttlSlots');
    expect(suggestKey('hodlerId', reserve)).toBe('holderId');
    expect(suggestKey('resource_id', reserve)).toBe('resourceId');
    expect(suggestKey('ResourceID', reserve)).toBe('resourceId');
    expect(suggestKey('resourceIds', reserve)).toBe('resourceId');
    expect(suggestKey('holder', reserve)).toBe('holderId');
    expect(suggestKey('kinds', reserve)).toBe('kind');
    const config = ['maxResources', 'maxReservations', 'maxBundleSize'];
    expect(suggestKey('maxResource', config)).toBe('maxResources');
    expect(suggestKey('maxReservation', config)).toBe('maxReservations');
    expect(suggestKey('bundleSize', config)).toBe('maxBundleSize');
    expect(suggestKey('leaseEpoch', ['reservationId', 'holderId', 'epoch'])).toBe('epoch');
  });

  it('suggestKey stays quiet when nothing is close, and for very long keys', () => {
    expect(suggestKey('id', ['kind', 'resourceId', 'holderId', 'ttlSlots'])).toBeUndefined();
    expect(suggestKey('banana', ['kind', 'resourceId'])).toBeUndefined();
    expect(suggestKey('x'.repeat(65), ['x'.repeat(64)])).toBeUndefined();
    expect(suggestKey('kind', ['kind'])).toBeUndefined();
  });

  it('unknownKeyHint suggests one key or lists them all', () => {
    expect(unknownKeyHint('ttl', ['kind', 'ttlSlots'])).toBe('did you mean "ttlSlots"?');
    expect(unknownKeyHint('banana', ['kind', 'ttlSlots'])).toBe(
      'the known ones are "kind", "ttlSlots"',
    );
    expect(quoteKey('a"b')).toBe('"a\\"b"');
    expect(quoteKey('y'.repeat(70))).toBe(`"${'y'.repeat(64)}…"`);
  });
});
