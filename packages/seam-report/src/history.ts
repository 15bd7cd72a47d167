/**
 * The history walk: one `git log` over the commits that touched a seam path (oldest first,
 * parents before children, merges skipped since their changes are on the merged commits), with
 * blob contents from one `git cat-file --batch`. For every change to a copy it records the
 * normalised edit (tokens removed and added); for every copy that appears, whether it was copied
 * from an existing one; and a sampled similarity timeline per seam.
 *
 * Memory: the walk keeps the current version of each copy (as interned token ids), the change
 * events (the per-seam timeline the report shows) and a bounded read-ahead window of blobs.
 */
import { align, editsBetween } from './align.js';
import type { CopyMatcher } from './discover.js';
import { isNullOid, LOG_FORMAT, type LogCommit, logCommits, type ObjectReader } from './git.js';
import { normalize, TokenTable } from './normalize.js';
import type { CommitRef, CopyEvent, TimelinePoint } from './report.js';
import { roundRatio, similarityRatio } from './similarity.js';
import { prepareSource } from './source.js';
import { TimelineSampler } from './timeline.js';
import { isLiteral, isNamed, type Language } from './tokenize/token.js';

/** One change to one copy: the raw material of mirrored and one-sided changes. */
export interface ChangeEvent {
  /** Position of the commit in the walk (parents before children). */
  readonly order: number;
  readonly commit: CommitRef;
  /** Committer time in seconds. */
  readonly time: number;
  readonly engine: string;
  /**
   * The normalised edit: removed token t as 2t, added token t as 2t+1, in text order. Two
   * changes that make the same edit have the same signature, whatever file they are in.
   */
  readonly signature: Int32Array;
  /** `signature` sorted, for the cheap multiset bound before the exact match. */
  readonly sortedSignature: Int32Array;
  /**
   * The part of `signature` made of identifiers and literals: what makes an edit this edit
   * rather than another of the same shape (`export const A = 'a'` versus `export const B = 'b'`).
   */
  readonly named: Int32Array;
  /**
   * The unchanged tokens around each edited stretch (up to `CONTEXT_TOKENS` on each side,
   * stretches separated by -1): where the edit was made, for matching edits too small to be
   * told apart by their own tokens.
   */
  readonly context: Int32Array;
  readonly lines: number;
}

/** Unchanged tokens kept on each side of an edited stretch (`ChangeEvent.context`). */
export const CONTEXT_TOKENS = 6;

export interface SeamWalk {
  /** Changes made while the seam had two or more copies, in walk order. */
  readonly events: ChangeEvent[];
  readonly copyEvents: CopyEvent[];
  /** The commit that added each engine's current copy. */
  readonly appeared: Map<string, CommitRef>;
  readonly timeline: TimelinePoint[];
}

export interface HistoryWalk {
  readonly commitsWalked: number;
  readonly first: CommitRef | null;
  readonly last: CommitRef | null;
  /** Every engine directory that held a copy at some point. */
  readonly engineDirs: ReadonlySet<string>;
  readonly seams: ReadonlyMap<string, SeamWalk>;
}

export interface HistoryProgress {
  readonly phase: 'history';
  readonly commits: number;
}

export interface WalkOptions {
  readonly cwd: string;
  readonly reader: ObjectReader;
  readonly matcher: CopyMatcher;
  /** Seams to follow (today's seams). Other copies only contribute their engine directory. */
  readonly seams: ReadonlySet<string>;
  readonly copyEventThreshold: number;
  /** HEAD's committer time (seconds): the end of the timeline. */
  readonly headTime: number;
  readonly onProgress?: (progress: HistoryProgress) => void;
}

/**
 * How many commits ahead of the one being processed have their blobs requested: a sliding
 * window, so that git is always reading while the walk tokenises and compares.
 */
const READ_AHEAD_COMMITS = 128;

/** The version of a copy the walk holds: enough to diff against and to measure similarity. */
interface CopyState {
  readonly path: string;
  readonly oid: string;
  readonly ids: Int32Array;
  readonly lines: Int32Array;
  /** 1 where the token is an identifier or a literal. */
  readonly named: Uint8Array;
}

interface SeamState {
  readonly copies: Map<string, CopyState>;
  readonly walk: SeamWalk;
  /** Created at the first commit, when the timeline's start is known. */
  sampler: TimelineSampler<TimelinePoint> | undefined;
  /** The last commit that touched this seam: the state the walk holds is as of this commit. */
  lastTouched: CommitRef | undefined;
}

