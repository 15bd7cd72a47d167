import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { UsageError } from '../src/errors.js';
import { manyCopies, walOf } from './support/many-copies.js';
import { rejectionOf } from './support/rejection.js';
import { EngineRepo } from './support/scenarios.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const repos: EngineRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.dispose();
});

/** main has two engines in step; a branch `change` is checked out for the change under review. */
function reviewRepo(engines = ['alloc', 'quota']): EngineRepo {
  const e = new EngineRepo();
  repos.push(e);
  for (const engine of engines) {
    e.set(`packages/${engine}/src/runtime/wal.ts`, WAL_TS).set(
      `packages/${engine}/src/runtime/retire-queue.ts`,
      RETIRE_QUEUE_TS,
    );
  }
  e.commit('engines in step');
  e.repo.git('checkout', '-q', '-b', 'change');
  return e;
}

describe('drift check (--base)', () => {
  it('warns when a change touches one copy of an in-step seam but not the other', async () => {
    const e = reviewRepo();
    e.fix('bounds', 'alloc').commit('fix wal in alloc only');
    const report = await analyze({ root: e.repo.root, base: 'main' });
    expect(report.drift?.base.subject).toBe('engines in step');
    expect(report.drift?.findings).toEqual([
      {
        seam: 'wal',
        changed: ['alloc'],
        unchanged: ['quota'],
        outliers: [],
        canonical: 'quota',
        drifted: [
          {
            engine: 'alloc',
            path: 'packages/alloc/src/runtime/wal.ts',
            line: 25, // the line the fix changed
            changed: true,
            message: '`wal.ts` changed in alloc; 1 copy in step (quota) did not change',
          },
        ],
        baseClassification: 'identical',
        classification: 'similar',
        message: "`wal.ts` changed in alloc; quota's copy did not change",
      },
    ]);
  });

  it('checks each copy against the canonical copy: an outlier at the base does not switch it off', async () => {
    const e = new EngineRepo();
    repos.push(e);
    const seam = manyCopies();
    for (const [engine, text] of seam.texts) e.set(walOf(engine), text);
    e.commit('thirty engines');
    e.repo.git('checkout', '-q', '-b', 'change');
    // a real one-copy change to a copy in step with the canonical one
    const path = walOf('e-07');
    e.set(path, e.text(path).replace('frames.push(frame);', 'frames.push(Object.freeze(frame));'));
    e.commit('freeze frames in e-07 only');
    const report = await analyze({ root: e.repo.root, base: 'main' });
    const finding = report.drift!.findings[0]!;
    expect(finding).toMatchObject({
      seam: 'wal',
      changed: ['e-07'],
      outliers: seam.outliers,
      canonical: 'e-01',
    });
    expect(finding.unchanged).toHaveLength(27);
    expect(finding.drifted).toEqual([
      expect.objectContaining({ engine: 'e-07', path, changed: true, line: 40 }),
    ]);
    expect(finding.message).toBe(
      '`wal.ts` changed in e-07; 27 copies in step did not change (c-old-1, c-old-2, c-old-3, d-limit-1, d-limit-2 and 22 more)',
    );
  });

  it('marks the copies a change did not reach when the canonical copy got it', async () => {
    const e = reviewRepo(['a', 'b', 'c', 'd']);
    e.fix('freeze', 'a', 'b', 'c').commit('freeze frames in three engines');
    const finding = (await analyze({ root: e.repo.root, base: 'main' })).drift!.findings[0]!;
    expect(finding.canonical).toBe('a');
    expect(finding.drifted).toEqual([
      {
        engine: 'd',
        path: 'packages/d/src/runtime/wal.ts',
        line: 40, // where it differs from the canonical copy
        changed: false,
        message: "d's copy of `wal.ts` did not receive the change made to 3 copies (a, b and c)",
      },
    ]);
  });

  it('sees uncommitted edits in the working tree', async () => {
    const e = reviewRepo();
    e.fix('bounds', 'quota'); // not committed
    const report = await analyze({ root: e.repo.root, base: 'main' });
    expect(report.drift?.findings.map((f) => [f.seam, f.changed])).toEqual([['wal', ['quota']]]);
  });

  it('is quiet when every copy received the change, or only comments changed', async () => {
    const e = reviewRepo();
    e.fix('bounds', 'alloc', 'quota').commit('fix both');
    e.set(
      'packages/alloc/src/runtime/retire-queue.ts',
      `// comment only\n${RETIRE_QUEUE_TS}`,
    ).commit('comment');
    const report = await analyze({ root: e.repo.root, base: 'main' });
    expect(report.drift?.findings).toEqual([]);
  });

  it('lists every engine left behind in a group of three', async () => {
    const e = reviewRepo(['a', 'b', 'c']);
    e.fix('freeze', 'b').commit('fix b');
    const report = await analyze({ root: e.repo.root, base: 'main' });
    expect(report.drift?.findings[0]?.message).toBe(
      "`wal.ts` changed in b; a's and c's copies did not change",
    );
  });

  it('ignores seams that were already diverged at the base', async () => {
    const e = reviewRepo();
    e.set('packages/quota/src/runtime/wal.ts', RETIRE_QUEUE_TS).commit('quota wal rewritten');
    e.repo.git('branch', '-f', 'base-diverged');
    e.fix('bounds', 'alloc').commit('fix alloc');
    const report = await analyze({ root: e.repo.root, base: 'base-diverged' });
    expect(report.drift?.findings).toEqual([]);
  });

  it('takes the in-step level from thresholds.driftInStep', async () => {
    const e = reviewRepo();
    e.fix('bounds', 'alloc').commit('alloc ahead by one fix');
    e.repo.git('branch', '-f', 'similar-base'); // wal copies are `similar` here
    e.fix('freeze', 'alloc').commit('another alloc-only fix');
    const lenient = await analyze({ root: e.repo.root, base: 'similar-base' });
    expect(lenient.drift?.findings.map((f) => [f.seam, f.baseClassification])).toEqual([
      ['wal', 'similar'],
    ]);
    const strict = await analyze({
      root: e.repo.root,
      base: 'similar-base',
      config: { thresholds: { driftInStep: 'identical' } },
    });
    expect(strict.drift?.findings).toEqual([]);
  });

  it('counts a copy added by the change as changed', async () => {
    const e = reviewRepo();
    e.set('packages/third/src/runtime/wal.ts', WAL_TS).commit('third engine');
    const report = await analyze({ root: e.repo.root, base: 'main' });
    expect(report.drift?.findings).toEqual([
      expect.objectContaining({ seam: 'wal', changed: ['third'], unchanged: ['alloc', 'quota'] }),
    ]);
  });

  it('rejects a base that does not exist, saying how to fix it', async () => {
    const e = reviewRepo();
    const error = await rejectionOf(analyze({ root: e.repo.root, base: 'origin/nope' }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({
      code: 'unknown_revision',
      hint: expect.stringMatching(/git fetch/),
    });
  });
});
