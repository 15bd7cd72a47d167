/**
 * The discovery of unwatched copies: files outside every seam whose contents are identical or
 * near-identical across engines. A shared name is never enough: nine unrelated `gpio.rs` files
 * are not copies of one another, so every group is clustered on its contents and only the files
 * at least `discover.similarity` from the group's canonical file are kept.
 *
 * Candidates are the source files under the engine directories (every directory an `engines`
 * pattern matches) that no seam covers: not a copy of a seam or of a module in the seam paths,
 * not test code, not generated, and at least `discover.minTokens` tokens long. They are grouped
 * three ways, each file joining the first group it is a copy in:
 *
 * 1. the same path inside each engine (`src/engine/errors.ts` in every engine);
 * 2. the same file name elsewhere (a file that moved in one engine);
 * 3. the same code anywhere (a file copied under another name).
 *
 * Each group gets a configuration entry that would watch it. Files the configuration declares
 * deliberately local (`local`: globs and a reason) are reported as kept local instead.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClusterInput, clusterCopies, sequenceHash } from './clusters.js';
import { relationClass, weakest } from './compare.js';
import { type LocalFiles, type ResolvedConfig, seamName } from './config.js';
import { type CopyMatcher, globToRegex } from './discover.js';
import { generatedHeader } from './generated.js';
import { gitFields } from './git.js';
import { normalize, TokenTable } from './normalize.js';
import { compareStrings, sortedStrings } from './order.js';
import type { Classification, UnwatchedCopies } from './report.js';
import { languageOf, nameRules, prepareSource } from './source.js';

/** Files larger than this are not read (bundles, fixtures): nobody maintains them as copies. */
const MAX_FILE_BYTES = 256 * 1024;

/** Test code is not compared, here as in the seams (vitest's type tests, `*.test-d.ts`, too). */
const TEST_FILE =
  /(^|\/)(tests?|__tests__|spec)\/|\.(test|spec|test-d|spec-d)\.[cm]?[jt]sx?$|\.d\.[cm]?ts$|(^|\/|_)tests?\.rs$/;

/**
 * Tool configuration files (`vitest.config.ts`, `tsup.config.ts`, `eslint.config.mjs`,
 * `jest.config.js`, `.eslintrc.cjs`, `vitest.workspace.ts`): every package of a monorepo has the
 * same few, and they are the build's settings, not code anyone maintains as copies. A module
 * named `config.ts` (an engine's own configuration) is not one: the tool's name comes first.
 */
export const TOOL_CONFIG =
  /(^|\/)(?:[\w-]+\.)+(?:config|conf|workspace)\.[cm]?[jt]sx?$|(^|\/)\.[\w-]+rc\.[cm]?[jt]s$/;

interface Candidate {
  readonly engine: string;
  readonly engineDir: string;
  readonly path: string;
  /** The path inside the engine directory. */
  readonly inner: string;
  readonly input: ClusterInput;
  readonly hash: number;
}

export interface UnwatchedOptions {
  readonly root: string;
  readonly matcher: CopyMatcher;
  readonly config: Pick<
    ResolvedConfig,
    'local' | 'discover' | 'thresholds' | 'seams' | 'normalizeNames'
  >;
  /** Seam names in use (suggested names avoid them). */
  readonly seamNames: ReadonlySet<string>;
  /** The configuration's generated-header patterns, and the indexes of those that matched. */
  readonly headers?: readonly RegExp[];
  readonly headersMatched?: Set<number>;
}

export interface UnwatchedResult {
  readonly groups: UnwatchedCopies[];
  /** `local` entries that match no candidate file (configuration warnings). */
  readonly unusedLocal: readonly LocalFiles[];
  /** Seam copies that a `local` entry matches: a file cannot be both. */
  readonly localSeamCopies: readonly { readonly entry: LocalFiles; readonly path: string }[];
}

