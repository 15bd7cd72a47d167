/**
 * What differs inside code that otherwise lines up: literal values (magic numbers, offsets,
 * seeds, sizes, messages) and names. The copies are first aligned on their real tokens (the
 * `code` level: names and literals as written), so that a block only one copy has is an
 * insertion and pairs with nothing. Only inside a stretch that one copy replaced with another are
 * the tokens aligned again at the `shape` level, where every literal is one placeholder and every
 * name another: there a literal in one copy is paired with the literal in the same place of the
 * other copy, and pairs whose texts differ are reported. (Aligning whole files at the shape level
 * pairs an inserted block's names and literals with unrelated ones further down.)
 *
 * A differing constant may change behaviour (a checksum starting at another byte offset) or be
 * an intended per-engine value (a magic number): the report lists them apart so that a person
 * can tell which.
 */
import { align, editsBetween } from './align.js';
import { type Declaration, declarationAt } from './declarations.js';
import type { NormalizedSequence } from './normalize.js';
import { compareStrings } from './order.js';
import { isLiteral, isNamed, type Token } from './tokenize/token.js';

export interface AlignedCopy {
  readonly engine: string;
  /** Code-level sequence of the copy (the real tokens, comments dropped). */
  readonly code: NormalizedSequence;
  /** Shape-level sequence of the same tokens (ids are placeholders for names and literals). */
  readonly shape: NormalizedSequence;
  readonly declarations: readonly Declaration[];
  /** Copies with the same `content` key have the same code tokens: aligned once. */
  readonly content?: number;
}

export interface ValueInCopy {
  readonly engine: string;
  /** The literal's text in this copy. */
  readonly text: string;
  /** 1-based line in this copy's compared text. */
  readonly line: number;
}

/** One place in the reference copy where at least one other copy has another literal. */
export interface LiteralDifference {
  /** Innermost declaration in the reference copy, or null at top level. */
  readonly declaration: string | null;
  /**
   * The reference copy's value first, then the value of each copy that has another literal
   * there (copies that agree with the reference are not repeated).
   */
  readonly values: readonly ValueInCopy[];
}

/** A name used in place of another at aligned places: `u64 → bigint`, `AllocKey → QuotaKey`. */
export interface NameDifference {
  readonly reference: string;
  readonly renamed: readonly { readonly engine: string; readonly name: string }[];
  /** How many aligned places use this renaming. */
  readonly occurrences: number;
}

export interface AlignedDifferences {
  readonly literals: LiteralDifference[];
  readonly names: NameDifference[];
}

/**
 * Aligns every other copy to `reference` and collects the places where aligned tokens are
 * literals (or names) with different texts.
 */
export function findAlignedDifferences(
  reference: AlignedCopy,
  others: readonly AlignedCopy[],
): AlignedDifferences {
  const refTokens = reference.shape.tokens;
  // for each distinct other content: reference token index -> the literal or name aligned with it
  const byContent = new Map<number, Map<number, Token>>();
  const alignments = others.map((other, index) => {
    const key = other.content ?? -1 - index;
    let partner = byContent.get(key);
    if (partner === undefined) {
      partner = alignTo(reference, other);
      byContent.set(key, partner);
    }
    return { engine: other.engine, partner };
  });
  const distinct = [...byContent.values()];
  const literals: LiteralDifference[] = [];
  const names = new Map<string, NameDifference>();
  for (let refIndex = 0; refIndex < refTokens.length; refIndex++) {
    const refToken = refTokens[refIndex]!;
    const literal = isLiteral(refToken);
    if (!literal && !isNamed(refToken)) continue;
    const differs = (partner: Map<number, Token>) => {
      const token = partner.get(refIndex);
      return token !== undefined && token.text !== refToken.text;
    };
    if (!distinct.some(differs)) continue;
    // the copies with another token here, in copy order (each distinct content checked once)
    const differing = alignments
      .filter(({ partner }) => differs(partner))
      .map(({ engine, partner }) => ({ engine, token: partner.get(refIndex)! }));
    if (literal) {
      literals.push({
        declaration: declarationAt(reference.declarations, refIndex)?.name ?? null,
        values: [
          { engine: reference.engine, text: refToken.text, line: refToken.line },
          ...differing.map(({ engine, token }) => ({ engine, text: token.text, line: token.line })),
        ],
      });
    } else {
      const renamed = differing.map(({ engine, token }) => ({ engine, name: token.text }));
      const key = [refToken.text, ...renamed.map((r) => `${r.engine}=${r.name}`)].join('\u0000');
      const known = names.get(key);
      names.set(key, {
        reference: refToken.text,
        renamed,
        occurrences: (known?.occurrences ?? 0) + 1,
      });
    }
  }
  return {
    literals,
    names: [...names.values()].sort(
      (x, y) => y.occurrences - x.occurrences || compareStrings(x.reference, y.reference),
    ),
  };
}

/** The literal or name of `other` aligned with each literal or name of `reference`, by index. */
function alignTo(reference: AlignedCopy, other: AlignedCopy): Map<number, Token> {
  const refTokens = reference.shape.tokens;
  const partner = new Map<number, Token>();
  const pair = (aStart: number, bStart: number, length: number) => {
    for (let k = 0; k < length; k++) {
      const refToken = refTokens[aStart + k]!;
      if (isLiteral(refToken) || isNamed(refToken)) {
        partner.set(aStart + k, other.shape.tokens[bStart + k]!);
      }
    }
  };
  const runs = align(reference.code.ids, other.code.ids);
  for (const run of runs) pair(run.aStart, run.bStart, run.length);
  for (const edit of editsBetween(runs, reference.code.ids.length, other.code.ids.length)) {
    if (edit.aStart === edit.aEnd || edit.bStart === edit.bEnd) continue; // an insertion
    const inner = align(
      reference.shape.ids.subarray(edit.aStart, edit.aEnd),
      other.shape.ids.subarray(edit.bStart, edit.bEnd),
    );
    for (const run of inner) pair(edit.aStart + run.aStart, edit.bStart + run.bStart, run.length);
  }
  return partner;
}
