import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { align, editsBetween } from '../src/align.js';
import { lcsLength } from '../src/similarity.js';
import { runs, SEED } from './support/thorough.js';

const sequence = fc.array(fc.integer({ min: 0, max: 5 }), {
  minLength: 0,
  maxLength: 250,
  size: 'max',
});

describe('align', () => {
  it('returns ordered, non-overlapping runs of equal tokens whose total is the LCS', () => {
    fc.assert(
      fc.property(sequence, sequence, (a, b) => {
        const runs = align(a, b);
        let aAt = 0;
        let bAt = 0;
        let matched = 0;
        for (const run of runs) {
          expect(run.length).toBeGreaterThan(0);
          expect(run.aStart).toBeGreaterThanOrEqual(aAt);
          expect(run.bStart).toBeGreaterThanOrEqual(bAt);
          for (let k = 0; k < run.length; k++) expect(a[run.aStart + k]).toBe(b[run.bStart + k]);
          aAt = run.aStart + run.length;
          bAt = run.bStart + run.length;
          matched += run.length;
        }
        expect(matched).toBe(lcsLength(a, b));
      }),
      { seed: SEED, numRuns: runs(400) },
    );
  });

  it('finds the single edit in a long common context', () => {
    const a = Array.from({ length: 1000 }, (_, i) => i);
    const b = [...a];
    b[500] = -1;
    expect(align(a, b)).toEqual([
      { aStart: 0, bStart: 0, length: 500 },
      { aStart: 501, bStart: 501, length: 499 },
    ]);
  });
});

describe('editsBetween', () => {
  it('turns a into b when applied', () => {
    fc.assert(
      fc.property(sequence, sequence, (a, b) => {
        const edits = editsBetween(align(a, b), a.length, b.length);
        const rebuilt: number[] = [];
        let aAt = 0;
        for (const edit of edits) {
          rebuilt.push(...a.slice(aAt, edit.aStart), ...b.slice(edit.bStart, edit.bEnd));
          aAt = edit.aEnd;
        }
        rebuilt.push(...a.slice(aAt));
        expect(rebuilt).toEqual(b);
      }),
      { seed: SEED, numRuns: runs(300) },
    );
  });

  it('is empty for equal sequences', () => {
    expect(editsBetween(align([1, 2, 3], [1, 2, 3]), 3, 3)).toEqual([]);
    expect(editsBetween(align([], []), 0, 0)).toEqual([]);
  });
});
