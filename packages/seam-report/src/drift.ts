/**
 * The drift check for a change under review (`--base <ref>`), per copy: every copy that was in
 * step with its seam's canonical copy at the base (its relation to it at least
 * `thresholds.driftInStep`) takes part, the others (outliers at the base) are left out, so one
 * outlier never switches the check off for the copies in step. When the change touched some of
 * the copies in step and not the others, the copies on the other side of the cluster's canonical
 * copy (chosen among them as they are now, ties going to a copy the change left alone) have
 * drifted: a copy that changed when the canonical one did not, or one that did not receive a
 * change the canonical one did. "Touched" means the normalised tokens differ from the base (a
 * comment-only edit is not drift); a copy that did not exist at the base counts as touched.
 */
import { classificationRank, clusterSources, relationClass, weakest } from './compare.js';
import type { ResolvedConfig } from './config.js';
import { type CopyMatcher, discover } from './discover.js';
import { UsageError } from './errors.js';
import { gitFields, gitMaybe, type ObjectReader } from './git.js';
import { commitRef } from './history.js';
import { firstChangedLine } from './hunks.js';
import { normalize, sameSequence, TokenTable } from './normalize.js';
import type { Classification, DriftedCopy, DriftFinding, DriftReport } from './report.js';
import { nameRules, type PreparedSource, prepareSource } from './source.js';

export interface CurrentSeam {
  readonly name: string;
  readonly classification: Classification;
  readonly copies: readonly {
    readonly engine: string;
    readonly path: string;
    readonly source: PreparedSource;
  }[];
}

export interface DriftOptions {
  readonly cwd: string;
  readonly reader: ObjectReader;
  readonly base: string;
  readonly matcher: CopyMatcher;
  readonly config: ResolvedConfig;
  readonly seams: readonly CurrentSeam[];
}

