/**
 * Compares the copies of one seam as they are now, as clusters around a canonical copy (see
 * clusters.ts): every copy's relation to the canonical one and its similarity, the seam's
 * classification from its main cluster, and the differences (line hunks, declarations, literals,
 * names) each stated once, against the canonical copy. Every distinct content is measured once,
 * so four hundred identical copies cost about what one does; no pair of copies is compared
 * unless all pairs are asked for.
 */
import { type ClusterInput, type Clusters, clusterCopies, contentGroups } from './clusters.js';
import {
  type CopyDeclarations,
  compareDeclarations,
  type Declaration,
  findDeclarations,
} from './declarations.js';
import { lineHunks } from './hunks.js';
import { findAlignedDifferences } from './literals.js';
import { type NormalizedSequence, normalize, sameSequence, TokenTable } from './normalize.js';
import type {
  Classification,
  ClusterCounts,
  CopyCluster,
  CopyDiff,
  PairComparison,
  SeamComparison,
} from './report.js';
import { CLASSIFICATIONS } from './report.js';
import { roundRatio, similarityRatio } from './similarity.js';
import type { PreparedSource } from './source.js';

export interface CopyToCompare {
  readonly engine: string;
  readonly source: PreparedSource;
}

/** Which pairs `comparison.pairs` holds: each copy against the canonical one, or every pair. */
export type PairsMode = 'canonical' | 'all';

/** A copy measured once, reused by everything that compares it. */
interface MeasuredCopy {
  readonly engine: string;
  readonly source: PreparedSource;
  readonly code: NormalizedSequence;
  readonly shape: NormalizedSequence;
  /** Index of its distinct content (equal code tokens). */
  readonly content: number;
}

export interface CopyComparison {
  readonly comparison: SeamComparison;
  /** Each copy's cluster and similarity to the canonical copy, in input order. */
  readonly copies: readonly { readonly cluster: CopyCluster; readonly similarity: number }[];
}

/** Copies must be given in a stable order (by engine name); at least two. */
export function compareCopies(
  copies: readonly CopyToCompare[],
  similarThreshold: number,
  pairsMode: PairsMode = 'canonical',
): CopyComparison {
  if (copies.length < 2) throw new Error('compareCopies needs at least two copies');
  const table = new TokenTable();
  // copies sharing a prepared source (the same text) are normalised once
  const bySource = new Map<
    PreparedSource,
    { code: NormalizedSequence; shape: NormalizedSequence; input: ClusterInput }
  >();
  const normalized = copies.map(({ engine, source }) => {
    let known = bySource.get(source);
    if (known === undefined) {
      const code = normalize(source.tokens, 'code', table);
      const shape = normalize(source.tokens, 'shape', table);
      known = { code, shape, input: clusterInput({ source, code, shape }) };
      bySource.set(source, known);
    }
    return { engine, source, ...known };
  });
  const inputs: ClusterInput[] = normalized.map((copy) => copy.input);
  const groups = contentGroups(inputs);
  const contentOf = new Int32Array(copies.length);
  groups.forEach((group, g) => {
    for (const index of group) contentOf[index] = g;
  });
  const measured: MeasuredCopy[] = normalized.map((copy, index) => ({
    engine: copy.engine,
    source: copy.source,
    code: copy.code,
    shape: copy.shape,
    content: contentOf[index]!,
  }));
  const clusters = clusterCopies(inputs, similarThreshold);
  const reference = measured[clusters.canonical]!;
  const others = measured.filter((copy) => copy !== reference);

  // declarations once per distinct content
  const declarationsOf = new Map<number, readonly Declaration[]>();
  for (const copy of measured) {
    if (!declarationsOf.has(copy.content))
      declarationsOf.set(copy.content, findDeclarations(copy.code.tokens, copy.source.language));
  }
  const declarationCopies: CopyDeclarations[] = measured.map((copy) => ({
    engine: copy.engine,
    code: copy.code.tokens,
    declarations: declarationsOf.get(copy.content)!,
    content: copy.content,
  }));
  // names and literals are paired only where copies line up: with the main cluster's copies (an
  // outlier aligned with the canonical copy pairs unrelated tokens by chance), unless every copy
  // is an outlier, when the pairs are all there is to show
  const outlier = (copy: MeasuredCopy) =>
    clusters.relations[measured.indexOf(copy)]!.relation === 'outlier';
  const main = others.filter((copy) => !outlier(copy));
  const differingCode = (main.length > 0 ? main : others).filter(
    (copy) => copy.content !== reference.content,
  );
  const aligned = findAlignedDifferences(
    { ...reference, declarations: declarationsOf.get(reference.content)! },
    differingCode.map((copy) => ({
      ...copy,
      declarations: declarationsOf.get(copy.content)!,
    })),
  );
  // a declaration renamed in a copy (`mapAFinishReason` → `mapBFinishReason` where the copies
  // line up) is compared under both names: paired names are not missing code
  const engineContent = new Map(measured.map((copy) => [copy.engine, copy.content]));
  const renames = new Map<number, Map<string, string>>();
  for (const difference of aligned.names) {
    for (const { engine, name } of difference.renamed) {
      const content = engineContent.get(engine)!;
      const names = renames.get(content) ?? new Map<string, string>();
      // the most frequent pairing first (names are sorted by occurrences)
      if (!names.has(difference.reference)) names.set(difference.reference, name);
      renames.set(content, names);
    }
  }
  const declarations = compareDeclarations(declarationCopies, clusters.canonical, renames);

  const { classification, similarity } = mainCluster(clusters);
  return {
    comparison: {
      classification,
      similarity,
      reference: reference.engine,
      clusters: clusterCounts(clusters),
      pairs:
        pairsMode === 'all'
          ? allPairs(measured, similarThreshold)
          : others.map((other) => {
              const index = measured.indexOf(other);
              return {
                a: reference.engine,
                b: other.engine,
                classification: relationClass(clusters.relations[index]!.relation),
                similarity: clusters.relations[index]!.similarity,
              };
            }),
      diffs: copyDiffs(reference, others),
      declarations: {
        total: declarations.length,
        same: declarations.filter((d) => d.status === 'same').length,
        differing: declarations.filter((d) => d.status !== 'same'),
      },
      literalDifferences: aligned.literals,
      nameDifferences: aligned.names,
    },
    copies: clusters.relations.map(({ relation, similarity }) => ({
      cluster: relation,
      similarity,
    })),
  };
}

