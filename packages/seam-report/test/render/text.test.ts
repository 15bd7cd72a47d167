import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from '../../src/render/index.js';
import { type RenderFixtures, renderFixtures } from '../support/reports.js';

let fixtures: RenderFixtures;
beforeAll(async () => {
  fixtures = await renderFixtures();
});
afterAll(() => fixtures.dispose());

describe('text output', () => {
  it('leads with the decision and the order, then a table of seams', () => {
    const text = render(fixtures.full, 'text');
    const lines = text.split('\n');
    expect(lines[2]).toBe('Decision: Extract now: retire_queue (then reconcile wal)');
    expect(lines[3]).toBe('Order: retire_queue, wal');
    expect(text).toMatch(
      / {2}seam {10}copies {2}class {6}similarity {2}clusters {13}triggers fired/,
    );
    expect(text).toMatch(/retire_queue {2}3 {7}identical/);
  });

  it('shows history events, trigger marks, verdicts, drift and reconcile items', () => {
    const text = render(fixtures.full, 'text');
    expect(text).toContain('late propagation: ');
    expect(text).toMatch(/\[alpha\] → beta 7d 0h later in [0-9a-f]{10}/);
    expect(text).toMatch(
      /one-sided: [0-9a-f]{10} 2024-01-13 beta: RangeError for bad magic \[beta\]/,
    );
    expect(text).toMatch(/✔ third_engine: 3 copies: gamma brought copy number 3/);
    expect(text).toMatch(
      /verdict: reconcile_first — repeated_fix, third_engine, maintenance_cost fired/,
    );
    expect(text).toContain('decodeFrame differs');
    expect(text).toMatch(/Drift against [0-9a-f]{10} 2024-01-12 beta: freeze frames/);
    expect(text).toContain(
      "! wal: `wal.ts` changed in beta and gamma; alpha's copy did not change",
    );
  });

  it('uses colour only when asked', () => {
    expect(render(fixtures.full, 'text')).not.toContain('\u001b[');
    const coloured = render(fixtures.full, 'text', { color: true });
    expect(coloured).toContain('\u001b[1m');
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(render(fixtures.full, 'text'));
  });

  it('explains an empty report', () => {
    const text = render(fixtures.edgeCases.oneEngine!, 'text');
    expect(text).toContain(
      'Decision: Do not extract a shared runtime yet: only one engine (allocdb-core)',
    );
    expect(text).toContain('Single-copy modules (not seams): wal [allocdb-core]');
    expect(text).toMatch(/Notes\n {2}- Only one engine/);
  });
});
