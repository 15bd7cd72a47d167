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

export class CopyMatcher {
  private readonly patterns: readonly RegExp[];
  private readonly exclude: ReadonlySet<string>;
  /** Git pathspecs that select every candidate path (then `match` decides precisely). */
  readonly pathspecs: readonly string[];
  /**
   * Plain directory prefixes (no glob) containing every candidate, for commands that take no
   * pathspec magic (`git ls-tree`); empty when a pattern starts with a glob.
   */
  readonly directories: readonly string[];

  constructor(config: Pick<ResolvedConfig, 'engines' | 'seamPaths' | 'exclude'>) {
    const patterns: RegExp[] = [];
    const pathspecs: string[] = [];
    for (const engine of config.engines) {
      for (const seamPath of config.seamPaths) {
        const [before, after] = seamPath.split('<seam>') as [string, string];
        patterns.push(
          new RegExp(
            `^(?<dir>${globToRegex(engine)})/${globToRegex(before)}(?<module>[^/.]+)${globToRegex(after)}$`,
          ),
        );
        pathspecs.push(`:(glob)${engine}/${seamPath.replace('<seam>', '*')}`);
      }
    }
    this.patterns = patterns;
    this.pathspecs = [...new Set(pathspecs)];
    const prefixes = config.engines.map((engine) => {
      const literal = engine.split('/');
      const glob = literal.findIndex((segment) => /[*?[]/.test(segment));
      return (glob === -1 ? literal : literal.slice(0, glob)).join('/');
    });
    this.directories = prefixes.includes('') ? [] : [...new Set(prefixes)];
    this.exclude = new Set(config.exclude);
  }

  /** The copy a repository path is, or undefined when it is not a seam copy. */
  match(path: string): CopyLocation | undefined {
    for (const pattern of this.patterns) {
      const groups = pattern.exec(path)?.groups;
      if (groups === undefined) continue;
      const dir = groups.dir!;
      const module = groups.module!;
      const language = languageOf(path);
      if (language === undefined) continue;
      if (language === 'rust' && RUST_TEST_MODULE.test(module)) continue;
      const seam = seamName(module);
      if (this.exclude.has(seam)) continue;
      return { engine: dir.slice(dir.lastIndexOf('/') + 1), engineDir: dir, seam, path, language };
    }
    return undefined;
  }
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
  /** Modules found in one engine only (and not configured as seams). */
  readonly singles: readonly CopyLocation[];
}

/** Groups matched copies into engines and seams. `paths` come from one tree (or revision). */
export function discover(
  paths: Iterable<string>,
  matcher: CopyMatcher,
  config: Pick<ResolvedConfig, 'seams'>,
  treeName: string,
): Discovery {
  const byEngine = new Map<string, { dir: string; copies: Map<string, CopyLocation> }>();
  for (const path of paths) {
    const copy = matcher.match(path);
    if (copy === undefined) continue;
    let engine = byEngine.get(copy.engine);
    if (engine === undefined) {
      engine = { dir: copy.engineDir, copies: new Map() };
      byEngine.set(copy.engine, engine);
    } else if (engine.dir !== copy.engineDir) {
      throw new ConfigError(
        'config_invalid',
        undefined,
        `two engine directories are both named "${copy.engine}" in ${treeName}: ${engine.dir} and ${copy.engineDir}`,
        'Engines are named by their directory; narrow "engines" in the configuration so that each name is one directory.',
      );
    }
    // the first seam path pattern wins when an engine has e.g. both wal.ts and wal.js
    const existing = engine.copies.get(copy.seam);
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
  const singles: CopyLocation[] = [];
  for (const name of sortedStrings(bySeam.keys())) {
    const copies = bySeam.get(name)!.sort((x, y) => compareStrings(x.engine, y.engine));
    const isSeam =
      wanted === undefined ? copies.length >= 2 : wanted.has(name) && copies.length >= 2;
    if (isSeam) seams.set(name, copies);
    else singles.push(...copies);
  }
  return {
    engines: sortedStrings(byEngine.keys()).map((name) => {
      const engine = byEngine.get(name)!;
      return { name, dir: engine.dir, modules: sortedStrings(engine.copies.keys()) };
    }),
    seams,
    singles,
  };
}
