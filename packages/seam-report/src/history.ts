/**
 * The history walk: one `git log` over the commits that touched a seam path, in graph order
 * (parents before children), with blob contents from one `git cat-file --batch`.
 *
 * History follows the commit graph: every commit is read against the copies of its own parent
 * (the simplified graph of `--full-history --simplify-merges --parents`), not against whatever
 * commit came before it in a flattened list. So a copy is "copied from" another only when that
 * other exists in the commit's ancestry (the root commit of a repository merged in later copies
 * nothing), and a change counts as a change to a seam only when the seam had two or more copies
 * in that commit's ancestry. A merge takes its copies from the merged result and records no
 * change of its own (the changes are on the merged commits).
 *
 * History follows renames: git's rename detection (`-M`) pairs a copy that moved with where it
 * went, so an engine directory renamed twice is one copy with two moves, not three new copies;
 * two engine folders swapping places (each copy's new content is the other's old one) are two
 * moves, not four changes. A copy that arrived from a path outside the watched ones (a folder
 * move) is followed back: the rename is found over the whole tree and the walk is repeated with
 * the old path as an alias of the new one, so the history before the move is not lost; the old
 * path must lie in a directory named like the copy's engine (a file of another engine renamed
 * into this one is a new copy made from it, not this copy's past). The
 * configuration can alias old engine paths that git cannot pair (`aliases`).
 *
 * Each copy has one identity across its renames; a change is reported under the copy's current
 * engine name, with the path it had then.
 *
 * Memory: the walk keeps the copies of the commits whose children are still to be read (the
 * frontier of the graph, one commit on a linear history), the change events (the per-seam
 * timeline the report shows) and a bounded read-ahead window of blobs.
 */
import { align, editsBetween } from './align.js';
import {
  type ClusterInput,
  canonicalCopy,
  contentGroups,
  lineHashes,
  sequenceHash,
} from './clusters.js';
import type { CopyLocation, CopyMatcher } from './discover.js';
import {
  commitDiffs,
  git,
  isNullOid,
  LOG_FORMAT,
  type LogCommit,
  logCommits,
  type ObjectReader,
  type RawChange,
} from './git.js';
import { TokenTable } from './normalize.js';
import { compareStrings } from './order.js';
import type { CommitRef, CopyEvent, CopyMove, TimelinePoint } from './report.js';
import { multisetRatioBound, roundRatio, similarityRatio } from './similarity.js';
import { languageOf, type NameRule, prepareSource } from './source.js';
import { TimelineSampler } from './timeline.js';
import type { Language, TokenKind } from './tokenize/token.js';

/** Identifiers and literals: what `ChangeEvent.named` keeps of an edit. */
const NAMED_KINDS: ReadonlySet<TokenKind> = new Set<TokenKind>([
  'identifier',
  'lifetime',
  'number',
  'string',
  'template',
  'regex',
  'char',
  'boolean',
]);

/** One copy of a seam through its whole history, renames included. */
export interface CopyIdentity {
  readonly id: number;
  readonly seam: string;
  /** The copy's engine name: the latest one (an engine renamed keeps its copy). */
  engine: string;
  /** The commit where the copy appeared. */
  readonly appeared: CommitRef;
  /** The slice of that commit (see `WalkOptions.sliceOf`). */
  readonly appearedSlice: number | undefined;
}

/** One change to one copy: the raw material of mirrored and one-sided changes. */
export interface ChangeEvent {
  /** Position of the commit in the walk (parents before children). */
  readonly order: number;
  readonly commit: CommitRef;
  /** Committer time in seconds. */
  readonly time: number;
  readonly copy: CopyIdentity;
  /** The copy's path in this commit. */
  readonly path: string;
  readonly language: Language;
  /** Blob ids of the copy before and after the change. */
  readonly previousOid: string;
  readonly oid: string;
  /** Tokens (comments excluded) before and after the change. */
  readonly sizeBefore: number;
  readonly sizeAfter: number;
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
  /** The slice of the commit (see `WalkOptions.sliceOf`), or undefined without slices. */
  readonly slice: number | undefined;
  /**
   * Lines changed in the copy by its changes in this slice so far, measured once from the
   * copy's content before the slice's first change to it (its net diff): re-editing the same
   * lines in one unit of work counts them once.
   */
  readonly sliceLines: number;
  /** Set when a later change returned the copy to the content it had before this one. */
  revertedBy?: ChangeEvent;
  /** The changes this one undid: it returned the copy to the content it had before them. */
  reverts?: ChangeEvent[];
  /** The copies this change made the copy identical to (normalised tokens; it was not before). */
  convergedWith?: CopyIdentity[];
}

/** How many earlier states of a copy are remembered to recognise a revert. */
const REVERT_DEPTH = 32;

/** Unchanged tokens kept on each side of an edited stretch (`ChangeEvent.context`). */
export const CONTEXT_TOKENS = 6;

