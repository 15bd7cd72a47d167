/**
 * N-way seams as clusters around a canonical copy. A seam with thirty copies is not "as close as
 * its two most different copies": it is, say, 21 copies identical to a canonical one, 7 near it
 * and 2 outliers, and a maintainer acts on that.
 *
 * **The canonical copy** is the one closest to all the others: the medoid of the copies when two
 * copies are as far apart as the number of code lines (comment-free tokens of one source line)
 * one has and the other lacks. Summed over the other copies, that distance is smallest for the
 * copy that has the most lines a majority of copies have and the fewest lines a minority has: a
 * copy scores, for each of its distinct lines, the copies with the line minus the copies without
 * it, and the highest score wins. 21 identical copies beat 7 that each add or drop a line, and an
 * outlier whose lines nobody else has comes last; two copies tie. Ties go to the content most
 * copies share, then to the caller's preference, then to the first copy in the order given
 * (engines by name). The cost is one pass over each distinct content's lines: no pair of copies
 * is compared.
 *
 * **Each copy's relation** to the canonical copy, strongest first: `identical` (the same
 * bytes), `equivalent` (the same tokens once comments and whitespace are dropped), `renamed`
 * (the same once names and literals are placeholders), `near` (token similarity at least the
 * `similar` threshold), `outlier` (below it). The similarity is the LCS ratio of the copy's
 * tokens and the canonical copy's, computed once per distinct content.
 */
import { roundRatio, similarityRatio } from './similarity.js';

/** One copy to cluster; `code` ids come from one token table shared by the copies. */
export interface ClusterInput {
  /** Comment-free token ids, as written. */
  readonly code: Int32Array;
  /** The source line of each code token (same length as `code`). */
  readonly lines: ArrayLike<number>;
  /** Token ids with names and literals as placeholders; absent: `renamed` is not told apart. */
  readonly shape?: Int32Array;
  /** The bytes compared (absent: `identical` is not told apart from `equivalent`). */
  readonly text?: string;
  /** `sequenceHash(code)`, when the caller has it already. */
  readonly hash?: number;
}

export type Relation = 'canonical' | 'identical' | 'equivalent' | 'renamed' | 'near' | 'outlier';

export interface CopyRelation {
  readonly relation: Relation;
  /** LCS ratio of the copy's code tokens and the canonical copy's, rounded to four decimals. */
  readonly similarity: number;
}

export interface Clusters {
  /** Index (in the inputs) of the canonical copy. */
  readonly canonical: number;
  /** One per input, in input order. */
  readonly relations: readonly CopyRelation[];
}

