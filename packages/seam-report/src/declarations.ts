/**
 * The declarations of a copy (functions, classes and their members, constants, types; for Rust
 * also structs, enums, traits, impl methods, statics, macros) located by a light scan of the
 * token stream, and their comparison across copies: which exist in only some copies, and which
 * differ. This is what lets a report say "`scan()` differs" rather than only "72 %".
 *
 * The scan is not a parser. It relies on braces and semicolons (which formatters keep) and on
 * the leading keyword of each item; anything it does not recognise is skipped as a statement.
 */
import { normalizedText, TokenTable } from './normalize.js';
import { roundRatio, similarityRatio } from './similarity.js';
import type { Language, Token } from './tokenize/token.js';

export type DeclarationKind =
  | 'function'
  | 'class'
  | 'method'
  | 'getter'
  | 'setter'
  | 'field'
  | 'constant'
  | 'variable'
  | 'type'
  | 'interface'
  | 'enum'
  | 'namespace'
  | 'struct'
  | 'trait'
  | 'static'
  | 'macro';

export interface Declaration {
  /** Qualified name: `Class.method` in TypeScript, `Type::method` / `module::item` in Rust. */
  readonly name: string;
  readonly kind: DeclarationKind;
  readonly exported: boolean;
  readonly line: number;
  /** Token range `[first, last]` in the comment-free token list it was found in. */
  readonly first: number;
  readonly last: number;
}

/** Finds declarations in comment-free tokens (see `codeTokens`). */
export function findDeclarations(code: readonly Token[], language: Language): Declaration[] {
  const found =
    language === 'rust' ? new RustScanner(code).scan() : new TypeScriptScanner(code).scan();
  return found.sort((x, y) => x.first - y.first);
}

// ---------------------------------------------------------------------------------------------
// Shared scanning helpers

const OPENERS = new Set(['(', '[', '{']);
const CLOSERS = new Set([')', ']', '}']);

