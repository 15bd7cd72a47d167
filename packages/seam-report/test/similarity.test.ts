import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatRatio,
  lcsLength,
  multisetRatioBound,
  roundRatio,
  similarityRatio,
} from '../src/similarity.js';
import { runs, SEED } from './support/thorough.js';

/** The textbook O(n·m) dynamic programme, as the reference the fast algorithm must equal. */
function referenceLcs(a: readonly number[], b: readonly number[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const current = [0];
    for (let j = 1; j <= b.length; j++) {
      current[j] =
        a[i - 1] === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, current[j - 1]!);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Sequences long enough to span several 32-bit words of the bit-parallel pattern (up to 300
 * tokens) over a small alphabet, so that there is much to match and carries cross words.
 */
const sequence = fc.array(fc.integer({ min: 0, max: 7 }), {
  minLength: 0,
  maxLength: 300,
  size: 'max',
});

describe('lcsLength', () => {
  it('equals the dynamic-programming LCS on random sequences', () => {
    fc.assert(
      fc.property(sequence, sequence, (a, b) => {
        expect(lcsLength(Int32Array.from(a), Int32Array.from(b))).toBe(referenceLcs(a, b));
      }),
      { seed: SEED, numRuns: runs(300) },
    );
  });

  it('equals the reference on near-copies (a sequence and a few edits of it)', () => {
    const nearCopies = sequence.chain((a) =>
      fc
        .array(fc.tuple(fc.nat({ max: Math.max(0, a.length) }), fc.integer({ min: 0, max: 9 })), {
          maxLength: 12,
          size: 'max',
        })
        .map((edits) => {
          const b = [...a];
          for (const [at, value] of edits)
            b.splice(Math.min(at, b.length), value % 3 === 0 ? 1 : 0, value);
          return [a, b] as const;
        }),
    );
    fc.assert(
      fc.property(nearCopies, ([a, b]) => {
        expect(lcsLength(a, b)).toBe(referenceLcs(a, b));
      }),
      { seed: SEED, numRuns: runs(300) },
    );
  });

  it('handles empty, equal and disjoint sequences', () => {
    expect(lcsLength([], [])).toBe(0);
    expect(lcsLength([1, 2, 3], [])).toBe(0);
    expect(lcsLength([1, 2, 3], [1, 2, 3])).toBe(3);
    expect(lcsLength([1, 2, 3], [4, 5, 6])).toBe(0);
    // word boundaries of the 30-bit vectors: exactly full words, and one bit more
    for (const length of [29, 30, 31, 60, 61]) {
      const long = Array.from({ length }, (_, i) => (i * 7) % 5);
      const reversed = [...long].reverse();
      expect(lcsLength(long, reversed)).toBe(referenceLcs(long, reversed));
      expect(lcsLength(long, [9, ...long])).toBe(length);
    }
  });
});

describe('similarityRatio', () => {
  it('is 2·LCS/(|a|+|b|): 1 for equal, 0 for disjoint, symmetric', () => {
    expect(similarityRatio([], [])).toBe(1);
    expect(similarityRatio([1, 2], [1, 2])).toBe(1);
    expect(similarityRatio([1, 2], [3])).toBe(0);
    expect(similarityRatio([1, 2, 3, 4], [1, 3])).toBeCloseTo((2 * 2) / 6);
    fc.assert(
      fc.property(sequence, sequence, (a, b) => {
        const ratio = similarityRatio(a, b);
        expect(ratio).toBeGreaterThanOrEqual(0);
        expect(ratio).toBeLessThanOrEqual(1);
        expect(similarityRatio(b, a)).toBe(ratio);
      }),
      { seed: SEED, numRuns: runs(100) },
    );
  });
});

describe('multisetRatioBound', () => {
  it('never undercuts the exact ratio', () => {
    fc.assert(
      fc.property(sequence, sequence, (a, b) => {
        const bound = multisetRatioBound(
          [...a].sort((x, y) => x - y),
          [...b].sort((x, y) => x - y),
        );
        expect(bound).toBeGreaterThanOrEqual(similarityRatio(a, b) - 1e-12);
      }),
      { seed: SEED, numRuns: runs(200) },
    );
  });
});

describe('roundRatio', () => {
  it('keeps four decimals', () => {
    expect(roundRatio(2 / 3)).toBe(0.6667);
    expect(roundRatio(1)).toBe(1);
  });
});

describe('the generators above', () => {
  it('really produce sequences that span several bit-vector words', () => {
    const lengths = fc.sample(sequence, { numRuns: 200, seed: SEED }).map((s) => s.length);
    expect(Math.max(...lengths)).toBeGreaterThan(200);
    expect(lengths.filter((length) => length > 64).length).toBeGreaterThan(100);
  });
});

describe('formatRatio', () => {
  it('shows two decimals, and a third rather than a false 1.00', () => {
    expect(formatRatio(1)).toBe('1.00');
    expect(formatRatio(0.8)).toBe('0.80');
    expect(formatRatio(0.9951)).toBe('0.995');
    expect(formatRatio(0.99991)).toBe('0.999');
  });
});
