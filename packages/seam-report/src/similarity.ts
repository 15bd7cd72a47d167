/**
 * Token similarity: the LCS ratio `2·LCS(a, b) / (|a| + |b|)` over normalised token sequences,
 * where LCS is the length of the longest common subsequence. 1 means the same sequence, 0 means
 * no token in common; it equals the "matching tokens" share of both copies together, the same
 * definition as Python difflib's `ratio()` but with an exact LCS instead of difflib's greedy
 * matching blocks.
 *
 * The LCS length is computed with the bit-parallel algorithm of Allison–Dix / Hyyrö (one word
 * holds 30 DP cells), whose cost `|a|·|b|/30` does not depend on how different the copies are. This matters for the history timeline, which measures diverged copies thousands of times;
 * the Myers diff in `align.ts` would cost `(|a|+|b|)·D` there.
 */

/** Length of the longest common subsequence of two integer sequences. */
export function lcsLength(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let start = 0;
  let aEnd = a.length;
  let bEnd = b.length;
  while (start < aEnd && start < bEnd && a[start] === b[start]) start++;
  while (aEnd > start && bEnd > start && a[aEnd - 1] === b[bEnd - 1]) {
    aEnd--;
    bEnd--;
  }
  const trimmed = start + (a.length - aEnd);
  if (aEnd === start || bEnd === start) return trimmed;
  // the shorter sequence is the bit-vector "pattern"; the longer one is scanned
  return aEnd - start <= bEnd - start
    ? trimmed + bitParallelLcs(a, start, aEnd, b, start, bEnd)
    : trimmed + bitParallelLcs(b, start, bEnd, a, start, aEnd);
}

/** Bits per word of the bit vectors: 30, so that a word plus a word plus a carry stays a small
 * integer (below 2^31) and the JIT keeps every operation in 32-bit integer arithmetic. */
const WORD_BITS = 30;
const WORD_MASK = (1 << WORD_BITS) - 1;

/**
 * Hyyrö's formulation: V starts all ones; for each symbol c of the text,
 * `U = V & match[c]; V = (V + U) | (V − U)`; the LCS is the number of zero bits left in V.
 * Since U ⊆ V, `V − U` is `V & ~U`, so only the addition carries across words.
 */
function bitParallelLcs(
  pattern: ArrayLike<number>,
  patternStart: number,
  patternEnd: number,
  text: ArrayLike<number>,
  textStart: number,
  textEnd: number,
): number {
  const length = patternEnd - patternStart;
  const words = Math.ceil(length / WORD_BITS);
  // one match mask (a row of `words` words) per distinct symbol of the pattern
  const rowOf = new Map<number, number>();
  for (let i = patternStart; i < patternEnd; i++) {
    if (!rowOf.has(pattern[i]!)) rowOf.set(pattern[i]!, rowOf.size);
  }
  const masks = new Int32Array(rowOf.size * words);
  for (let i = 0; i < length; i++) {
    const word = (i / WORD_BITS) | 0;
    masks[rowOf.get(pattern[patternStart + i]!)! * words + word]! |= 1 << (i - word * WORD_BITS);
  }
  const v = new Int32Array(words).fill(WORD_MASK);
  // bits past the pattern's end in the last word must not count: start them at zero
  const tail = length - (words - 1) * WORD_BITS;
  v[words - 1] = tail === WORD_BITS ? WORD_MASK : (1 << tail) - 1;
  const top = v[words - 1]!;
  for (let j = textStart; j < textEnd; j++) {
    const row = rowOf.get(text[j]!);
    if (row === undefined) continue; // U = 0 leaves V unchanged
    const base = row * words;
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const vw = v[w]!;
      const uw = vw & masks[base + w]!;
      const sum = vw + uw + carry;
      carry = sum >>> WORD_BITS;
      v[w] = ((sum & WORD_MASK) | (vw & ~uw)) & WORD_MASK;
    }
  }
  v[words - 1]! &= top;
  let ones = 0;
  for (let w = 0; w < words; w++) {
    let x = v[w]!;
    x -= (x >>> 1) & 0x55555555;
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    ones += Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  return length - ones;
}

/** The LCS ratio in [0, 1]; two empty sequences are identical (1). */
export function similarityRatio(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const total = a.length + b.length;
  return total === 0 ? 1 : (2 * lcsLength(a, b)) / total;
}

/**
 * An upper bound of the LCS ratio from the token multisets alone (a common subsequence cannot
 * use a token more often than both sides have it). Cheap filter before the exact ratio.
 * Both inputs must be sorted ascending.
 */
export function multisetRatioBound(sortedA: ArrayLike<number>, sortedB: ArrayLike<number>): number {
  const total = sortedA.length + sortedB.length;
  if (total === 0) return 1;
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < sortedA.length && j < sortedB.length) {
    const x = sortedA[i]!;
    const y = sortedB[j]!;
    if (x === y) {
      common++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return (2 * common) / total;
}

/** Rounds a ratio for reports: four decimals are plenty and keep JSON output stable. */
export function roundRatio(ratio: number): number {
  return Math.round(ratio * 10_000) / 10_000;
}

/** A ratio for people: two decimals, but never "1.00" for copies that are not the same. */
export function formatRatio(ratio: number): string {
  const fixed = ratio.toFixed(2);
  if (fixed !== '1.00' || ratio >= 1) return fixed;
  const finer = ratio.toFixed(3);
  return finer === '1.000' ? '0.999' : finer;
}
