/**
 * A lexer for TypeScript and JavaScript: comments, strings, template literals (with their
 * `${…}` expressions tokenised as code), regular-expression literals, numbers (hex, binary,
 * octal, separators, exponents, bigint `n`), identifiers (including `#private` names) and
 * punctuation by longest match. It does not parse: it only needs to cut the text into the same
 * tokens wherever two copies agree.
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

/**
 * Reserved words plus the contextual words that shape declarations. Primitive type names
 * (`number`, `bigint`, `string`) are deliberately *not* keywords: two copies that differ only in
 * such a type are `renamed`, an extraction with a type parameter would serve both.
 */
const KEYWORDS: ReadonlySet<string> = new Set([
  'abstract',
  'as',
  'asserts',
  'async',
  'await',
  'break',
  'case',
  'catch',
  'class',
  'const',
  'continue',
  'debugger',
  'declare',
  'default',
  'delete',
  'do',
  'else',
  'enum',
  'export',
  'extends',
  'finally',
  'for',
  'function',
  'if',
  'implements',
  'import',
  'in',
  'infer',
  'instanceof',
  'interface',
  'is',
  'keyof',
  'let',
  'namespace',
  'new',
  'null',
  'override',
  'private',
  'protected',
  'public',
  'readonly',
  'return',
  'satisfies',
  'static',
  'super',
  'switch',
  'this',
  'throw',
  'try',
  'type',
  'typeof',
  'var',
  'void',
  'while',
  'with',
  'yield',
]);

const BOOLEANS: ReadonlySet<string> = new Set(['true', 'false']);

const matchOperator = operatorMatcher([
  '>>>=',
  '...',
  '===',
  '!==',
  '**=',
  '<<=',
  '>>=',
  '>>>',
  '&&=',
  '||=',
  '??=',
  '=>',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '??',
  '?.',
  '++',
  '--',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '**',
  '<<',
  '>>',
]);

/** After these keywords a `/` starts a regular expression, not a division. */
const REGEX_AFTER_KEYWORD: ReadonlySet<string> = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

export function tokenizeTypeScript(source: string): Token[] {
  return new TypeScriptLexer(source).run();
}

class TypeScriptLexer {
  private readonly source: string;
  private pos = 0;
  private line = 1;
  private readonly tokens: Token[] = [];
  /** Open `{` and `${`: a `}` closing a `${` resumes the template literal around it. */
  private readonly braces: ('brace' | 'template')[] = [];
  /** Last token that is not a comment, for the regex-or-division decision. */
  private previous: Token | undefined;

  constructor(source: string) {
    this.source = source;
  }

  run(): Token[] {
    const { source } = this;
    if (source.startsWith('#!')) this.lineComment();
    while (this.pos < source.length) {
      const code = source.charCodeAt(this.pos);
      if (code === 32 || code === 10) {
        // the common whitespace first, without a call
        if (code === 10) this.line++;
        this.pos++;
      } else if (isWhitespace(code)) {
        if (code === 10) this.line++;
        this.pos++;
      } else if (code === 47 /* / */ && source.charCodeAt(this.pos + 1) === 47) {
        this.lineComment();
      } else if (code === 47 && source.charCodeAt(this.pos + 1) === 42 /* * */) {
        this.blockComment();
      } else if (code === 39 /* ' */ || code === 34 /* " */) {
        this.quoted(code);
      } else if (code === 96 /* ` */) {
        this.templatePart(this.pos, this.pos + 1);
      } else if (isDigit(code) || (code === 46 && isDigit(source.charCodeAt(this.pos + 1)))) {
        this.number();
      } else if (code === 35 /* # */ && isIdentifierStart(source.charCodeAt(this.pos + 1), true)) {
        this.identifier(this.pos + 1);
      } else if (isIdentifierStart(code, true)) {
        this.identifier(this.pos);
      } else if (code === 47 && this.regexAllowed()) {
        this.regexOrDivision();
      } else {
        this.punctuation();
      }
    }
    return this.tokens;
  }

  private push(kind: TokenKind, start: number, end: number): void {
    const text = this.source.slice(start, end);
    const token: Token = { kind, text, line: this.line, start, end };
    this.tokens.push(token);
    if (kind !== 'comment') this.previous = token;
    if (mayContainNewline(kind)) this.line += countNewlines(this.source, start, end);
    this.pos = end;
  }

  private lineComment(): void {
    let end = this.source.indexOf('\n', this.pos);
    if (end === -1) end = this.source.length;
    this.push('comment', this.pos, end);
  }

  private blockComment(): void {
    let end = this.source.indexOf('*/', this.pos + 2);
    end = end === -1 ? this.source.length : end + 2;
    this.push('comment', this.pos, end);
  }

