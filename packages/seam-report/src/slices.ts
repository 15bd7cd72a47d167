/**
 * Slices: the units of follow-on work that the triggers count. Lockstep edits inside one slice
 * are one occurrence (`repeated_fix`, `maintenance_cost`), and `stable_across_slices` looks at
 * the last few slices that changed engine code.
 *
 * Slices cut the first-parent history of HEAD into consecutive ranges, each ending at a
 * boundary; a commit off the first-parent line (on a merged branch) belongs to the slice of the
 * first-parent commit that brought it in. The boundaries follow the repository's merge style:
 *
 * - `merges`: first-parent merge commits (one merged pull request = one slice);
 * - `pull-requests`: merges, and first-parent commits whose subject names a pull request
 *   (`Fix torn tail (#123)`, the squash-merge style; `subject` overrides the pattern), so a
 *   history that moved from merge commits to squash merges is sliced by pull request throughout;
 * - `tags`: commits tagged with a matching tag (releases);
 * - `release-commits`: first-parent commits whose subject matches a pattern;
 * - `time`: windows of `days` days (UTC, counted from Monday 1970-01-05, so 7-day windows are
 *   ISO weeks), by the first-parent commit's date;
 * - `first-parent`: every first-parent commit.
 *
 * Commits after the last boundary form an open slice (work not yet merged, tagged or released;
 * the current window). `auto` picks: pull requests when at least a quarter of the last 200
 * first-parent commits are merges or name a pull request; else tags when three or more are
 * reachable from HEAD; else 7-day windows. The report says which slicing it used and why.
 *
 * For each recent slice the seams whose copies changed (normalised tokens) are listed, by
 * comparing each copy at the slice's start and end revision through `cat-file --batch`.
 */
import { globToRegex } from './discover.js';
import { git, LOG_FORMAT, type LogCommit, logCommits, type ObjectReader } from './git.js';
import { commitRef } from './history.js';
import { normalize, sameSequence, TokenTable } from './normalize.js';
import type { Slice, SliceMode, SliceModeUsed, SliceSummary } from './report.js';
import { type NameRule, type PreparedSource, prepareSource } from './source.js';
import type { Language } from './tokenize/token.js';

