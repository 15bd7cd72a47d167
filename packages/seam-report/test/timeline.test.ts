import { describe, expect, it } from 'vitest';
import { TimelineSampler } from '../src/timeline.js';

/** Offers changes at the given times; each change's "state" is its index. */
function sample(times: readonly number[], start: number, end: number, buckets: number) {
  const sampler = new TimelineSampler<number>(start, end, buckets);
  let measured = 0;
  times.forEach((time, i) => {
    sampler.offer(time, () => {
      measured++;
      return i - 1; // the state left by the previous change
    });
  });
  return { points: sampler.finish(() => times.length - 1), measured };
}

describe('TimelineSampler', () => {
  it('keeps the last state of every bucket, and the final state', () => {
    // buckets of 10 s: [0,10) [10,20) [20,30) …
    const { points } = sample([0, 3, 12, 15, 18, 41], 0, 50, 5);
    expect(points).toEqual([1, 4, 5]);
  });

  it('measures once per bucket however many changes fall into it', () => {
    const times = Array.from({ length: 100_000 }, (_, i) => i);
    const { points, measured } = sample(times, 0, 99_999, 240);
    expect(points.length).toBe(240);
    expect(measured).toBe(points.length - 1);
    expect(points.at(-1)).toBe(99_999);
    // evenly spread: consecutive points about one bucket (≈ 417 changes) apart
    const gaps = points.slice(1).map((p, i) => p - points[i]!);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1);
  });

  it('gives a short history one point per distinct time', () => {
    expect(sample([0, 0, 1, 2, 2], 0, 3, 240).points).toEqual([1, 2, 4]);
  });

  it('clamps times outside the span (histories are walked parents first, dates may disagree)', () => {
    const { points } = sample([10, 5, 20, 500], 10, 30, 2);
    expect(points).toEqual([1, 3]);
  });

  it('has nothing to say before the first offer', () => {
    expect(new TimelineSampler<number>(0, 10).finish(() => 1)).toEqual([]);
    expect(() => new TimelineSampler(0, 10, 0)).toThrow(RangeError);
  });
});
