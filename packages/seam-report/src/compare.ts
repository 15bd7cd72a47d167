/**
 * Compares the copies of one seam as they are now: classification (pairwise and N-way),
 * similarity, the reference copy, line hunks, declaration view and aligned differences.
 */
import {
  type CopyDeclarations,
  compareDeclarations,
  type Declaration,
  findDeclarations,
} from './declarations.js';
import { lineHunks } from './hunks.js';
import { findAlignedDifferences } from './literals.js';
import { type NormalizedSequence, normalize, sameSequence, TokenTable } from './normalize.js';
import type { Classification, CopyDiff, PairComparison, SeamComparison } from './report.js';
import { CLASSIFICATIONS } from './report.js';
import { roundRatio, similarityRatio } from './similarity.js';
import type { PreparedSource } from './source.js';

export interface CopyToCompare {
  readonly engine: string;
  readonly source: PreparedSource;
}

/** A copy measured once, reused by every pair it is part of. */
interface MeasuredCopy {
  readonly engine: string;
  readonly source: PreparedSource;
  readonly code: NormalizedSequence;
  readonly shape: NormalizedSequence;
  readonly declarations: readonly Declaration[];
}

/** Copies must be given in a stable order (by engine name); at least two. */
export function compareCopies(
  copies: readonly CopyToCompare[],
  similarThreshold: number,
): SeamComparison {
  if (copies.length < 2) throw new Error('compareCopies needs at least two copies');
  const table = new TokenTable();
  const measured: MeasuredCopy[] = copies.map(({ engine, source }) => {
    const code = normalize(source.tokens, 'code', table);
    return {
      engine,
      source,
      code,
      shape: normalize(source.tokens, 'shape', table),
      declarations: findDeclarations(code.tokens, source.language),
    };
  });

  const pairs: PairComparison[] = [];
  const similaritySums = new Map<string, number>();
  for (let x = 0; x < measured.length; x++) {
    for (let y = x + 1; y < measured.length; y++) {
      const a = measured[x]!;
      const b = measured[y]!;
      const pair = comparePair(a, b, similarThreshold);
      pairs.push(pair);
      similaritySums.set(a.engine, (similaritySums.get(a.engine) ?? 0) + pair.similarity);
      similaritySums.set(b.engine, (similaritySums.get(b.engine) ?? 0) + pair.similarity);
    }
  }
  // the reference is the most central copy; ties go to the first engine
  let reference = measured[0]!;
  for (const copy of measured) {
    if ((similaritySums.get(copy.engine) ?? 0) > (similaritySums.get(reference.engine) ?? 0)) {
      reference = copy;
    }
  }
  const others = measured.filter((copy) => copy !== reference);

  const diffs: CopyDiff[] = others.map((other) => ({
    reference: reference.engine,
    other: other.engine,
    hunks: lineHunks(reference.source.text, other.source.text),
  }));
  const declarationCopies: CopyDeclarations[] = measured.map((copy) => ({
    engine: copy.engine,
    code: copy.code.tokens,
    declarations: copy.declarations,
  }));
  const declarations = compareDeclarations(declarationCopies);
  const aligned = findAlignedDifferences(reference, others);

  return {
    classification: weakest(pairs.map((pair) => pair.classification)),
    similarity: Math.min(...pairs.map((pair) => pair.similarity)),
    reference: reference.engine,
    pairs,
    diffs,
    declarations: {
      total: declarations.length,
      same: declarations.filter((d) => d.status === 'same').length,
      differing: declarations
        .filter((d) => d.status !== 'same')
        .map((d) => ({ ...d, similarity: roundRatio(d.similarity) })),
    },
    literalDifferences: aligned.literals,
    nameDifferences: aligned.names,
  };
}

function comparePair(a: MeasuredCopy, b: MeasuredCopy, similarThreshold: number): PairComparison {
  const similarity = roundRatio(similarityRatio(a.code.ids, b.code.ids));
  return {
    a: a.engine,
    b: b.engine,
    classification: classify({
      sameBytes: a.source.text === b.source.text,
      sameCode: sameSequence(a.code.ids, b.code.ids),
      sameShape: sameSequence(a.shape.ids, b.shape.ids),
      similarity,
      similarThreshold,
    }),
    similarity,
  };
}

export interface ClassificationInputs {
  readonly sameBytes: boolean;
  readonly sameCode: boolean;
  readonly sameShape: boolean;
  readonly similarity: number;
  readonly similarThreshold: number;
}

/** The strongest classification that holds. */
export function classify(inputs: ClassificationInputs): Classification {
  if (inputs.sameBytes) return 'identical';
  if (inputs.sameCode) return 'equivalent';
  if (inputs.sameShape) return 'renamed';
  return inputs.similarity >= inputs.similarThreshold ? 'similar' : 'diverged';
}

export function classificationRank(classification: Classification): number {
  return CLASSIFICATIONS.indexOf(classification);
}

/** The weakest of several classifications (`identical` for none). */
export function weakest(classifications: readonly Classification[]): Classification {
  let worst: Classification = 'identical';
  for (const c of classifications) if (classificationRank(c) > classificationRank(worst)) worst = c;
  return worst;
}

/** True when the copies could be moved into one module mechanically (no behaviour to settle). */
export function isMechanical(classification: Classification): boolean {
  return classificationRank(classification) <= classificationRank('renamed');
}

/** Classification and similarity of a group of prepared sources, for history and drift. */
export function classifyGroup(
  sources: readonly PreparedSource[],
  similarThreshold: number,
): { classification: Classification; similarity: number } {
  const table = new TokenTable();
  const sequences = sources.map((source) => ({
    text: source.text,
    code: normalize(source.tokens, 'code', table).ids,
    shape: normalize(source.tokens, 'shape', table).ids,
  }));
  let classification: Classification = 'identical';
  let similarity = 1;
  for (let x = 0; x < sequences.length; x++) {
    for (let y = x + 1; y < sequences.length; y++) {
      const a = sequences[x]!;
      const b = sequences[y]!;
      const ratio = roundRatio(similarityRatio(a.code, b.code));
      similarity = Math.min(similarity, ratio);
      classification = weakest([
        classification,
        classify({
          sameBytes: a.text === b.text,
          sameCode: sameSequence(a.code, b.code),
          sameShape: sameSequence(a.shape, b.shape),
          similarity: ratio,
          similarThreshold,
        }),
      ]);
    }
  }
  return { classification, similarity };
}
