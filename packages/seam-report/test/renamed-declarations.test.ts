/**
 * A declaration renamed in each copy is one declaration (issue 23, item 9). When each copy's
 * single function has its own name (`mapAFinishReason`, `mapBFinishReason`, …), the reconcile
 * list said each "exists only in" its copy, although the name differences already paired them:
 * paired names are not missing code. A generated repository with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { render } from '../src/render/index.js';
import { TestRepo } from './support/git-repo.js';

const repos: TestRepo[] = [];
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

/** A provider's finish-reason mapping, as each package of an SDK monorepo writes it. */
function mapping(provider: string, extraCase = ''): string {
  return `import type { FinishReason } from './types.js';

export function map${provider}FinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
    case 'end_turn':
      return 'stop';
    case 'length':
    case 'max_tokens':
      return 'length';
    case 'content_filter':
    case 'safety':
      return 'content-filter';
    case 'pause_turn':
      return 'other';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';${extraCase}
    case 'error':
      return 'error';
    case undefined:
    case null:
      return 'unknown';
    default:
      return 'other';
  }
}
`;
}

describe('declarations renamed in each copy', () => {
  it('are paired by their name differences, not listed as missing in every copy', async () => {
    const r = TestRepo.create();
    repos.push(r);
    r.commit('three providers', {
      'packages/a/src/runtime/finish-reason.ts': mapping('A'),
      'packages/b/src/runtime/finish-reason.ts': mapping(
        'B',
        "\n    case 'refusal':\n      return 'content-filter';",
      ),
      'packages/c/src/runtime/finish-reason.ts': mapping('C'),
    });
    const report = await analyze({ root: r.root });
    const seam = report.seams.find((s) => s.name === 'finish_reason')!;
    expect(seam.comparison.reference).toBe('a');
    expect(seam.verdict.verdict).toBe('reconcile_first');
    // one declaration, compared under its names in each copy
    const declaration = seam.comparison.declarations.differing;
    expect(declaration.map((d) => d.name)).toEqual(['mapAFinishReason']);
    expect(declaration[0]!.copies).toEqual([
      expect.objectContaining({ engine: 'b', status: 'differs', name: 'mapBFinishReason' }),
      expect.objectContaining({ engine: 'c', status: 'renamed', name: 'mapCFinishReason' }),
    ]);
    expect(seam.verdict.reconcile.join('\n')).not.toMatch(/exists only in|is missing in/);
    expect(seam.verdict.reconcile[0]).toMatch(
      /^mapAFinishReason differs in b \(named mapBFinishReason; similarity 0\.\d+\)$/,
    );
    const text = render(report, 'text');
    expect(text).not.toMatch(/only in [abc]|missing in/);
    expect(text).toContain('mapAFinishReason: differs in b');
  });
});
