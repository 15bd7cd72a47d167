/**
 * "Extract now" for tiny per-package constant files (issue 23, item 2). A monorepo's packages
 * each hold a file of a generated constant or two (`export const ATTR_X = '…' as const;`, written
 * by a script whose output carries no "generated" header): the copies classified `renamed`, hence
 * a mechanical move, and with many packages the savings (which counted the outliers too) made it
 * "Extract now". Now: savings count the main cluster only; a seam whose shared part is a handful
 * of lines is not worth a package; copies that hold only constants differing per package are
 * per-package data; and files a generator script of the repository writes are generated.
 * Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
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

const ENGINES = Array.from({ length: 30 }, (_, i) => `pkg-${String(i).padStart(2, '0')}`);
const semconv = (i: number) =>
  `export const ATTR_${['HTTP', 'DB', 'RPC'][i % 3]}_${i}_NAME = '${['http', 'db', 'rpc'][i % 3]}.name.${i}' as const;\nexport const METRIC_${i}_DURATION = 'duration.${i}' as const;\n`;

function semconvRepository(r: TestRepo, extra: Record<string, string> = {}): void {
  const files: Record<string, string> = { ...extra };
  ENGINES.forEach((engine, i) => {
    files[`packages/${engine}/src/runtime/semconv.ts`] = semconv(i);
  });
  r.commit('packages with their semantic-convention constants', files);
}

describe('tiny per-package copies', () => {
  it('copies that hold only constants differing per package are per-package data, not an extraction', async () => {
    const r = repo();
    semconvRepository(r);
    const report = await analyze({ root: r.root });
    const seam = report.seams.find((s) => s.name === 'semconv')!;
    expect(seam.comparison.classification).toBe('renamed');
    expect(seam.triggers.find((t) => t.trigger === 'third_engine')!.fired).toBe(true);
    expect(seam.verdict.verdict).toBe('keep_local');
    expect(seam.verdict.decidedBy).toBe('per_package_constants');
    expect(seam.verdict.reasons[1]).toMatch(
      /^but the copies hold only constant declarations whose names or values differ/,
    );
    expect(report.decision.extractNow).toBe(false);
  });

  it('files a generator script of the repository writes are generated, not copies', async () => {
    const r = repo();
    semconvRepository(r, {
      'scripts/gen-semconv.mjs': `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
for (const pkg of packages()) {
  writeFileSync(join(pkg, 'src', 'runtime', 'semconv.ts'), render(pkg));
}
`,
    });
    const report = await analyze({ root: r.root });
    expect(report.seams).toEqual([]);
    expect(report.excludedFiles).toHaveLength(ENGINES.length);
    expect(report.excludedFiles[0]).toMatchObject({
      seam: 'semconv',
      reason: 'generated_script',
      evidence: 'scripts/gen-semconv.mjs',
    });
  });

  it('a script that only mentions the file name without writing it generates nothing', async () => {
    const r = repo();
    semconvRepository(r, {
      'scripts/gen-report.mjs': "console.log('see src/runtime/semconv.ts');\n",
    });
    const report = await analyze({ root: r.root });
    expect(report.excludedFiles).toEqual([]);
    expect(report.seams.map((s) => s.name)).toEqual(['semconv']);
  });

  it('savings count the main cluster only, not the outliers left out of the move', async () => {
    const r = repo();
    const files: Record<string, string> = {};
    // the main cluster: three copies of a 12-line queue
    const queue = RETIRE_QUEUE_TS.split('\n').slice(0, 11).join('\n').concat('\n}\n');
    for (const engine of ['a', 'b', 'c']) files[`packages/${engine}/src/runtime/queue.ts`] = queue;
    // two big rewrites: outliers, "not part of the move"
    files['packages/d/src/runtime/queue.ts'] = WAL_TS;
    files['packages/e/src/runtime/queue.ts'] = `${WAL_TS}\nexport const EXTRA = 1;\n`;
    r.commit('five engines', files);
    r.advance(500 * DAY);
    r.commit('domain work', { 'packages/a/src/domain.ts': 'export const x = 1;\n' });
    const report = await analyze({ root: r.root });
    const seam = report.seams.find((s) => s.name === 'queue')!;
    expect(seam.comparison.clusters).toMatchObject({ identical: 3, outliers: 2 });
    expect(seam.savings.duplicatedLines).toBe(2 * 12);
    expect(seam.verdict).toMatchObject({ verdict: 'keep_local', decidedBy: 'little_to_save' });
  });

  it('a seam whose shared part is a handful of lines is not worth a package, however often it changes', async () => {
    const r = repo();
    let limit = 8;
    const text = () =>
      `export function clampBatch(n: number): number {\n  return Math.min(n, ${limit});\n}\n`;
    const write = () => {
      const files: Record<string, string> = {};
      for (const engine of ['a', 'b', 'c'])
        files[`packages/${engine}/src/runtime/batch.ts`] = text();
      return files;
    };
    r.commit('three engines', write());
    for (const next of [16, 32, 64]) {
      r.advance(30 * DAY);
      limit = next;
      r.commit(`all engines: batches of ${next}`, write());
    }
    const report = await analyze({ root: r.root });
    const seam = report.seams.find((s) => s.name === 'batch')!;
    expect(seam.savings.changedSlices).toBeGreaterThanOrEqual(2);
    expect(seam.savings.sharedLines).toBe(3);
    expect(seam.verdict).toMatchObject({ verdict: 'keep_local', decidedBy: 'small_shared_part' });
    expect(seam.verdict.reasons[1]).toBe(
      'but the shared part is 3 lines: a handful of lines is not worth a package (savings.minSharedLines: 5)',
    );
  });
});
