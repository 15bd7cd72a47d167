/**
 * Pairs up changes to different copies of a seam that make the same edit.
 *
 * Two changes match when the LCS ratio of their normalised edits (removed and added tokens, in
 * order; see `ChangeEvent.signature`) reaches the `mirrorMatch` threshold. File names and
 * commit messages play no part. Walking the changes oldest first, each change not yet claimed
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
import type { ChangeEvent } from './history.js';
import { compareStrings } from './order.js';
import type { ChangeRef, MirroredChange, MirrorKind } from './report.js';
import { multisetRatioBound, roundRatio, similarityRatio } from './similarity.js';

export interface MatchOptions {
  readonly threshold: number;
  readonly windowSeconds: number;
}

export interface MatchedChanges {
  readonly mirrored: MirroredChange[];
  readonly oneSided: ChangeRef[];
}

export function toChangeRef(event: ChangeEvent): ChangeRef {
  return {
    engine: event.engine,
    commit: event.commit,
    lines: event.lines,
    tokens: event.signature.length,
  };
}

/** The match score of two changes, or 0 when a cheap bound already rules the match out. */
export function matchScore(a: ChangeEvent, b: ChangeEvent, threshold: number): number {
  const x = a.signature.length;
  const y = b.signature.length;
  // the LCS is at most the shorter length, so 2·min/(x+y) bounds the ratio
  if ((2 * Math.min(x, y)) / (x + y) < threshold) return 0;
  if (multisetRatioBound(a.sortedSignature, b.sortedSignature) < threshold) return 0;
  return similarityRatio(a.signature, b.signature);
}

export function matchChanges(
  events: readonly ChangeEvent[],
  options: MatchOptions,
): MatchedChanges {
  const byEngine = new Map<string, ChangeEvent[]>();
  for (const event of events) {
    const list = byEngine.get(event.engine) ?? [];
    list.push(event);
    byEngine.set(event.engine, list);
  }
  const engines = [...byEngine.keys()].sort(compareStrings);
  const claimed = new Set<ChangeEvent>();
  const mirrored: MirroredChange[] = [];
  const oneSided: ChangeRef[] = [];

  for (const origin of events) {
    if (claimed.has(origin)) continue;
    claimed.add(origin);
    const followers: { event: ChangeEvent; score: number; late: boolean }[] = [];
    for (const engine of engines) {
      if (engine === origin.engine) continue;
      const candidates = byEngine.get(engine)!;
      for (let i = firstAtOrAfter(candidates, origin.order); i < candidates.length; i++) {
        const candidate = candidates[i]!;
        if (claimed.has(candidate)) continue;
        const score = matchScore(origin, candidate, options.threshold);
        if (score < options.threshold) continue;
        claimed.add(candidate);
        const delay = Math.max(0, candidate.time - origin.time);
        const drifted =
          changesBetween(candidates, origin.order, candidate.order) > 0 ||
          changesBetween(byEngine.get(origin.engine)!, origin.order, candidate.order) > 0;
        const late = candidate.order !== origin.order && (delay > options.windowSeconds || drifted);
        followers.push({ event: candidate, score, late });
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
      followers: followers.map(({ event }) => ({
        ...toChangeRef(event),
        delaySeconds: Math.max(0, event.time - origin.time),
      })),
      match: roundRatio(Math.min(...followers.map((f) => f.score))),
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
