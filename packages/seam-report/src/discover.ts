/**
 * Which files are seam copies: engine directory globs × seam path patterns, matched against
 * repository paths (the working tree's file list today, the paths a commit touched in history).
 * An engine is named by its directory's last segment, so an engine moved from `crates/x` to
 * `packages/x` stays the same engine.
 */
import type { ResolvedConfig } from './config.js';
import { seamName } from './config.js';
import { ConfigError } from './errors.js';
import { compareStrings, sortedStrings } from './order.js';
import { languageOf } from './source.js';
import type { Language } from './tokenize/token.js';

export interface CopyLocation {
  /** Engine name: the engine directory's last path segment. */
  readonly engine: string;
  /** Engine directory relative to the repository root. */
  readonly engineDir: string;
  /** Seam name: the module name in snake_case (`wal-file.ts` → `wal_file`). */
  readonly seam: string;
  readonly path: string;
  readonly language: Language;
}

/** Rust keeps test files beside code as `tests.rs` or `*_test.rs`: never copies to compare. */
const RUST_TEST_MODULE = /(^|_)tests?$/;

/** Why a path that fits the engine × path grid is not a copy. */
export interface DroppedCopy {
  readonly by: 'exclude' | 'engines';
  /** The configuration entry that dropped it (`index`, `!packages/legacy`). */
  readonly entry: string;
  readonly seam: string;
  readonly engineDir: string;
}

export interface MatchDetail {
  readonly location?: CopyLocation;
  readonly dropped?: DroppedCopy;
  /** Index in `engines` of the (positive) pattern the engine directory matched. */
  readonly enginePattern?: number;
  /** Index in `seamPaths` of the pattern the path matched. */
  readonly seamPath?: number;
}

export class CopyMatcher {
  private readonly patterns: readonly {
    readonly regex: RegExp;
    readonly engine: number;
    readonly seamPath: number;
  }[];
  private readonly negated: readonly { readonly regex: RegExp; readonly entry: string }[];
  private readonly exclude: ReadonlySet<string>;
  /** File-group copies by path. */
  private readonly groupFiles: ReadonlyMap<string, { seam: string; label: string }>;
  /** Git pathspecs that select every candidate path (then `match` decides precisely). */
  readonly pathspecs: readonly string[];
  /**
   * Plain directory prefixes (no glob) containing every candidate, for commands that take no
   * pathspec magic (`git ls-tree`); empty when a pattern starts with a glob.
   */
  readonly directories: readonly string[];