export interface SeamWalk {
  /** Changes made while the seam had two or more copies, in walk order. */
  readonly events: ChangeEvent[];
  readonly copyEvents: CopyEvent[];
  /** Copies that moved (renamed files or engine directories), in walk order. */
  readonly moves: CopyMove[];
  /** The commit where each engine's current copy appeared (renames followed), by engine. */
  readonly appeared: Map<string, CommitRef>;
  readonly timeline: TimelinePoint[];
  /**
   * Whether two of the copies at HEAD were made from one another: linked by copy events
   * (`copied`), directly or through copies deleted since. A copy made from one engine and later
   * deleted links nothing else.
   */
  readonly linked: boolean;
  /**
   * For each engine's copy at HEAD, the id of its group of copies linked by copy events (through
   * copies deleted since too): copies with the same id were made from one another.
   */
  readonly components: ReadonlyMap<string, number>;
}

/**
 * A copy of a module that is not one of today's seams leaving its engine (deleted, or renamed
 * out of it): the raw material of seams extracted by deleting their copies.
 */
export interface Removal {
  readonly seam: string;
  /** The engine's name (its directory's last segment) and directory where the copy was. */
  readonly engine: string;
  readonly engineDir: string;
  readonly path: string;
  readonly language: Language;
  /** The copy's last content. */
  readonly oid: string;
  readonly commit: CommitRef;
  /** Position of the commit in the walk. */
  readonly order: number;
}

export interface HistoryWalk {
  readonly commitsWalked: number;
  /** Copies of modules that are not seams today leaving their engines, in walk order. */
  readonly removals: readonly Removal[];
  readonly first: CommitRef | null;
  readonly last: CommitRef | null;
  /** Every engine directory that held a copy at some point (old paths included). */
  readonly engineDirs: ReadonlySet<string>;
  readonly seams: ReadonlyMap<string, SeamWalk>;
  /** Old paths followed as aliases of current ones: configured, and found in history. */
  readonly aliases: readonly { readonly from: string; readonly to: string }[];
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
  /** `thresholds.similar`: below it a copy is an outlier (counted in the timeline). */
  readonly similarThreshold: number;
  /** HEAD's committer time (seconds): the end of the timeline. */
  readonly headTime: number;
  /** The slice a commit belongs to (from `planSlices`); without it changes carry no slice. */
  readonly sliceOf?: (hash: string) => number | undefined;
  /** Names read as one before copies are compared (`normalizeNames`). */
  readonly names?: readonly NameRule[];
  readonly onProgress?: (progress: HistoryProgress) => void;
}

/**
 * How many commits ahead of the one being processed have their blobs requested: a sliding
 * window, so that git is always reading while the walk tokenises and compares.
 */
const READ_AHEAD_COMMITS = 128;

/** How many times the walk is repeated to follow copies that arrived from outside paths. */
const MAX_RENAME_ROUNDS = 3;

/** The version of a copy the walk holds: enough to diff against and to measure similarity. */
interface CopyState {
  readonly copy: CopyIdentity;
  readonly path: string;
  readonly language: Language;
  readonly oid: string;
  readonly ids: Int32Array;
  readonly lines: Int32Array;
  /** 1 for a token id that is an identifier or a literal (shared by every copy of the walk). */
  readonly named: Uint8Array;
  /** A hash of `ids`: equal contents (normalised tokens) have equal hashes. */
  readonly hash: number;
  /**
   * The copy's earlier contents, oldest first (at most `REVERT_DEPTH`), each with the change
   * that moved the copy away from it: a change back to one of them is a revert.
   */
  readonly past: readonly { readonly hash: number; readonly event: ChangeEvent }[];
  /** The copy before its first change in the slice of its last change. */
  readonly anchor?: {
    readonly slice: number;
    readonly ids: Int32Array;
    readonly lines: Int32Array;
  };
}

/** The copies at one commit, by `seam \0 engine` (one copy per engine and seam). */
type TreeState = Map<string, CopyState>;

const keyOf = (seam: string, engine: string) => `${seam}\u0000${engine}`;

export function commitRef(commit: Pick<LogCommit, 'hash' | 'time' | 'subject'>): CommitRef {
  return {
    hash: commit.hash,
    date: new Date(commit.time * 1000).toISOString().replace('.000Z', 'Z'),
    subject: commit.subject,
  };
}

/**
 * Walks the history, then follows back every copy that arrived by a rename from a path outside
 * the watched ones (walking again with the old path aliased to the new one).
 */
export async function walkHistory(options: WalkOptions): Promise<HistoryWalk> {
  let walk = await walkOnce(options);
  for (let round = 0; round < MAX_RENAME_ROUNDS; round++) {
    const found = await renamesFromOutside(options, walk.arrivals);
    if (found.length === 0) break;
    for (const { from, to } of found) options.matcher.addAlias(from, to);
    walk = await walkOnce(options);
  }
  return { ...walk.result, aliases: [...options.matcher.aliasList] };
}

/** A copy that appeared: maybe a rename from a path outside the watched ones. */
interface Arrival {
  readonly commit: string;
  readonly path: string;
}

/**
 * Renames into a copy path from a path the walk does not watch (a folder move), found by
 * diffing the arrival commits over the whole tree.
 */