export async function checkDrift(options: DriftOptions): Promise<DriftReport> {
  const { cwd, reader, config } = options;
  const header = await gitMaybe(cwd, [
    'log',
    '-1',
    '--format=%H%x1f%ct%x1f%s',
    `${options.base}^{commit}`,
    '--',
  ]);
  if (header === undefined || header.trim() === '') {
    throw new UsageError(
      'unknown_revision',
      `--base ${options.base}: no such commit in this repository`,
      'Pass a branch, tag or commit that exists locally; in CI fetch it first (e.g. git fetch origin main, or a deeper clone).',
    );
  }
  const [hash, time, ...subject] = header.trim().split('\u001f');
  const baseRef = commitRef({
    hash: hash!,
    time: Number(time),
    subject: subject.join('\u001f'),
  });

  const basePaths: string[] = [];
  // ls-tree takes no glob pathspecs: list the patterns' plain directories, then match exactly
  const lsTree = [
    'ls-tree',
    '-r',
    '-z',
    '--name-only',
    hash!,
    '--',
    ...options.matcher.directories,
  ];
  for await (const path of gitFields(cwd, lsTree)) {
    if (path !== '') basePaths.push(path);
  }
  const atBase = discover(basePaths, options.matcher, config, `the base ${options.base}`).seams;

  const findings: DriftFinding[] = [];
  const inStepRank = classificationRank(config.thresholds.driftInStep);
  for (const seam of options.seams) {
    const baseCopies = atBase.get(seam.name);
    if (baseCopies === undefined || baseCopies.length < 2) continue; // not a seam at the base
    const base: { engine: string; source: PreparedSource }[] = [];
    for (const copy of baseCopies) {
      const text = await reader.readText(`${hash}:${copy.path}`);
      if (text !== null)
        base.push({
          engine: copy.engine,
          source: prepareSource(text, copy.language, nameRules(options.config.normalizeNames)),
        });
    }
    if (base.length < 2) continue;
    const atBaseClusters = clusterSources(
      base.map((copy) => copy.source),
      config.thresholds.similar,
    );
    const inStep = new Map<string, PreparedSource>();
    const outliers: string[] = [];
    const relations: Classification[] = [];
    base.forEach((copy, index) => {
      const relation = atBaseClusters.relations[index]!.relation;
      if (classificationRank(relationClass(relation)) <= inStepRank) {
        inStep.set(copy.engine, copy.source);
        if (relation !== 'canonical') relations.push(relationClass(relation));
      } else outliers.push(copy.engine);
    });
    if (inStep.size < 2) continue; // no two copies were in step

    const table = new TokenTable();
    const codeOf = (source: PreparedSource) => normalize(source.tokens, 'code', table).ids;
    const engineNames = new Set(baseCopies.map((copy) => copy.engine));
    // the copies in step at the base, and those the change added
    const taking = seam.copies.filter(
      (copy) => inStep.has(copy.engine) || !engineNames.has(copy.engine),
    );
    const touched = taking.map((copy) => {
      const before = inStep.get(copy.engine);
      return before === undefined || !sameSequence(codeOf(before), codeOf(copy.source));
    });
    const changed = taking.filter((_, i) => touched[i]).map((copy) => copy.engine);
    const unchanged = taking.filter((_, i) => !touched[i]).map((copy) => copy.engine);
    if (changed.length === 0 || unchanged.length === 0) continue;

    const now = clusterSources(
      taking.map((copy) => copy.source),
      config.thresholds.similar,
      (index) => !touched[index],
    );
    const canonical = taking[now.canonical]!;
    const canonicalChanged = touched[now.canonical]!;
    const file = canonical.path.slice(canonical.path.lastIndexOf('/') + 1);
    const drifted: DriftedCopy[] = [];
    taking.forEach((copy, index) => {
      if (touched[index] === canonicalChanged) return;
      const before = inStep.get(copy.engine);
      const line = touched[index]
        ? before === undefined
          ? 1
          : firstChangedLine(before.text, copy.source.text)
        : firstChangedLine(canonical.source.text, copy.source.text);
      drifted.push({
        engine: copy.engine,
        path: copy.path,
        line,
        changed: touched[index]!,
        message: touched[index]
          ? `\`${file}\` changed in ${copy.engine}${before === undefined ? ' (a new copy)' : ''}; ${countedListing(unchanged, 'copy in step', 'copies in step')} did not change`
          : `${copy.engine}'s copy of \`${file}\` did not receive the change made to ${countedListing(changed, 'copy', 'copies')}`,
      });
    });
    findings.push({
      seam: seam.name,
      changed,
      unchanged,
      outliers,
      canonical: canonical.engine,
      drifted,
      baseClassification: weakest(relations),
      classification: seam.classification,
      message: driftMessage(seam, changed, unchanged),
    });
  }
  return { base: baseRef, findings };
}

/** How many names (at most `LISTED` named), e.g. "2 copies in step (a, b)". */
function countedListing(names: readonly string[], one: string, many: string): string {
  return `${names.length === 1 ? `1 ${one}` : `${names.length} ${many}`} (${listing(names)})`;
}

/** "`wal.ts` changed in alloc and quota; fence's copy did not change" */
function driftMessage(
  seam: CurrentSeam,
  changed: readonly string[],
  unchanged: readonly string[],
): string {
  const byFile = new Map<string, string[]>();
  for (const engine of changed) {
    const path = seam.copies.find((copy) => copy.engine === engine)!.path;
    const file = path.slice(path.lastIndexOf('/') + 1);
    byFile.set(file, [...(byFile.get(file) ?? []), engine]);
  }
  const changedText = [...byFile]
    .map(([file, engines]) => `\`${file}\` changed in ${listing(engines)}`)
    .join(', ');
  const copies = unchanged.length === 1 ? 'copy' : 'copies';
  if (unchanged.length > LISTED)
    return `${changedText}; ${unchanged.length} copies in step did not change (${listing(unchanged)})`;
  return `${changedText}; ${listing(unchanged.map((engine) => `${engine}'s`))} ${copies} did not change`;
}

/** Names listed in a message before "and N more". */
const LISTED = 5;

/** "a", "a and b", "a, b and c", "a, b, c, d, e and 7 more" */
function listing(items: readonly string[]): string {
  if (items.length > LISTED)
    return `${items.slice(0, LISTED).join(', ')} and ${items.length - LISTED} more`;
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
