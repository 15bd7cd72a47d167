/**
 * The end of a seam's life as copies: extraction. A commit extracts a seam when its copies lose
 * code that appears in a module outside their engines, which they now import: each copy shrank
 * (it lost at least a third of its tokens, and at least `MIN_REMOVED_TOKENS`), gained an import
 * it did not have, and at least half of the tokens it lost (in order) are found in the imported
 * module. Two or more copies switching to the same module, in one commit or one after the
 * other, make the seam `extracted`: the report says when and where to, compares what remains of
 * the copies (the adapters) as usual, never counts the extraction commit as a fix, and never
 * recommends extracting the seam again. The extraction stands while two or more of today's
 * copies still import the module.
 *
 * Imports are read from the tokens: `import … from '…'`, `export … from '…'`, `import('…')`,
 * `require('…')` in TypeScript and JavaScript; `use name::…` and `extern crate name` in Rust. A
 * relative specifier names a file; a package name is looked up among the repository's
 * `package.json` files (`name`), a Rust crate among its `Cargo.toml` files (`[package] name`,
 * read with a TOML parser; `-` read as `_`); the module is then that package's or crate's
 * source files.
 */
import { posix } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { align, editsBetween } from './align.js';
import { gitFields, type ObjectReader } from './git.js';
import type { ChangeEvent } from './history.js';
import { normalize, TokenTable } from './normalize.js';
import { compareStrings } from './order.js';
import type { CommitRef } from './report.js';
import { lcsLength } from './similarity.js';
import { languageOf, prepareSource } from './source.js';
import type { Language, Token } from './tokenize/token.js';

/** A copy must lose at least this many tokens (and a third of its own) to count as extracted. */
const MIN_REMOVED_TOKENS = 20;
const MIN_SHRINK = 1 / 3;
/** Share of the lost tokens that must be found, in order, in the imported module. */
const MIN_FOUND = 0.5;
/** Bounds on what is read of a package or crate to look for the lost code. */
const MAX_TARGET_FILES = 64;
const MAX_TARGET_BYTES = 1 << 20;

export interface Extraction {
  readonly commit: CommitRef;
  /** Walk position of the commit: changes after it are the adapters' history. */
  readonly order: number;
  /** The module the copies now import: a package or crate name, or a file path. */
  readonly to: string;
  /** The files of that module (at the extraction commit) where the lost code was found. */
  readonly files: readonly string[];
  /** The change events that moved code out (never fixes). */
  readonly events: readonly ChangeEvent[];
  /** The specifier each switched copy imports, by copy id. */
  readonly specifiers: ReadonlyMap<number, string>;
}

export interface ExtractionOptions {
  readonly cwd: string;
  readonly reader: ObjectReader;
  /** The seam's change events, in walk order. */
  readonly events: readonly ChangeEvent[];
  /** Directories of the engines holding copies of the seam (a target must be outside them). */
  readonly engineDirs: ReadonlySet<string>;
  /** Paths of the seam's copies (file groups: a target must be another file). */
  readonly copyPaths: ReadonlySet<string>;
  readonly modules: ModuleIndex;
}

/** Package and crate names of the repository, found when first needed. */
export class ModuleIndex {
  private packages: Promise<Map<string, string>> | undefined;

  constructor(private readonly cwd: string) {}

  /** The directory of the package or crate named `name`, or undefined. */
  async directoryOf(name: string, language: Language): Promise<string | undefined> {
    this.packages ??= this.load();
    const index = await this.packages;
    return index.get(`${language}\u0000${language === 'rust' ? name.replaceAll('-', '_') : name}`);
  }

  /** The name of the package or crate whose directory holds `path` (the deepest), or undefined. */
  async nameOf(path: string, language: Language): Promise<string | undefined> {
    this.packages ??= this.load();
    const index = await this.packages;
    let best: { name: string; dir: string } | undefined;
    for (const [key, dir] of index) {
      const [lang, name] = key.split('\u0000') as [string, string];
      if (lang !== language || (dir !== '' && !path.startsWith(`${dir}/`))) continue;
      if (best === undefined || dir.length > best.dir.length) best = { name, dir };
    }
    return best?.name;
  }

