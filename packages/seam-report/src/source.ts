/**
 * A copy's text made ready for comparison: test code cut out, tokenised once. Everything that
 * compares copies (classification, similarity, declarations, literals, hunks) works on this.
 */
import { findTestItems, removeRanges, tokenizeRust } from './tokenize/rust.js';
import type { Language, Token } from './tokenize/token.js';
import { tokenizeTypeScript } from './tokenize/typescript.js';

export interface PreparedSource {
  readonly language: Language;
  /** The compared text: the file's text with Rust `#[cfg(test)]` items removed. */
  readonly text: string;
  readonly tokens: readonly Token[];
}

const EXTENSION_LANGUAGES: Readonly<Record<string, Language>> = {
  ts: 'typescript',
  tsx: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  js: 'typescript',
  jsx: 'typescript',
  mjs: 'typescript',
  cjs: 'typescript',
  rs: 'rust',
};

export const SUPPORTED_EXTENSIONS: readonly string[] = Object.keys(EXTENSION_LANGUAGES);

/** The language of a path by its extension, or undefined for an unsupported one. */
export function languageOf(path: string): Language | undefined {
  const dot = path.lastIndexOf('.');
  return dot === -1 ? undefined : EXTENSION_LANGUAGES[path.slice(dot + 1)];
}

/**
 * Names read as one before copies are compared (`normalizeNames` in the configuration): engine
 * names that differ by design (`AllocDbError` and `QuotaError`, `'allocdb-core'` and
 * `'quota-core'`), so that two copies differing only there are the same code.
 */
export interface NameRule {
  readonly pattern: RegExp;
  readonly as: string;
}

/** Compiles `normalizeNames` entries (global regular expressions, applied in order). */
export function nameRules(entries: readonly { pattern: string; as: string }[]): NameRule[] {
  return entries.map((entry) => ({ pattern: new RegExp(entry.pattern, 'g'), as: entry.as }));
}

export function prepareSource(
  text: string,
  language: Language,
  names: readonly NameRule[] = [],
): PreparedSource {
  const prepared = tokenized(text, language);
  return names.length === 0 ? prepared : { ...prepared, tokens: renamed(prepared.tokens, names) };
}

function tokenized(text: string, language: Language): PreparedSource {
  if (language === 'typescript') {
    return { language, text, tokens: tokenizeTypeScript(text) };
  }
  const tokens = tokenizeRust(text);
  const testItems = findTestItems(tokens);
  if (testItems.length === 0) return { language, text, tokens };
  // Re-tokenise the cut text so that token offsets and lines refer to the compared text.
  const compared = removeRanges(text, testItems);
  return { language, text: compared, tokens: tokenizeRust(compared) };
}

/** Identifiers and string literals with the name rules applied (other tokens as they are). */
function renamed(tokens: readonly Token[], names: readonly NameRule[]): Token[] {
  return tokens.map((token) => {
    if (token.kind !== 'identifier' && token.kind !== 'string' && token.kind !== 'template')
      return token;
    let text = token.text;
    for (const rule of names) text = text.replace(rule.pattern, rule.as);
    return text === token.text ? token : { ...token, text };
  });
}
