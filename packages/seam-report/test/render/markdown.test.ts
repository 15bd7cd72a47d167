import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from '../../src/render/index.js';
import { type RenderFixtures, renderFixtures } from '../support/reports.js';

let fixtures: RenderFixtures;
beforeAll(async () => {
  fixtures = await renderFixtures();
});
afterAll(() => fixtures.dispose());

describe('markdown output', () => {
  it('puts the verdict in the first line, then drift, the order and the engines', () => {
    const md = render(fixtures.full, 'markdown');
    expect(md.split('\n')[0]).toBe(
      '## Seam report: Extract now: retire_queue (then reconcile wal)',
    );
    expect(md.indexOf('### ⚠️ Drift against')).toBeLessThan(md.indexOf('Extraction order'));
    expect(md).toContain(
      'Extraction order (smallest mechanical move first): `retire_queue` → `wal`',
    );
    expect(md).toMatch(
      /Engines: `alpha` \(packages\/alpha\), `beta` \(packages\/beta\), `gamma` \(packages\/gamma\) · HEAD `[0-9a-f]{10}`/,
    );
  });

  it('has a seam table and a trigger table with one row per seam', () => {
    const md = render(fixtures.full, 'markdown');
    expect(md).toContain('| seam | copies | classification | similarity | clusters | verdict |');
    expect(md).toContain('| `retire_queue` | 3 | identical | 1.00 | 3 identical | **extract** |');
    expect(md).toContain(
      '| seam | repeated_fix | stable_across_slices | third_engine | maintenance_cost |',
    );
    expect(md).toContain('| `wal` | 🔴 fired | — | 🔴 fired | 🔴 fired |');
    expect(md).toContain('| `retire_queue` | — | n/a | 🔴 fired | — |');
  });

  it('puts details and diffs in collapsed sections', () => {
    const md = render(fixtures.full, 'markdown');
    expect(md).toContain('<summary><code>wal</code>: similar');
    expect(md).toMatch(/Diff `alpha` → `beta`:\n\n```diff\n@@ -\d+,\d+ \+\d+,\d+ @@/);
    expect(md).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: TypeScript source text containing a template literal
      '+  if (view.getUint32(0, true) !== FRAME_MAGIC) throw new RangeError(`bad magic at ${offset}`);',
    );
    expect(md.split('<details>').length).toBe(md.split('</details>').length);
    expect(md.split('```').length % 2).toBe(1); // fences are balanced
  });

  it('lists drift findings', () => {
    const md = render(fixtures.full, 'markdown');
    expect(md).toMatch(
      /### ⚠️ Drift against `[0-9a-f]{10}`: 2 seams\n\n- ⚠️ \*\*retire_queue\*\*: `retire-queue.ts` changed in gamma/,
    );
    expect(md).toContain(
      "- ⚠️ **wal**: `wal.ts` changed in beta and gamma; alpha's copy did not change",
    );
  });

  it('escapes table cells', () => {
    const report = {
      ...fixtures.full,
      decision: { ...fixtures.full.decision, summary: 'a | b <c>' },
    };
    expect(render(report, 'markdown').split('\n')[0]).toBe('## Seam report: a \\| b &lt;c>');
  });

  it('quotes notes for an empty report', () => {
    expect(render(fixtures.edgeCases.noCommits!, 'markdown')).toContain(
      '> The repository has no commits yet: history-based triggers cannot fire.',
    );
  });
});
