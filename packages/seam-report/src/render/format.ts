/**
 * Small formatting helpers shared by the renderers, so that every format words things alike.
 */
import type { DeclarationComparison } from '../declarations.js';
import type { ValueInCopy } from '../literals.js';
import type {
  ChangeRef,
  CommitRef,
  ConvergenceRef,
  ExtractedSeam,
  MirroredChange,
  RevertRef,
  SeamReport,
  SeamResult,
  SharedBlock,
  TriggerResult,
  UnwatchedCopies,
} from '../report.js';
import { formatRatio } from '../similarity.js';

export function shortHash(hash: string): string {
  return hash.slice(0, 10);
}

/** `2024-05-01` from an ISO date. */
export function day(iso: string): string {
  return iso.slice(0, 10);
}

export function ratio(value: number): string {
  return formatRatio(value);
}

/** A delay in seconds as `3d 4h`, `5h 10m`, `42s`. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function commitLine(commit: CommitRef): string {
  return `${shortHash(commit.hash)} ${day(commit.date)} ${commit.subject}`;
}

export function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${count} ${count === 1 ? word : pluralWord}`;
}

/** At most `limit` items, with the number left out. */
export function limited<T>(
  items: readonly T[],
  limit: number,
): { shown: readonly T[]; more: number } {
  return { shown: items.slice(0, limit), more: Math.max(0, items.length - limit) };
}

/** How many items each list shows in text and markdown (HTML and JSON show everything). */
export const LIST_LIMIT = 8;

export function firedTriggers(seam: SeamResult): TriggerResult[] {
  return seam.triggers.filter((trigger) => trigger.fired);
}

/** Followers of a mirrored change named before the rest are counted (the JSON has them all). */
const FOLLOWERS_LISTED = 5;