/** Index of the bracket closing the one at `open`, or the last index when unbalanced. */
function closing(code: readonly Token[], open: number, limit: number): number {
  let depth = 0;
  for (let i = open; i < limit; i++) {
    const text = code[i]!.text;
    if (OPENERS.has(text)) depth++;
    else if (CLOSERS.has(text)) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return limit - 1;
}

// ---------------------------------------------------------------------------------------------
// TypeScript / JavaScript

const TS_STATEMENT_STARTS = new Set([
  'export',
  'function',
  'class',
  'const',
  'let',
  'var',
  'interface',
  'enum',
  'import',
  'abstract',
  'declare',
  'namespace',
]);
const TS_TOP_MODIFIERS = new Set(['export', 'declare', 'default', 'async', 'abstract']);
const TS_MEMBER_MODIFIERS = new Set([
  'public',
  'private',
  'protected',
  'static',
  'readonly',
  'async',
  'abstract',
  'override',
  'declare',
  'accessor',
]);

class TypeScriptScanner {
  private readonly code: readonly Token[];
  private readonly declarations: Declaration[] = [];
  private readonly exportedNames = new Set<string>();

  constructor(code: readonly Token[]) {
    this.code = code;
  }

  scan(): Declaration[] {
    let i = 0;
    // every step moves forward, even over a stray closing brace
    while (i < this.code.length) i = Math.max(this.statement(i), i) + 1;
    // `export { a, b }` lists mark earlier declarations exported
    return this.declarations.map((declaration) =>
      !declaration.exported && this.exportedNames.has(declaration.name)
        ? { ...declaration, exported: true }
        : declaration,
    );
  }

  /** Scans one top-level statement starting at `start`; returns its last token index. */
  private statement(start: number): number {
    const { code } = this;
    let i = start;
    let exported = false;
    while (i < code.length && TS_TOP_MODIFIERS.has(code[i]!.text) && code[i]!.kind === 'keyword') {
      if (code[i]!.text === 'export') exported = true;
      i++;
    }
    const keyword = code[i];
    if (keyword === undefined) return code.length - 1;
    const name = code[i + 1];
    switch (keyword.text) {
      case 'function': {
        const nameAt = code[i + 1]?.text === '*' ? i + 2 : i + 1;
        const end = this.functionEnd(nameAt + 1);
        this.add(code[nameAt]?.text ?? 'default', 'function', exported, start, end);
        return end;
      }
      case 'class':
        return this.classDeclaration(start, i, exported);
      case 'interface':
      case 'enum': {
        const end = this.blockEnd(i + 1);
        this.add(name?.text ?? '?', keyword.text, exported, start, end);
        return end;
      }
      case 'namespace': {
        const end = this.blockEnd(i + 1);
        this.add(name?.text ?? '?', 'namespace', exported, start, end);
        return end;
      }
      case 'type': {
        if (name?.kind !== 'identifier') break;
        const end = this.statementEnd(i + 1);
        this.add(name.text, 'type', exported, start, end);
        return end;
      }
      case 'const':
      case 'let':
      case 'var': {
        if (code[i + 1]?.text === 'enum') {
          const end = this.blockEnd(i + 2);
          this.add(code[i + 2]?.text ?? '?', 'enum', exported, start, end);
          return end;
        }
        const end = this.statementEnd(i + 1);
        const kind = keyword.text === 'const' ? 'constant' : 'variable';
        this.add(name?.text ?? '?', kind, exported, start, end);
        return end;
      }
      case '{':
        if (exported) return this.exportList(i);
        break;
    }
    return this.statementEnd(i);
  }

  private add(
    name: string,
    kind: DeclarationKind,
    exported: boolean,
    first: number,
    last: number,
  ): void {
    this.declarations.push({ name, kind, exported, line: this.code[first]!.line, first, last });
  }

  /** `export { a, b as c };` */
  private exportList(open: number): number {
    const close = closing(this.code, open, this.code.length);
    for (let k = open + 1; k < close; k++) {
      const token = this.code[k]!;
      if (token.kind === 'identifier' && this.code[k - 1]?.text !== 'as') {
        this.exportedNames.add(token.text);
      }
    }
    return this.code[close + 1]?.text === ';' ? close + 1 : close;
  }

  /**
   * End of a statement: the `;` at bracket depth 0, or the token before a statement keyword
   * that starts a new line at depth 0 (code written without semicolons), or a closing brace
   * that ends an enclosing block.
   */
  private statementEnd(from: number): number {
    const { code } = this;
    let depth = 0;
    for (let k = from; k < code.length; k++) {
      const token = code[k]!;
      if (OPENERS.has(token.text)) depth++;
      else if (CLOSERS.has(token.text)) {
        if (depth === 0) return k - 1;
        depth--;
      } else if (depth === 0) {
        if (token.text === ';') return k;
        const previous = code[k - 1];
        if (
          k > from &&
          token.kind === 'keyword' &&
          TS_STATEMENT_STARTS.has(token.text) &&
          previous !== undefined &&
          previous.line < token.line &&
          previous.text !== '=' &&
          previous.text !== '=>'
        ) {
          return k - 1;
        }
      }
    }
    return code.length - 1;
  }

  /** End of a declaration with a `{…}` body after a header: the body's closing brace. */
  private blockEnd(from: number): number {
    for (let k = from; k < this.code.length; k++) {
      const text = this.code[k]!.text;
      if (text === '{') return closing(this.code, k, this.code.length);
      if (text === ';') return k;
      if (text === '(' || text === '[') k = closing(this.code, k, this.code.length);
    }
    return this.code.length - 1;
  }

  /**
   * End of a function or method from just after its name: skips type parameters and the
   * parameter list, then a return type (which may itself be an object type `{…}`), then the
   * body; an overload signature ends at its `;`.
   */
  private functionEnd(from: number): number {
    const { code } = this;
    let k = from;
    let angle = 0;
    for (; k < code.length; k++) {
      const text = code[k]!.text;
      if (text === '<') angle++;
      else if (text === '>') angle--;
      else if (text === '(' && angle <= 0) break;
    }
    if (k >= code.length) return code.length - 1;
    k = closing(code, k, code.length) + 1;
    if (code[k]?.text === ':') {
      k++;
      if (code[k]?.text === '{') k = closing(code, k, code.length) + 1;
    }
    for (; k < code.length; k++) {
      const text = code[k]!.text;
      if (text === '{') return closing(code, k, code.length);
      if (text === ';') return k;
      if (text === '(' || text === '[') k = closing(code, k, code.length);
      if (text === '}') return k - 1;
    }
    return code.length - 1;
  }

  private classDeclaration(start: number, classAt: number, exported: boolean): number {
    const { code } = this;
    const nameToken = code[classAt + 1];
    const className = nameToken?.kind === 'identifier' ? nameToken.text : 'default';
    let open = classAt + 1;
    while (open < code.length && code[open]!.text !== '{') {
      if (code[open]!.text === '(') open = closing(code, open, code.length);
      open++;
    }
    if (open >= code.length) return code.length - 1;
    const close = closing(code, open, code.length);
    // the class itself covers its header; members are declarations of their own
    this.add(className, 'class', exported, start, open);
    let k = open + 1;
    while (k < close) k = Math.max(this.member(className, k, close), k) + 1;
    return close;
  }

  /** Scans one class member starting at `start`; returns its last token index. */
  private member(className: string, start: number, close: number): number {
    const { code } = this;
    let k = start;
    if (code[k]!.text === ';') return k;
    while (code[k]?.text === '@') {
      k += 2; // '@' name
      while (code[k]?.text === '.' && k < close) k += 2;
      if (code[k]?.text === '(') k = closing(code, k, close) + 1;
    }
    let kind: DeclarationKind = 'method';
    while (k < close) {
      const token = code[k]!;
      const next = code[k + 1];
      const isModifier = TS_MEMBER_MODIFIERS.has(token.text) && token.kind === 'keyword';
      const isAccessor =
        (token.text === 'get' || token.text === 'set') &&
        next !== undefined &&
        next.text !== '(' &&
        next.text !== '<' &&
        next.text !== ':' &&
        next.text !== '=' &&
        next.text !== ';';
      if (isAccessor) kind = token.text === 'get' ? 'getter' : 'setter';
      if (!isModifier && !isAccessor && token.text !== '*') break;
      k++;
    }
    if (k >= close) return close - 1;
    const nameAt = k;
    let name = code[nameAt]!.text;
    if (name === '[') {
      const end = closing(code, nameAt, close);
      name = code
        .slice(nameAt, end + 1)
        .map((token) => token.text)
        .join('');
      k = end;
    }
    let after = k + 1;
    if (code[after]?.text === '?' || code[after]?.text === '!') after++;
    const qualified = `${className}.${name}`;
    if (code[after]?.text === '(' || code[after]?.text === '<') {
      const end = this.functionEnd(after);
      this.add(qualified, kind, false, start, Math.min(end, close - 1));
      return end;
    }
    const end = Math.min(this.statementEnd(after), close - 1);
    this.add(qualified, 'field', false, start, end);
    return end;
  }
}

// ---------------------------------------------------------------------------------------------
// Rust

class RustScanner {
  private readonly code: readonly Token[];
  private readonly declarations: Declaration[] = [];

  constructor(code: readonly Token[]) {
    this.code = code;
  }

  scan(): Declaration[] {
    this.items(0, this.code.length, '');
    return this.declarations;
  }

  private items(from: number, limit: number, prefix: string): void {
    let i = from;
    while (i < limit) i = Math.max(this.item(i, limit, prefix), i) + 1;
  }

  /** Scans one item starting at `start`; returns its last token index. */
  private item(start: number, limit: number, prefix: string): number {
    const { code } = this;
    let i = start;
    // attributes: #[…] and #![…]
    while (code[i]?.text === '#') {
      const open = code[i + 1]?.text === '!' ? i + 2 : i + 1;
      if (code[open]?.text !== '[') break;
      i = closing(code, open, limit) + 1;
    }
    let exported = false;
    if (code[i]?.text === 'pub') {
      exported = true;
      i++;
      if (code[i]?.text === '(') i = closing(code, i, limit) + 1;
    }
    // qualifiers before `fn`, `impl`, `trait`
    while (i < limit) {
      const text = code[i]!.text;
      const next = code[i + 1]?.text;
      if (text === 'async' || text === 'unsafe' || text === 'default') i++;
      else if (text === 'const' && (next === 'fn' || next === 'unsafe' || next === 'async')) i++;
      else if (text === 'extern' && code[i + 1]?.kind === 'string') i += 2;
      else if (text === 'extern' && next === 'fn') i++;
      else break;
    }
    const keyword = code[i];
    if (keyword === undefined || i >= limit) return limit - 1;
    const nameText = code[i + 1]?.text ?? '?';
    const add = (kind: DeclarationKind, name: string, last: number) => {
      this.declarations.push({
        name: prefix + name,
        kind,
        exported,
        line: code[start]!.line,
        first: start,
        last,
      });
    };
    switch (keyword.text) {
      case 'fn': {
        const end = this.bodyEnd(i + 2, limit);
        add(prefix === '' ? 'function' : 'method', nameText, end);
        return end;
      }
      case 'struct':
      case 'union':
      case 'enum': {
        const end = this.bodyEnd(i + 2, limit, true);
        add(keyword.text === 'enum' ? 'enum' : 'struct', nameText, end);
        return end;
      }
      case 'trait': {
        const open = this.headerOpen(i + 2, limit);
        if (open === undefined) return this.semicolon(i, limit);
        const close = closing(code, open, limit);
        add('trait', nameText, open);
        this.items(open + 1, close, `${prefix}${nameText}::`);
        return close;
      }
      case 'impl': {
        const open = this.headerOpen(i + 1, limit);
        if (open === undefined) return this.semicolon(i, limit);
        const close = closing(code, open, limit);
        this.items(open + 1, close, `${prefix}${this.implTarget(i + 1, open)}::`);
        return close;
      }
      case 'mod': {
        if (code[i + 2]?.text !== '{') return this.semicolon(i, limit);
        const close = closing(code, i + 2, limit);
        this.items(i + 3, close, `${prefix}${nameText}::`);
        return close;
      }
      case 'const':
      case 'static':
      case 'type': {
        const nameAt = code[i + 1]?.text === 'mut' ? i + 2 : i + 1;
        const end = this.semicolon(i, limit);
        const kind =
          keyword.text === 'type' ? 'type' : keyword.text === 'const' ? 'constant' : 'static';
        add(kind, code[nameAt]?.text ?? '?', end);
        return end;
      }
      case 'macro_rules': {
        const open = i + 3; // macro_rules ! name {
        const end = open < limit ? closing(code, open, limit) : limit - 1;
        const last = code[end + 1]?.text === ';' ? end + 1 : end;
        add('macro', code[i + 2]?.text ?? '?', last);
        return last;
      }
    }
    return this.semicolonOrBlock(i, limit);
  }

  /** First `{` of an item header at bracket depth 0, or undefined if a `;` comes first. */
  private headerOpen(from: number, limit: number): number | undefined {
    for (let k = from; k < limit; k++) {
      const text = this.code[k]!.text;
      if (text === '{') return k;
      if (text === ';') return undefined;
      if (text === '(' || text === '[') k = closing(this.code, k, limit);
    }
    return undefined;
  }

  /** The type an `impl` block is for: the last path segment before its generics. */
  private implTarget(from: number, open: number): string {
    const { code } = this;
    let angle = 0;
    let forAt = -1;
    let whereAt = open;
    for (let k = from; k < open; k++) {
      const text = code[k]!.text;
      if (text === '<') angle++;
      else if (text === '>') angle--;
      else if (text === '>>') angle -= 2;
      else if (angle === 0 && text === 'for' && code[k + 1]?.text !== '<') forAt = k;
      else if (angle === 0 && text === 'where') {
        whereAt = k;
        break;
      }
    }
    let k = forAt >= 0 ? forAt + 1 : from;
    // skip the impl's own generics: impl<T> Foo<T>
    if (forAt < 0 && code[k]?.text === '<') {
      let depth = 0;
      for (; k < whereAt; k++) {
        const text = code[k]!.text;
        if (text === '<') depth++;
        else if (text === '>') depth--;
        else if (text === '>>') depth -= 2;
        if (depth <= 0) {
          k++;
          break;
        }
      }
    }
    let name = '?';
    for (; k < whereAt; k++) {
      const token = code[k]!;
      if (token.text === '<') break;
      if (token.kind === 'identifier' || token.text === 'Self') name = token.text;
    }
    return name;
  }

  /**
   * End of an item with an optional body from after its name: a `{…}` body, or `;` for a
   * declaration without one. With `tupleBody`, `struct S(…);` ends at the `;` after the parens.
   */
  private bodyEnd(from: number, limit: number, tupleBody = false): number {
    for (let k = from; k < limit; k++) {
      const text = this.code[k]!.text;
      if (text === '{') return closing(this.code, k, limit);
      if (text === ';') return k;
      if (text === '(' || text === '[') {
        k = closing(this.code, k, limit);
        if (tupleBody && this.code[k + 1]?.text === ';') return k + 1;
      }
    }
    return limit - 1;
  }

  private semicolon(from: number, limit: number): number {
    for (let k = from; k < limit; k++) {
      const text = this.code[k]!.text;
      if (text === ';') return k;
      if (OPENERS.has(text)) k = closing(this.code, k, limit);
    }
    return limit - 1;
  }

  private semicolonOrBlock(from: number, limit: number): number {
    for (let k = from; k < limit; k++) {
      const text = this.code[k]!.text;
      if (text === ';') return k;
      if (text === '{') {
        const close = closing(this.code, k, limit);
        return this.code[close + 1]?.text === ';' ? close + 1 : close;
      }
      if (text === '(' || text === '[') k = closing(this.code, k, limit);
    }
    return limit - 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Comparing the declarations of several copies

export type DeclarationStatus =
  /** in every copy, equal to the canonical copy's after dropping comments */
  | 'same'
  /** in every copy; some copies' versions equal the canonical one's only once names and literals are placeholders */
  | 'renamed'
  /** in every copy; some copies' code differs from the canonical one's */
  | 'differs'
  /** missing from some copies, or only in some */
  | 'partial';

/** How one copy's version of a declaration differs from the canonical copy's. */
export interface DeclarationInCopy {
  readonly engine: string;
  /**
   * `missing`: the canonical copy has it, this copy does not; `extra`: this copy has it, the
   * canonical copy does not; `renamed`: same shape, other names or literals; `differs`: other code.
   */
  readonly status: 'missing' | 'extra' | 'renamed' | 'differs';
  /** Token similarity to the canonical version (`renamed`, `differs`), else null. */
  readonly similarity: number | null;
  /** The declaration's line in this copy, or null when the copy lacks it. */
  readonly line: number | null;
  /**
   * The declaration's name in this copy when it differs from the canonical copy's: a declaration
   * renamed in this copy (paired by the names that differ where the copies line up).
   */
  readonly name?: string;
}

/**
 * A declaration compared across the copies of a seam, against the canonical copy: the copies
 * listed are only those that differ from it there, so a difference is stated once ("3 copies lack
 * `rcc_assert`"), never per pair.
 */
export interface DeclarationComparison {
  readonly name: string;
  readonly kind: DeclarationKind;
  readonly status: DeclarationStatus;
  /** The declaration's line in the canonical copy, or null when the canonical copy lacks it. */
  readonly line: number | null;
  /** Lowest similarity to the canonical version among the copies whose version differs (1 when none). */
  readonly similarity: number;
  /** The copies that differ from the canonical copy here, in copy order. */
  readonly copies: readonly DeclarationInCopy[];
}

export interface CopyDeclarations {
  readonly engine: string;
  readonly code: readonly Token[];
  readonly declarations: readonly Declaration[];
  /**
   * Copies with the same `content` key have the same code tokens (and so the same declarations):
   * their versions are compared once. Default: every copy its own.
   */
  readonly content?: number;
}

/**
 * Compares declarations by qualified name, each copy against `copies[canonical]`. Overloads and
 * repeated names are told apart by their order of appearance (`name#2`). Declarations in the
 * canonical copy come first, in its order, then those it lacks, in order of first appearance.
 * Each distinct content is compared once.
 */
export function compareDeclarations(
  copies: readonly CopyDeclarations[],
  canonical = 0,
  renames: ReadonlyMap<number, ReadonlyMap<string, string>> = new Map(),
): DeclarationComparison[] {
  const table = new TokenTable();
  type Version = { declaration: Declaration; codeIds: number[]; shapeIds: number[] };
  /** content key → declaration key → version */
  const contents = new Map<number, Map<string, Version>>();
  const order: string[] = [];
  const seenKeys = new Set<string>();
  const contentOf = (index: number) => copies[index]!.content ?? -1 - index;
  const indices = [canonical, ...copies.keys()].filter(
    (index, at) => at === 0 || index !== canonical,
  );
  for (const index of indices) {
    const copy = copies[index]!;
    const key = contentOf(index);
    if (contents.has(key)) continue;
    const versions = new Map<string, Version>();
    contents.set(key, versions);
    const seen = new Map<string, number>();
    for (const declaration of copy.declarations) {
      const occurrence = (seen.get(declaration.name) ?? 0) + 1;
      seen.set(declaration.name, occurrence);
      const accessor =
        declaration.kind === 'getter' || declaration.kind === 'setter'
          ? `${declaration.kind} `
          : '';
      const name = `${accessor}${declaration.name}${occurrence > 1 ? `#${occurrence}` : ''}`;
      if (!seenKeys.has(name)) {
        seenKeys.add(name);
        order.push(name);
      }
      const slice = copy.code.slice(declaration.first, declaration.last + 1);
      versions.set(name, {
        declaration,
        codeIds: slice.map((token) => table.idOf(normalizedText(token, 'code'))),
        shapeIds: slice.map((token) => table.idOf(normalizedText(token, 'shape'))),
      });
    }
  }
  const reference = contents.get(contentOf(canonical))!;
  /** content key → names of its declarations paired with a canonical one of another name */
  const claimed = new Map<number, Set<string>>();
  /**
   * A declaration the canonical copy has and this content lacks under its name, but has under
   * the name it is renamed to where the copies line up (`mapAFinishReason` → `mapBFinishReason`),
   * when the canonical copy has no declaration of that name itself: the same declaration.
   */
  const pairedVersion = (name: string, key: number, mine: Version): Version | undefined => {
    const other = renames.get(key)?.get(name);
    if (other === undefined || reference.has(other)) return undefined;
    const theirs = contents.get(key)!.get(other);
    if (theirs === undefined || theirs.declaration.kind !== mine.declaration.kind) return undefined;
    const taken = claimed.get(key) ?? new Set<string>();
    if (taken.has(other)) return undefined;
    taken.add(other);
    claimed.set(key, taken);
    return theirs;
  };
  const compared = order.map((name) => {
    const mine = reference.get(name);
    const differing: DeclarationInCopy[] = [];
    /** content key → how that content's version compares, computed once */
    const verdicts = new Map<number, Omit<DeclarationInCopy, 'engine' | 'line'> | null>();
    let kind = mine?.declaration.kind;
    let similarity = 1;
    let partial = false;
    let renamed = false;
    let differs = false;
    /** content key → the version paired under another name */
    const paired = new Map<number, Version | undefined>();
    copies.forEach((copy, index) => {
      if (index === canonical) return;
      const key = contentOf(index);
      let theirs = contents.get(key)!.get(name);
      if (mine === undefined && claimed.get(key)?.has(name)) return; // compared under its pair
      if (theirs === undefined && mine !== undefined) {
        if (!paired.has(key)) paired.set(key, pairedVersion(name, key, mine));
        theirs = paired.get(key);
      }
      kind ??= theirs?.declaration.kind;
      let verdict = verdicts.get(key);
      if (verdict === undefined) {
        if (mine === undefined && theirs === undefined) verdict = null;
        else if (mine === undefined) verdict = { status: 'extra', similarity: null };
        else if (theirs === undefined) verdict = { status: 'missing', similarity: null };
        else if (arraysEqual(mine.codeIds, theirs.codeIds)) verdict = null;
        else {
          const ratio = roundRatio(similarityRatio(mine.codeIds, theirs.codeIds));
          verdict = arraysEqual(mine.shapeIds, theirs.shapeIds)
            ? { status: 'renamed', similarity: ratio }
            : { status: 'differs', similarity: ratio };
        }
        verdicts.set(key, verdict);
      }
      if (verdict === null) return;
      if (verdict.status === 'missing' || verdict.status === 'extra') partial = true;
      else {
        if (verdict.status === 'renamed') renamed = true;
        else differs = true;
        similarity = Math.min(similarity, verdict.similarity!);
      }
      const renamedTo =
        theirs !== undefined && theirs.declaration.name !== (mine ?? theirs).declaration.name
          ? { name: theirs.declaration.name }
          : {};
      differing.push({
        engine: copy.engine,
        ...verdict,
        line: theirs?.declaration.line ?? null,
        ...renamedTo,
      });
    });
    if (mine === undefined) partial = true;
    const status: DeclarationStatus = partial
      ? 'partial'
      : differs
        ? 'differs'
        : renamed
          ? 'renamed'
          : 'same';
    return {
      name,
      kind: kind!,
      status,
      line: mine?.declaration.line ?? null,
      similarity,
      copies: differing,
    };
  });
  // a declaration only copies have, each under a name paired with a canonical one, is no
  // declaration of its own
  return compared.filter(
    (declaration) => declaration.line !== null || declaration.copies.length > 0,
  );
}

function arraysEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** The innermost declaration containing token `index`, for locating a difference. */
export function declarationAt(
  declarations: readonly Declaration[],
  index: number,
): Declaration | undefined {
  let best: Declaration | undefined;
  for (const declaration of declarations) {
    if (declaration.first <= index && index <= declaration.last) {
      if (best === undefined || declaration.last - declaration.first < best.last - best.first) {
        best = declaration;
      }
    }
  }
  return best;
}
