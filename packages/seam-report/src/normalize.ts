/**
 * Normalisation levels, weakest to strongest:
 *
 * - `code`: comments and whitespace dropped; every other token kept as written.
 * - `shape`: `code`, then every identifier (and Rust lifetime) replaced by one placeholder and
 *   every literal (number, string, template, regex, char, boolean) by another. Keywords and
 *   punctuation stay. Two copies equal at this level differ only in names, types and constants:
 *   an extraction with a few type or constant parameters would serve both.
 *
 * Sequences are interned to integers so that the comparison algorithms work on Int32Arrays.
 */
import { isLiteral, isNamed, type Token } from './tokenize/token.js';

export type NormalizationLevel = 'code' | 'shape';

/** Placeholders contain a NUL so that they can never equal a real token's text. */
export const IDENTIFIER_PLACEHOLDER = '\u0000identifier';
export const LITERAL_PLACEHOLDER = '\u0000literal';

/** Interns token texts to dense integers. One table per comparison keeps ids comparable. */
export class TokenTable {
  private readonly ids = new Map<string, number>();

  idOf(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(text, id);
    }
    return id;
  }

  get size(): number {
    return this.ids.size;
  }
}

/** A normalised token sequence: `ids[i]` is the interned text of `tokens[i]`. */
export interface NormalizedSequence {
  readonly ids: Int32Array;
  /** The source tokens behind the ids (comments already dropped), for lines and texts. */
  readonly tokens: readonly Token[];
}

/** The tokens compared at every level: everything but comments. */
export function codeTokens(tokens: readonly Token[]): Token[] {
  return tokens.filter((token) => token.kind !== 'comment');
}

export function normalizedText(token: Token, level: NormalizationLevel): string {
  if (level === 'shape') {
    if (isNamed(token)) return IDENTIFIER_PLACEHOLDER;
    if (isLiteral(token)) return LITERAL_PLACEHOLDER;
  }
  return token.text;
}

export function normalize(
  tokens: readonly Token[],
  level: NormalizationLevel,
  table: TokenTable,
): NormalizedSequence {
  const code = codeTokens(tokens);
  const ids = new Int32Array(code.length);
  for (let i = 0; i < code.length; i++) ids[i] = table.idOf(normalizedText(code[i]!, level));
  return { ids, tokens: code };
}

export function sameSequence(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
