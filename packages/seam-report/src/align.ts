/**
 * Token alignment: which tokens of one sequence correspond to which tokens of the other. Used
 * for the edits of a change in history (what a commit removed and added, token by token) and
 * for pairing up the literals and names of two copies.
 *
 * The algorithm is Myers' O((N+M)·D) diff in its linear-space form (bisect on the middle snake,
 * then recurse on both halves), after trimming the common prefix and suffix. It runs on interned
 * integer sequences, thousands of times per history walk, which is why it is written here rather
 * than taken from the `diff` package (used for line hunks in `hunks.ts`).
 */

/** `length` equal tokens at `a[aStart…]` and `b[bStart…]`. */
export interface EqualRun {
  readonly aStart: number;
  readonly bStart: number;
  readonly length: number;
}

/** A replaced stretch: `a[aStart, aEnd)` became `b[bStart, bEnd)` (either side may be empty). */
export interface Edit {
  readonly aStart: number;
  readonly aEnd: number;
  readonly bStart: number;
  readonly bEnd: number;
}

/** The equal runs of a minimal alignment of `a` and `b`, in order. */
export function align(a: ArrayLike<number>, b: ArrayLike<number>): EqualRun[] {
  const runs: EqualRun[] = [];
  alignRange(a, 0, a.length, b, 0, b.length, runs);
  return mergeAdjacent(runs);
}

/** The edits between the equal runs: what must change to turn `a` into `b`. */
export function editsBetween(runs: readonly EqualRun[], aLength: number, bLength: number): Edit[] {
  const edits: Edit[] = [];
  let aAt = 0;
  let bAt = 0;
  for (const run of [...runs, { aStart: aLength, bStart: bLength, length: 0 }]) {
    if (run.aStart > aAt || run.bStart > bAt) {
      edits.push({ aStart: aAt, aEnd: run.aStart, bStart: bAt, bEnd: run.bStart });
    }
    aAt = run.aStart + run.length;
    bAt = run.bStart + run.length;
  }
  return edits;
}

function alignRange(
  a: ArrayLike<number>,
  aLo: number,
  aHi: number,
  b: ArrayLike<number>,
  bLo: number,
  bHi: number,
  runs: EqualRun[],
): void {
  let prefix = 0;
  while (aLo + prefix < aHi && bLo + prefix < bHi && a[aLo + prefix] === b[bLo + prefix]) prefix++;
  if (prefix > 0) runs.push({ aStart: aLo, bStart: bLo, length: prefix });
  aLo += prefix;
  bLo += prefix;
  let suffix = 0;
  while (aHi - suffix > aLo && bHi - suffix > bLo && a[aHi - 1 - suffix] === b[bHi - 1 - suffix]) {
    suffix++;
  }
  aHi -= suffix;
  bHi -= suffix;
  if (aLo < aHi && bLo < bHi) {
    const split = middleSplit(a, aLo, aHi, b, bLo, bHi);
    if (split !== undefined) {
      alignRange(a, aLo, split.a, b, bLo, split.b, runs);
      alignRange(a, split.a, aHi, b, split.b, bHi, runs);
    }
  }
  if (suffix > 0) runs.push({ aStart: aHi, bStart: bHi, length: suffix });
}

/**
 * A point on a shortest edit path, found where the forward and the backward searches meet
 * (Myers' middle snake); undefined when the ranges share no token at all. The ranges are
 * non-empty and differ in their first and last tokens (the caller trimmed them).
 */
function middleSplit(
  a: ArrayLike<number>,
  aLo: number,
  aHi: number,
  b: ArrayLike<number>,
  bLo: number,
  bHi: number,
): { a: number; b: number } | undefined {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const maxD = Math.ceil((n + m) / 2);
  const offset = maxD;
  const size = 2 * maxD + 2;
  // forward[k]: furthest x on diagonal k = x − y from the start; backward: from the end
  const forward = new Int32Array(size).fill(-1);
  const backward = new Int32Array(size).fill(-1);
  forward[offset + 1] = 0;
  backward[offset + 1] = 0;
  const delta = n - m;
  const frontMeets = (delta & 1) !== 0;
  let kForwardStart = 0;
  let kForwardEnd = 0;
  let kBackwardStart = 0;
  let kBackwardEnd = 0;
  for (let d = 0; d < maxD; d++) {
    for (let k = -d + kForwardStart; k <= d - kForwardEnd; k += 2) {
      const at = offset + k;
      let x =
        k === -d || (k !== d && forward[at - 1]! < forward[at + 1]!)
          ? forward[at + 1]!
          : forward[at - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) {
        x++;
        y++;
      }
      forward[at] = x;
      if (x > n) kForwardEnd += 2;
      else if (y > m) kForwardStart += 2;
      else if (frontMeets) {
        const backAt = offset + delta - k;
        if (backAt >= 0 && backAt < size && backward[backAt] !== -1 && x >= n - backward[backAt]!) {
          return { a: aLo + x, b: bLo + y };
        }
      }
    }
    for (let k = -d + kBackwardStart; k <= d - kBackwardEnd; k += 2) {
      const at = offset + k;
      let x =
        k === -d || (k !== d && backward[at - 1]! < backward[at + 1]!)
          ? backward[at + 1]!
          : backward[at - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[aHi - 1 - x] === b[bHi - 1 - y]) {
        x++;
        y++;
      }
      backward[at] = x;
      if (x > n) kBackwardEnd += 2;
      else if (y > m) kBackwardStart += 2;
      else if (!frontMeets) {
        const foreAt = offset + delta - k;
        if (foreAt >= 0 && foreAt < size && forward[foreAt] !== -1) {
          const forwardX = forward[foreAt]!;
          const forwardY = forwardX - (foreAt - offset);
          if (forwardX >= n - x) return { a: aLo + forwardX, b: bLo + forwardY };
        }
      }
    }
  }
  return undefined;
}

function mergeAdjacent(runs: readonly EqualRun[]): EqualRun[] {
  const merged: EqualRun[] = [];
  for (const run of runs) {
    if (run.length === 0) continue;
    const last = merged[merged.length - 1];
    if (
      last &&
      last.aStart + last.length === run.aStart &&
      last.bStart + last.length === run.bStart
    ) {
      merged[merged.length - 1] = { ...last, length: last.length + run.length };
    } else merged.push(run);
  }
  return merged;
}