  private async load(): Promise<Map<string, string>> {
    const index = new Map<string, string>();
    const manifests: string[] = [];
    for await (const path of gitFields(this.cwd, [
      'ls-files',
      '-z',
      '--',
      ':(glob)**/package.json',
      ':(glob)**/Cargo.toml',
    ])) {
      if (path !== '') manifests.push(path);
    }
    const { readFile } = await import('node:fs/promises');
    for (const path of manifests.sort(compareStrings)) {
      let text: string;
      try {
        text = await readFile(posix.join(this.cwd, path), 'utf8');
      } catch {
        continue;
      }
      const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
      if (path.endsWith('package.json')) {
        try {
          const name = (JSON.parse(text) as { name?: unknown }).name;
          if (typeof name === 'string') index.set(`typescript\u0000${name}`, dir);
        } catch {
          // not a manifest we can read: skip it
        }
      } else {
        const name = crateName(text);
        if (name !== undefined) index.set(`rust\u0000${name.replaceAll('-', '_')}`, dir);
      }
    }
    return index;
  }
}

/**
 * The `[package] name` of a Cargo manifest, read with a TOML parser (arrays, inline tables,
 * dotted keys and comments before the name are all TOML), or undefined for a manifest without a
 * package (a workspace root) or one that is not valid TOML.
 */