/** A 53-bit hash of an integer sequence (two 32-bit FNV-1a variants and the length). */
export function sequenceHash(ids: ArrayLike<number>): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ ids.length;
  for (let i = 0; i < ids.length; i++) {
    a = Math.imul(a ^ ids[i]!, 0x01000193);
    b = Math.imul(b ^ (ids[i]! + 0x9e3779b9), 0x85ebca6b) ^ (b >>> 13);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

function sameIds(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A hash per source line of the code tokens on it. */
export function lineHashes(code: ArrayLike<number>, lines: ArrayLike<number>): number[] {
  const hashes: number[] = [];
  let hash = 0x811c9dc5;
  for (let i = 0; i < code.length; i++) {
    if (i > 0 && lines[i] !== lines[i - 1]) {
      hashes.push(hash);
      hash = 0x811c9dc5;
    }
    hash = Math.imul(hash ^ code[i]!, 0x01000193) ^ (hash >>> 15);
  }
  if (code.length > 0) hashes.push(hash);
  return hashes;
}

/** Copies grouped by equal code tokens: each group's member indices, in input order. */
export function contentGroups(inputs: readonly ClusterInput[]): number[][] {
  const byHash = new Map<number, number[][]>();
  const groups: number[][] = [];
  inputs.forEach((input, index) => {
    const hash = input.hash ?? sequenceHash(input.code);
    const candidates = byHash.get(hash) ?? [];
    const group = candidates.find((members) => sameIds(inputs[members[0]!]!.code, input.code));
    if (group !== undefined) group.push(index);
    else {
      const members = [index];
      candidates.push(members);
      byHash.set(hash, candidates);
      groups.push(members);
    }
  });
  return groups;
}

/**
 * The index of the canonical copy (see the module comment). `prefer` breaks ties between
 * contents before input order (the drift check prefers copies the change left alone).
 */
export function canonicalCopy(
  inputs: readonly ClusterInput[],
  prefer: (index: number) => boolean = () => false,
  groups: readonly number[][] = contentGroups(inputs),
  lineSets: (group: readonly number[]) => readonly number[] = (group) => [
    ...new Set(lineHashes(inputs[group[0]!]!.code, inputs[group[0]!]!.lines)),
  ],
): number {
  if (inputs.length === 0) throw new Error('canonicalCopy needs at least one copy');
  const distinct = groups.map(lineSets);
  // how many copies have each line
  const count = new Map<number, number>();
  groups.forEach((group, g) => {
    for (const line of distinct[g]!) count.set(line, (count.get(line) ?? 0) + group.length);
  });
  // Σ over the copy's lines of (copies with it − copies without it): the copy whose lines differ
  // from the fewest lines of the others, summed over every other copy
  const copies = inputs.length;
  let best = -1;
  let bestScore = 0;
  groups.forEach((group, g) => {
    let score = 0;
    for (const line of distinct[g]!) score += 2 * count.get(line)! - copies;
    const current = best === -1 ? undefined : groups[best]!;
    const better =
      current === undefined ||
      score > bestScore ||
      (score === bestScore &&
        (group.length > current.length ||
          (group.length === current.length && group.some(prefer) && !current.some(prefer))));
    if (better) {
      best = g;
      bestScore = score;
    }
  });
  // within the winning content: the text most of its copies share, then the preferred, then first
  const members = groups[best]!;
  let chosen = members[0]!;
  let chosenCount = -1;
  for (const index of members) {
    const text = inputs[index]!.text;
    const same = members.filter((other) => inputs[other]!.text === text).length;
    if (same > chosenCount || (same === chosenCount && prefer(index) && !prefer(chosen))) {
      chosen = index;
      chosenCount = same;
    }
  }
  return chosen;
}

/**
 * Every copy's relation to the canonical copy (chosen here unless given) and its similarity,
 * measured once per distinct content.
 */
export function clusterCopies(
  inputs: readonly ClusterInput[],
  similarThreshold: number,
  options: { canonical?: number; prefer?: (index: number) => boolean } = {},
): Clusters {
  const groups = contentGroups(inputs);
  const canonical = options.canonical ?? canonicalCopy(inputs, options.prefer, groups);
  const reference = inputs[canonical]!;
  const relations: CopyRelation[] = new Array(inputs.length);
  for (const group of groups) {
    const first = inputs[group[0]!]!;
    const sameCode = sameIds(first.code, reference.code);
    const similarity = sameCode ? 1 : roundRatio(similarityRatio(first.code, reference.code));
    const sameShape =
      !sameCode &&
      first.shape !== undefined &&
      reference.shape !== undefined &&
      sameIds(first.shape, reference.shape);
    for (const index of group) {
      const input = inputs[index]!;
      let relation: Relation;
      if (index === canonical) relation = 'canonical';
      else if (sameCode)
        relation =
          input.text !== undefined && input.text === reference.text ? 'identical' : 'equivalent';
      else if (sameShape) relation = 'renamed';
      else relation = similarity >= similarThreshold ? 'near' : 'outlier';
      relations[index] = { relation, similarity };
    }
  }
  return { canonical, relations };
}

/** Strongest first: the order in which relations are listed and counted. */
export const RELATIONS: readonly Relation[] = [
  'canonical',
  'identical',
  'equivalent',
  'renamed',
  'near',
  'outlier',
];
