/**
 * Files that hold nothing but constants, and files a generator script of the repository writes.
 *
 * Per-package constant files (`export const ATTR_HTTP_METHOD = 'http.method' as const;`) have the
 * same shape in every package, so their copies classify `renamed`, "a mechanical move with type
 * or constant parameters"; but when their names or values differ, there is no code to share: the
 * shape is the language's syntax for a constant, and the data is each package's own. Such files
 * are often written by a script of the repository (`scripts/gen-semconv.mjs`) whose output
 * carries no "generated" header; when a generator script names the file and writes files, the
 * copies are generated, not maintained by hand.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { gitFields } from './git.js';
import { compareStrings } from './order.js';
import type { Token } from './tokenize/token.js';

/**
 * Whether a file's code is only constant declarations of literal values: TypeScript
 * `[export] const NAME[: T] = <literal> [as const | as T];`, Rust `[pub[(…)]] const|static NAME:
 * T = <literal>;`. A negative number and a literal in parentheses count as literals. At least one
 * declaration; comments are ignored.
 */
export function onlyConstants(tokens: readonly Token[]): boolean {
  const code = tokens.filter((token) => token.kind !== 'comment');
  let declarations = 0;
  let i = 0;
  const text = (at: number) => code[at]?.text;
  while (i < code.length) {
    if (text(i) === 'export') i++;
    if (text(i) === 'pub') {
      i++;
      if (text(i) === '(') {
        while (i < code.length && text(i) !== ')') i++;
        i++;
      }
    }
    if (text(i) !== 'const' && text(i) !== 'static') return false;
    i++;
    if (code[i]?.kind !== 'identifier') return false;
    i++;
    // an optional type annotation, up to the `=`
    if (text(i) === ':') {
      while (i < code.length && text(i) !== '=' && text(i) !== ';') i++;
    }
    if (text(i) !== '=') return false;
    i++;
    let parens = 0;
    while (text(i) === '(') {
      parens++;
      i++;
    }
    if (text(i) === '-' || text(i) === '&') i++;
    const value = code[i];
    if (value === undefined) return false;
    const literal =
      value.kind === 'number' ||
      value.kind === 'string' ||
      value.kind === 'char' ||
      value.kind === 'boolean' ||
      (value.kind === 'template' && !value.text.includes('${'));
    if (!literal) return false;
    i++;
    for (; parens > 0; parens--, i++) if (text(i) !== ')') return false;
    if (text(i) === 'as') {
      i++;
      if (code[i] === undefined) return false;
      i++; // `const` or a type name
    }
    if (text(i) !== ';') return false;
    i++;
    declarations++;
  }
  return declarations > 0;
}

/** At most this many scripts are read, each at most `MAX_SCRIPT_BYTES`. */
const MAX_SCRIPTS = 200;
const MAX_SCRIPT_BYTES = 256 * 1024;

/**
 * A script that generates files: under a `scripts/` or `tools/` directory or at the root, named
 * for generation (`gen-semconv.mjs`, `generate_codes.py`, `codegen.ts`, `semconv-gen.js`).
 */
const GENERATOR_NAME =
  /(?:^|[-_.])(?:gen|generate|generator|codegen)(?:[-_.]|$)|^(?:gen|generate|codegen)[A-Z]/;
const SCRIPT_EXTENSION = /\.(?:[cm]?[jt]s|py|sh|rb|pl)$/;

/** A call that writes a file, in the usual scripting languages. */
const WRITES_FILES =
  /\bwrite(?:File|FileSync|_text|_bytes)?\s*\(|\bcreateWriteStream\s*\(|\bopen\s*\([^)]*['"][wa]\+?b?['"]|\b(?:cat|tee|printf|echo)\b[^\n]*>\s*\S/;

/** The generator scripts of a repository and which file names they write. */
export class GeneratorScripts {
  private constructor(private readonly scripts: readonly { path: string; text: string }[]) {}

  static async find(root: string): Promise<GeneratorScripts> {
    const paths: string[] = [];
    for await (const path of gitFields(root, [
      'ls-files',
      '-z',
      '--cached',
      '--others',
      '--exclude-standard',
      '--',
      ':(glob)**/scripts/**',
      ':(glob)**/tools/**',
      ':(glob)*',
    ])) {
      if (path === '' || !SCRIPT_EXTENSION.test(path) || path.includes('node_modules/')) continue;
      const name = posix.basename(path).replace(SCRIPT_EXTENSION, '');
      if (GENERATOR_NAME.test(name)) paths.push(path);
    }
    const scripts: { path: string; text: string }[] = [];
    for (const path of paths.sort(compareStrings).slice(0, MAX_SCRIPTS)) {
      try {
        const info = await stat(join(root, path));
        if (!info.isFile() || info.size > MAX_SCRIPT_BYTES) continue;
        const text = await readFile(join(root, path), 'utf8');
        if (WRITES_FILES.test(text)) scripts.push({ path, text });
      } catch {
        // deleted from the working tree, or unreadable: it generates nothing we can tell
      }
    }
    return new GeneratorScripts(scripts);
  }

  /**
   * The script that writes files named like `path` (its file name appears in the script as a
   * name of its own: quoted, or after a slash), or undefined.
   */
  writerOf(path: string): string | undefined {
    if (this.scripts.length === 0) return undefined;
    const name = posix.basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const named = new RegExp(`(?:^|[\\s'"\`/])${name}(?:['"\`\\s]|$)`, 'm');
    return this.scripts.find((script) => named.test(script.text))?.path;
  }
}
