/**
 * A small seeded PRNG (sfc32) and the helpers every suite draws from. Everything random in this
 * package comes from here, so a seed replays a run exactly.
 */

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 expands the 32-bit seed into the four words of state.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (n <= 0) throw new RangeError(`Rng.int needs a positive bound, got ${n}`);
    return Math.floor(this.float() * n);
  }

  /** An integer in [min, max] (inclusive). */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** A bigint in [min, max] (inclusive). */
  bigRange(min: bigint, max: bigint): bigint {
    const span = max - min + 1n;
    if (span <= 0n) throw new RangeError('empty bigint range');
    if (span <= 0x1_0000_0000n) return min + BigInt(this.int(Number(span)));
    let value = 0n;
    for (let bits = 0n; bits < 160n; bits += 32n) value = (value << 32n) | BigInt(this.u32());
    return min + (value % span);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** Picks by weight: `[[weight, value], …]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [weight] of choices) total += weight;
    let roll = this.float() * total;
    for (const [weight, value] of choices) {
      if (roll < weight) return value;
      roll -= weight;
    }
    return choices[choices.length - 1]![1];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A child generator whose stream depends only on this one's seed and `label`. */
  fork(label: number): Rng {
    return new Rng((this.u32() ^ Math.imul(label + 1, 0x9e3779b1)) >>> 0);
  }
}

/** Derives a 32-bit seed from a base seed and a list of integers (episode, round, …). */
export function deriveSeed(base: number, ...parts: number[]): number {
  let h = (base ^ 0x811c9dc5) >>> 0;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h >>> 0;
}