export function mirrorLine(change: MirroredChange): string {
  const more = change.followers.length - FOLLOWERS_LISTED;
  const followers = change.followers
    .slice(0, FOLLOWERS_LISTED)
    .map(
      (f) =>
        `${
          f.delaySeconds === 0 && f.commit.hash === change.origin.commit.hash
            ? `${f.engine} (same commit`
            : `${f.engine} ${duration(f.delaySeconds)} later in ${shortHash(f.commit.hash)} (`
        }${f.commit.hash === change.origin.commit.hash ? ', ' : ''}${howText(f)})`,
    )
    .join(', ')
    .concat(more > 0 ? ` and ${more} more` : '');
  const kind =
    change.kind === 'late_propagation'
      ? 'late propagation'
      : change.kind === 'within_window'
        ? 'mirrored later'
        : 'mirrored';
  return `${kind}: ${commitLine(change.origin.commit)} [${change.origin.engine}] → ${followers}`;
}

/** How a follower matched, for people: "exact", "exact in context", "similar 0.86". */
export function howText(follower: MirroredChange['followers'][number]): string {
  if (follower.how === 'similar') return `similar ${ratio(follower.match)}`;
  return follower.how.replaceAll('_', ' ');
}

export function revertLine(change: RevertRef): string {
  return `revert: ${commitLine(change.commit)} [${change.engine}] undid ${listNames(
    change.reverted.map((commit) => shortHash(commit.hash)),
  )}`;
}

export function convergenceLine(change: ConvergenceRef): string {
  return `convergence: ${commitLine(change.commit)} [${change.engine}] now identical to ${listNames(change.with)}`;
}

/** "4 changes, 2 mirrored (1 late), 1 one-sided, 1 revert, 1 convergence" */
export function historyCounts(history: NonNullable<SeamResult['history']>): string {
  const late = history.mirroredChanges.filter((c) => c.kind === 'late_propagation').length;
  const parts = [
    plural(history.changes, 'change'),
    `${history.mirroredChanges.length} mirrored (${late} late)`,
    `${history.oneSidedChanges.length} one-sided`,
  ];
  if (history.reverts.length > 0) parts.push(plural(history.reverts.length, 'revert'));
  if (history.convergences.length > 0)
    parts.push(plural(history.convergences.length, 'convergence'));
  if (history.moves.length > 0) parts.push(plural(history.moves.length, 'move'));
  return parts.join(', ');
}

export function moveLine(move: NonNullable<SeamResult['history']>['moves'][number]): string {
  return `moved: ${move.from} → ${move.to} in ${commitLine(move.commit)} [${move.engine}]`;
}

export function oneSidedLine(change: ChangeRef): string {
  return `one-sided: ${commitLine(change.commit)} [${change.engine}], ${plural(change.lines, 'line')}`;
}

/** "a", "a and b", "a, b and c", "a, b, c, d, e and 7 more" */
export function listNames(items: readonly string[], limit = NAMES_LISTED): string {
  if (items.length > limit)
    return `${items.slice(0, limit).join(', ')} and ${items.length - limit} more`;
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** Engine names listed in one phrase before "and N more". */
export const NAMES_LISTED = 5;

/** "3 copies (a, b and c)", "quota" for one. */
function copiesPhrase(engines: readonly string[]): string {
  return engines.length === 1 ? engines[0]! : `${engines.length} copies (${listNames(engines)})`;
}

/**
 * "21 identical, 7 near, 2 outliers": how the copies stand against the canonical copy, the
 * clusters that have copies, strongest first.
 */
export function clusterSummary(seam: SeamResult): string {
  const counts = seam.comparison.clusters;
  const parts = [
    counts.identical > 0 ? `${counts.identical} identical` : '',
    counts.equivalent > 0 ? `${counts.equivalent} equivalent` : '',
    counts.renamed > 0 ? `${counts.renamed} renamed` : '',
    counts.near > 0 ? `${counts.near} near` : '',
    counts.outliers > 0 ? plural(counts.outliers, 'outlier') : '',
  ].filter((part) => part !== '');
  return parts.join(', ');
}

/** The engines of a seam's outliers, in copy order. */
export function outliersOf(seam: SeamResult): string[] {
  return seam.copies.filter((copy) => copy.cluster === 'outlier').map((copy) => copy.engine);
}

/**
 * A declaration's difference, stated once against the canonical copy: "only in alpha",
 * "missing in 3 copies (a, b and c)", "differs in beta (0.85)". `among` restricts it to some
 * copies (the main cluster); undefined when none of those differ.
 */
export function declarationPhrase(
  seam: SeamResult,
  declaration: DeclarationComparison,
  among?: ReadonlySet<string>,
): string | undefined {
  const copies = declaration.copies.filter((copy) => among === undefined || among.has(copy.engine));
  if (copies.length === 0) return undefined;
  const canonical = seam.comparison.reference;
  const others = seam.copies.length - 1;
  const parts: string[] = [];
  const missing = copies.filter((copy) => copy.status === 'missing').map((copy) => copy.engine);
  const extra = copies.filter((copy) => copy.status === 'extra').map((copy) => copy.engine);
  const differs = copies.filter((copy) => copy.status === 'differs');
  const renamed = copies.filter((copy) => copy.status === 'renamed').map((copy) => copy.engine);
  if (missing.length > 0) {
    parts.push(
      missing.length === others && among === undefined
        ? `only in ${canonical}`
        : `missing in ${copiesPhrase(missing)}`,
    );
  }
  if (extra.length > 0) parts.push(`only in ${copiesPhrase(extra)}`);
  if (differs.length > 0) {
    const named = differs.map(
      (copy) =>
        `${copy.engine}${copy.name === undefined ? '' : ` (as ${copy.name})`} ${ratio(copy.similarity ?? 0)}`,
    );
    parts.push(
      differs.length === 1
        ? `differs in ${named[0]}`
        : `differs in ${differs.length} copies (${listNames(named)})`,
    );
  }
  if (renamed.length > 0) {
    const names = copies.filter((copy) => copy.status === 'renamed' && copy.name !== undefined);
    parts.push(
      `same shape, names or literals differ in ${copiesPhrase(renamed)}${
        names.length > 0
          ? ` (${listNames(names.map((copy) => `${copy.engine} calls it ${copy.name}`))})`
          : ''
      }`,
    );
  }
  return parts.join('; ');
}

/**
 * The copies whose differences a reader is shown declaration by declaration: the main cluster
 * (outliers are summed up on their own line, see `outlierLine`), or every copy when all are
 * outliers. Undefined means every copy.
 */
export function mainCopies(seam: SeamResult): ReadonlySet<string> | undefined {
  const main = seam.copies.filter((copy) => copy.cluster !== 'outlier');
  return main.length >= 2 && main.length < seam.copies.length
    ? new Set(main.map((copy) => copy.engine))
    : undefined;
}

/** Every declaration that differs in the main cluster, as "name: difference", against the canonical copy. */
export function declarationLine(seam: SeamResult): string[] {
  const among = mainCopies(seam);
  return seam.comparison.declarations.differing.flatMap((declaration) => {
    const phrase = declarationPhrase(seam, declaration, among);
    return phrase === undefined ? [] : [`${declaration.name}: ${phrase}`];
  });
}

/** "40 of 44 the same" (in the main cluster when there are outliers). */
export function declarationCount(seam: SeamResult): string {
  const { total, differing } = seam.comparison.declarations;
  const among = mainCopies(seam);
  if (among === undefined) return `${total - differing.length} of ${total} the same`;
  const inMain = differing.filter((d) => d.copies.some((copy) => among.has(copy.engine)));
  // declarations only outliers have are not the main cluster's
  const outliersOnly = differing.filter(
    (d) => d.line === null && !d.copies.some((copy) => among.has(copy.engine)),
  ).length;
  const considered = total - outliersOnly;
  return `${considered - inMain.length} of ${considered} the same in the main cluster (outliers apart)`;
}

/** What makes an outlier different: its similarity, size and the declarations it differs in. */
export function outlierLine(seam: SeamResult, engine: string, limit = NAMES_LISTED): string {
  const copy = seam.copies.find((c) => c.engine === engine)!;
  const missing: string[] = [];
  const extra: string[] = [];
  const differs: string[] = [];
  for (const declaration of seam.comparison.declarations.differing) {
    const mine = declaration.copies.find((c) => c.engine === engine);
    if (mine === undefined) continue;
    if (mine.status === 'missing') missing.push(declaration.name);
    else if (mine.status === 'extra') extra.push(declaration.name);
    else differs.push(declaration.name);
  }
  const parts = [`similarity ${ratio(copy.similarity)}`, plural(copy.lines, 'line')];
  if (missing.length > 0) parts.push(`lacks ${listNames(missing, limit)}`);
  if (extra.length > 0) parts.push(`alone has ${listNames(extra, limit)}`);
  if (differs.length > 0) parts.push(`differs in ${listNames(differs, limit)}`);
  return `${engine}: ${parts.join('; ')}`;
}

export function literalLine(seam: SeamResult, index: number): string {
  const literal = seam.comparison.literalDifferences[index]!;
  return `${literal.declaration ?? 'top level'}: ${valueGroups(literal.values)}`;
}

/**
 * "alpha 16 (line 3) | beta 24 (line 3)", and for values several copies share,
 * "b, c and d 24": the canonical copy's value first.
 */
function valueGroups(values: readonly ValueInCopy[]): string {
  const groups = new Map<string, ValueInCopy[]>();
  for (const value of values) {
    const group = groups.get(value.text) ?? [];
    group.push(value);
    groups.set(value.text, group);
  }
  const shown = [...groups].slice(0, NAMES_LISTED);
  const more = groups.size - shown.length;
  return shown
    .map(([text, group]) =>
      group.length === 1
        ? `${group[0]!.engine} ${cut(text)} (line ${group[0]!.line})`
        : `${listNames(group.map((value) => value.engine))} ${cut(text)}`,
    )
    .join(' | ')
    .concat(more > 0 ? ` | and ${more} more values` : '');
}

/** A literal or name as written, cut when long (a message, a long template). */
function cut(text: string, limit = 60): string {
  const line = text.replace(/\s*\n\s*/g, ' ');
  return line.length > limit ? `${line.slice(0, limit - 1)}…` : line;
}

export function nameLine(seam: SeamResult, index: number): string {
  const name = seam.comparison.nameDifferences[index]!;
  const groups = new Map<string, string[]>();
  for (const renamed of name.renamed) {
    const engines = groups.get(renamed.name) ?? [];
    engines.push(renamed.engine);
    groups.set(renamed.name, engines);
  }
  const shown = [...groups].slice(0, NAMES_LISTED);
  const more = groups.size - shown.length;
  const renamed = shown
    .map(([to, engines]) => `${listNames(engines)}: ${cut(to)}`)
    .join(', ')
    .concat(more > 0 ? ` and ${more} more names` : '');
  return `${cut(name.reference)} → ${renamed} (${name.occurrences}×)`;
}

/** One engine's copy's similarity to the seam's canonical copy (the heat map cell). */
export function engineSimilarity(seam: SeamResult, engine: string): number | undefined {
  return seam.copies.find((copy) => copy.engine === engine)?.similarity;
}

/** The copies of a seam in the order a reader wants them: canonical, outliers, near, renamed, equivalent, identical. */
export function copiesByInterest(seam: SeamResult): SeamResult['copies'][number][] {
  const rank = { canonical: 0, outlier: 1, near: 2, renamed: 3, equivalent: 4, identical: 5 };
  return [...seam.copies].sort((x, y) => rank[x.cluster] - rank[y.cluster]);
}

/** A copy's standing against the canonical copy: "canonical", "identical", "near 0.95". */
export function clusterLabel(copy: SeamResult['copies'][number]): string {
  if (copy.cluster === 'canonical' || copy.cluster === 'identical') return copy.cluster;
  return `${copy.cluster} ${ratio(copy.similarity)}`;
}

/** Where a copy came from: its first commit, or why there is none. */
export function copyOrigin(seam: SeamResult, copy: SeamResult['copies'][number]): string {
  if (copy.appeared) return `since ${commitLine(copy.appeared)}`;
  if (!copy.committed) return 'not committed';
  return seam.history === null ? 'committed (history not read)' : 'committed';
}

/** Files of a suggested file group printed in full; larger groups are pointed to in the JSON. */
export const GROUP_FILES_SHOWN = 8;

/**
 * The suggested `seams` entry of unwatched copies, whole, so that it pastes as it is; undefined
 * when it has more than `GROUP_FILES_SHOWN` files (see `groupInJson`: every list printed is
 * bounded, and a cut entry would not be valid configuration).
 */
export function pastableGroup(
  group: UnwatchedCopies,
): { name: string; files: string[] } | undefined {
  const entry = group.suggestion?.seams[0] ?? { name: group.name, files: [] };
  if (entry.files.length > GROUP_FILES_SHOWN) return undefined;
  return { name: entry.name, files: [...entry.files] };
}

/** Where the whole file group of a large group of unwatched copies is. */
export function groupInJson(group: UnwatchedCopies): string {
  return `the file group of ${group.files.length} files is in the JSON report (unwatchedCopies, name "${group.name}")`;
}

/**
 * "2 groups of files copied across engines outside the seams; 12 more kept local by the
 * configuration", or "none to watch outside the seams; 12 groups kept local by the configuration".
 */
export function unwatchedSummary(report: SeamReport): string {
  const local = report.unwatchedCopies.filter((group) => group.local !== null).length;
  const unwatched = report.unwatchedCopies.length - local;
  const kept = (more: string) =>
    local === 0 ? '' : `; ${more}${plural(local, 'group')} kept local by the configuration`;
  if (unwatched === 0) return `none to watch outside the seams${kept('')}`;
  return `${plural(unwatched, 'group')} of files copied across engines outside the seams${kept('')}`;
}

/** "config_file and snapshot_file share 140 tokens (similarity 0.78) in allocdb-core and quota-core: lines 1-25 of …" */
export function blockLine(block: SharedBlock): string {
  const [a, b] = block.at;
  return `${block.files[0]} and ${block.files[1]} share ${block.tokens} tokens (similarity ${ratio(block.similarity)}) in ${listNames(block.engines)}: ${a!.path}:${a!.start}-${a!.end} and ${b!.path}:${b!.start}-${b!.end}`;
}

/** "time to engine_shared (crates/shared/src/time.rs) in 1a2b3c4d5e 2024-02-01 Move …; removed from alloc and quota" */
export function extractedLine(seam: ExtractedSeam): string {
  return `${seam.name} to ${seam.to}${seam.to === seam.files[0] ? '' : ` (${listNames(seam.files, 3)})`} in ${commitLine(seam.commit)}; removed from ${listNames(seam.removed.map((copy) => copy.engine))}`;
}
