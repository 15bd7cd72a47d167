/**
 * A lexer for Rust: line, block (nested) and doc comments; strings, byte strings, raw strings
 * (`r#"…"#`), C strings; char literals versus lifetimes; numbers with suffixes (`1_000u64`,
 * `0xffu8`, `1.5e3f32`); identifiers (including `r#raw`); punctuation by longest match.
 *
 * `cutTestCode` removes every item marked `#[cfg(test)]` (the `mod tests { … }` blocks Rust
 * keeps beside the code) so that copies are compared without their tests.
 */
import {
  countNewlines,
  isDigit,
  isIdentifierPart,
  isIdentifierStart,
  isWhitespace,
  mayContainNewline,
  operatorMatcher,
  type Token,
  type TokenKind,
} from './token.js';

/** Strict and reserved keywords. Primitive types (`u64`, `usize`) stay identifiers on purpose. */
const KEYWORDS: ReadonlySet<string> = new Set([
  'as',
  'async',
  'await',
  'break',
  'const',
  'continue',
  'crate',
  'dyn',
  'else',
  'enum',
  'extern',
  'fn',
  'for',
  'if',
  'impl',
  'in',
  'let',
  'loop',
  'match',
  'mod',
  'move',
  'mut',
  'pub',
  'ref',
  'return',
  'self',
  'Self',
  'static',
  'struct',
  'super',
  'trait',
  'type',
  'unsafe',
  'use',
  'where',
  'while',
]);

const matchOperator = operatorMatcher([
  '>>=',
  '<<=',
  '...',
  '..=',
  '::',
  '->',
  '=>',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '^=',
  '&=',
  '|=',
  '<<',
  '>>',
  '..',
]);

export function tokenizeRust(source: string): Token[] {
  return new RustLexer(source).run();
}

class RustLexer {
  private readonly source: string;
  private pos = 0;
  private line = 1;
  private readonly tokens: Token[] = [];

  constructor(source: string) {
    this.source = source;
  }

  run(): Token[] {
    const { source } = this;
    while (this.pos < source.length) {
      const code = source.charCodeAt(this.pos);
      const next = source.charCodeAt(this.pos + 1);
      if (code === 32 || code === 10 || isWhitespace(code)) {
        if (code === 10) this.line++;
        this.pos++;
      } else if (code === 47 /* / */ && next === 47) {
        let end = source.indexOf('\n', this.pos);
        if (end === -1) end = source.length;
        this.push('comment', end);
      } else if (code === 47 && next === 42 /* * */) {
        this.blockComment();
      } else if (this.stringPrefixLength() >= 0) {
        this.string(this.stringPrefixLength());
      } else if (code === 98 /* b */ && next === 39 /* ' */) {
        this.charLiteral(this.pos + 1);
      } else if (code === 39) {
        this.charOrLifetime();
      } else if (isDigit(code)) {
        this.number();
      } else if (code === 114 /* r */ && next === 35 /* # */ && this.identStartAt(this.pos + 2)) {
        this.identifier(this.pos + 2);
      } else if (isIdentifierStart(code, false)) {
        this.identifier(this.pos);
      } else {
        const op = matchOperator(source, this.pos);
        this.push('punct', this.pos + op.length);
      }
    }
    return this.tokens;
  }

  private push(kind: TokenKind, end: number): void {
    const start = this.pos;
    this.tokens.push({ kind, text: this.source.slice(start, end), line: this.line, start, end });
    if (mayContainNewline(kind)) this.line += countNewlines(this.source, start, end);
    this.pos = end;
  }

  private identStartAt(at: number): boolean {
    return isIdentifierStart(this.source.charCodeAt(at), false);
  }

  private blockComment(): void {
    const { source } = this;
    let depth = 0;
    let i = this.pos;
    while (i < source.length) {
      if (source.startsWith('/*', i)) {
        depth++;
        i += 2;
      } else if (source.startsWith('*/', i)) {
        depth--;
        i += 2;
        if (depth === 0) break;
      } else i++;
    }
    this.push('comment', Math.min(i, source.length));
  }

  /**
   * Length of a string prefix at the cursor (`"` → 0, `b"`/`r"`/`c"` → 1, `br"`/`r#"` → …), or
   * -1 when no string starts here. Raw strings are recognised with any number of `#`.
   */
  private stringPrefixLength(): number {
    const { source, pos } = this;
    let i = pos;
    const c = source.charCodeAt(i);
    if (c === 34 /* " */) return 0;
    if (c === 98 /* b */ || c === 99 /* c */) i++;
    if (source.charCodeAt(i) === 114 /* r */) {
      i++;
      while (source.charCodeAt(i) === 35 /* # */) i++;
    }
    if (i === pos || source.charCodeAt(i) !== 34) return -1;
    // `br` / `cr` need the r; `b"` / `c"` alone are fine; a lone `#` run needs the r before it
    return i - pos;
  }

  private string(prefixLength: number): void {
    const { source } = this;
    const prefix = source.slice(this.pos, this.pos + prefixLength);
    const rawHashes = prefix.includes('r') ? prefix.length - prefix.indexOf('r') - 1 : -1;
    let i = this.pos + prefixLength + 1;
    if (rawHashes >= 0) {
      const terminator = `"${'#'.repeat(rawHashes)}`;
      const end = source.indexOf(terminator, i);
      i = end === -1 ? source.length : end + terminator.length;
    } else {
      while (i < source.length) {
        const c = source.charCodeAt(i);
        if (c === 92 /* \ */) i += 2;
        else if (c === 34) {
          i++;
          break;
        } else i++;
      }
    }
    this.push('string', Math.min(i, source.length));
  }

