/**
 * `analyze`: the whole report for one repository. Reads the working tree (the copies as they
 * are now, uncommitted edits included), walks the history of HEAD, finds the slices, evaluates
 * the triggers and the verdicts, and optionally checks drift against a base revision.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type EngineFile, sharedBlocks } from './blocks.js';
import { type CopyComparison, compareCopies, type PairsMode } from './compare.js';
import { loadConfig, type ResolvedConfig, type SeamReportConfig } from './config.js';
import { GeneratorScripts, onlyConstants } from './constants.js';
import { type CopyLocation, CopyMatcher, discover } from './discover.js';
import { type CurrentSeam, checkDrift } from './drift.js';
import { RepositoryError } from './errors.js';
import { type Extraction, findExtraction, importsOf, ModuleIndex } from './extraction.js';
import { generatedHeader, headerPatterns } from './generated.js';
import { git, gitFields, gitMaybe, ObjectReader, repositoryRoot } from './git.js';
import {
  commitRef,
  type HistoryProgress,
  type HistoryWalk,
  type SeamWalk,
  walkHistory,
} from './history.js';
import { matchChanges } from './mirrors.js';
import { sortedStrings } from './order.js';
import { findRemovedSeams } from './removed.js';
import {
  type CommitRef,
  type ExcludedFile,
  type RepositoryInfo,
  SCHEMA_VERSION,
  type SeamCopy,
  type SeamExtraction,
  type SeamHistory,
  type SeamReport,
  type SeamResult,
  type SliceSummary,
} from './report.js';
import { planSlices, type SlicePlan, summarizeSlices } from './slices.js';
import { type NameRule, nameRules, type PreparedSource, prepareSource } from './source.js';
import { evaluateTriggers } from './triggers.js';
import { findUnwatchedCopies } from './unwatched.js';
import { decide, savingsOf, seamVerdict } from './verdict.js';
import { TOOL_VERSION } from './version.js';
import { configWarnings } from './warnings.js';

export interface AnalyzeOptions {
  /** A directory inside the repository; default: the current directory. */
  readonly root?: string;
  /** Configuration given inline; replaces the configuration files. */
  readonly config?: SeamReportConfig;
  /** A configuration file to use instead of `seam-report.config.json` / package.json. */
  readonly configPath?: string;
  /** Check drift against this revision (a branch, tag or commit). */
  readonly base?: string;
  /** Read git history (default true). Without it, history-based triggers cannot fire. */
  readonly history?: boolean;
  /** Called while the history walk runs (every 100 commits). */
  readonly onProgress?: (progress: HistoryProgress) => void;
  /**
   * Which pairs of copies `comparison.pairs` holds: each copy against the canonical one
   * (`canonical`, the default: proportional to the number of copies), or every pair (`all`).
   */
  readonly pairs?: PairsMode;
}

