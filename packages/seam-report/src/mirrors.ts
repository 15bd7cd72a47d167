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
 * - `contained`: a follower that made its copy identical to another copy (a convergence: a sync
 *   that brought several changes over at once) contains the origin's edit: the LCS of the two
 *   edits covers at least `mirrorMatch` of the origin's tokens and of its identifiers and
 *   literals. Such a follower may follow several origins.
 *
 * Reverts do not take part: a change that returned its copy to an earlier content, and the
 * changes it undid, are listed as reverts and are neither mirrored nor one-sided (what did not
 * stay is not a fix, and not divergence). A change that made its copy identical to another and
 * matched nothing earlier is a convergence: listed, not divergence debt.
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
import type {
  ChangeRef,
  ConvergenceRef,
  MatchHow,
  MirroredChange,
  MirrorKind,
  RevertRef,
  SliceOccurrence,
} from './report.js';
import { lcsLength, multisetRatioBound, roundRatio, similarityRatio } from './similarity.js';

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
  readonly reverts: RevertRef[];
  readonly convergences: ConvergenceRef[];
  /** The slices with counted mirrored or one-sided changes, oldest first. */
  readonly occurrences: SliceOccurrence[];
}

/**
 * A change is part of writing a copy, not maintenance, when it lies in the slice in which its
 * copy (or, for a follower, the origin's copy) appeared: the lockstep edits of the day a copy is
 * made are the copy being finished, not the same fix landing twice.
 */
function whileCopying(event: ChangeEvent, origin?: ChangeEvent): boolean {
  if (event.slice === undefined) return false;
  return (
    event.slice === event.copy.appearedSlice ||
    (origin !== undefined && event.slice === origin.copy.appearedSlice)
  );
}