async function renamesFromOutside(
  options: WalkOptions,
  arrivals: readonly Arrival[],
): Promise<{ from: string; to: string }[]> {
  if (arrivals.length === 0) return [];
  const byCommit = new Map<string, Set<string>>();
  for (const arrival of arrivals) {
    const paths = byCommit.get(arrival.commit) ?? new Set();
    paths.add(arrival.path);
    byCommit.set(arrival.commit, paths);
  }
  const diffs = await commitDiffs(options.cwd, [...byCommit.keys()]);
  const found: { from: string; to: string }[] = [];
  for (const [commit, paths] of byCommit) {
    for (const change of pairByPathTail(diffs.get(commit) ?? [])) {
      if (change.status !== 'R' || change.oldPath === undefined || !paths.has(change.path))
        continue;
      if (options.matcher.match(change.oldPath) !== undefined) continue; // already followed
      if (languageOf(change.oldPath) !== languageOf(change.path)) continue;
      // the same copy moving stays in its engine's directory, wherever that was; a file of
      // another engine renamed into this one is a new copy made from it, not this copy's past
      const location = options.matcher.match(change.path);
      if (location === undefined) continue;
      const grid = options.matcher.isGridEngine(location);
      if (grid && !namesEngine(change.oldPath, location.engine)) continue;
      found.push({ from: change.oldPath, to: options.matcher.resolve(change.path) });
    }
  }
  return found;
}

/**
 * Whether an old path lies in a directory named like the engine: a segment with its name
 * (`engines/alloc/…` for `alloc`), or consecutive segments that a flattening joined into it
 * (`crates/tools/x/…` for `tools-x` or `tools_x`).
 */
export function namesEngine(oldPath: string, engine: string): boolean {
  const segments = oldPath.split('/').slice(0, -1);
  for (let i = 0; i < segments.length; i++) {
    for (let j = i + 1; j <= segments.length; j++) {
      const run = segments.slice(i, j);
      if (run.join('-') === engine || run.join('_') === engine || run.join('.') === engine)
        return true;
    }
  }
  return false;
}

/** The common tail of two paths, in characters, with `/`, `-`, `_` and `.` read alike. */
function tailScore(a: string, b: string): number {
  const norm = (path: string) => path.replace(/[-_./]/g, '/');
  const x = norm(a);
  const y = norm(b);
  let n = 0;
  while (n < x.length && n < y.length && x[x.length - 1 - n] === y[y.length - 1 - n]) n++;
  return n === x.length && n === y.length ? n + 1 : n;
}

/** Groups of identical files moved in one commit that are re-paired (larger ones are left). */
const MAX_PAIRED_MOVES = 256;

/**
 * Renames of identical files in one commit (several copies with one content moving at once, as
 * when a directory tree is flattened: `a/x/fmt.rs → a-x/fmt.rs`, `a/y/fmt.rs → a-y/fmt.rs`) are
 * paired by git arbitrarily among the files with that content. They are paired again here, each
 * new path with the old path that shares the longest tail once separators are read alike (the
 * same path when the directories were only joined), so that every copy keeps its own history.
 */
export function pairByPathTail(changes: readonly RawChange[]): RawChange[] {
  const pure = new Map<string, RawChange[]>();
  for (const change of changes) {
    if (change.status !== 'R' || change.oldPath === undefined || change.oldOid !== change.newOid)
      continue;
    const group = pure.get(change.oldOid) ?? [];
    group.push(change);
    pure.set(change.oldOid, group);
  }
  const repaired = new Map<RawChange, RawChange>();
  for (const group of pure.values()) {
    if (group.length < 2 || group.length > MAX_PAIRED_MOVES) continue;
    const scored: { from: number; to: number; score: number }[] = [];
    for (let from = 0; from < group.length; from++) {
      for (let to = 0; to < group.length; to++) {
        scored.push({ from, to, score: tailScore(group[from]!.oldPath!, group[to]!.path) });
      }
    }
    // the best tails first; ties keep git's own pairing, then the order given
    scored.sort((x, y) => y.score - x.score || Number(y.from === y.to) - Number(x.from === x.to));
    const fromUsed = new Set<number>();
    const toUsed = new Set<number>();
    for (const { from, to } of scored) {
      if (fromUsed.has(from) || toUsed.has(to)) continue;
      fromUsed.add(from);
      toUsed.add(to);
      if (from !== to) repaired.set(group[to]!, { ...group[to]!, oldPath: group[from]!.oldPath! });
    }
  }
  return repaired.size === 0
    ? [...changes]
    : changes.map((change) => repaired.get(change) ?? change);
}

interface SeamRecords {
  readonly events: ChangeEvent[];
  readonly copyEvents: {
    copy: CopyIdentity;
    path: string;
    commit: CommitRef;
    source: CopyIdentity | null;
    similarity: number | null;
    copied: boolean;
  }[];
  readonly moves: { copy: CopyIdentity; from: string; to: string; commit: CommitRef }[];
  sampler: TimelineSampler<TimelinePoint> | undefined;
  /** The copies as of the last commit that touched this seam, and that commit. */
  lastState: TreeState;
  lastTouched: CommitRef | undefined;
}

