/**
 * The drift check for a change under review (`--base <ref>`): every seam whose copies were in
 * step at the base (classification at the base at least `thresholds.driftInStep`) and whose
 * copies the change touched in some engines but not in the others. "Touched" means the
 * normalised tokens differ from the base (a comment-only edit is not drift); a copy that did not
 * exist at the base counts as touched.
 */
import { classificationRank, classifyGroup } from './compare.js';
import type { ResolvedConfig } from './config.js';
import { type CopyMatcher, discover } from './discover.js';
import { UsageError } from './errors.js';
import { gitFields, gitMaybe, type ObjectReader } from './git.js';
import { commitRef } from './history.js';
import { normalize, sameSequence, TokenTable } from './normalize.js';
import type { Classification, DriftFinding, DriftReport } from './report.js';
import { type PreparedSource, prepareSource } from './source.js';

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
  const base = commitRef({ hash: hash!, time: Number(time), subject: subject.join('\u001f') });

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
  for (const seam of options.seams) {
    const baseCopies = atBase.get(seam.name);
    if (baseCopies === undefined || baseCopies.length < 2) continue; // not a seam at the base
    const baseSources = new Map<string, PreparedSource>();
    for (const copy of baseCopies) {
      const text = await reader.readText(`${hash}:${copy.path}`);
      if (text !== null) baseSources.set(copy.engine, prepareSource(text, copy.language));
    }
    const baseClassification = classifyGroup(
      [...baseSources.values()],
      config.thresholds.similar,
    ).classification;
    if (classificationRank(baseClassification) > classificationRank(config.thresholds.driftInStep))
      continue;

    const table = new TokenTable();
    const codeOf = (source: PreparedSource) => normalize(source.tokens, 'code', table).ids;
    const changed: string[] = [];
    const unchanged: string[] = [];
    for (const copy of seam.copies) {
      const before = baseSources.get(copy.engine);
      if (before === undefined || !sameSequence(codeOf(before), codeOf(copy.source)))
        changed.push(copy.engine);
      else unchanged.push(copy.engine);
    }
    if (changed.length === 0 || unchanged.length === 0) continue;
    findings.push({
      seam: seam.name,
      changed,
      unchanged,
      baseClassification,
      classification: seam.classification,
      message: driftMessage(seam, changed, unchanged),
    });
  }
  return { base, findings };
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
  return `${changedText}; ${listing(unchanged.map((engine) => `${engine}'s`))} ${copies} did not change`;
}

/** "a", "a and b", "a, b and c" */
function listing(items: readonly string[]): string {
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
