import { describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { type ClusterInput, canonicalCopy, clusterCopies } from '../src/clusters.js';
import { compareCopies } from '../src/compare.js';
import { normalize, TokenTable } from '../src/normalize.js';
import { render } from '../src/render/index.js';
import { prepareSource } from '../src/source.js';
import { TestRepo } from './support/git-repo.js';
import { manyCopies, walOf } from './support/many-copies.js';
import { WAL_TS } from './support/sources.js';

function inputs(texts: readonly string[]): ClusterInput[] {
  const table = new TokenTable();
  return texts.map((text) => {
    const source = prepareSource(text, 'typescript');
    const code = normalize(source.tokens, 'code', table);
    return {
      code: code.ids,
      shape: normalize(source.tokens, 'shape', table).ids,
      lines: Int32Array.from(code.tokens.map((token) => token.line)),
      text,
    };
  });
}

const seam = manyCopies();
const copies = [...seam.texts].map(([engine, text]) => ({
  engine,
  source: prepareSource(text, 'typescript'),
}));

describe('the canonical copy', () => {
  it('is the copy the others agree with, not the first by name', () => {
    const texts = [...seam.texts.values()];
    const index = canonicalCopy(inputs(texts));
    expect([...seam.texts.keys()][index]).toBe('e-01');
  });

  it('prefers the content most copies share over a longer one a few add a line to', () => {
    const extra = `${WAL_TS}\nexport const EXTRA = 1;\n`;
    // two copies with the extra line, three without: the three win although "extra" is first
    const index = canonicalCopy(inputs([extra, extra, WAL_TS, WAL_TS, WAL_TS]));
    expect(index).toBe(2);
  });

  it('breaks ties by the preference given, then by order', () => {
    const a = WAL_TS.replace('HEADER_BYTES = 16', 'HEADER_BYTES = 24');
    const b = WAL_TS.replace('HEADER_BYTES = 16', 'HEADER_BYTES = 32');
    expect(canonicalCopy(inputs([a, b]))).toBe(0);
    expect(canonicalCopy(inputs([a, b]), (index) => index === 1)).toBe(1);
  });
});

describe('clusters of a thirty-copy seam', () => {
  const { comparison, copies: standing } = compareCopies(copies, 0.8);
  const engines = copies.map((copy) => copy.engine);
  const clusterOf = (engine: string) => standing[engines.indexOf(engine)]!.cluster;

  it('reports 21 identical, 7 near and 2 outliers around the canonical copy', () => {
    expect(comparison.reference).toBe('e-01');
    expect(comparison.clusters).toEqual({
      identical: 21,
      equivalent: 0,
      renamed: 0,
      near: 7,
      outliers: 2,
    });
    expect(clusterOf('e-01')).toBe('canonical');
    expect(seam.identical.slice(1).every((engine) => clusterOf(engine) === 'identical')).toBe(true);
    expect([...seam.lacksAssert, ...seam.frameLimit].map(clusterOf)).toEqual(Array(7).fill('near'));
    expect(seam.outliers.map(clusterOf)).toEqual(['outlier', 'outlier']);
  });

  it('classifies the seam from its main cluster, not from its weakest pair', () => {
    expect(comparison.classification).toBe('similar');
    expect(comparison.similarity).toBeGreaterThanOrEqual(0.8);
    const outlierSimilarity = Math.max(
      ...seam.outliers.map((engine) => standing[engines.indexOf(engine)]!.similarity),
    );
    expect(outlierSimilarity).toBeLessThan(0.8);
  });

  it('gives each copy its distance from the canonical one, and one pair per copy', () => {
    expect(comparison.pairs).toHaveLength(29);
    expect(comparison.pairs.every((pair) => pair.a === 'e-01')).toBe(true);
    for (const pair of comparison.pairs)
      expect(pair.similarity).toBe(standing[engines.indexOf(pair.b)]!.similarity);
    expect(compareCopies(copies, 0.8, 'all').comparison.pairs).toHaveLength(435);
  });

  it('states each difference once, against the canonical copy', () => {
    const assert = comparison.declarations.differing.find((d) => d.name === 'rccAssert')!;
    expect(assert.status).toBe('partial');
    // the three copies that lack it, and the outliers (which have nothing of it)
    expect(assert.copies.filter((c) => c.status === 'missing').map((c) => c.engine)).toEqual([
      'a-queue',
      'b-rewrite',
      ...seam.lacksAssert,
    ]);
    const scan = comparison.declarations.differing.find((d) => d.name === 'scan')!;
    expect(scan.copies.filter((c) => c.status === 'differs').map((c) => c.engine)).toEqual(
      seam.frameLimit,
    );
    // one diff per distinct text, naming the copies that share it
    expect(comparison.diffs.map((diff) => [diff.other, diff.alsoIn.length])).toEqual([
      ['a-queue', 0],
      ['b-rewrite', 0],
      ['c-old-1', 2],
      ['d-limit-1', 3],
    ]);
  });

  it('finds no outlier among copies that only drifted a little', () => {
    const near = clusterCopies(inputs([WAL_TS, WAL_TS.replace('16', '24'), WAL_TS]), 0.8);
    expect(near.relations.map((r) => r.relation)).toEqual(['canonical', 'renamed', 'identical']);
  });
});

describe('the report of a thirty-copy seam', () => {
  it('prints clusters, differences once and no pair lines', async () => {
    const repo = TestRepo.create();
    try {
      repo.commit(
        'thirty engines',
        Object.fromEntries([...seam.texts].map(([engine, text]) => [walOf(engine), text])),
      );
      const report = await analyze({ root: repo.root });
      const wal = report.seams[0]!;
      expect(wal.comparison.classification).toBe('similar');
      const text = render(report, 'text');
      expect(text).toContain('21 identical, 7 near, 2 outliers');
      expect(text).toContain('rccAssert: missing in 3 copies (c-old-1, c-old-2 and c-old-3)');
      // the outliers' differences are on their own lines, not once per declaration
      expect(text).not.toContain('FRAME_MAGIC: missing');
      expect(text).not.toMatch(/↔/); // no pair lines
      expect(text).toMatch(
        /outliers \(not near the canonical copy\):\n {4}a-queue: similarity 0\.\d+/,
      );
      const markdown = render(report, 'markdown');
      expect(markdown).toContain('| `wal` | 30 | similar |');
      expect(markdown).toContain('21 identical, 7 near, 2 outliers');
      expect(markdown).not.toMatch(/only in e-01, e-02/);
      // the same repository, the same bytes, in every format
      const again = await analyze({ root: repo.root });
      for (const format of ['text', 'markdown', 'json', 'html', 'sarif'] as const)
        expect(render(again, format), format).toBe(render(report, format));
    } finally {
      repo.dispose();
    }
  });
});