export function toChangeRef(event: ChangeEvent, origin?: ChangeEvent): ChangeRef {
  return {
    engine: event.copy.engine,
    path: event.path,
    commit: event.commit,
    lines: event.lines,
    tokens: event.signature.length,
    slice: event.slice ?? null,
    whileCopying: whileCopying(event, origin ?? event),
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

/**
 * A convergence (a change after which its copy equals another copy) that carries the origin's
 * edit among others: the share of the origin's tokens, and of its identifiers and literals,
 * found in order in the follower's edit.
 */
export function containedEdit(
  origin: ChangeEvent,
  follower: ChangeEvent,
  options: Pick<MatchOptions, 'threshold' | 'minTokens'>,
): EditMatch | undefined {
  const x = origin.signature.length;
  if (x < options.minTokens || follower.signature.length < x) return undefined;
  const tokens = lcsLength(origin.signature, follower.signature) / x;
  if (tokens < options.threshold) return undefined;
  const names =
    origin.named.length === 0 ? 1 : lcsLength(origin.named, follower.named) / origin.named.length;
  if (names < options.threshold) return undefined;
  return { score: Math.min(tokens, names), how: 'contained' };
}

export function matchChanges(all: readonly ChangeEvent[], options: MatchOptions): MatchedChanges {
  const reverts: RevertRef[] = all
    .filter((event) => event.reverts !== undefined)
    .map((event) => ({
      ...toChangeRef(event),
      reverted: event.reverts!.map((undone) => undone.commit),
    }));
  const events = all.filter(
    (event) => event.reverts === undefined && event.revertedBy === undefined,
  );
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
  /** Convergences that followed an origin: they may follow others, but originate nothing. */
  const followed = new Set<ChangeEvent>();
  const mirrored: MirroredChange[] = [];
  const oneSided: ChangeRef[] = [];
  const convergences: ConvergenceRef[] = [];
  const tally = new SliceTally(all);

  for (const origin of events) {
    if (claimed.has(origin) || followed.has(origin)) continue;
    claimed.add(origin);
    const followers: { event: ChangeEvent; match: EditMatch; late: boolean }[] = [];
    for (const copy of copies) {
      if (copy === origin.copy) continue;
      const candidates = byCopy.get(copy)!;
      for (let i = firstAtOrAfter(candidates, origin.order); i < candidates.length; i++) {
        const candidate = candidates[i]!;
        if (claimed.has(candidate)) continue;
        const converges = candidate.convergedWith !== undefined;
        const match =
          matchEdits(origin, candidate, options) ??
          (converges ? containedEdit(origin, candidate, options) : undefined);
        if (match === undefined) continue;
        if (converges) followed.add(candidate);
        else claimed.add(candidate);
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
      if (origin.convergedWith === undefined) {
        oneSided.push(toChangeRef(origin));
        if (!whileCopying(origin)) tally.oneSided(origin);
      } else
        convergences.push({
          ...toChangeRef(origin),
          with: origin.convergedWith.map((copy) => copy.engine).sort(compareStrings),
        });
      continue;
    }
    const kind: MirrorKind = followers.some((f) => f.late)
      ? 'late_propagation'
      : followers.every((f) => f.event.order === origin.order)
        ? 'same_commit'
        : 'within_window';
    const change: MirroredChange = {
      kind,
      origin: toChangeRef(origin),
      followers: followers.map(({ event, match }) => ({
        ...toChangeRef(event, origin),
        delaySeconds: Math.max(0, event.time - origin.time),
        match: roundRatio(match.score),
        how: match.how,
      })),
      match: roundRatio(Math.min(...followers.map((f) => f.match.score))),
      repeatedLines: followers.reduce((sum, f) => sum + f.event.lines, 0),
    };
    mirrored.push(change);
    for (const { event } of followers) {
      if (!whileCopying(event, origin)) tally.follower(event, change);
    }
  }
  return { mirrored, oneSided, reverts, convergences, occurrences: tally.occurrences() };
}

/**
 * Counts per slice: a slice where a fix was repeated in another copy (a follower landed) is one
 * occurrence of a mirrored change however many followers it holds; a slice with one-sided
 * changes is one occurrence of divergence. The lines repeated in a slice are, per follower copy,
 * the follower lines of the slice but at most what the slice changed in that copy overall (its
 * net diff over the slice), so that re-editing the same lines in one unit of work counts them
 * once. Without slices each commit is its own slice.
 */
class SliceTally {
  private readonly bySlice = new Map<
    number,
    {
      slice: number | undefined;
      last: ChangeEvent;
      mirrored: Set<MirroredChange>;
      oneSided: number;
      followerLines: Map<CopyIdentity, number>;
    }
  >();
  /** The net lines a copy's changes in a slice add up to: the last change's `sliceLines`. */
  private readonly netLines = new Map<string, number>();

  constructor(events: readonly ChangeEvent[]) {
    for (const event of events) this.netLines.set(this.copyKey(event), event.sliceLines);
  }

  follower(event: ChangeEvent, change: MirroredChange): void {
    const entry = this.entry(event);
    entry.mirrored.add(change);
    entry.followerLines.set(event.copy, (entry.followerLines.get(event.copy) ?? 0) + event.lines);
  }

  oneSided(event: ChangeEvent): void {
    this.entry(event).oneSided++;
  }

  occurrences(): SliceOccurrence[] {
    return [...this.bySlice.entries()]
      .sort(([x], [y]) => x - y)
      .map(([, entry]) => {
        let repeatedLines = 0;
        for (const [copy, lines] of entry.followerLines) {
          const net = this.netLines.get(`${this.keyOf(entry.last)}\u0000${copy.id}`) ?? lines;
          repeatedLines += Math.min(lines, net);
        }
        return {
          slice: entry.slice ?? null,
          commit: entry.last.commit,
          mirroredChanges: entry.mirrored.size,
          oneSidedChanges: entry.oneSided,
          repeatedLines,
        };
      });
  }

  private keyOf(event: ChangeEvent): number {
    // without slices, each commit (walk position) is its own slice
    return event.slice ?? -1 - event.order;
  }

  private copyKey(event: ChangeEvent): string {
    return `${this.keyOf(event)}\u0000${event.copy.id}`;
  }

  private entry(event: ChangeEvent) {
    const key = this.keyOf(event);
    let entry = this.bySlice.get(key);
    if (entry === undefined) {
      entry = {
        slice: event.slice,
        last: event,
        mirrored: new Set(),
        oneSided: 0,
        followerLines: new Map(),
      };
      this.bySlice.set(key, entry);
    }
    if (event.order > entry.last.order) entry.last = event;
    return entry;
  }
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
