/**
 * Slices: the units of follow-on work that `stable_across_slices` counts. By default, the
 * first-parent commits of the current branch that touch an engine directory, or only its merge
 * commits when that history has merges (one merged pull request = one slice). Configurable to
 * tags or to release commits (first-parent commits whose subject matches a pattern); there a
 * slice runs from one tag or release to the next and counts only if engine code changed in it.
 *
 * For each recent slice the seams whose copies changed (normalised tokens) are listed, by
 * comparing each copy at the slice's start and end revision through `cat-file --batch`.
 */
import { globToRegex } from './discover.js';
import { git, LOG_FORMAT, type LogCommit, logCommits, type ObjectReader } from './git.js';
import { commitRef } from './history.js';
import { normalize, sameSequence, TokenTable } from './normalize.js';
import type { Slice, SliceMode, SliceSummary } from './report.js';
import { type PreparedSource, prepareSource } from './source.js';
import type { Language } from './tokenize/token.js';

export interface SeamPaths {
  readonly seam: string;
  readonly copies: readonly { readonly path: string; readonly language: Language }[];
}

export interface SliceOptions {
  readonly cwd: string;
  readonly reader: ObjectReader;
  readonly mode: SliceMode;
  /** Engine directories (today's and historical): a slice must change one of them. */
  readonly engineDirs: readonly string[];
  /** Copies whose changes are listed per slice. */
  readonly seams: readonly SeamPaths[];
  /** How many recent slices to examine. */
  readonly recent: number;
}

interface SliceBounds {
  readonly commit: LogCommit;
  readonly from: string | null;
}

export async function findSlices(options: SliceOptions): Promise<SliceSummary> {
  if (options.engineDirs.length === 0) {
    return {
      mode: options.mode.by === 'first-parent' ? 'first-parent' : options.mode.by,
      total: 0,
      recent: [],
    };
  }
  const { mode, bounds } = await sliceBounds(options);
  const recent: Slice[] = [];
  for (const slice of bounds.slice(0, options.recent)) {
    recent.push({
      commit: commitRef(slice.commit),
      from: slice.from,
      changedSeams: await changedSeams(options, slice.from, slice.commit.hash),
    });
  }
  return { mode, total: bounds.length, recent };
}

/** Every slice that changed engine code, newest first. */
async function sliceBounds(
  options: SliceOptions,
): Promise<{ mode: SliceSummary['mode']; bounds: SliceBounds[] }> {
  const { cwd, mode } = options;
  if (mode.by === 'first-parent') {
    const anyMerge = (
      await git(cwd, ['rev-list', '--first-parent', '--merges', '-n', '1', 'HEAD'])
    ).trim();
    const args = ['--first-parent', ...(anyMerge ? ['--merges'] : []), LOG_FORMAT, 'HEAD', '--'];
    const bounds: SliceBounds[] = [];
    for await (const commit of logCommits(cwd, [...args, ...options.engineDirs], { raw: false })) {
      bounds.push({ commit: withoutChanges(commit), from: commit.parents[0] ?? null });
    }
    return { mode: anyMerge ? 'merges' : 'first-parent', bounds };
  }
  const boundaries =
    mode.by === 'tags'
      ? await tagCommits(cwd, mode.pattern)
      : await releaseCommits(cwd, mode.subject);
  const bounds: SliceBounds[] = [];
  for (let i = 0; i < boundaries.length; i++) {
    const commit = boundaries[i]!;
    const from = boundaries[i + 1]?.hash ?? null;
    if (await engineCodeChanged(options, from, commit.hash)) bounds.push({ commit, from });
  }
  return { mode: mode.by, bounds };
}

function withoutChanges(commit: LogCommit): LogCommit {
  return { ...commit, changes: [] };
}

/**
 * Tags matching the glob that are reachable from HEAD, as commits, newest first by commit date
 * (the tags' own creation dates say when someone tagged, not where the release sits).
 */
async function tagCommits(cwd: string, pattern: string): Promise<LogCommit[]> {
  const tagPattern = new RegExp(`^${globToRegex(pattern)}$`);
  const output = await git(cwd, [
    'for-each-ref',
    '--merged',
    'HEAD',
    '--format=%(refname:short)%00%(objectname)%00%(*objectname)',
    'refs/tags/',
  ]);
  const hashes = new Set<string>();
  for (const line of output.split('\n')) {
    const [name, object, peeled] = line.split('\0');
    if (name && tagPattern.test(name)) hashes.add(peeled || object!);
  }
  if (hashes.size === 0) return [];
  const commits: LogCommit[] = [];
  for await (const commit of logCommits(cwd, ['--no-walk=sorted', LOG_FORMAT, ...hashes], {
    raw: false,
  })) {
    commits.push(withoutChanges(commit));
  }
  return commits;
}

/** First-parent commits whose subject matches the pattern, newest first. */
async function releaseCommits(cwd: string, subject: string): Promise<LogCommit[]> {
  const pattern = new RegExp(subject);
  const commits: LogCommit[] = [];
  for await (const commit of logCommits(cwd, ['--first-parent', LOG_FORMAT, 'HEAD'], {
    raw: false,
  })) {
    if (pattern.test(commit.subject)) commits.push(withoutChanges(commit));
  }
  return commits;
}

/** Whether any engine directory's tree differs between two revisions (trees by object id). */
async function engineCodeChanged(
  options: SliceOptions,
  from: string | null,
  to: string,
): Promise<boolean> {
  for (const dir of options.engineDirs) {
    const after = await options.reader.read(`${to}:${dir}`);
    const before = from === null ? null : await options.reader.read(`${from}:${dir}`);
    if ((after?.oid ?? null) !== (before?.oid ?? null)) return true;
  }
  return false;
}

/** Seams with a copy whose normalised tokens differ between `from` and `to`. */
async function changedSeams(
  options: SliceOptions,
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
      const a = codeOf(prepareSource(before.content.toString('utf8'), copy.language));
      const b = codeOf(prepareSource(after.content.toString('utf8'), copy.language));
      if (!sameSequence(a, b)) {
        changed.push(seam.seam);
        break;
      }
    }
  }
  return changed;
}