async function walkOnce(
  options: WalkOptions,
): Promise<{ result: Omit<HistoryWalk, 'aliases'>; arrivals: Arrival[] }> {
  const { reader, matcher } = options;
  const pathspecs = matcher.pathspecs;
  const table = new TokenTable();
  /** By token id: 1 for an identifier or a literal, 2 for anything else, 0 not seen yet. */
  let named = new Uint8Array(1024);
  const records = new Map<string, SeamRecords>();
  for (const seam of options.seams) {
    records.set(seam, {
      events: [],
      copyEvents: [],
      moves: [],
      sampler: undefined,
      lastState: new Map(),
      lastTouched: undefined,
    });
  }
  const engineDirs = new Set<string>();
  const arrivals: Arrival[] = [];
  const removals: Removal[] = [];
  let nextCopyId = 0;

  // how many children each commit of the simplified graph has: a commit's copies are kept
  // until its last child has been read
  const graphArgs = ['--topo-order', '--reverse', '--full-history', '--simplify-merges'];
  const children = new Map<string, number>();
  const revList = await git(options.cwd, [
    'rev-list',
    ...graphArgs,
    '--parents',
    'HEAD',
    '--',
    ...pathspecs,
  ]);
  for (const line of revList.split('\n')) {
    const [, ...parents] = line.trim().split(' ');
    for (const parent of new Set(parents)) {
      if (parent !== '') children.set(parent, (children.get(parent) ?? 0) + 1);
    }
  }
  const states = new Map<string, TreeState>();

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
  const prepare = async (
    copy: CopyIdentity,
    oid: string,
    path: string,
    language: Language,
  ): Promise<CopyState> => {
    const key = `${language}\u0000${oid}`;
    const known = commitContents.get(key);
    if (known !== undefined) return { copy, path, language, oid, ...known, named, past: [] };
    const source = prepareSource(await readBlob(oid), language, options.names);
    // one pass: the comment-free token ids, their lines, and which ids are names or literals
    const tokens = source.tokens;
    const allIds = new Int32Array(tokens.length);
    const allLines = new Int32Array(tokens.length);
    let count = 0;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token.kind === 'comment') continue;
      const id = table.idOf(token.text);
      if (id >= named.length) {
        const grown = new Uint8Array(Math.max(1024, named.length * 2, id + 1));
        grown.set(named);
        named = grown;
      }
      if (named[id] === 0) named[id] = NAMED_KINDS.has(token.kind) ? 1 : 2;
      allIds[count] = id;
      allLines[count] = token.line;
      count++;
    }
    const ids = allIds.slice(0, count);
    const content = { ids, lines: allLines.slice(0, count), hash: sequenceHash(ids) };
    commitContents.set(key, content);
    return { copy, path, language, oid, ...content, named, past: [] };
  };
  /**
   * The contents prepared for the commit being processed, by blob: a fix made to four hundred
   * identical copies in one commit is one blob, tokenised once, and the copies share its ids
   * (so comparing them is comparing one array with itself). Cleared after each commit.
   */
  const commitContents = new Map<
    string,
    { readonly ids: Int32Array; readonly lines: Int32Array; readonly hash: number }
  >();
  /** The watched copy a path is, or undefined. */
  const locate = (path: string | undefined): CopyLocation | undefined => {
    if (path === undefined) return undefined;
    const location = matcher.match(path);
    if (location === undefined) return undefined;
    engineDirs.add(location.engineDir);
    return options.seams.has(location.seam) ? location : undefined;
  };
  /** States of processed commits never change again: their per-seam lists are cached. */
  const finished = new WeakSet<TreeState>();
  const bySeam = new WeakMap<TreeState, Map<string, CopyState[]>>();
  const copiesOf = (state: TreeState, seam: string): CopyState[] => {
    let cache = finished.has(state) ? bySeam.get(state) : undefined;
    if (cache === undefined && finished.has(state)) {
      cache = new Map();
      for (const copy of state.values()) {
        const list = cache.get(copy.copy.seam) ?? [];
        list.push(copy);
        cache.set(copy.copy.seam, list);
      }
      bySeam.set(state, cache);
    }
    if (cache !== undefined) return cache.get(seam) ?? [];
    return [...state.values()].filter((copy) => copy.copy.seam === seam);
  };
  /** Per seam: similarities to a canonical content already measured, by content hashes. */
  const timelineMemo = new Map<string, Map<string, number>>();
  const measureTimeline = (seam: string, state: TreeState, commit: CommitRef) => {
    let memo = timelineMemo.get(seam);
    if (memo === undefined) {
      memo = new Map();
      timelineMemo.set(seam, memo);
    }
    return timelinePoint(copiesOf(state, seam), commit, options.similarThreshold, memo);
  };

  let order = 0;
  let first: CommitRef | null = null;
  let last: LogCommit | undefined;
  let current: TreeState = new Map();
  /** Commits read from the log whose blobs are requested, oldest first. */
  const pending: LogCommit[] = [];

  const processOldest = async () => {
    const commit = pending.shift()!;
    await processCommit(commit, order++);
    commitContents.clear();
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
    const parents = commit.parents;
    const before: TreeState = states.get(parents[0] ?? '') ?? new Map();
    const state: TreeState = new Map(before);
    const touched = new Set<string>();

    if (parents.length > 1) {
      await mergeResult(commit, state, parents.slice(1), touched);
    } else {
      await applyChanges(commit, before, state, at, refOf, touched);
    }

    for (const seam of touched) {
      const record = records.get(seam)!;
      // close the seam's timeline bucket with its state before this commit
      record.sampler ??= new TimelineSampler(commit.time, Math.max(commit.time, options.headTime));
      const previous = record.lastState;
      const previousCommit = record.lastTouched;
      record.sampler.offer(commit.time, () => measureTimeline(seam, previous, previousCommit!));
      record.lastState = state;
      record.lastTouched = refOf();
    }

    for (const parent of new Set(parents)) {
      const left = (children.get(parent) ?? 1) - 1;
      if (left > 0) children.set(parent, left);
      else {
        children.delete(parent);
        states.delete(parent);
      }
    }
    if ((children.get(commit.hash) ?? 0) > 0) states.set(commit.hash, state);
    finished.add(state);
    current = state;
  };

  /** A merge: the copies of the merged result, where the parents disagree. No change events. */
  const mergeResult = async (
    commit: LogCommit,
    state: TreeState,
    others: readonly string[],
    touched: Set<string>,
  ) => {
    const otherStates = others.map((parent) => states.get(parent) ?? new Map<string, CopyState>());
    const keys = new Set<string>();
    for (const other of otherStates) {
      for (const [key, copy] of other) {
        const mine = state.get(key);
        if (mine === undefined || mine.oid !== copy.oid || mine.path !== copy.path) keys.add(key);
      }
      for (const key of state.keys()) if (!other.has(key)) keys.add(key);
    }
    for (const key of [...keys].sort(compareStrings)) {
      const candidates = [state.get(key), ...otherStates.map((other) => other.get(key))].filter(
        (copy): copy is CopyState => copy !== undefined,
      );
      let result: CopyState | undefined;
      for (const path of new Set(candidates.map((copy) => copy.path))) {
        const object = await reader.read(`${commit.hash}:${path}`);
        if (object === null || object.type !== 'blob') continue;
        const same = candidates.find((copy) => copy.oid === object.oid && copy.path === path);
        const base = same ?? candidates.find((copy) => copy.path === path)!;
        result =
          same ??
          (await prepare(
            base.copy,
            object.oid,
            path,
            matcher.match(path)?.language ?? 'typescript',
          ));
        break;
      }
      const mine = state.get(key);
      if (result === undefined) state.delete(key);
      else state.set(key, result);
      if (mine?.oid !== result?.oid) touched.add((result ?? mine)!.copy.seam);
    }
  };

  /** A commit with one parent (or none): moves, appearances, changes and removals. */
  const applyChanges = async (
    commit: LogCommit,
    before: TreeState,
    state: TreeState,
    at: number,
    refOf: () => CommitRef,
    touched: Set<string>,
  ) => {
    /** The copy tracked at a path in the parent, if that path is the copy's. */
    const trackedAt = (location: CopyLocation | undefined) => {
      if (location === undefined) return undefined;
      const copy = before.get(keyOf(location.seam, location.engine));
      return copy?.path === location.path ? copy : undefined;
    };
    const changes = swapsAsMoves(pairByPathTail(commit.changes), (path) => trackedAt(locate(path)));

    // 1. copies leaving their place: removed, or moving (renames, swaps)
    const leaving = new Map<string, CopyState>();
    /** The same, by seam and engine: a copy leaving one path and arriving at another. */
    const leavingByKey = new Map<string, CopyState>();
    /** Leaving copies that have arrived at their new place. */
    const arrived = new Set<CopyState>();
    for (const change of changes) {
      const from =
        change.status === 'R' ? change.oldPath : change.status === 'D' ? change.path : undefined;
      noteRemoval(change, from, at, refOf);
      const location = locate(from);
      const copy = trackedAt(location);
      if (copy === undefined || location === undefined) continue;
      leaving.set(from!, copy);
      leavingByKey.set(keyOf(location.seam, location.engine), copy);
      state.delete(keyOf(location.seam, location.engine));
      touched.add(location.seam);
    }
    // 2. copies arriving: moves first (so that a copy added beside them can be copied from them)
    const ordered = [
      ...changes.filter((change) => change.status === 'R'),
      ...changes.filter((change) => change.status !== 'R' && change.status !== 'D'),
    ];
    for (const change of ordered) {
      const location = locate(change.path);
      if (location === undefined || isNullOid(change.newOid)) continue;
      const key = keyOf(location.seam, location.engine);
      const occupant = state.get(key);
      // a move: a rename git paired, or the engine's copy leaving one path and arriving at
      // another in the same commit (too rewritten for git to pair, or an aliased old path)
      const renamed = change.status === 'R' ? leaving.get(change.oldPath!) : undefined;
      const candidate =
        renamed !== undefined && !arrived.has(renamed)
          ? renamed
          : occupant === undefined
            ? leavingByKey.get(key)
            : undefined;
      const moved = candidate !== undefined && !arrived.has(candidate) ? candidate : undefined;
      if (moved !== undefined && moved.copy.seam === location.seam) {
        arrived.add(moved);
        if (occupant !== undefined) continue; // the engine already has this copy: first path wins
        const next =
          moved.oid === change.newOid
            ? { ...moved, path: change.path }
            : await prepare(moved.copy, change.newOid, change.path, location.language);
        state.set(key, next);
        touched.add(location.seam);
        const record = records.get(location.seam)!;
        record.moves.push({ copy: moved.copy, from: moved.path, to: change.path, commit: refOf() });
        moved.copy.engine = location.engine;
        if (next !== moved) {
          state.set(key, recordChange(moved, next, location.seam, before, at, refOf(), commit));
        }
        continue;
      }
      const previous = occupant?.path === change.path ? occupant : undefined;
      if (previous === undefined) {
        if (occupant !== undefined) continue; // another path is this engine's copy: first path wins
        // a copy appears (added, or arrived from a path that is not watched)
        const copy: CopyIdentity = {
          id: nextCopyId++,
          seam: location.seam,
          engine: location.engine,
          appeared: refOf(),
          appearedSlice: options.sliceOf?.(commit.hash),
        };
        const next = await prepare(copy, change.newOid, change.path, location.language);
        const record = records.get(location.seam)!;
        if (
          change.status === 'R' &&
          change.oldPath !== undefined &&
          change.oldOid === change.newOid
        ) {
          // a file moved here unchanged from a path that is not watched: a move, never a copy
          // (when its past cannot be followed, the copy starts here, made from nothing)
          record.copyEvents.push({
            copy,
            path: change.path,
            commit: refOf(),
            source: null,
            similarity: null,
            copied: false,
          });
          record.moves.push({ copy, from: change.oldPath, to: change.path, commit: refOf() });
        } else recordAppearance(record, state, next, refOf(), options);
        state.set(key, next);
        touched.add(location.seam);
        // (the parents here are those of the simplified graph: a copy arriving by a folder move
        // has none when nothing before it touched a watched path)
        arrivals.push({ commit: commit.hash, path: change.path });
        continue;
      }
      if (previous.oid === change.newOid) continue;
      const next = await prepare(previous.copy, change.newOid, change.path, location.language);
      state.set(key, recordChange(previous, next, location.seam, before, at, refOf(), commit));
      touched.add(location.seam);
    }
    markConvergences(commitEvents, before, state);
    commitEvents.length = 0;
  };

  /** A copy of a module that is not a seam today leaving its engine (see `Removal`). */
  const noteRemoval = (
    change: RawChange,
    from: string | undefined,
    at: number,
    refOf: () => CommitRef,
  ) => {
    if (from === undefined) return;
    const old = matcher.match(from);
    if (old === undefined || options.seams.has(old.seam)) return;
    if (change.status === 'R') {
      const now = matcher.match(change.path);
      if (now !== undefined && now.seam === old.seam && now.engine === old.engine) return; // a move
    }
    removals.push({
      seam: old.seam,
      engine: old.engine,
      engineDir: old.engineDir,
      path: from,
      language: old.language,
      oid: change.oldOid,
      commit: refOf(),
      order: at,
    });
  };

  /** This commit's change events, for the convergence check once all its changes are in. */
  const commitEvents: { event: ChangeEvent; before: CopyState }[] = [];

  /**
   * A change from `previous` to `next`: recorded while the seam had two or more copies in the
   * commit's ancestry; a change back to an earlier content of the copy is a revert of the
   * changes since. Returns the copy's new state (with its past).
   */
  const recordChange = (
    previous: CopyState,
    next: CopyState,
    seam: string,
    before: TreeState,
    at: number,
    commitRef: CommitRef,
    commit: LogCommit,
  ): CopyState => {
    if (copiesOf(before, seam).length < 2) return next;
    const slice = options.sliceOf?.(commit.hash);
    // the copy's content at the start of this slice's changes to it
    const anchor =
      slice === undefined
        ? undefined
        : previous.anchor?.slice === slice
          ? previous.anchor
          : { slice, ids: previous.ids, lines: previous.lines };
    const event = changeEvent(previous, next, at, commitRef, commit.time, slice, anchor);
    if (event === undefined) return { ...next, past: previous.past, ...(anchor ? { anchor } : {}) };
    records.get(seam)!.events.push(event);
    commitEvents.push({ event, before: previous });
    let back = previous.past.length - 1;
    while (back >= 0 && previous.past[back]!.hash !== next.hash) back--;
    if (back !== -1) {
      const undone = previous.past.slice(back).map((earlier) => earlier.event);
      event.reverts = undone;
      for (const earlier of undone) earlier.revertedBy ??= event;
      return { ...next, past: previous.past.slice(0, back), ...(anchor ? { anchor } : {}) };
    }
    const past = [...previous.past, { hash: previous.hash, event }];
    return {
      ...next,
      past: past.length > REVERT_DEPTH ? past.slice(-REVERT_DEPTH) : past,
      ...(anchor ? { anchor } : {}),
    };
  };

  /** A change after which its copy is identical to another copy it differed from before. */
  const markConvergences = (
    changed: readonly { event: ChangeEvent; before: CopyState }[],
    before: TreeState,
    after: TreeState,
  ) => {
    const seams = new Set(changed.map(({ event }) => event.copy.seam));
    for (const seam of seams) {
      const now = new Map<CopyIdentity, CopyState>();
      const byHash = new Map<number, CopyState[]>();
      for (const copy of copiesOf(after, seam)) {
        now.set(copy.copy, copy);
        const same = byHash.get(copy.hash) ?? [];
        same.push(copy);
        byHash.set(copy.hash, same);
      }
      const hashBefore = new Map<CopyIdentity, number>();
      for (const copy of copiesOf(before, seam)) hashBefore.set(copy.copy, copy.hash);
      for (const { event, before: previous } of changed) {
        if (event.copy.seam !== seam) continue;
        const mine = now.get(event.copy);
        if (mine === undefined) continue;
        const equalTo: CopyIdentity[] = [];
        for (const other of byHash.get(mine.hash) ?? []) {
          if (other.copy === event.copy) continue;
          if (hashBefore.get(other.copy) === previous.hash) continue; // in step already
          if (!sameIds(other.ids, mine.ids)) continue;
          equalTo.push(other.copy);
        }
        if (equalTo.length > 0) event.convergedWith = equalTo;
      }
    }
  };

  const walk = logCommits(options.cwd, [
    ...graphArgs,
    '--parents',
    '-M',
    LOG_FORMAT,
    'HEAD',
    '--',
    ...pathspecs,
  ]);
  for await (const commit of walk) {
    first ??= commitRef(commit);
    last = commit;
    pending.push(commit);
    // request this commit's blobs now; they arrive while earlier commits are processed
    for (const change of commit.changes) {
      if (isNullOid(change.newOid)) continue;
      const location = matcher.match(change.path);
      if (location !== undefined && options.seams.has(location.seam))
        void readBlob(change.newOid).catch(() => {});
    }
    if (pending.length >= READ_AHEAD_COMMITS) await processOldest();
  }
  while (pending.length > 0) await processOldest();

  const seamWalks = new Map<string, SeamWalk>();
  for (const [name, record] of records) {
    const timeline =
      record.sampler?.finish(() => measureTimeline(name, record.lastState, record.lastTouched!)) ??
      [];
    const appeared = new Map<string, CommitRef>();
    for (const copy of copiesOf(current, name)) appeared.set(copy.copy.engine, copy.copy.appeared);
    // the copies at HEAD linked by copy events (union-find over copy identities)
    const parent = new Map<CopyIdentity, CopyIdentity>();
    const root = (copy: CopyIdentity): CopyIdentity => {
      let at = copy;
      while (parent.has(at) && parent.get(at) !== at) at = parent.get(at)!;
      return at;
    };
    for (const event of record.copyEvents) {
      if (!event.copied || event.source === null) continue;
      const [a, b] = [root(event.copy), root(event.source)];
      if (a !== b) parent.set(a, b);
    }
    const heads = copiesOf(current, name);
    const roots = heads.map((copy) => root(copy.copy));
    const linked = new Set(roots).size < roots.length;
    const components = new Map(heads.map((copy, i) => [copy.copy.engine, roots[i]!.id]));
    seamWalks.set(name, {
      events: record.events,
      copyEvents: record.copyEvents.map((event) => ({
        engine: event.copy.engine,
        path: event.path,
        commit: event.commit,
        source: event.source?.engine ?? null,
        similarity: event.similarity,
        copied: event.copied,
      })),
      moves: record.moves.map((move) => ({
        engine: move.copy.engine,
        from: move.from,
        to: move.to,
        commit: move.commit,
      })),
      appeared,
      timeline,
      linked,
      components,
    });
  }
  return {
    result: {
      commitsWalked: order,
      first,
      last: last === undefined ? null : commitRef(last),
      engineDirs,
      seams: seamWalks,
      removals,
    },
    arrivals,
  };
}