  constructor(
    config: Pick<ResolvedConfig, 'engines' | 'seamPaths' | 'exclude'> &
      Partial<Pick<ResolvedConfig, 'fileGroups'>>,
  ) {
    const patterns: { regex: RegExp; engine: number; seamPath: number }[] = [];
    const negated: { regex: RegExp; entry: string }[] = [];
    const pathspecs: string[] = [];
    const prefixes: string[] = [];
    config.engines.forEach((entry, engineIndex) => {
      if (entry.startsWith('!')) {
        negated.push({ regex: new RegExp(`^${globToRegex(entry.slice(1))}$`), entry });
        return;
      }
      config.seamPaths.forEach((seamPath, seamPathIndex) => {
        const [before, after] = seamPath.split('<seam>') as [string, string];
        patterns.push({
          regex: new RegExp(
            `^(?<dir>${globToRegex(entry)})/${globToRegex(before)}(?<module>[^/.]+)${globToRegex(after)}$`,
          ),
          engine: engineIndex,
          seamPath: seamPathIndex,
        });
        pathspecs.push(`:(glob)${entry}/${seamPath.replace('<seam>', '*')}`);
      });
      const literal = entry.split('/');
      const glob = literal.findIndex((segment) => /[*?[]/.test(segment));
      prefixes.push((glob === -1 ? literal : literal.slice(0, glob)).join('/'));
    });
    const groupFiles = new Map<string, { seam: string; label: string }>();
    for (const group of config.fileGroups ?? []) {
      const labels = copyLabels(group.files);
      group.files.forEach((file, i) => {
        groupFiles.set(file, { seam: group.name, label: labels[i]! });
        pathspecs.push(`:(literal)${file}`);
        prefixes.push(file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '');
      });
    }
    this.patterns = patterns;
    this.negated = negated;
    this.groupFiles = groupFiles;
    this.pathspecs = [...new Set(pathspecs)];
    this.directories = prefixes.includes('') ? [] : [...new Set(prefixes)];
    this.exclude = new Set(config.exclude);
  }

  /** The copy a repository path is, or undefined when it is not a seam copy. */
  match(path: string): CopyLocation | undefined {
    return this.inspect(path).location;
  }

  /** How a path fits the configuration: the copy it is, or why it was dropped. */
  inspect(path: string): MatchDetail {
    const group = this.groupFiles.get(path);
    const language = languageOf(path);
    if (group !== undefined && language !== undefined) {
      const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
      return {
        location: { engine: group.label, engineDir: dir, seam: group.seam, path, language },
      };
    }
    for (const pattern of this.patterns) {
      const groups = pattern.regex.exec(path)?.groups;
      if (groups === undefined) continue;
      const dir = groups.dir!;
      const module = groups.module!;
      if (language === undefined) continue;
      if (language === 'rust' && RUST_TEST_MODULE.test(module)) continue;
      const seam = seamName(module);
      const where = { enginePattern: pattern.engine, seamPath: pattern.seamPath };
      const negation = this.negated.find((negated) => negated.regex.test(dir));
      if (negation !== undefined) {
        return {
          ...where,
          dropped: { by: 'engines', entry: negation.entry, seam, engineDir: dir },
        };
      }
      if (this.exclude.has(seam)) {
        return { ...where, dropped: { by: 'exclude', entry: seam, seam, engineDir: dir } };
      }
      return {
        ...where,
        location: {
          engine: dir.slice(dir.lastIndexOf('/') + 1),
          engineDir: dir,
          seam,
          path,
          language,
        },
      };
    }
    return {};
  }
}

/**
 * Names for the copies of a file group: the shortest trailing part of each path (whole
 * segments) that tells it from the others: `WorkLoop.new.js` and `WorkLoop.old.js`, or
 * `a/src/x.ts` and `b/src/x.ts`.
 */
export function copyLabels(files: readonly string[]): string[] {
  const segments = files.map((file) => file.split('/'));
  return segments.map((parts, i) => {
    for (let take = 1; take <= parts.length; take++) {
      const label = parts.slice(-take).join('/');
      const clash = segments.some((other, j) => j !== i && other.slice(-take).join('/') === label);
      if (!clash) return label;
    }
    return files[i]!;
  });
}

/** Glob → regex source: `**` any number of segments, `*` within a segment, `?` one character. */
export function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more whole segments; a trailing `**` matches the rest
      if (glob[i + 2] === '/') {
        out += '(?:[^/]+/)*';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

export interface Discovery {
  /** Engines with at least one module, by name. */
  readonly engines: readonly { name: string; dir: string; modules: readonly string[] }[];
  /** Seams (two or more copies, or listed in config) with their copies, by engine name. */
  readonly seams: ReadonlyMap<string, readonly CopyLocation[]>;
  /** Modules found in one engine only. */
  readonly singles: readonly CopyLocation[];
  /** Modules with copies in two or more engines that `seams` does not list: copies not watched. */
  readonly unwatched: ReadonlyMap<string, readonly CopyLocation[]>;
}

export interface DiscoverOptions {
  /**
   * Refuse two files of one engine that name the same module (`wal.ts` and `wal.mjs`, or
   * `fixed-map.ts` and `fixed_map.ts`): one of them would be silently dropped. On for the
   * working tree; off for historical trees, where the first path wins.
   */
  readonly strict?: boolean;
}

/** Groups matched copies into engines and seams. `paths` come from one tree (or revision). */
export function discover(
  paths: Iterable<string>,
  matcher: CopyMatcher,
  config: Pick<ResolvedConfig, 'seams'> & Partial<Pick<ResolvedConfig, 'fileGroups'>>,
  treeName: string,
  options: DiscoverOptions = {},
): Discovery {
  const byEngine = new Map<string, { dir: string; copies: Map<string, CopyLocation> }>();
  const groups = new Map<string, CopyLocation[]>();
  const groupNames = new Set((config.fileGroups ?? []).map((group) => group.name));
  for (const path of paths) {
    const copy = matcher.match(path);
    if (copy === undefined) continue;
    if (
      groupNames.has(copy.seam) &&
      (config.fileGroups ?? []).some((g) => g.files.includes(path))
    ) {
      const list = groups.get(copy.seam) ?? [];
      list.push(copy);
      groups.set(copy.seam, list);
      continue;
    }
    let engine = byEngine.get(copy.engine);
    if (engine === undefined) {
      engine = { dir: copy.engineDir, copies: new Map() };
      byEngine.set(copy.engine, engine);
    } else if (engine.dir !== copy.engineDir) {
      throw new ConfigError(
        'config_invalid',
        undefined,
        `two engine directories are both named "${copy.engine}" in ${treeName}: ${engine.dir} and ${copy.engineDir}`,
        'Engines are named by their directory; narrow "engines" in the configuration (a "!pattern" entry leaves one out) so that each name is one directory.',
      );
    }
    const existing = engine.copies.get(copy.seam);
    if (existing !== undefined && options.strict) {
      const [first, second] = sortedStrings([existing.path, copy.path]);
      throw new ConfigError(
        'config_invalid',
        undefined,
        `engine ${copy.engine} has two copies of ${copy.seam} in ${treeName}: ${first} and ${second}`,
        `Every copy is compared, so one file per engine must match: narrow "seamPaths", or declare the files as a seam of their own ({"name": "${copy.seam}", "files": [...]}) in "seams".`,
      );
    }
    // in a historical tree the first path (in code-unit order) wins
    if (existing === undefined || compareStrings(copy.path, existing.path) < 0) {
      engine.copies.set(copy.seam, copy);
    }
  }
  const bySeam = new Map<string, CopyLocation[]>();
  for (const engine of byEngine.values()) {
    for (const copy of engine.copies.values()) {
      const list = bySeam.get(copy.seam) ?? [];
      list.push(copy);
      bySeam.set(copy.seam, list);
    }
  }
  const wanted = config.seams === null ? undefined : new Set(config.seams);
  const seams = new Map<string, CopyLocation[]>();
  const unwatched = new Map<string, CopyLocation[]>();
  const singles: CopyLocation[] = [];
  for (const name of sortedStrings(new Set([...bySeam.keys(), ...groups.keys()]))) {
    const group = groups.get(name);
    if (group !== undefined) {
      // a file group's copies, in the order the configuration lists them
      const order = config.fileGroups!.find((g) => g.name === name)!.files;
      group.sort((x, y) => order.indexOf(x.path) - order.indexOf(y.path));
      if (group.length >= 2) seams.set(name, group);
      continue;
    }
    const copies = bySeam.get(name)!.sort((x, y) => compareStrings(x.engine, y.engine));
    if (copies.length < 2) singles.push(...copies);
    else if (wanted === undefined || wanted.has(name)) seams.set(name, copies);
    else unwatched.set(name, copies);
  }
  return {
    engines: sortedStrings(byEngine.keys()).map((name) => {
      const engine = byEngine.get(name)!;
      return { name, dir: engine.dir, modules: sortedStrings(engine.copies.keys()) };
    }),
    seams,
    singles,
    unwatched,
  };
}
