import { describe, expect, it } from 'vitest';
import {
  classify,
  clusterSources,
  compareCopies as compareWithClusters,
  isMechanical,
  weakest,
} from '../src/compare.js';
import { prepareSource } from '../src/source.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const ts = (engine: string, text: string) => ({
  engine,
  source: prepareSource(text, 'typescript'),
});

/** The seam comparison alone (the clusters are tested in clusters.test.ts). */
const compareCopies = (...args: Parameters<typeof compareWithClusters>) =>
  compareWithClusters(...args).comparison;

/** One variant of WAL_TS per classification, each by a precise edit. */
const VARIANTS = {
  identical: WAL_TS,
  equivalent: WAL_TS.replace(
    '/** Frame header: magic, version, length, checksum. */',
    '// header layout',
  ).replace('const frames: Frame[] = [];', 'const   frames: Frame[]   =   [];'),
  renamed: WAL_TS.replaceAll('bigint', 'number').replace('HEADER_BYTES = 16', 'HEADER_BYTES = 24'),
  similar: WAL_TS.replace(
    'offset += HEADER_BYTES + frame.payload.length;',
    'offset += HEADER_BYTES + frame.payload.length;\n    if (frames.length > 1000) throw new Error("too many");',
  ),
  diverged: RETIRE_QUEUE_TS,
} as const;

describe('compareCopies', () => {
  for (const [expected, variant] of Object.entries(VARIANTS)) {
    it(`classifies a pair as ${expected}`, () => {
      const result = compareCopies([ts('alpha', WAL_TS), ts('beta', variant)], 0.8);
      expect(result.classification).toBe(expected);
      expect(result.pairs).toHaveLength(1);
    });
  }

  it('gives similarity 1 to identical copies and below the threshold to diverged ones', () => {
    expect(compareCopies([ts('a', WAL_TS), ts('b', WAL_TS)], 0.8).similarity).toBe(1);
    const similar = compareCopies([ts('a', WAL_TS), ts('b', VARIANTS.similar)], 0.8).similarity;
    expect(similar).toBeGreaterThanOrEqual(0.8);
    expect(similar).toBeLessThan(1);
    expect(
      compareCopies([ts('a', WAL_TS), ts('b', VARIANTS.diverged)], 0.8).similarity,
    ).toBeLessThan(0.8);
  });

  it('treats a group of three as one unit around the canonical copy: its weakest relation decides', () => {
    const result = compareCopies(
      [ts('alpha', VARIANTS.renamed), ts('beta', WAL_TS), ts('gamma', VARIANTS.similar)],
      0.8,
    );
    // the canonical copy is the one the others agree with: beta, between the two variants
    expect(result.reference).toBe('beta');
    expect(result.pairs.map((p) => `${p.a}-${p.b}:${p.classification}`)).toEqual([
      'beta-alpha:renamed',
      'beta-gamma:similar',
    ]);
    expect(result.clusters).toEqual({
      identical: 1,
      equivalent: 0,
      renamed: 1,
      near: 1,
      outliers: 0,
    });
    expect(result.classification).toBe('similar');
    expect(result.diffs.map((d) => `${d.reference}→${d.other}`)).toEqual([
      'beta→alpha',
      'beta→gamma',
    ]);
    expect(result.similarity).toBe(Math.min(...result.pairs.map((p) => p.similarity)));
  });

  it('holds every pair only when asked (pairs: all)', () => {
    const copies = [
      ts('alpha', VARIANTS.renamed),
      ts('beta', WAL_TS),
      ts('gamma', VARIANTS.similar),
    ];
    const all = compareCopies(copies, 0.8, 'all');
    expect(all.pairs.map((p) => `${p.a}-${p.b}:${p.classification}`)).toEqual([
      'alpha-beta:renamed',
      'alpha-gamma:similar',
      'beta-gamma:similar',
    ]);
    // the same clusters and verdict inputs either way
    expect(all.classification).toBe(compareCopies(copies, 0.8).classification);
  });

  it('produces line hunks and the declaration view for differing copies', () => {
    const result = compareCopies([ts('alpha', WAL_TS), ts('beta', VARIANTS.similar)], 0.8);
    expect(result.diffs[0]!.hunks).toHaveLength(1);
    expect(result.diffs[0]!.hunks[0]!.lines).toContain(
      '+    if (frames.length > 1000) throw new Error("too many");',
    );
    expect(result.declarations.differing.map((d) => `${d.name}:${d.status}`)).toEqual([
      'scan:differs',
    ]);
    expect(result.declarations.same).toBe(result.declarations.total - 1);
  });

  it('moves the threshold: the same pair is similar at 0.8 and diverged at 0.99', () => {
    expect(compareCopies([ts('a', WAL_TS), ts('b', VARIANTS.similar)], 0.99).classification).toBe(
      'diverged',
    );
  });

  it('refuses fewer than two copies', () => {
    expect(() => compareCopies([ts('a', WAL_TS)], 0.8)).toThrow(/at least two/);
  });
});

describe('classification helpers', () => {
  it('applies the strongest classification that holds', () => {
    const base = {
      sameBytes: false,
      sameCode: false,
      sameShape: false,
      similarity: 0.5,
      similarThreshold: 0.8,
    };
    expect(classify({ ...base, sameBytes: true, sameCode: true, sameShape: true })).toBe(
      'identical',
    );
    expect(classify({ ...base, sameCode: true, sameShape: true })).toBe('equivalent');
    expect(classify({ ...base, sameShape: true })).toBe('renamed');
    expect(classify({ ...base, similarity: 0.8 })).toBe('similar');
    expect(classify(base)).toBe('diverged');
  });

  it('orders classifications and knows which are mechanical', () => {
    expect(weakest(['identical', 'renamed', 'equivalent'])).toBe('renamed');
    expect(weakest([])).toBe('identical');
    expect(['identical', 'equivalent', 'renamed'].every((c) => isMechanical(c as 'renamed'))).toBe(
      true,
    );
    expect(isMechanical('similar')).toBe(false);
  });

  it('classifies a group of prepared sources like compareCopies does', () => {
    const sources = [WAL_TS, VARIANTS.renamed].map((text) => prepareSource(text, 'typescript'));
    expect(clusterSources(sources, 0.8).classification).toBe('renamed');
  });
});