/**
 * Two copies that traded contents in one commit (each one's new content is exactly the other's
 * old one, as when two engine folders swap names) are two moves, not two changes: rewrites the
 * pair of modifications as two renames. Other changes pass through.
 */
function swapsAsMoves(
  changes: readonly RawChange[],
  tracked: (path: string) => CopyState | undefined,
): RawChange[] {
  const modified = changes.filter(
    (change) => change.status === 'M' && tracked(change.path) !== undefined,
  );
  const byOldOid = new Map(modified.map((change) => [change.oldOid, change]));
  const swapped = new Map<RawChange, RawChange>();
  for (const change of modified) {
    const other = byOldOid.get(change.newOid);
    if (other === undefined || other === change || other.newOid !== change.oldOid) continue;
    if (tracked(other.path)!.copy.seam !== tracked(change.path)!.copy.seam) continue;
    swapped.set(change, { ...change, status: 'R', oldPath: other.path, oldOid: other.oldOid });
  }
  return changes.map((change) => swapped.get(change) ?? change);
}

/** Sorted token ids of a copy's contents (for the cheap similarity bound), computed once. */
const sortedIds = new WeakMap<Int32Array, Int32Array>();
function sortedOf(ids: Int32Array): Int32Array {
  let sorted = sortedIds.get(ids);
  if (sorted === undefined) {
    sorted = ids.slice().sort();
    sortedIds.set(ids, sorted);
  }
  return sorted;
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A copy appeared: note when, and what in its ancestry it was copied from (the most similar
 * copy; ties go to the first engine). Each distinct content is measured once, a candidate whose
 * similarity bound cannot beat the best so far is skipped, and an identical copy ends the search:
 * four hundred copies made in one commit cost one comparison each, not one per pair.
 */
function recordAppearance(
  record: SeamRecords,
  state: TreeState,
  copy: CopyState,
  commit: CommitRef,
  options: Pick<WalkOptions, 'copyEventThreshold'>,
): void {
  let source: CopyIdentity | null = null;
  let best: number | null = null;
  // candidates: the seam's copies in the parent's tree and those this commit added before
  const candidates = [...state.values()]
    .filter((other) => other.copy.seam === copy.copy.seam && other.copy !== copy.copy)
    .sort((x, y) => compareStrings(x.copy.engine, y.copy.engine));
  const measured = new Set<number>();
  for (const other of candidates) {
    if (other.hash === copy.hash && sameIds(other.ids, copy.ids)) {
      if (best === null || best < 1) {
        best = 1;
        source = other.copy;
      }
      break;
    }
    // the same content as an earlier candidate: the same similarity, and ties go to the earlier
    if (measured.has(other.hash)) continue;
    measured.add(other.hash);
    if (
      best !== null &&
      roundRatio(multisetRatioBound(sortedOf(copy.ids), sortedOf(other.ids))) <= best
    )
      continue;
    const similarity = roundRatio(similarityRatio(copy.ids, other.ids));
    if (best === null || similarity > best) {
      best = similarity;
      source = other.copy;
    }
  }
  record.copyEvents.push({
    copy: copy.copy,
    path: copy.path,
    commit,
    source,
    similarity: best,
    copied: best !== null && best >= options.copyEventThreshold,
  });
}

/** The normalised change between two versions of a copy, or undefined when tokens are equal. */
function changeEvent(
  before: CopyState,
  after: CopyState,
  order: number,
  commit: CommitRef,
  time: number,
  slice?: number,
  anchor?: { readonly ids: Int32Array; readonly lines: Int32Array },
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
      if (after.named[before.ids[i]!] === 1) named.push(2 * before.ids[i]!);
      removedLines.add(before.lines[i]!);
    }
    for (let j = edit.bStart; j < edit.bEnd; j++) {
      signature.push(2 * after.ids[j]! + 1);
      if (after.named[after.ids[j]!] === 1) named.push(2 * after.ids[j]! + 1);
      addedLines.add(after.lines[j]!);
    }
    for (let j = edit.bEnd; j < Math.min(after.ids.length, edit.bEnd + CONTEXT_TOKENS); j++)
      context.push(after.ids[j]!);
    context.push(-1);
  }
  const packed = Int32Array.from(signature);
  const lines = removedLines.size + addedLines.size;
  return {
    order,
    commit,
    time,
    slice,
    sliceLines:
      anchor === undefined || anchor.ids === before.ids
        ? lines
        : linesChanged(lineHashesOf(anchor), lineHashesOf(after)),
    copy: after.copy,
    path: after.path,
    language: after.language,
    previousOid: before.oid,
    oid: after.oid,
    sizeBefore: before.ids.length,
    sizeAfter: after.ids.length,
    signature: packed,
    sortedSignature: packed.slice().sort(),
    named: Int32Array.from(named),
    context: Int32Array.from(context),
    lines,
  };
}

