/**
 * The token model shared by the TypeScript/JavaScript and Rust tokenisers. Tokenisers are
 * lexers only: they never fail on malformed input (an unterminated string runs to the end of
 * the file), because seam-report compares any text it is given, including work in progress.
 */

export type Language = 'typescript' | 'rust';

export type TokenKind =
  | 'identifier'
  | 'keyword'
  | 'punct'
  | 'comment'
  // literals: replaced by one placeholder at the `shape` normalisation level
  | 'number'
  | 'string'
  | 'template'
  | 'regex'
  | 'char'
  | 'boolean'
  // Rust lifetimes and labels ('a, 'static): named things, so treated like identifiers
  | 'lifetime';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** 1-based line of the token's first character. */
  readonly line: number;
  /** Offsets into the tokenised text: `text === source.slice(start, end)`. */
  readonly start: number;
  readonly end: number;
}

const LITERAL_KINDS: ReadonlySet<TokenKind> = new Set([
  'number',
  'string',
  'template',
  'regex',
  'char',
  'boolean',
]);

export function isLiteral(token: Token): boolean {
  return LITERAL_KINDS.has(token.kind);
}

export function isNamed(token: Token): boolean {
  return token.kind === 'identifier' || token.kind === 'lifetime';
}

/** Character-class helpers over UTF-16 code units; non-ASCII letters go through a regex. */
const NON_ASCII_ID_START = /[\p{ID_Start}]/u;
const NON_ASCII_ID_CONTINUE = /[\p{ID_Continue}\u200c\u200d]/u;

export function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

export function isAsciiLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

export function isIdentifierStart(code: number, dollar: boolean): boolean {
  if (isAsciiLetter(code) || code === 95 /* _ */) return true;
  if (code === 36 /* $ */) return dollar;
  return code > 127 && NON_ASCII_ID_START.test(String.fromCharCode(code));
}

export function isIdentifierPart(code: number, dollar: boolean): boolean {
  if (isAsciiLetter(code) || isDigit(code) || code === 95) return true;
  if (code === 36) return dollar;
  return code > 127 && NON_ASCII_ID_CONTINUE.test(String.fromCharCode(code));
}

export function isWhitespace(code: number): boolean {
  return (
    code === 32 ||
    code === 9 ||
    code === 10 ||
    code === 13 ||
    code === 11 ||
    code === 12 ||
    code === 0xa0 ||
    code === 0xfeff ||
    code === 0x2028 ||
    code === 0x2029
  );
}

/**
 * Longest-match punctuation. Candidates are grouped by their first character, so that each
 * position tries only the few operators that can start there (punctuation is a third of all
 * tokens, and this runs over every version of every copy in history).
 */
export function operatorMatcher(
  operators: readonly string[],
): (source: string, pos: number) => string {
  const byFirst: string[][] = [];
  for (const op of [...operators].sort((a, b) => b.length - a.length)) {
    const first = op.charCodeAt(0);
    byFirst[first] ??= [];
    byFirst[first].push(op);
  }
  return (source, pos) => {
    const candidates = byFirst[source.charCodeAt(pos)];
    if (candidates !== undefined) {
      for (const op of candidates) if (source.startsWith(op, pos)) return op;
    }
    return source[pos]!;
  };
}

/** Token kinds whose text may span lines; only these need their newlines counted. */
export function mayContainNewline(kind: TokenKind): boolean {
  return kind === 'comment' || kind === 'template' || kind === 'string';
}

/** Counts newlines in `source[start, end)`, for tokens that span lines. */
export function countNewlines(source: string, start: number, end: number): number {
  let lines = 0;
  for (let i = start; i < end; i++) if (source.charCodeAt(i) === 10) lines++;
  return lines;
}