function clusterInput(copy: {
  source: PreparedSource;
  code: NormalizedSequence;
  shape: NormalizedSequence;
}): ClusterInput {
  const lines = new Int32Array(copy.code.tokens.length);
  copy.code.tokens.forEach((token, i) => {
    lines[i] = token.line;
  });
  return { code: copy.code.ids, shape: copy.shape.ids, lines, text: copy.source.text };
}

/** The classification a copy's relation to the canonical copy stands for. */
export function relationClass(relation: CopyCluster): Classification {
  switch (relation) {
    case 'canonical':
    case 'identical':
      return 'identical';
    case 'equivalent':
      return 'equivalent';
    case 'renamed':
      return 'renamed';
    case 'near':
      return 'similar';
    case 'outlier':
      return 'diverged';
  }
}

/**
 * The seam's classification and similarity, from its main cluster (the canonical copy and the
 * copies at least `near` it): the weakest relation in it and the lowest similarity to the
 * canonical copy. When no other copy is near the canonical one, the copies are `diverged` and
 * the similarity is the lowest of any copy.
 */
export function mainCluster(clusters: Clusters): {
  classification: Classification;
  similarity: number;
} {
  const others = clusters.relations.filter((_, index) => index !== clusters.canonical);
  const main = others.filter((copy) => copy.relation !== 'outlier');
  if (main.length === 0) {
    return {
      classification: 'diverged',
      similarity: Math.min(...others.map((copy) => copy.similarity)),
    };
  }
  return {
    classification: weakest(main.map((copy) => relationClass(copy.relation))),
    similarity: Math.min(...main.map((copy) => copy.similarity)),
  };
}

/** "21 identical, 7 near, 2 outliers": the canonical copy counts with the identical ones. */
export function clusterCounts(clusters: Clusters): ClusterCounts {
  const counts = { identical: 0, equivalent: 0, renamed: 0, near: 0, outliers: 0 };
  for (const { relation } of clusters.relations) {
    if (relation === 'canonical' || relation === 'identical') counts.identical++;
    else if (relation === 'outlier') counts.outliers++;
    else counts[relation]++;
  }
  return counts;
}

/** Line hunks of each distinct text against the canonical copy's, with the copies sharing it. */
function copyDiffs(reference: MeasuredCopy, others: readonly MeasuredCopy[]): CopyDiff[] {
  const byText = new Map<string, { other: string; alsoIn: string[] }>();
  for (const other of others) {
    if (other.source.text === reference.source.text) continue;
    const known = byText.get(other.source.text);
    if (known === undefined) byText.set(other.source.text, { other: other.engine, alsoIn: [] });
    else known.alsoIn.push(other.engine);
  }
  return [...byText].map(([text, { other, alsoIn }]) => ({
    reference: reference.engine,
    other,
    alsoIn,
    hunks: lineHunks(reference.source.text, text),
  }));
}

/** Every pair of copies (`--pairs all`), each distinct pair of contents measured once. */
function allPairs(measured: readonly MeasuredCopy[], similarThreshold: number): PairComparison[] {
  const ratios = new Map<string, number>();
  const pairs: PairComparison[] = [];
  for (let x = 0; x < measured.length; x++) {
    for (let y = x + 1; y < measured.length; y++) {
      const a = measured[x]!;
      const b = measured[y]!;
      const key = a.content < b.content ? `${a.content}:${b.content}` : `${b.content}:${a.content}`;
      let similarity = ratios.get(key);
      if (similarity === undefined) {
        similarity =
          a.content === b.content ? 1 : roundRatio(similarityRatio(a.code.ids, b.code.ids));
        ratios.set(key, similarity);
      }
      pairs.push({
        a: a.engine,
        b: b.engine,
        classification: classify({
          sameBytes: a.source.text === b.source.text,
          sameCode: a.content === b.content,
          sameShape: sameSequence(a.shape.ids, b.shape.ids),
          similarity,
          similarThreshold,
        }),
        similarity,
      });
    }
  }
  return pairs;
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

/**
 * The clusters of a group of prepared sources (for the drift check): each copy's relation to
 * the canonical copy, and the group's main-cluster classification.
 */
export function clusterSources(
  sources: readonly PreparedSource[],
  similarThreshold: number,
  prefer?: (index: number) => boolean,
): Clusters & { classification: Classification; similarity: number } {
  const table = new TokenTable();
  const inputs = sources.map((source) =>
    clusterInput({
      source,
      code: normalize(source.tokens, 'code', table),
      shape: normalize(source.tokens, 'shape', table),
    }),
  );
  const clusters = clusterCopies(inputs, similarThreshold, prefer ? { prefer } : {});
  return { ...clusters, ...mainCluster(clusters) };
}