/** A hash per source line of the tokens on it (lines without code tokens are left out). */
function lineHashesOf(copy: { readonly ids: Int32Array; readonly lines: Int32Array }): Int32Array {
  const hashes: number[] = [];
  let hash = 0;
  for (let i = 0; i < copy.ids.length; i++) {
    if (i > 0 && copy.lines[i] !== copy.lines[i - 1]) {
      hashes.push(hash);
      hash = 0;
    }
    hash = Math.imul(hash ^ copy.ids[i]!, 0x01000193) + 0x9e3779b9;
  }
  if (copy.ids.length > 0) hashes.push(hash);
  return Int32Array.from(hashes);
}

/** Lines removed plus lines added between two versions (their code lines), as git counts them. */
function linesChanged(before: Int32Array, after: Int32Array): number {
  let changed = 0;
  for (const edit of editsBetween(align(before, after), before.length, after.length)) {
    changed += edit.aEnd - edit.aStart + (edit.bEnd - edit.bStart);
  }
  return changed;
}

/** Line hashes of a copy's contents (for choosing the canonical copy), computed once. */
const lineSetsOf = new WeakMap<Int32Array, number[]>();

/**
 * A timeline point: how far the copies are from the canonical copy after `commit` (the lowest
 * similarity, and how many are outliers). Similarities are remembered by content, so a point
 * after a commit that changed a few copies measures only those.
 */