export async function analyze(options: AnalyzeOptions = {}): Promise<SeamReport> {
  const root = await repositoryRoot(resolve(options.root ?? process.cwd()));
  const loaded = await loadConfig(root, {
    ...(options.configPath !== undefined ? { configPath: resolve(options.configPath) } : {}),
    ...(options.config !== undefined ? { inline: options.config } : {}),
  });
  const headers = headerPatterns(loaded.generatedHeaders);
  const names = nameRules(loaded.normalizeNames);
  const headersMatched = new Set<number>();
  const [repository, scripts] = await Promise.all([
    repositoryInfo(root),
    GeneratorScripts.find(root),
  ]);
  let config = loaded;
  let tree = await readTree(root, config, { names, headers, headersMatched, scripts });
  let unwatched = await findUnwatchedCopies({
    root,
    matcher: tree.matcher,
    config,
    seamNames: new Set([...tree.discovery.seams.keys(), ...tree.discovery.unwatched.keys()]),
    headers,
    headersMatched,
  });
  // `discover.watch`: the copies found outside the seams (not declared local) are watched as
  // seams, each copy named by its engine: the tree is read again with them as file groups
  const promoted = config.discover.watch
    ? unwatched.groups.filter((group) => group.local === null)
    : [];
  if (promoted.length > 0) {
    config = {
      ...config,
      fileGroups: [
        ...config.fileGroups,
        ...promoted.map((group) => ({
          name: group.name,
          files: group.files.map((file) => file.path),
          labels: group.files.map((file) => file.engine),
          engineDirs: group.files.map(
            (file) => tree.matcher.engineDirOf(file.path) ?? file.path.replace(/\/[^/]*$/, ''),
          ),
        })),
      ],
    };
    tree = await readTree(root, config, { names, headers, headersMatched, scripts });
    unwatched = await findUnwatchedCopies({
      root,
      matcher: tree.matcher,
      config,
      seamNames: new Set([...tree.discovery.seams.keys(), ...tree.discovery.unwatched.keys()]),
      headers,
      headersMatched,
    });
  }
  const { matcher, candidates, committed, prepared, excludedFiles, discovery } = tree;
  // configuration warnings come first; they are made once history has said which seams were
  // extracted by removing their copies (a seams entry naming one is no mistake)
  const warnings: string[] = [];
  const where = `in ${config.sourceLabel}`;
  config.generatedHeaders.forEach((pattern, index) => {
    if (!headersMatched.has(index))
      warnings.push(`generatedHeaders entry "${pattern}" matches no file ${where}`);
  });
  for (const entry of unwatched.unusedLocal)
    warnings.push(
      `local entry ${JSON.stringify(entry.paths)} matches no file outside the seams ${where}`,
    );
  for (const { entry, path } of unwatched.localSeamCopies)
    warnings.push(
      `local entry ${JSON.stringify(entry.paths)} matches ${path}, a seam copy: a file is a seam or local, not both ${where}`,
    );

  const current = [...discovery.seams].map(([name, copies]) => ({
    name,
    copies: copies.map((copy) => ({ location: copy, source: prepared.get(copy.path)! })),
  }));
  const pairs = options.pairs ?? 'canonical';
  const comparisons = new Map<string, CopyComparison>(
    current.map((seam) => [
      seam.name,
      compareCopies(
        seam.copies.map((copy) => ({ engine: copy.location.engine, source: copy.source })),
        config.thresholds.similar,
        pairs,
      ),
    ]),
  );

  const readHistory = options.history !== false && repository.head !== null;
  const reader = readHistory || options.base !== undefined ? new ObjectReader(root) : undefined;
  try {
    let walk: HistoryWalk | null = null;
    let slices: SliceSummary | null = null;
    let plan: SlicePlan | null = null;
    if (readHistory && reader) {
      plan = await planSlices(root, config.slices);
      walk = await walkHistory({
        cwd: root,
        reader,
        matcher,
        seams: new Set(discovery.seams.keys()),
        copyEventThreshold: config.thresholds.copyEvent,
        similarThreshold: config.thresholds.similar,
        headTime: Date.parse(repository.head!.date) / 1000,
        sliceOf: plan.sliceOf,
        names,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      for (const alias of config.aliases) {
        if (!matcher.aliasUsed(alias.from))
          warnings.push(
            `aliases entry "${alias.from}" matches no path in the history of HEAD in ${config.sourceLabel}`,
          );
      }
      const engineDirs = new Set([
        ...walk.engineDirs,
        ...discovery.engines.map((engine) => engine.dir),
      ]);
      slices = await summarizeSlices({
        cwd: root,
        reader,
        plan,
        engineDirs: sortedStrings(engineDirs),
        seams: current.map((seam) => ({
          seam: seam.name,
          copies: seam.copies.map((copy) => ({
            path: copy.location.path,
            language: copy.location.language,
          })),
        })),
        recent: config.triggers.stable_across_slices.slices,
        names,
      });
    }

    const modules = new ModuleIndex(root);
    // seams extracted by deleting their copies (history only)
    const remaining = new Map<string, CopyLocation[]>();
    for (const copy of [...discovery.singles, ...[...discovery.unwatched.values()].flat()])
      remaining.set(copy.seam, [...(remaining.get(copy.seam) ?? []), copy]);
    const extractedSeams =
      walk === null || reader === undefined
        ? []
        : await findRemovedSeams({
            cwd: root,
            reader,
            removals: walk.removals,
            remaining,
            modules,
          });
    const extractedNames = new Set(extractedSeams.map((seam) => seam.name));
    warnings.unshift(
      ...configWarnings({
        config: loaded,
        matcher,
        paths: candidates,
        discovery,
        extracted: extractedNames,
      }),
    );
    // where an extracted seam's code went is not an engine's copy: a shared crate the engine
    // patterns also match is not an engine for it
    const targets = new Set(extractedSeams.flatMap((seam) => seam.files));
    const engines = discovery.engines.filter(
      (engine) =>
        !engine.modules.every((module) =>
          (remaining.get(module) ?? []).some(
            (copy) => copy.engine === engine.name && targets.has(copy.path),
          ),
        ),
    );
    const now = repository.head === null ? null : Date.parse(repository.head.date) / 1000;
    const extractions = new Map<string, SeamExtraction>();
    const extractionEvents = new Map<string, Extraction>();
    if (walk !== null && reader !== undefined) {
      for (const seam of current) {
        const seamWalk = walk.seams.get(seam.name);
        if (seamWalk === undefined) continue;
        const found = await findExtraction({
          cwd: root,
          reader,
          events: seamWalk.events,
          engineDirs: new Set([
            ...seam.copies.map((copy) => copy.location.engineDir),
            ...seamWalk.events.flatMap((event) => matcher.match(event.path)?.engineDir ?? []),
          ]),
          copyPaths: new Set([
            ...seam.copies.map((copy) => copy.location.path),
            ...seamWalk.events.map((event) => event.path),
          ]),
          modules,
        });
        if (found === undefined) continue;
        // the extraction stands while two or more of today's copies import the module
        const specifiers = new Set(found.specifiers.values());
        const importing = seam.copies.filter((copy) =>
          importsOf(copy.source.tokens, copy.location.language).some((spec) =>
            specifiers.has(spec),
          ),
        );
        if (importing.length < 2) continue;
        extractionEvents.set(seam.name, found);
        extractions.set(seam.name, {
          commit: found.commit,
          to: found.to,
          files: found.files,
          copies: importing.map((copy) => copy.location.engine),
          stillLocal: seam.copies
            .filter((copy) => !importing.includes(copy))
            .map((copy) => copy.location.engine),
        });
      }
    }
    const seams: SeamResult[] = current.map((seam) => {
      const { comparison, copies: clusters } = comparisons.get(seam.name)!;
      const seamWalk = walk?.seams.get(seam.name);
      const extraction = extractionEvents.get(seam.name);
      const history = seamWalk === undefined ? null : seamHistory(seamWalk, config, extraction);
      const copies: SeamCopy[] = seam.copies.map(({ location, source }, index) =>
        seamCopy(
          location,
          source,
          seamWalk?.appeared.get(location.engine) ?? null,
          committed.has(location.path),
          clusters[index]!,
        ),
      );
      const triggers = evaluateTriggers({ seam: seam.name, copies, history, slices, now, config });
      const canonical = seam.copies.find((copy) => copy.location.engine === comparison.reference)!;
      const savings = savingsOf(copies, history, now, config, codeLines(canonical.source));
      // copies of nothing but constants whose names or values differ: per-package data
      const main = seam.copies.filter((_, index) => copies[index]!.cluster !== 'outlier');
      const perPackageConstants =
        comparison.classification !== 'identical' &&
        comparison.classification !== 'equivalent' &&
        main.length >= 2 &&
        main.every((copy) => onlyConstants(copy.source.tokens));
      return {
        name: seam.name,
        copies,
        comparison,
        history,
        extracted: extractions.get(seam.name) ?? null,
        savings,
        triggers,
        verdict: seamVerdict(
          seam.name,
          comparison,
          triggers,
          config,
          extractions.get(seam.name) ?? null,
          savings,
          copies,
          history,
          {
            // the copies reconciled against the canonical copy are those made from it (or from
            // what it was made from): unrelated files named alike around it link nothing
            ...(seamWalk === undefined
              ? {}
              : {
                  linked: copies.some(
                    (copy) =>
                      copy.engine !== comparison.reference &&
                      seamWalk.components.get(copy.engine) ===
                        seamWalk.components.get(comparison.reference),
                  ),
                }),
            perPackageConstants,
          },
        ),
      };
    });

    const engineNames = engines.map((engine) => engine.name);
    const decision = decide(
      seams.map((seam) => ({
        name: seam.name,
        verdict: seam.verdict.verdict,
        decidedBy: seam.verdict.decidedBy,
        fired: seam.triggers.some((trigger) => trigger.fired),
        classification: seam.comparison.classification,
        tokens: Math.max(...seam.copies.map((copy) => copy.tokens)),
      })),
      config,
      {
        engines: engineNames,
        extracted: extractedSeams.map((seam) => seam.name),
        oneOpenSlice: slices?.oneOpenSlice ?? null,
      },
    );

    const drift =
      options.base === undefined || reader === undefined
        ? null
        : await checkDrift({
            cwd: root,
            reader,
            base: options.base,
            matcher,
            config,
            seams: current.map(
              (seam): CurrentSeam => ({
                name: seam.name,
                classification: comparisons.get(seam.name)!.comparison.classification,
                copies: seam.copies.map((copy) => ({
                  engine: copy.location.engine,
                  path: copy.location.path,
                  source: copy.source,
                })),
              }),
            ),
          });

    return {
      schemaVersion: SCHEMA_VERSION,
      tool: { name: 'seam-report', version: TOOL_VERSION },
      repository,
      settings: {
        source: config.source,
        engines: config.engines,
        seamPaths: config.seamPaths,
        never: config.never,
        generated: config.generated,
        generatedHeaders: config.generatedHeaders,
        aliases: walk?.aliases ?? config.aliases,
        priority: config.priority,
        thresholds: config.thresholds,
        triggers: config.triggers,
        savings: config.savings,
        slices: config.slices,
        pairs,
        local: config.local,
        discover: config.discover,
        normalizeNames: config.normalizeNames,
        seams: config.seams,
        fileGroups: loaded.fileGroups,
      },
      engines: engines.map((engine) => ({
        name: engine.name,
        path: engine.dir,
        modules: engine.modules,
      })),
      seams,
      singleCopyModules: discovery.singles
        .filter((copy) => !targets.has(copy.path))
        .map((copy) => ({
          seam: copy.seam,
          engine: copy.engine,
          path: copy.path,
        })),
      excludedFiles,
      unwatchedModules: [...discovery.unwatched].map(([seam, copies]) => ({
        seam,
        copies: copies.map((copy) => ({ engine: copy.engine, path: copy.path })),
      })),
      unwatchedCopies: unwatched.groups,
      extractedSeams,
      sharedBlocks: sharedBlocks(engineFiles(current), config.discover.blockTokens),
      history:
        walk === null || slices === null
          ? null
          : { commitsWalked: walk.commitsWalked, first: walk.first, last: walk.last, slices },
      decision,
      drift,
      notes: notes({
        repository,
        engines: engineNames,
        config,
        historyRead: readHistory,
        options,
        excludedFiles,
      }),
      warnings,
    };
  } finally {
    await reader?.close();
  }
}

/** Every engine's seam copies, for the blocks shared by two files of one engine. */
function engineFiles(
  seams: readonly {
    name: string;
    copies: readonly { location: CopyLocation; source: PreparedSource }[];
  }[],
): Map<string, EngineFile[]> {
  const byEngine = new Map<string, EngineFile[]>();
  for (const seam of seams) {
    for (const { location, source } of seam.copies) {
      const files = byEngine.get(location.engine) ?? [];
      files.push({ seam: seam.name, path: location.path, source });
      byEngine.set(location.engine, files);
    }
  }
  return byEngine;
}

/** The working tree's copies as the configuration sees them: matched, read, prepared. */
async function readTree(
  root: string,
  config: ResolvedConfig,
  context: {
    readonly names: readonly NameRule[];
    readonly headers: readonly RegExp[];
    readonly headersMatched: Set<number>;
    readonly scripts: GeneratorScripts;
  },
) {
  const matcher = new CopyMatcher(config);
  const [{ texts, candidates }, committed] = await Promise.all([
    readWorkingTreeCopies(root, matcher),
    committedPaths(root, matcher),
  ]);
  const prepared = new Map<string, PreparedSource>();
  // copies with the same text are tokenised once (four hundred identical copies hold one)
  const byText = new Map<string, PreparedSource>();
  for (const [path, text] of texts) {
    const language = matcher.match(path)!.language;
    const key = `${language}\u0000${text}`;
    let source = byText.get(key);
    if (source === undefined) {
      source = prepareSource(text, language, context.names);
      byText.set(key, source);
    }
    const header = generatedHeader(source, context.headers, context.headersMatched);
    const script = header === undefined ? context.scripts.writerOf(path) : undefined;
    if (header !== undefined) matcher.ignoreGenerated(path, header);
    else if (script !== undefined) matcher.ignoreGenerated(path, script, 'generated_script');
    else prepared.set(path, source);
  }
  const excludedFiles = generatedFiles(candidates, matcher);
  const discovery = discover(prepared.keys(), matcher, config, 'the working tree', {
    strict: true,
  });
  return { matcher, candidates, committed, prepared, excludedFiles, discovery };
}

async function repositoryInfo(root: string): Promise<RepositoryInfo> {
  const [head, branch, shallow] = await Promise.all([
    gitMaybe(root, ['log', '-1', '--format=%H%x1f%ct%x1f%s', 'HEAD', '--']),
    gitMaybe(root, ['symbolic-ref', '-q', '--short', 'HEAD']),
    git(root, ['rev-parse', '--is-shallow-repository']),
  ]);
  let headRef: CommitRef | null = null;
  if (head !== undefined && head.trim() !== '') {
    const [hash, time, ...subject] = head.trim().split('\u001f');
    headRef = commitRef({ hash: hash!, time: Number(time), subject: subject.join('\u001f') });
  }
  return {
    root,
    head: headRef,
    branch: branch?.trim() || null,
    shallow: shallow.trim() === 'true',
  };
}

/**
 * The text of every file in the working tree (tracked or untracked, not ignored) that is a seam
 * copy candidate, by path. Files deleted from the working tree but still in the index are left
 * out: the working tree is what is analysed.
 */
async function readWorkingTreeCopies(
  root: string,
  matcher: CopyMatcher,
): Promise<{ texts: Map<string, string>; candidates: string[] }> {
  const candidates: string[] = [];
  const paths: string[] = [];
  for await (const path of gitFields(root, [
    'ls-files',
    '-z',
    '--cached',
    '--others',
    '--exclude-standard',
    '--',
    ...matcher.pathspecs,
  ])) {
    if (path === '') continue;
    candidates.push(path);
    if (matcher.match(path) !== undefined) paths.push(path);
  }
  const texts = new Map<string, string>();
  await Promise.all(
    [...new Set(paths)].map(async (path) => {
      try {
        texts.set(path, await readFile(join(root, path), 'utf8'));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        throw new RepositoryError(
          'unreadable_file',
          `cannot read ${path} (${code ?? String(error)})`,
          'Make the file readable by the user running seam-report.',
          { cause: error },
        );
      }
    }),
  );
  return {
    texts: new Map(sortedStrings(texts.keys()).map((path) => [path, texts.get(path)!])),
    candidates: sortedStrings(new Set(candidates)),
  };
}

/** The candidate paths in HEAD's tree (empty without commits). */
async function committedPaths(root: string, matcher: CopyMatcher): Promise<Set<string>> {
  const paths = new Set<string>();
  const head = await gitMaybe(root, ['rev-parse', '-q', '--verify', 'HEAD^{commit}']);
  if (head === undefined || head.trim() === '') return paths;
  const args = ['ls-tree', '-r', '-z', '--name-only', 'HEAD', '--', ...matcher.directories];
  for await (const path of gitFields(root, args)) {
    if (path !== '' && matcher.match(path) !== undefined) paths.add(path);
  }
  return paths;
}

/** The lines of a source that carry code (comments and blank lines left out). */
function codeLines(source: PreparedSource): number {
  const lines = new Set<number>();
  for (const token of source.tokens) {
    if (token.kind === 'comment') continue;
    // a token spanning lines (a template literal) carries code on each of them
    const span = token.text.split('\n').length;
    for (let line = token.line; line < token.line + span; line++) lines.add(line);
  }
  return lines.size;
}

function seamCopy(
  location: CopyLocation,
  source: PreparedSource,
  appeared: CommitRef | null,
  committed: boolean,
  cluster: Pick<SeamCopy, 'cluster' | 'similarity'>,
): SeamCopy {
  const lines =
    source.text === '' ? 0 : source.text.split('\n').length - (source.text.endsWith('\n') ? 1 : 0);
  return {
    engine: location.engine,
    path: location.path,
    language: location.language,
    lines,
    tokens: source.tokens.filter((token) => token.kind !== 'comment').length,
    appeared,
    committed,
    cluster: cluster.cluster,
    similarity: cluster.similarity,
  };
}

/**
 * A seam's history. For an extracted seam, the adapters' history since the extraction (the
 * extraction commit itself is never a fix).
 */
function seamHistory(walk: SeamWalk, config: ResolvedConfig, extraction?: Extraction): SeamHistory {
  const events =
    extraction === undefined
      ? walk.events
      : walk.events.filter((event) => event.order > extraction.order);
  const matched = matchChanges(events, {
    threshold: config.thresholds.mirrorMatch,
    minTokens: config.thresholds.mirrorMinTokens,
    windowSeconds: config.thresholds.mirrorWindowDays * 86_400,
  });
  return {
    changes: events.length,
    copyEvents: walk.copyEvents,
    moves: walk.moves,
    mirroredChanges: matched.mirrored,
    oneSidedChanges: matched.oneSided,
    reverts: matched.reverts,
    convergences: matched.convergences,
    occurrences: matched.occurrences,
    timeline: walk.timeline,
  };
}

/** Candidates that would be copies but are generated (by header or by a `generated` glob). */
function generatedFiles(candidates: readonly string[], matcher: CopyMatcher): ExcludedFile[] {
  const excluded: ExcludedFile[] = [];
  for (const path of candidates) {
    const dropped = matcher.inspect(path).dropped;
    if (dropped?.by !== 'generated') continue;
    const glob = dropped.entry;
    const why = matcher.generatedReason(path);
    excluded.push({
      path,
      seam: dropped.seam,
      engine: dropped.engineDir.slice(dropped.engineDir.lastIndexOf('/') + 1),
      reason: why?.reason ?? 'generated_header',
      evidence: why?.evidence ?? glob,
    });
  }
  return excluded;
}

function notes(context: {
  repository: RepositoryInfo;
  engines: readonly string[];
  config: ResolvedConfig;
  historyRead: boolean;
  options: AnalyzeOptions;
  excludedFiles: readonly ExcludedFile[];
}): string[] {
  const { repository, engines, config } = context;
  const notes: string[] = [];
  if (context.excludedFiles.length > 0) {
    const seams = sortedStrings(new Set(context.excludedFiles.map((file) => file.seam)));
    notes.push(
      `${context.excludedFiles.length === 1 ? '1 generated file is' : `${context.excludedFiles.length} generated files are`} not compared (${seams.join(', ')}): a generator's output is not a copy anyone maintains; see excludedFiles.`,
    );
  }
  const where = config.engines.flatMap((engine) =>
    config.seamPaths.map((path) => `${engine}/${path}`),
  );
  if (engines.length === 0) {
    notes.push(
      `No engine found: no file matches ${where.join(', ')}. Check "engines", "seamPaths" or "layout" in the configuration (${config.source === 'defaults' ? 'defaults' : config.sourceLabel}).`,
    );
  } else if (engines.length === 1) {
    notes.push(
      `Only one engine (${engines[0]}) has modules under the seam paths, so there is nothing to compare yet; seams appear when a second engine carries a copy.`,
    );
  }
  if (repository.head === null) {
    notes.push('The repository has no commits yet: history-based triggers cannot fire.');
  } else if (!context.historyRead) {
    notes.push('History was not read (history turned off): history-based triggers cannot fire.');
  }
  if (repository.shallow) {
    notes.push(
      'This is a shallow clone: history before the cut is missing, so changes and slices are undercounted. Fetch the full history (git fetch --unshallow, or fetch-depth: 0 in CI).',
    );
  }
  return notes;
}