  private quoted(quote: number): void {
    const { source } = this;
    let i = this.pos + 1;
    while (i < source.length) {
      const c = source.charCodeAt(i);
      if (c === 92 /* \ */) i += 2;
      else if (c === quote) {
        i++;
        break;
      } else if (c === 10)
        break; // unterminated: stop at the line end
      else i++;
    }
    this.push('string', this.pos, Math.min(i, source.length));
  }

  /**
   * Scans template text from `from` (just after a backtick or a closing `}`) to the next
   * backtick or `${`, emitting one `template` token that starts at `start`.
   */
  private templatePart(start: number, from: number): void {
    const { source } = this;
    let i = from;
    while (i < source.length) {
      const c = source.charCodeAt(i);
      if (c === 92) i += 2;
      else if (c === 96) {
        this.push('template', start, i + 1);
        return;
      } else if (c === 36 /* $ */ && source.charCodeAt(i + 1) === 123 /* { */) {
        this.braces.push('template');
        this.push('template', start, i + 2);
        return;
      } else i++;
    }
    this.push('template', start, source.length);
  }

  private number(): void {
    const { source } = this;
    let i = this.pos;
    const next = source.charCodeAt(i + 1) | 0x20;
    if (source.charCodeAt(i) === 48 && (next === 0x78 || next === 0x62 || next === 0x6f)) {
      // 0x…, 0b…, 0o…: letters and digits are all part of it (validation is not our job)
      i += 2;
      while (i < source.length && isIdentifierPart(source.charCodeAt(i), false)) i++;
    } else {
      while (isDigit(source.charCodeAt(i)) || source.charCodeAt(i) === 95) i++;
      if (source.charCodeAt(i) === 46) {
        i++;
        while (isDigit(source.charCodeAt(i)) || source.charCodeAt(i) === 95) i++;
      }
      if ((source.charCodeAt(i) | 0x20) === 0x65 /* e */) {
        const sign = source.charCodeAt(i + 1);
        const digitAt = sign === 43 || sign === 45 ? i + 2 : i + 1;
        if (isDigit(source.charCodeAt(digitAt))) {
          i = digitAt;
          while (isDigit(source.charCodeAt(i)) || source.charCodeAt(i) === 95) i++;
        }
      }
      if (source.charCodeAt(i) === 110 /* n */) i++;
    }
    this.push('number', this.pos, i);
  }

  private identifier(from: number): void {
    let i = from + 1;
    while (i < this.source.length && isIdentifierPart(this.source.charCodeAt(i), true)) i++;
    const text = this.source.slice(this.pos, i);
    const afterDot = this.previous?.text === '.' || this.previous?.text === '?.';
    // `x.default` or `obj.class` is a property name, not the keyword
    const kind: TokenKind = afterDot
      ? 'identifier'
      : BOOLEANS.has(text)
        ? 'boolean'
        : KEYWORDS.has(text)
          ? 'keyword'
          : 'identifier';
    this.push(kind, this.pos, i);
  }

  private regexAllowed(): boolean {
    const prev = this.previous;
    if (prev === undefined) return true;
    if (prev.kind === 'keyword') return REGEX_AFTER_KEYWORD.has(prev.text);
    if (prev.kind === 'identifier') return REGEX_AFTER_KEYWORD.has(prev.text); // `of`
    if (prev.kind !== 'punct') return false;
    return prev.text !== ')' && prev.text !== ']' && prev.text !== '}';
  }

  private regexOrDivision(): void {
    const { source } = this;
    let i = this.pos + 1;
    let inClass = false;
    while (i < source.length) {
      const c = source.charCodeAt(i);
      if (c === 10) {
        this.punctuation(); // a newline before the closing slash: it was a division after all
        return;
      }
      if (c === 92) i += 2;
      else if (c === 91 /* [ */) {
        inClass = true;
        i++;
      } else if (c === 93 /* ] */) {
        inClass = false;
        i++;
      } else if (c === 47 && !inClass) {
        i++;
        while (i < source.length && isIdentifierPart(source.charCodeAt(i), false)) i++;
        this.push('regex', this.pos, i);
        return;
      } else i++;
    }
    this.punctuation();
  }

  private punctuation(): void {
    const { source } = this;
    const code = source.charCodeAt(this.pos);
    if (code === 123 /* { */) {
      this.braces.push('brace');
    } else if (code === 125 /* } */) {
      if (this.braces.pop() === 'template') {
        this.templatePart(this.pos, this.pos + 1);
        return;
      }
    }
    let op = matchOperator(source, this.pos);
    // `a ?.5 : b` is a conditional followed by the number .5, not optional chaining
    if (op === '?.' && isDigit(source.charCodeAt(this.pos + 2))) op = '?';
    this.push('punct', this.pos, this.pos + op.length);
  }
}