export async function findUnwatchedCopies(options: UnwatchedOptions): Promise<UnwatchedResult> {
  const { root, matcher, config } = options;
  const local = config.local.map((entry) => ({
    entry,
    regexes: entry.paths.map((glob) => new RegExp(`^${globToRegex(glob)}$`)),
  }));
  const localOf = (path: string) =>
    local.find(({ regexes }) => regexes.some((regex) => regex.test(path)))?.entry;
  const usedLocal = new Set<LocalFiles>();
  const nameNormalisation = nameRules(config.normalizeNames);
  const localSeamCopies: { entry: LocalFiles; path: string }[] = [];

  const paths: string[] = [];
  if (matcher.enginePathspecs.length > 0) {
    for await (const path of gitFields(root, [
      'ls-files',
      '-z',
      '--cached',
      '--others',
      '--exclude-standard',
      '--',
      ...matcher.enginePathspecs,
    ])) {
      if (path !== '') paths.push(path);
    }
  }
  const table = new TokenTable();
  const candidates: Candidate[] = [];
  for (const path of sortedStrings(new Set(paths))) {
    const language = languageOf(path);
    if (language === undefined || TEST_FILE.test(path)) continue;
    if (!config.discover.toolConfigs && TOOL_CONFIG.test(path)) continue;
    const detail = matcher.inspect(path);
    if (detail.location !== undefined || detail.dropped !== undefined) {
      const entry = detail.location === undefined ? undefined : localOf(path);
      if (entry !== undefined) localSeamCopies.push({ entry, path });
      continue; // covered by the seams (or left out of them on purpose)
    }
    const engineDir = matcher.engineDirOf(path);
    if (engineDir === undefined) continue;
    let text: string;
    try {
      const info = await stat(join(root, path));
      if (!info.isFile() || info.size > MAX_FILE_BYTES) continue;
      text = await readFile(join(root, path), 'utf8');
    } catch {
      continue; // deleted from the working tree, or unreadable: not a copy to report
    }
    const source = prepareSource(text, language, nameNormalisation);
    if (generatedHeader(source, options.headers, options.headersMatched) !== undefined) continue;
    const code = normalize(source.tokens, 'code', table);
    if (code.ids.length < config.discover.minTokens) continue;
    const lines = new Int32Array(code.tokens.length);
    code.tokens.forEach((token, i) => {
      lines[i] = token.line;
    });
    const entry = localOf(path);
    if (entry !== undefined) usedLocal.add(entry);
    candidates.push({
      engine: engineDir.slice(engineDir.lastIndexOf('/') + 1),
      engineDir,
      path,
      inner: path.slice(engineDir.length + 1),
      input: {
        code: code.ids,
        lines,
        shape: normalize(source.tokens, 'shape', table).ids,
        text: source.text,
      },
      hash: sequenceHash(code.ids),
    });
  }

  const taken = new Set<Candidate>();
  const found: { foundBy: UnwatchedCopies['foundBy']; files: Candidate[] }[] = [];
  const byKey = (
    key: (candidate: Candidate) => string | number,
    foundBy: UnwatchedCopies['foundBy'],
  ) => {
    const groups = new Map<string | number, Candidate[]>();
    for (const candidate of candidates) {
      if (taken.has(candidate)) continue;
      const k = key(candidate);
      const group = groups.get(k) ?? [];
      // one file per engine: the first path (in code-unit order) wins
      if (!group.some((other) => other.engineDir === candidate.engineDir)) group.push(candidate);
      groups.set(k, group);
    }
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      const kept = copiesIn(group, config.discover.similarity);
      if (kept.length < 2) continue;
      for (const candidate of kept) taken.add(candidate);
      found.push({ foundBy, files: kept });
    }
  };
  byKey((candidate) => candidate.inner, 'path');
  byKey((candidate) => candidate.inner.slice(candidate.inner.lastIndexOf('/') + 1), 'name');
  byKey((candidate) => candidate.hash, 'content');

  const names = new Set(options.seamNames);
  const groups: UnwatchedCopies[] = [];
  for (const { foundBy, files } of found) {
    // files declared local leave the group, and form their own when two or more remain
    const parts = new Map<LocalFiles | null, Candidate[]>();
    for (const file of files) {
      const entry = localOf(file.path) ?? null;
      parts.set(entry, [...(parts.get(entry) ?? []), file]);
    }
    for (const [entry, part] of parts) {
      if (part.length < 2) continue;
      const group = describe(part, foundBy, entry, names, config.discover.similarity);
      if (group !== undefined) groups.push(group);
    }
  }
  groups.sort(
    (x, y) =>
      Number(x.local !== null) - Number(y.local !== null) ||
      compareStrings(x.canonical, y.canonical),
  );
  return {
    groups,
    unusedLocal: config.local.filter((entry) => !usedLocal.has(entry)),
    localSeamCopies,
  };
}

/** The files of a group that are copies: the canonical file and those near it. */
function copiesIn(group: readonly Candidate[], similarity: number): Candidate[] {
  const clusters = clusterCopies(
    group.map((candidate) => candidate.input),
    similarity,
  );
  return group.filter((_, index) => clusters.relations[index]!.relation !== 'outlier');
}

function describe(
  files: readonly Candidate[],
  foundBy: UnwatchedCopies['foundBy'],
  local: LocalFiles | null,
  names: Set<string>,
  threshold: number,
): UnwatchedCopies | undefined {
  const sorted = [...files].sort(
    (x, y) => compareStrings(x.engine, y.engine) || compareStrings(x.path, y.path),
  );
  const all = clusterCopies(
    sorted.map((file) => file.input),
    threshold,
  );
  // a part of a group (its local files) may have another canonical file: keep its copies only
  const kept = sorted
    .map((_, index) => index)
    .filter((index) => all.relations[index]!.relation !== 'outlier');
  if (kept.length < 2) return undefined;
  const ordered = kept.map((index) => sorted[index]!);
  const relations = kept.map((index) => all.relations[index]!);
  const canonical = sorted[all.canonical]!;
  const classification: Classification = weakest(
    relations.map(({ relation }) => relationClass(relation)),
  );
  const name = uniqueName(canonical, names);
  const sameInner = ordered.every((file) => file.inner === canonical.inner);
  const file = canonical.inner.slice(canonical.inner.lastIndexOf('/') + 1);
  const dir = canonical.inner.slice(0, canonical.inner.length - file.length);
  const ext = file.slice(file.indexOf('.'));
  return {
    name,
    foundBy,
    classification,
    similarity: Math.min(...relations.map((relation) => relation.similarity)),
    canonical: canonical.path,
    files: ordered.map((file, index) => ({
      engine: file.engine,
      path: file.path,
      similarity: relations[index]!.similarity,
    })),
    local: local === null ? null : { reason: local.reason, paths: local.paths },
    suggestion:
      local !== null
        ? null
        : {
            seams: [{ name, files: ordered.map((file) => file.path) }],
            seamPath: sameInner && !file.startsWith('.') ? `${dir}<seam>${ext}` : null,
          },
  };
}

/** The module name in snake_case, made unique with its directory (then a number). */
function uniqueName(file: Candidate, names: Set<string>): string {
  const base = file.inner.slice(file.inner.lastIndexOf('/') + 1);
  const module = seamName(base.slice(0, base.indexOf('.') === -1 ? undefined : base.indexOf('.')));
  const parent = file.inner.split('/').slice(-2, -1)[0];
  let name = module;
  if (names.has(name) && parent !== undefined) name = seamName(`${parent}_${module}`);
  for (let n = 2; names.has(name); n++) name = `${module}_${n}`;
  names.add(name);
  return name;
}
