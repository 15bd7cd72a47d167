/**
 * Input generation for the decoder fuzzer: random bytes, and mutations of valid encodings (bit
 * flips, interesting bytes, truncations, extensions, splices of two encodings, chunk deletion
 * and duplication, and edits of 16-, 32- and 64-bit fields to boundary values, which is how
 * length and count fields get their worst values).
 */
import type { Rng } from '../random.js';

const INTERESTING_U32 = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x1_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe,
  0xffff_ffff,
];

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  for (let i = 0; i < 4 && at + i < bytes.length; i++) bytes[at + i] = (value >>> (8 * i)) & 0xff;
}

export type MutationKind =
  | 'random'
  | 'flip'
  | 'byte'
  | 'truncate'
  | 'extend'
  | 'splice'
  | 'delete'
  | 'duplicate'
  | 'field';

function mutateOnce(
  rng: Rng,
  input: Uint8Array,
  seeds: readonly Uint8Array[],
): [Uint8Array, MutationKind] {
  const kind = rng.weighted([
    [5, 'flip'],
    [3, 'byte'],
    [3, 'truncate'],
    [2, 'extend'],
    [2, 'splice'],
    [1, 'delete'],
    [1, 'duplicate'],
    [4, 'field'],
  ] as const);
  const bytes = new Uint8Array(input);
  const n = bytes.length;
  switch (kind) {
    case 'flip': {
      if (n === 0) return [bytes, kind];
      const flips = rng.weighted([
        [6, 1],
        [2, 2],
        [1, 8],
      ] as const);
      for (let i = 0; i < flips; i++) {
        const bit = rng.int(n * 8);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
      }
      return [bytes, kind];
    }
    case 'byte':
      if (n > 0) bytes[rng.int(n)] = rng.pick([0, 1, 0x7f, 0x80, 0xfe, 0xff, rng.int(256)]);
      return [bytes, kind];
    case 'truncate':
      return [bytes.slice(0, rng.int(n + 1)), kind];
    case 'extend': {
      const extra = rng.chance(0.5)
        ? new Uint8Array(rng.range(1, 600))
        : rng.bytes(rng.range(1, 64));
      const out = new Uint8Array(n + extra.length);
      out.set(bytes);
      out.set(extra, n);
      return [out, kind];
    }
    case 'splice': {
      const other = rng.pick(seeds);
      const a = rng.int(n + 1);
      const b = rng.int(other.length + 1);
      const out = new Uint8Array(a + other.length - b);
      out.set(bytes.subarray(0, a));
      out.set(other.subarray(b), a);
      return [out, kind];
    }
    case 'delete': {
      if (n === 0) return [bytes, kind];
      const at = rng.int(n);
      const len = rng.range(1, Math.min(64, n - at));
      const out = new Uint8Array(n - len);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + len), at);
      return [out, kind];
    }
    case 'duplicate': {
      if (n === 0) return [bytes, kind];
      const at = rng.int(n);
      const len = rng.range(1, Math.min(64, n - at));
      const out = new Uint8Array(n + len);
      out.set(bytes.subarray(0, at + len));
      out.set(bytes.subarray(at), at + len);
      return [out, kind];
    }
    case 'field': {
      if (n === 0) return [bytes, kind];
      const at = rng.chance(0.6) ? rng.int(Math.ceil(n / 4)) * 4 : rng.int(n);
      const value = rng.chance(0.8) ? rng.pick(INTERESTING_U32) : (n + rng.range(-3, 3)) >>> 0;
      writeU32(bytes, at, value);
      if (rng.chance(0.3)) writeU32(bytes, at + 4, rng.pick(INTERESTING_U32));
      return [bytes, kind];
    }
  }
}

/** The next fuzz input: random bytes, or one to four mutations of a valid encoding. */
export function nextInput(
  rng: Rng,
  seeds: readonly Uint8Array[],
): { bytes: Uint8Array; kind: MutationKind } {
  if (seeds.length === 0 || rng.chance(0.12)) {
    const length = rng.weighted([
      [6, rng.int(80)],
      [3, rng.int(600)],
      [1, rng.int(5000)],
    ] as const);
    return { bytes: rng.bytes(length), kind: 'random' };
  }
  let bytes = rng.pick(seeds);
  let kind: MutationKind = 'flip';
  const rounds = rng.weighted([
    [6, 1],
    [3, 2],
    [1, 4],
  ] as const);
  for (let i = 0; i < rounds; i++) [bytes, kind] = mutateOnce(rng, bytes, seeds);
  return { bytes, kind };
}