export function crateName(manifest: string): string | undefined {
  let parsed: Record<string, unknown>;
  try {
    parsed = parseToml(manifest) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const table = parsed.package;
  if (typeof table !== 'object' || table === null || Array.isArray(table)) return undefined;
  const name = (table as Record<string, unknown>).name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** The first extraction of the seam in its history, or undefined. */
export async function findExtraction(options: ExtractionOptions): Promise<Extraction | undefined> {
  const shrinking = options.events.filter((event) => {
    const removed = event.signature.filter((token) => (token & 1) === 0).length;
    return (
      event.revertedBy === undefined &&
      removed >= MIN_REMOVED_TOKENS &&
      event.sizeBefore - event.sizeAfter >= MIN_SHRINK * event.sizeBefore
    );
  });
  /** Copies that moved code to a module so far: module → copy id → its event and specifier. */
  const switched = new Map<string, Map<number, { event: ChangeEvent; specifier: string }>>();
  const filesOf = new Map<string, string[]>();
  for (const event of shrinking) {
    const found = await movedTo(event, options);
    if (found === undefined) continue;
    const copies = switched.get(found.to) ?? new Map();
    copies.set(event.copy.id, { event, specifier: found.specifier });
    switched.set(found.to, copies);
    filesOf.set(found.to, found.files);
    if (copies.size >= 2) {
      const events = [...copies.values()].map((entry) => entry.event);
      return {
        commit: event.commit,
        order: event.order,
        to: found.to,
        files: found.files,
        events,
        specifiers: new Map([...copies].map(([id, entry]) => [id, entry.specifier])),
      };
    }
  }
  return undefined;
}

/** Where a shrinking change moved its code: the imported module holding most of it. */
async function movedTo(
  event: ChangeEvent,
  options: ExtractionOptions,
): Promise<{ to: string; specifier: string; files: string[] } | undefined> {
  const read = async (oid: string) =>
    (await options.reader.read(oid))?.content.toString('utf8') ?? '';
  const table = new TokenTable();
  const before = prepareSource(await read(event.previousOid), event.language);
  const after = prepareSource(await read(event.oid), event.language);
  const known = new Set(importsOf(before.tokens, event.language));
  const added = importsOf(after.tokens, event.language).filter((spec) => !known.has(spec));
  if (added.length === 0) return undefined;
  const a = normalize(before.tokens, 'code', table).ids;
  const b = normalize(after.tokens, 'code', table).ids;
  const removed: number[] = [];
  for (const edit of editsBetween(align(a, b), a.length, b.length)) {
    for (let i = edit.aStart; i < edit.aEnd; i++) removed.push(a[i]!);
  }
  for (const specifier of added) {
    const target = await resolveModule(specifier, event, options);
    if (target === undefined) continue;
    const ids: number[] = [];
    for (const file of target.files) {
      const language = languageOf(file) ?? event.language;
      const text = (await options.reader.readText(`${event.commit.hash}:${file}`)) ?? '';
      for (const id of normalize(prepareSource(text, language).tokens, 'code', table).ids)
        ids.push(id);
    }
    if (lcsLength(removed, ids) >= MIN_FOUND * removed.length) {
      return { to: target.name, specifier, files: target.files };
    }
  }
  return undefined;
}

/** The module a specifier names at the event's commit: its name and source files. */
async function resolveModule(
  specifier: string,
  event: ChangeEvent,
  options: ExtractionOptions,
): Promise<{ name: string; files: string[] } | undefined> {
  const at = event.commit.hash;
  const outside = (path: string) =>
    !options.copyPaths.has(path) &&
    ![...options.engineDirs].some((dir) => dir !== '' && path.startsWith(`${dir}/`));
  if (event.language === 'typescript' && specifier.startsWith('.')) {
    const base = posix.normalize(posix.join(posix.dirname(event.path), specifier));
    const stem = base.replace(/\.(m|c)?jsx?$/, '');
    for (const candidate of [
      base,
      ...['.ts', '.tsx', '.mts', '.js', '.mjs'].map((ext) => `${stem}${ext}`),
      ...['index.ts', 'index.js', 'mod.ts'].map((file) => posix.join(base, file)),
    ]) {
      if (!outside(candidate)) continue;
      const object = await options.reader.read(`${at}:${candidate}`);
      if (object?.type === 'blob') return { name: candidate, files: [candidate] };
    }
    return undefined;
  }
  const name =
    event.language === 'rust'
      ? specifier
      : specifier.startsWith('@')
        ? specifier.split('/').slice(0, 2).join('/')
        : specifier.split('/')[0]!;
  const dir = await options.modules.directoryOf(name, event.language);
  if (dir === undefined || !outside(`${dir}/x`)) return undefined;
  const files: string[] = [];
  let bytes = 0;
  const args = ['ls-tree', '-r', '-z', '--long', at, '--', dir === '' ? '.' : dir];
  for await (const field of gitFields(options.cwd, args)) {
    const tab = field.indexOf('\t');
    if (tab === -1) continue;
    const path = field.slice(tab + 1);
    const size = Number(field.slice(0, tab).trim().split(/\s+/)[3]);
    const language = languageOf(path);
    if (language !== event.language || /(^|\/)(node_modules|dist|target|tests?)\//.test(path))
      continue;
    if (/\.(test|spec)\.[cm]?[jt]sx?$|\.d\.ts$/.test(path)) continue;
    if (files.length >= MAX_TARGET_FILES || bytes + size > MAX_TARGET_BYTES) break;
    files.push(path);
    bytes += size;
  }
  return files.length === 0 ? undefined : { name, files };
}

const RUST_LOCAL_ROOTS = new Set(['crate', 'self', 'super', 'std', 'core', 'alloc']);

/** The modules a source imports: specifiers (TypeScript) or crate names (Rust). */
export function importsOf(tokens: readonly Token[], language: Language): string[] {
  const code = tokens.filter((token) => token.kind !== 'comment');
  const found: string[] = [];
  for (let i = 0; i < code.length; i++) {
    const token = code[i]!;
    if (language === 'rust') {
      if (token.text === 'use') {
        let j = i + 1;
        if (code[j]?.text === '::') j++;
        const root = code[j];
        if (root !== undefined && root.kind === 'identifier' && !RUST_LOCAL_ROOTS.has(root.text))
          found.push(root.text);
      } else if (token.text === 'extern' && code[i + 1]?.text === 'crate') {
        const name = code[i + 2];
        if (name?.kind === 'identifier') found.push(name.text);
      }
      continue;
    }
    if (token.kind !== 'string') continue;
    const previous = code[i - 1];
    const before = code[i - 2];
    const isImport =
      previous?.text === 'from' ||
      (previous?.text === 'import' && before?.text !== '.') ||
      (previous?.text === '(' && (before?.text === 'import' || before?.text === 'require'));
    if (isImport) found.push(token.text.slice(1, -1));
  }
  return [...new Set(found)];
}
