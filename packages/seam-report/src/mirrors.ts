/**
 * Pairs up changes to different copies of a seam that make the same edit.
 *
 * Edits are compared on their real tokens (removed and added, in order, comments dropped;
 * identifiers and literals as written; see `ChangeEvent.signature`). File names and commit
 * messages play no part. Two changes match, and the evidence says which way:
 *
 * - `exact`: the same tokens removed and added, and the edit has at least `minTokens` tokens
 *   (or both changes are in one commit: the same edit made to several copies at once is a
 *   lockstep change whatever its size);
 * - `exact_in_context`: the same small edit (under `minTokens`) made at the same place: the
 *   unchanged tokens around it are the same in both copies (`ChangeEvent.context`);
 * - `similar`: both edits have at least `minTokens` tokens, their LCS ratio reaches the
 *   `mirrorMatch` threshold, and so does the LCS ratio of their identifiers and literals alone.
 *   The second ratio is what keeps two unrelated edits of the same shape apart
 *   (`export const A = 'a' as const;` and `export const B = 'b' as const;` share 6 of 8 tokens,
 *   but none of their names or values).
 *
 * Walking the changes oldest first, each change not yet claimed
 * becomes an origin and claims, in every other copy, the first unclaimed matching change in the
 * same commit or later. The result is one of:
 *
 * - `same_commit`: every follower landed in the origin's commit;
 * - `within_window`: followers landed later, within `mirrorWindowDays`, with no other change to
 *   either copy in between;
 * - `late_propagation`: a follower landed after the window, or after other changes to either
 *   copy had landed in between (the copies had drifted meanwhile);
 * - a one-sided change: no other copy ever received a matching change.
 */
import type { ChangeEvent, CopyIdentity } from './history.js';
import { sameSequence } from './normalize.js';
import { compareStrings } from './order.js';
import type { ChangeRef, MatchHow, MirroredChange, MirrorKind } from './report.js';
import { multisetRatioBound, roundRatio, similarityRatio } from './similarity.js';

export interface MatchOptions {
  readonly threshold: number;
  readonly windowSeconds: number;
  /** Edits smaller than this (tokens removed plus added) match only exactly and in context. */
  readonly minTokens: number;
}

export interface EditMatch {
  /** The lower of the token ratio and the identifiers-and-literals ratio; 1 for exact. */
  readonly score: number;
  readonly how: MatchHow;
}

export interface MatchedChanges {
  readonly mirrored: MirroredChange[];
  readonly oneSided: ChangeRef[];
}

export function toChangeRef(event: ChangeEvent): ChangeRef {
  return {
    engine: event.copy.engine,
    path: event.path,
    commit: event.commit,
    lines: event.lines,
    tokens: event.signature.length,
  };
}

/** How two changes' edits match, or undefined when they do not. */
export function matchEdits(
  a: ChangeEvent,
  b: ChangeEvent,
  options: Pick<MatchOptions, 'threshold' | 'minTokens'>,
): EditMatch | undefined {
  const x = a.signature.length;
  const y = b.signature.length;
  if (sameSequence(a.signature, b.signature)) {
    if (x >= options.minTokens || a.order === b.order) return { score: 1, how: 'exact' };
    return sameSequence(a.context, b.context) ? { score: 1, how: 'exact_in_context' } : undefined;
  }
  if (x < options.minTokens || y < options.minTokens) return undefined;
  const threshold = options.threshold;
  // the LCS is at most the shorter length, so 2·min/(x+y) bounds the ratio
  if ((2 * Math.min(x, y)) / (x + y) < threshold) return undefined;
  if (multisetRatioBound(a.sortedSignature, b.sortedSignature) < threshold) return undefined;
  const tokens = similarityRatio(a.signature, b.signature);
  if (tokens < threshold) return undefined;
  const names = similarityRatio(a.named, b.named);
  if (names < threshold) return undefined;
  return { score: Math.min(tokens, names), how: 'similar' };
}

export function matchChanges(
  events: readonly ChangeEvent[],
  options: MatchOptions,
): MatchedChanges {
  // changes by copy (one copy keeps its identity across renames), copies in engine-name order
  const byCopy = new Map<CopyIdentity, ChangeEvent[]>();
  for (const event of events) {
    const list = byCopy.get(event.copy) ?? [];
    list.push(event);
    byCopy.set(event.copy, list);
  }
  const copies = [...byCopy.keys()].sort(
    (x, y) => compareStrings(x.engine, y.engine) || x.id - y.id,
  );
  const claimed = new Set<ChangeEvent>();
  const mirrored: MirroredChange[] = [];
  const oneSided: ChangeRef[] = [];

  for (const origin of events) {
    if (claimed.has(origin)) continue;
    claimed.add(origin);
    const followers: { event: ChangeEvent; match: EditMatch; late: boolean }[] = [];
    for (const copy of copies) {
      if (copy === origin.copy) continue;
      const candidates = byCopy.get(copy)!;
      for (let i = firstAtOrAfter(candidates, origin.order); i < candidates.length; i++) {
        const candidate = candidates[i]!;
        if (claimed.has(candidate)) continue;
        const match = matchEdits(origin, candidate, options);
        if (match === undefined) continue;
        claimed.add(candidate);
        const delay = Math.max(0, candidate.time - origin.time);
        const drifted =
          changesBetween(candidates, origin.order, candidate.order) > 0 ||
          changesBetween(byCopy.get(origin.copy)!, origin.order, candidate.order) > 0;
        const late = candidate.order !== origin.order && (delay > options.windowSeconds || drifted);
        followers.push({ event: candidate, match, late });
        break;
      }
    }
    if (followers.length === 0) {
      oneSided.push(toChangeRef(origin));
      continue;
    }
    const kind: MirrorKind = followers.some((f) => f.late)
      ? 'late_propagation'
      : followers.every((f) => f.event.order === origin.order)
        ? 'same_commit'
        : 'within_window';
    mirrored.push({
      kind,
      origin: toChangeRef(origin),
      followers: followers.map(({ event, match }) => ({
        ...toChangeRef(event),
        delaySeconds: Math.max(0, event.time - origin.time),
        match: roundRatio(match.score),
        how: match.how,
      })),
      match: roundRatio(Math.min(...followers.map((f) => f.match.score))),
      repeatedLines: followers.reduce((sum, f) => sum + f.event.lines, 0),
    });
  }
  return { mirrored, oneSided };
}

/** Index of the first event whose walk order is ≥ `order` (events are in walk order). */
function firstAtOrAfter(events: readonly ChangeEvent[], order: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.order < order) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of `events` lie strictly between two walk positions. */
function changesBetween(events: readonly ChangeEvent[], after: number, before: number): number {
  return Math.max(0, firstAtOrAfter(events, before) - firstAtOrAfter(events, after + 1));
}
