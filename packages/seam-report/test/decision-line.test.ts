/**
 * The decision line says what decided it (issue 23, item 6). It said "no extraction trigger has
 * fired" while the table showed triggers fired, when the savings or a `never` entry had decided
 * `keep_local`. Every verdict carries what decided it (`verdict.decidedBy`), and the line names
 * it. Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { render } from '../src/render/index.js';
import { DAY, TestRepo } from './support/git-repo.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
function repo(): TestRepo {
  const created = TestRepo.create();
  repos.push(created);
  return created;
}
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

/** What the line adds for a history of one week: one open slice (issue 24, item 9). */
const OPEN =
  ' (the whole history is one open slice: every commit in one 7-day window; a fix made to several copies in it is part of writing them, so no history trigger can fire)';

const TINY = `export const KIB = 1024;
export const MIB = 1024 * KIB;

export function pages(bytes: number): number {
  return Math.ceil(bytes / (4 * KIB));
}

export const PAGE = 4 * KIB;
`;

describe('the decision line', () => {
  it('says which triggers fired and what kept them local, never "no trigger has fired"', async () => {
    const r = repo();
    const files: Record<string, string> = {
      'seam-report.config.json': JSON.stringify({ never: ['snapshot'] }),
    };
    for (const engine of ['a', 'b', 'c']) {
      files[`packages/${engine}/src/runtime/sizes.ts`] = TINY;
      files[`packages/${engine}/src/runtime/snapshot.ts`] = WAL_TS;
    }
    r.commit('three engines', files);
    r.advance(500 * DAY);
    r.commit('domain work', { 'packages/a/src/domain.ts': 'export const x = 1;\n' });
    const report = await analyze({ root: r.root });
    const verdicts = report.seams.map((seam) => [
      seam.name,
      seam.verdict.verdict,
      seam.verdict.decidedBy,
      seam.triggers.filter((t) => t.fired).map((t) => t.trigger),
    ]);
    expect(verdicts).toEqual([
      ['sizes', 'keep_local', 'little_to_save', ['third_engine']],
      ['snapshot', 'never', 'never', ['third_engine']],
    ]);
    expect(report.decision.summary).toBe(
      'Do not extract a shared runtime yet: triggers fired for sizes, snapshot, but extraction would save little for sizes; snapshot is listed in "never"',
    );
    expect(render(report, 'text')).not.toContain('no extraction trigger has fired');
  });

  it('names files that share a name, not code', async () => {
    const r = repo();
    // unrelated files named alike in three engines, each written on its own
    const texts = [WAL_TS, RETIRE_QUEUE_TS, TINY.repeat(8)];
    ['a', 'b', 'c'].forEach((engine, i) => {
      r.advance(DAY);
      r.commit(`${engine}: its own utils`, {
        [`packages/${engine}/src/runtime/utils.ts`]: texts[i]!,
      });
    });
    const report = await analyze({ root: r.root });
    const utils = report.seams.find((seam) => seam.name === 'utils')!;
    expect(utils.verdict.decidedBy).toBe('name_only');
    expect(report.decision.summary).toBe(
      `Do not extract a shared runtime yet: triggers fired for utils, but the files of utils share a name, not code${OPEN}`,
    );
  });

  it('still says no trigger has fired when none has', async () => {
    const r = repo();
    r.commit('two engines', {
      'packages/a/src/runtime/wal.ts': WAL_TS,
      'packages/b/src/runtime/wal.ts': WAL_TS,
    });
    const report = await analyze({ root: r.root });
    expect(report.seams[0]!.verdict.decidedBy).toBe('no_trigger');
    expect(report.decision.summary).toBe(
      `Do not extract a shared runtime yet: no extraction trigger has fired${OPEN}`,
    );
  });
});