  /** A char literal starting with the quote at `quoteAt` (after an optional `b`). */
  private charLiteral(quoteAt: number): void {
    const { source } = this;
    let i = quoteAt + 1;
    if (source.charCodeAt(i) === 92) i += 2;
    while (i < source.length && source.charCodeAt(i) !== 39 && source.charCodeAt(i) !== 10) i++;
    this.push('char', Math.min(i + 1, source.length));
  }

  /** `'x'`, `'\n'`, `'\u{1F600}'` are chars; `'a`, `'static`, `'outer:` are lifetimes. */
  private charOrLifetime(): void {
    const { source, pos } = this;
    if (source.charCodeAt(pos + 1) === 92) {
      this.charLiteral(pos);
      return;
    }
    const codePoint = source.codePointAt(pos + 1);
    const width = codePoint !== undefined && codePoint > 0xffff ? 2 : 1;
    if (source.charCodeAt(pos + 1 + width) === 39) {
      this.push('char', pos + 2 + width);
      return;
    }
    if (this.identStartAt(pos + 1)) {
      let i = pos + 2;
      while (i < source.length && isIdentifierPart(source.charCodeAt(i), false)) i++;
      this.push('lifetime', i);
      return;
    }
    this.push('punct', pos + 1);
  }

  private number(): void {
    const { source } = this;
    let i = this.pos;
    const radix = source.charCodeAt(i + 1) | 0x20;
    if (source.charCodeAt(i) === 48 && (radix === 0x78 || radix === 0x62 || radix === 0x6f)) {
      i += 2;
      while (i < source.length && isIdentifierPart(source.charCodeAt(i), false)) i++;
      this.push('number', i);
      return;
    }
    while (isDigit(source.charCodeAt(i)) || source.charCodeAt(i) === 95) i++;
    // `1.5` is a float; `1..2` is a range and `x.0.1` / `1.max(2)` are field and method access
    const tupleIndex = this.tokens[this.tokens.length - 1]?.text === '.';
    if (!tupleIndex && source.charCodeAt(i) === 46 && isDigit(source.charCodeAt(i + 1))) {
      i++;
      while (isDigit(source.charCodeAt(i)) || source.charCodeAt(i) === 95) i++;
    }
    if ((source.charCodeAt(i) | 0x20) === 0x65) {
      const sign = source.charCodeAt(i + 1);
      const digitAt = sign === 43 || sign === 45 ? i + 2 : i + 1;
      if (isDigit(source.charCodeAt(digitAt))) {
        i = digitAt;
        while (isDigit(source.charCodeAt(i)) || source.charCodeAt(i) === 95) i++;
      }
    }
    // type suffix: u8 … u128, i64, usize, f32, f64
    while (i < source.length && isIdentifierPart(source.charCodeAt(i), false)) i++;
    this.push('number', i);
  }

  private identifier(from: number): void {
    let i = from + 1;
    while (i < this.source.length && isIdentifierPart(this.source.charCodeAt(i), false)) i++;
    const text = this.source.slice(this.pos, i);
    const kind: TokenKind =
      text === 'true' || text === 'false'
        ? 'boolean'
        : KEYWORDS.has(text)
          ? 'keyword'
          : 'identifier';
    this.push(kind, i);
  }
}

/** A range of source text `[start, end)`. */
export interface TextRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The ranges of every item marked `#[cfg(test)]`: from the attribute to the end of the item (its
 * closing brace, or its semicolon for `mod tests;` and `use` items). Other attributes on the same
 * item are included. Only the exact attribute `#[cfg(test)]` counts: `cfg(any(test, …))` code is
 * also built outside tests, so it is compared.
 */
export function findTestItems(tokens: readonly Token[]): TextRange[] {
  const code = tokens.filter((token) => token.kind !== 'comment');
  const ranges: TextRange[] = [];
  let i = 0;
  while (i < code.length) {
    if (!isCfgTestAttribute(code, i)) {
      i++;
      continue;
    }
    const start = code[i]!.start;
    let j = i + 7;
    // further attributes on the same item: #[...] with balanced brackets
    while (code[j]?.text === '#' && code[j + 1]?.text === '[') j = skipBalanced(code, j + 1) + 1;
    const end = itemEnd(code, j);
    ranges.push({ start, end: code[end]?.end ?? code[code.length - 1]!.end });
    i = end + 1;
  }
  return ranges;
}

function isCfgTestAttribute(code: readonly Token[], i: number): boolean {
  const expected = ['#', '[', 'cfg', '(', 'test', ')', ']'];
  return expected.every((text, k) => code[i + k]?.text === text);
}

/** Index of the bracket closing the one at `open` (or the last token if unbalanced). */
function skipBalanced(code: readonly Token[], open: number): number {
  let depth = 0;
  for (let k = open; k < code.length; k++) {
    const text = code[k]!.text;
    if (text === '(' || text === '[' || text === '{') depth++;
    else if (text === ')' || text === ']' || text === '}') {
      depth--;
      if (depth === 0) return k;
    }
  }
  return code.length - 1;
}

/** Index of the last token of the item starting at `from`: its `;` or its body's `}`. */
function itemEnd(code: readonly Token[], from: number): number {
  for (let k = from; k < code.length; k++) {
    const text = code[k]!.text;
    if (text === ';') return k;
    if (text === '{') return skipBalanced(code, k);
    if (text === '(' || text === '[') k = skipBalanced(code, k);
  }
  return code.length - 1;
}

/** `source` with the given ranges removed (ranges sorted and non-overlapping). */
export function removeRanges(source: string, ranges: readonly TextRange[]): string {
  if (ranges.length === 0) return source;
  let out = '';
  let at = 0;
  for (const range of ranges) {
    out += source.slice(at, range.start);
    at = range.end;
  }
  return out + source.slice(at);
}