function timelinePoint(
  unsorted: readonly CopyState[],
  commit: CommitRef,
  similarThreshold: number,
  memo: Map<string, number>,
): TimelinePoint {
  const copies = [...unsorted].sort((x, y) => compareStrings(x.copy.engine, y.copy.engine));
  if (copies.length < 2)
    return {
      commit: commit.hash,
      date: commit.date,
      copies: copies.length,
      similarity: null,
      outliers: 0,
    };
  const inputs: ClusterInput[] = copies.map((copy) => ({
    code: copy.ids,
    lines: copy.lines,
    hash: copy.hash,
  }));
  const groups = contentGroups(inputs);
  const canonical =
    copies[
      canonicalCopy(inputs, undefined, groups, (group) => {
        const ids = copies[group[0]!]!.ids;
        let set = lineSetsOf.get(ids);
        if (set === undefined) {
          set = [...new Set(lineHashes(ids, copies[group[0]!]!.lines))];
          lineSetsOf.set(ids, set);
        }
        return set;
      })
    ]!;
  let similarity = 1;
  let outliers = 0;
  for (const group of groups) {
    const copy = copies[group[0]!]!;
    let ratio: number;
    if (sameIds(copy.ids, canonical.ids)) ratio = 1;
    else {
      const key = `${canonical.hash}:${copy.hash}`;
      ratio = memo.get(key) ?? roundRatio(similarityRatio(canonical.ids, copy.ids));
      memo.set(key, ratio);
    }
    similarity = Math.min(similarity, ratio);
    if (ratio < similarThreshold) outliers += group.length;
  }
  return { commit: commit.hash, date: commit.date, copies: copies.length, similarity, outliers };
}