export function commitRef(commit: Pick<LogCommit, 'hash' | 'time' | 'subject'>): CommitRef {
  return {
    hash: commit.hash,
    date: new Date(commit.time * 1000).toISOString().replace('.000Z', 'Z'),
    subject: commit.subject,
  };
}

export async function walkHistory(options: WalkOptions): Promise<HistoryWalk> {
  const { reader, matcher } = options;
  const table = new TokenTable();
  const seams = new Map<string, SeamState>();
  for (const seam of options.seams) {
    seams.set(seam, {
      copies: new Map(),
      walk: { events: [], copyEvents: [], appeared: new Map(), timeline: [] },
      sampler: undefined,
      lastTouched: undefined,
    });
  }
  const engineDirs = new Set<string>();
  /** blob id → its content, requested ahead of processing */
  const inFlight = new Map<string, Promise<string>>();
  const readBlob = (oid: string): Promise<string> => {
    let read = inFlight.get(oid);
    if (read === undefined) {
      read = reader.read(oid).then((object) => object?.content.toString('utf8') ?? '');
      inFlight.set(oid, read);
    }
    return read;
  };
  const prepare = async (oid: string, path: string, language: Language) => {
    const source = prepareSource(await readBlob(oid), language);
    const code = normalize(source.tokens, 'code', table);
    const lines = new Int32Array(code.tokens.length);
    const named = new Uint8Array(code.tokens.length);
    for (let i = 0; i < lines.length; i++) {
      const token = code.tokens[i]!;
      lines[i] = token.line;
      if (isNamed(token) || isLiteral(token)) named[i] = 1;
    }
    return { path, oid, ids: code.ids, lines, named } satisfies CopyState;
  };

  let order = 0;
  let first: CommitRef | null = null;
  let last: LogCommit | undefined;
  /** Commits read from the log whose blobs are requested, oldest first. */
  const pending: LogCommit[] = [];

  const processOldest = async () => {
    const commit = pending.shift()!;
    await processCommit(commit, order++);
    // its blobs are now held (prepared) by the copy states or no longer needed
    for (const change of commit.changes) {
      inFlight.delete(change.newOid);
      inFlight.delete(change.oldOid);
    }
    if (order % 100 === 0) options.onProgress?.({ phase: 'history', commits: order });
  };

  const processCommit = async (commit: LogCommit, at: number) => {
    let ref: CommitRef | undefined;
    const refOf = () => {
      ref ??= commitRef(commit);
      return ref;
    };
    // close the seams' timeline buckets before this commit changes their state
    const touched = new Set<SeamState>();
    for (const change of commit.changes) {
      const state = seams.get(matcher.match(change.path)?.seam ?? '');
      if (state === undefined || touched.has(state)) continue;
      touched.add(state);
      state.sampler ??= new TimelineSampler(commit.time, Math.max(commit.time, options.headTime));
      state.sampler.offer(commit.time, () => timelinePoint(state, state.lastTouched!));
    }
    for (const change of commit.changes) {
      const location = matcher.match(change.path);
      if (location === undefined) continue;
      engineDirs.add(location.engineDir);
      const state = seams.get(location.seam);
      if (state === undefined) continue;
      const current = state.copies.get(location.engine);
      if (change.status === 'D') {
        if (current?.path === change.path) {
          state.copies.delete(location.engine);
          state.walk.appeared.delete(location.engine);
        }
        continue;
      }
      if (isNullOid(change.newOid)) continue; // a submodule or similar: nothing to read
      const next = await prepare(change.newOid, change.path, location.language);
      if (change.status === 'A' || current === undefined || current.path !== change.path) {
        if (current !== undefined && current.path !== change.path) continue; // first path wins
        recordAppearance(
          state,
          location.engine,
          change.path,
          next,
          refOf(),
          options.copyEventThreshold,
        );
      } else {
        const previous =
          current.oid === change.oldOid
            ? current
            : await prepare(change.oldOid, change.path, location.language);
        const event = changeEvent(previous, next, at, refOf(), commit.time, location.engine);
        if (event !== undefined && state.copies.size >= 2) state.walk.events.push(event);
      }
      state.copies.set(location.engine, next);
    }
    for (const state of touched) state.lastTouched = refOf();
  };

  const walk = logCommits(options.cwd, [
    '--topo-order',
    '--reverse',
    '--no-merges',
    '--full-history',
    '--no-renames',
    LOG_FORMAT,
    'HEAD',
    '--',
    ...matcher.pathspecs,
  ]);
  for await (const commit of walk) {
    first ??= commitRef(commit);
    last = commit;
    pending.push(commit);
    // request this commit's blobs now; they arrive while earlier commits are processed
    for (const change of commit.changes) {
      const location = matcher.match(change.path);
      if (location === undefined || !seams.has(location.seam)) continue;
      if (!isNullOid(change.newOid)) void readBlob(change.newOid).catch(() => {});
    }
    if (pending.length >= READ_AHEAD_COMMITS) await processOldest();
  }
  while (pending.length > 0) await processOldest();

  const lastRef = last === undefined ? null : commitRef(last);
  const seamWalks = new Map<string, SeamWalk>();
  for (const [name, state] of seams) {
    const timeline = state.sampler?.finish(() => timelinePoint(state, state.lastTouched!)) ?? [];
    seamWalks.set(name, { ...state.walk, timeline });
  }
  return { commitsWalked: order, first, last: lastRef, engineDirs, seams: seamWalks };
}