/** A subject naming a pull request: GitHub's squash `(#123)`, Bitbucket's, GitLab's `(!123)`. */
export const PULL_REQUEST_SUBJECT = /\(#\d+\)|\bpull request #\d+|\(!\d+\)/i;

/** `auto`: the share of recent first-parent commits that must be pull requests. */
const PULL_REQUEST_SHARE = 0.25;
const RECENT_FOR_AUTO = 200;
/** `auto`: tags needed to slice by releases. */
const TAGS_FOR_AUTO = 3;
const AUTO_DAYS = 7;
/** 1970-01-05, a Monday: time windows start there, so 7-day windows are ISO weeks. */
const WINDOW_ORIGIN = 4 * 86_400;

export interface PlannedSlice {
  /** 0 for the oldest slice. */
  readonly index: number;
  /** The slice's last first-parent commit. */
  readonly end: LogCommit;
  /** The previous slice's last commit, or null for the first slice. */
  readonly from: string | null;
  readonly open: boolean;
  /** First-parent positions (0 = the root) of the slice's first and last commit. */
  readonly first: number;
  readonly last: number;
}

export interface SlicePlan {
  readonly requested: SliceMode['by'];
  readonly mode: SliceModeUsed;
  readonly reason: string;
  /** Why nothing ended a slice, in a few words (`no tag matches v*`), for a history of one slice. */
  readonly noBoundary: string;
  /** Slices, oldest first. */
  readonly slices: readonly PlannedSlice[];
  /** The slice a commit belongs to, or undefined for a commit HEAD does not reach. */
  sliceOf(hash: string): number | undefined;
}

/** Cuts the history of HEAD into slices (no history: no slices). */
export async function planSlices(cwd: string, mode: SliceMode): Promise<SlicePlan> {
  const chain: LogCommit[] = [];
  for await (const commit of logCommits(cwd, ['--first-parent', LOG_FORMAT, 'HEAD'], {
    raw: false,
  })) {
    chain.push(commit);
  }
  chain.reverse();
  const position = new Map(chain.map((commit, i) => [commit.hash, i]));
  const hasMerges = chain.some((commit) => commit.parents.length > 1);
  // every commit HEAD reaches, by the first first-parent position that contains it
  const reach = hasMerges ? await firstPositions(cwd, position) : position;

  const { used, reason, boundaries, noBoundary } = await chooseBoundaries(cwd, mode, chain, reach);
  const slices: PlannedSlice[] = [];
  let start = 0;
  const ends = [...boundaries].filter((at) => at >= 0 && at < chain.length).sort((x, y) => x - y);
  for (const end of ends) {
    if (end < start) continue;
    slices.push({
      index: slices.length,
      end: chain[end]!,
      from: start === 0 ? null : chain[start - 1]!.hash,
      open: false,
      first: start,
      last: end,
    });
    start = end + 1;
  }
  if (start < chain.length) {
    slices.push({
      index: slices.length,
      end: chain[chain.length - 1]!,
      from: start === 0 ? null : chain[start - 1]!.hash,
      open: true,
      first: start,
      last: chain.length - 1,
    });
  }
  // the slice of each first-parent position
  const sliceAt = new Int32Array(chain.length);
  for (const slice of slices) sliceAt.fill(slice.index, slice.first, slice.last + 1);
  return {
    requested: mode.by,
    mode: used,
    reason,
    noBoundary,
    slices,
    sliceOf(hash) {
      const at = reach.get(hash);
      return at === undefined ? undefined : sliceAt[at];
    },
  };
}

/**
 * For every commit HEAD reaches, the first first-parent position whose history contains it: the
 * oldest first-parent descendant. One `git rev-list --parents` (children before parents).
 */
async function firstPositions(
  cwd: string,
  chainPositions: ReadonlyMap<string, number>,
): Promise<Map<string, number>> {
  const reach = new Map(chainPositions);
  const output = await git(cwd, ['rev-list', '--topo-order', '--parents', 'HEAD']);
  for (const line of output.split('\n')) {
    if (line === '') continue;
    const [hash, ...parents] = line.split(' ');
    const at = reach.get(hash!);
    if (at === undefined) continue;
    for (const parent of parents) {
      if (chainPositions.has(parent)) continue;
      const known = reach.get(parent);
      if (known === undefined || at < known) reach.set(parent, at);
    }
  }
  return reach;
}

async function chooseBoundaries(
  cwd: string,
  mode: SliceMode,
  chain: readonly LogCommit[],
  reach: ReadonlyMap<string, number>,
): Promise<{
  used: SliceModeUsed;
  reason: string;
  boundaries: Set<number>;
  noBoundary: string;
}> {
  const chosen = await boundariesFor(cwd, mode, chain, reach);
  const causes: Record<SliceModeUsed, string> = {
    'first-parent': 'one commit',
    merges: 'no merge commit on the first-parent line',
    'pull-requests': 'no merge and no pull request on the first-parent line',
    tags: `no tag matches ${mode.by === 'tags' ? mode.pattern : '*'}`,
    'release-commits': `no first-parent subject matches /${mode.by === 'release-commits' ? mode.subject : ''}/`,
    time: `every commit in one ${mode.by === 'time' ? mode.days : AUTO_DAYS}-day window`,
  };
  return { ...chosen, noBoundary: causes[chosen.used] };
}

async function boundariesFor(
  cwd: string,
  mode: SliceMode,
  chain: readonly LogCommit[],
  reach: ReadonlyMap<string, number>,
): Promise<{ used: SliceModeUsed; reason: string; boundaries: Set<number> }> {
  const positions = (test: (commit: LogCommit) => boolean) =>
    new Set(chain.flatMap((commit, i) => (test(commit) ? [i] : [])));
  const isMerge = (commit: LogCommit) => commit.parents.length > 1;
  switch (mode.by) {
    case 'first-parent':
      return {
        used: 'first-parent',
        reason: 'configured: every first-parent commit is a slice',
        boundaries: positions(() => true),
      };
    case 'merges':
      return {
        used: 'merges',
        reason: 'configured: first-parent merge commits end slices',
        boundaries: positions(isMerge),
      };
    case 'pull-requests': {
      const subject = mode.subject === undefined ? PULL_REQUEST_SUBJECT : new RegExp(mode.subject);
      return {
        used: 'pull-requests',
        reason: 'configured: merges and first-parent commits naming a pull request end slices',
        boundaries: positions((commit) => isMerge(commit) || subject.test(commit.subject)),
      };
    }
    case 'tags': {
      const boundaries = await tagPositions(cwd, mode.pattern, reach);
      return {
        used: 'tags',
        reason: `configured: commits tagged ${mode.pattern} end slices${
          boundaries.size === 0 ? ' (no such tag: the whole history is one open slice)' : ''
        }`,
        boundaries,
      };
    }
    case 'release-commits': {
      const subject = new RegExp(mode.subject);
      const boundaries = positions((commit) => subject.test(commit.subject));
      return {
        used: 'release-commits',
        reason: `configured: first-parent commits matching /${mode.subject}/ end slices${
          boundaries.size === 0 ? ' (none does: the whole history is one open slice)' : ''
        }`,
        boundaries,
      };
    }
    case 'time':
      return {
        used: 'time',
        reason: `configured: ${mode.days}-day windows`,
        boundaries: windowEnds(chain, mode.days),
      };
    case 'auto': {
      const recent = chain.slice(-RECENT_FOR_AUTO);
      const pullRequests = recent.filter(
        (commit) => isMerge(commit) || PULL_REQUEST_SUBJECT.test(commit.subject),
      ).length;
      if (pullRequests >= Math.max(2, PULL_REQUEST_SHARE * recent.length)) {
        return {
          used: 'pull-requests',
          reason: `auto: ${pullRequests} of the last ${recent.length} first-parent commits are merges or name a pull request`,
          boundaries: positions(
            (commit) => isMerge(commit) || PULL_REQUEST_SUBJECT.test(commit.subject),
          ),
        };
      }
      const tags = await tagPositions(cwd, '*', reach);
      if (tags.size >= TAGS_FOR_AUTO) {
        return {
          used: 'tags',
          reason: `auto: few merges or pull requests in the first-parent history; ${tags.size} tagged commits end slices`,
          boundaries: tags,
        };
      }
      return {
        used: 'time',
        reason: `auto: no merge style (few merges or pull requests, fewer than ${TAGS_FOR_AUTO} tags): ${AUTO_DAYS}-day windows`,
        boundaries: windowEnds(chain, AUTO_DAYS),
      };
    }
  }
}

/** The first-parent position of each tag matching the glob (its commit or the merge that brought it). */
async function tagPositions(
  cwd: string,
  pattern: string,
  reach: ReadonlyMap<string, number>,
): Promise<Set<number>> {
  const tagPattern = new RegExp(`^${globToRegex(pattern)}$`);
  const output = await git(cwd, [
    'for-each-ref',
    '--merged',
    'HEAD',
    '--format=%(refname:short)%00%(objectname)%00%(*objectname)',
    'refs/tags/',
  ]);
  const boundaries = new Set<number>();
  for (const line of output.split('\n')) {
    const [name, object, peeled] = line.split('\0');
    if (!name || !tagPattern.test(name)) continue;
    const at = reach.get(peeled || object!);
    if (at !== undefined) boundaries.add(at);
  }
  return boundaries;
}

/** The last first-parent commit of each time window (window numbers never go back). */
function windowEnds(chain: readonly LogCommit[], days: number): Set<number> {
  const ends = new Set<number>();
  let window = Number.NEGATIVE_INFINITY;
  const windows = chain.map((commit) => {
    window = Math.max(window, Math.floor((commit.time - WINDOW_ORIGIN) / (days * 86_400)));
    return window;
  });
  for (let i = 0; i + 1 < windows.length; i++) if (windows[i] !== windows[i + 1]) ends.add(i);
  return ends;
}

export interface SeamPaths {
  readonly seam: string;
  readonly copies: readonly { readonly path: string; readonly language: Language }[];
}

export interface SliceSummaryOptions {
  readonly cwd: string;
  readonly reader: ObjectReader;
  readonly plan: SlicePlan;
  /** Engine directories (today's and historical): a slice must change one of them. */
  readonly engineDirs: readonly string[];
  /** Copies whose changes are listed per slice. */
  readonly seams: readonly SeamPaths[];
  /** How many recent slices to examine. */
  readonly recent: number;
  /** Names read as one before copies are compared (`normalizeNames`). */
  readonly names?: readonly NameRule[];
}

/** The slices that changed engine code, the recent ones with the seams they changed. */
export async function summarizeSlices(options: SliceSummaryOptions): Promise<SliceSummary> {
  const { plan } = options;
  const summary = {
    requested: plan.requested,
    mode: plan.mode,
    reason: plan.reason,
    // no boundary in the whole history: every change lies in the slice its copies appeared in
    oneOpenSlice: plan.slices.length === 1 && plan.slices[0]!.open ? plan.noBoundary : null,
  };
  if (options.engineDirs.length === 0 || plan.slices.length === 0) {
    return { ...summary, total: 0, recent: [] };
  }
  // first-parent commits that changed an engine directory (against their first parent)
  const touching = new Set<string>();
  for await (const commit of logCommits(
    options.cwd,
    ['--first-parent', LOG_FORMAT, 'HEAD', '--', ...options.engineDirs],
    { raw: false },
  )) {
    touching.add(commit.hash);
  }
  const touched = new Set([...touching].map((hash) => plan.sliceOf(hash)));
  const changedEngineCode = plan.slices.filter((slice) => touched.has(slice.index));
  const recent: Slice[] = [];
  for (const slice of changedEngineCode.slice(-options.recent).reverse()) {
    recent.push({
      commit: commitRef(slice.end),
      from: slice.from,
      open: slice.open,
      changedSeams: await changedSeams(options, slice.from, slice.end.hash),
    });
  }
  return { ...summary, total: changedEngineCode.length, recent };
}

/** Seams with a copy whose normalised tokens differ between `from` and `to`. */
async function changedSeams(
  options: SliceSummaryOptions,
  from: string | null,
  to: string,
): Promise<string[]> {
  const changed: string[] = [];
  for (const seam of options.seams) {
    for (const copy of seam.copies) {
      const after = await options.reader.read(`${to}:${copy.path}`);
      const before = from === null ? null : await options.reader.read(`${from}:${copy.path}`);
      if (after?.oid === before?.oid) continue;
      if (after === null || before === null) {
        changed.push(seam.seam);
        break;
      }
      const table = new TokenTable();
      const codeOf = (source: PreparedSource) => normalize(source.tokens, 'code', table).ids;
      const a = codeOf(
        prepareSource(before.content.toString('utf8'), copy.language, options.names),
      );
      const b = codeOf(prepareSource(after.content.toString('utf8'), copy.language, options.names));
      if (!sameSequence(a, b)) {
        changed.push(seam.seam);
        break;
      }
    }
  }
  return changed;
}