/** A copy appeared (added, or first seen at its path): note when, and what it was copied from. */
function recordAppearance(
  state: SeamState,
  engine: string,
  path: string,
  copy: CopyState,
  commit: CommitRef,
  threshold: number,
): void {
  let source: string | null = null;
  let best: number | null = null;
  for (const [otherEngine, other] of state.copies) {
    if (otherEngine === engine) continue;
    const similarity = roundRatio(similarityRatio(copy.ids, other.ids));
    if (best === null || similarity > best) {
      best = similarity;
      source = otherEngine;
    }
  }
  state.walk.copyEvents.push({
    engine,
    path,
    commit,
    source,
    similarity: best,
    copied: best !== null && best >= threshold,
  });
  state.walk.appeared.set(engine, commit);
}

/** The normalised change between two versions of a copy, or undefined when tokens are equal. */
function changeEvent(
  before: CopyState,
  after: CopyState,
  order: number,
  commit: CommitRef,
  time: number,
  engine: string,
): ChangeEvent | undefined {
  const edits = editsBetween(align(before.ids, after.ids), before.ids.length, after.ids.length);
  if (edits.length === 0) return undefined;
  const signature: number[] = [];
  const named: number[] = [];
  const context: number[] = [];
  const removedLines = new Set<number>();
  const addedLines = new Set<number>();
  for (const edit of edits) {
    for (let i = Math.max(0, edit.aStart - CONTEXT_TOKENS); i < edit.aStart; i++)
      context.push(before.ids[i]!);
    for (let i = edit.aStart; i < edit.aEnd; i++) {
      signature.push(2 * before.ids[i]!);
      if (before.named[i] === 1) named.push(2 * before.ids[i]!);
      removedLines.add(before.lines[i]!);
    }
    for (let j = edit.bStart; j < edit.bEnd; j++) {
      signature.push(2 * after.ids[j]! + 1);
      if (after.named[j] === 1) named.push(2 * after.ids[j]! + 1);
      addedLines.add(after.lines[j]!);
    }
    for (let j = edit.bEnd; j < Math.min(after.ids.length, edit.bEnd + CONTEXT_TOKENS); j++)
      context.push(after.ids[j]!);
    context.push(-1);
  }
  const packed = Int32Array.from(signature);
  return {
    order,
    commit,
    time,
    engine,
    signature: packed,
    sortedSignature: packed.slice().sort(),
    named: Int32Array.from(named),
    context: Int32Array.from(context),
    lines: removedLines.size + addedLines.size,
  };
}

function timelinePoint(state: SeamState, commit: CommitRef): TimelinePoint {
  const copies = [...state.copies.values()];
  let similarity: number | null = null;
  for (let x = 0; x < copies.length; x++) {
    for (let y = x + 1; y < copies.length; y++) {
      const ratio = roundRatio(similarityRatio(copies[x]!.ids, copies[y]!.ids));
      similarity = similarity === null ? ratio : Math.min(similarity, ratio);
    }
  }
  return { commit: commit.hash, date: commit.date, copies: copies.length, similarity };
}
