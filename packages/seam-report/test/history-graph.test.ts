/**
 * History follows the commit graph and renames (issue 11). Each case was wrong on real history
 * before: a merged-in repository's root "copied from" an engine outside its ancestry, an engine
 * directory renamed twice counted as three copies, a folder move hiding the commits before it,
 * and two engine folders swapping places counted as changes. Generated repositories, fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import type { SeamResult } from '../src/report.js';
import { DAY, TestRepo } from './support/git-repo.js';
import { FIXES } from './support/scenarios.js';
import { WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
function repo(): TestRepo {
  const created = TestRepo.create();
  repos.push(created);
  return created;
}
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

const fixed = (text: string, ...fixes: (keyof typeof FIXES)[]) =>
  fixes.reduce((out, fix) => out.replace(FIXES[fix][0], FIXES[fix][1]), text);
const history = (seam: SeamResult | undefined) => seam!.history!;

describe('a repository merged in with its own history', () => {
  it('copies nothing from engines outside its ancestry, and its own changes are not seam changes', async () => {
    const r = repo();
    r.commit('alpha engine', { 'packages/alpha/src/runtime/wal.ts': WAL_TS });
    r.advance(DAY);
    // quota's repository, started on its own with a wal written like alpha's
    r.git('checkout', '-q', '--orphan', 'quota');
    r.git('rm', '-rq', '--cached', '.');
    r.remove('packages/alpha/src/runtime/wal.ts');
    r.commit('quota engine (its own repository)', { 'packages/quota/src/runtime/wal.ts': WAL_TS });
    r.advance(DAY);
    r.commit('quota: freeze frames', {
      'packages/quota/src/runtime/wal.ts': fixed(WAL_TS, 'freeze'),
    });
    r.advance(DAY);
    r.git('checkout', '-q', 'main');
    r.git(
      'merge',
      '-q',
      '--allow-unrelated-histories',
      '-m',
      'Merge the quota repository',
      'quota',
    );
    r.advance(DAY);
    r.commit('alpha: bounds', { 'packages/alpha/src/runtime/wal.ts': fixed(WAL_TS, 'bounds') });

    const [wal] = (await analyze({ root: r.root })).seams;
    expect(history(wal).copyEvents.map((e) => [e.engine, e.source, e.copied])).toEqual([
      ['alpha', null, false],
      ['quota', null, false],
    ]);
    // quota's freeze was made when quota's history had one copy: not a change to the seam
    expect(history(wal).oneSidedChanges.map((c) => [c.engine, c.commit.subject])).toEqual([
      ['alpha', 'alpha: bounds'],
    ]);
    expect(history(wal).changes).toBe(1);
    expect(wal!.copies.map((copy) => [copy.engine, copy.appeared?.subject])).toEqual([
      ['alpha', 'alpha engine'],
      ['quota', 'quota engine (its own repository)'],
    ]);
  });
});

describe('renamed engine directories', () => {
  it('an engine directory renamed twice is one copy with two moves, not three copies', async () => {
    const r = repo();
    r.commit('two engines', {
      'packages/alloc/src/runtime/wal.ts': WAL_TS,
      'packages/quota/src/runtime/wal.ts': WAL_TS,
    });
    r.commit('both: bounds', {
      'packages/alloc/src/runtime/wal.ts': fixed(WAL_TS, 'bounds'),
      'packages/quota/src/runtime/wal.ts': fixed(WAL_TS, 'bounds'),
    });
    r.git('mv', 'packages/alloc', 'packages/alloc-core');
    r.commit('rename alloc to alloc-core');
    r.git('mv', 'packages/alloc-core', 'packages/allocdb-core');
    r.commit('rename alloc-core to allocdb-core');
    r.commit('allocdb-core: freeze', {
      'packages/allocdb-core/src/runtime/wal.ts': fixed(WAL_TS, 'bounds', 'freeze'),
    });

    const report = await analyze({ root: r.root });
    const [wal] = report.seams;
    expect(history(wal).copyEvents.map((e) => [e.engine, e.commit.subject])).toEqual([
      ['allocdb-core', 'two engines'],
      ['quota', 'two engines'],
    ]);
    expect(history(wal).moves.map((m) => [m.engine, m.from, m.to])).toEqual([
      [
        'allocdb-core',
        'packages/alloc/src/runtime/wal.ts',
        'packages/alloc-core/src/runtime/wal.ts',
      ],
      [
        'allocdb-core',
        'packages/alloc-core/src/runtime/wal.ts',
        'packages/allocdb-core/src/runtime/wal.ts',
      ],
    ]);
    expect(wal!.copies.map((copy) => [copy.engine, copy.appeared?.subject])).toEqual([
      ['allocdb-core', 'two engines'],
      ['quota', 'two engines'],
    ]);
    // changes made before the renames are the current engine's, with the path they had then
    expect(
      history(wal).mirroredChanges.map((m) => [
        m.origin.engine,
        m.origin.path,
        m.followers[0]!.engine,
      ]),
    ).toEqual([['allocdb-core', 'packages/alloc/src/runtime/wal.ts', 'quota']]);
    expect(history(wal).oneSidedChanges.map((c) => [c.engine, c.path])).toEqual([
      ['allocdb-core', 'packages/allocdb-core/src/runtime/wal.ts'],
    ]);
  });

  it('two engine folders swapping places are two moves, not changes', async () => {
    const r = repo();
    const alpha = WAL_TS;
    const beta = WAL_TS.replace('FRAME_MAGIC = 0x57414c31', 'FRAME_MAGIC = 0x51554f31');
    r.commit('two engines', {
      'packages/alpha/src/runtime/wal.ts': alpha,
      'packages/beta/src/runtime/wal.ts': beta,
    });
    r.git('mv', 'packages/alpha', 'packages/tmp');
    r.git('mv', 'packages/beta', 'packages/alpha');
    r.git('mv', 'packages/tmp', 'packages/beta');
    r.commit('swap the engine folders');
    const [wal] = (await analyze({ root: r.root })).seams;
    expect(history(wal).changes).toBe(0);
    expect(history(wal).mirroredChanges).toEqual([]);
    expect(history(wal).oneSidedChanges).toEqual([]);
    expect(history(wal).moves.map((m) => [m.from, m.to])).toEqual([
      ['packages/beta/src/runtime/wal.ts', 'packages/alpha/src/runtime/wal.ts'],
      ['packages/alpha/src/runtime/wal.ts', 'packages/beta/src/runtime/wal.ts'],
    ]);
  });
});

describe('a folder move', () => {
  function movedEngines(r: TestRepo, rewrite = false) {
    r.commit('two engines under engines/', {
      'engines/alpha/src/runtime/wal.ts': WAL_TS,
      'engines/beta/src/runtime/wal.ts': WAL_TS,
    });
    for (const fix of ['bounds', 'byteLength', 'freeze'] as const) {
      r.advance(DAY);
      const text = fixed(
        r.git('show', 'HEAD:engines/alpha/src/runtime/wal.ts').replace(/\n$/, '\n'),
        fix,
      );
      r.commit(`both: ${fix}`, {
        'engines/alpha/src/runtime/wal.ts': text,
        'engines/beta/src/runtime/wal.ts': text,
      });
    }
    r.advance(DAY);
    r.git('mv', 'engines', 'packages');
    if (rewrite) {
      // moved and rewritten in one commit: too different for git to pair the files
      r.write({
        'packages/alpha/src/runtime/wal.ts': `export const rewritten = true;\n`,
        'packages/beta/src/runtime/wal.ts': `export const rewritten = true;\n`,
      });
    }
    r.commit('move engines/ to packages/');
    r.advance(DAY);
    const text = r.git('show', 'HEAD:packages/alpha/src/runtime/wal.ts');
    r.commit('alpha: more', {
      'packages/alpha/src/runtime/wal.ts': `${text}export const MORE = 1;\n`,
    });
  }

  it('does not hide the commits before it: the copies are followed to their old folder', async () => {
    const r = repo();
    movedEngines(r);
    const report = await analyze({ root: r.root });
    const [wal] = report.seams;
    expect(history(wal).mirroredChanges.map((m) => m.origin.commit.subject)).toEqual([
      'both: bounds',
      'both: byteLength',
      'both: freeze',
    ]);
    expect(history(wal).changes).toBe(7);
    expect(wal!.copies.map((copy) => copy.appeared?.subject)).toEqual([
      'two engines under engines/',
      'two engines under engines/',
    ]);
    expect(report.settings.aliases).toEqual([
      { from: 'engines/alpha/src/runtime/wal.ts', to: 'packages/alpha/src/runtime/wal.ts' },
      { from: 'engines/beta/src/runtime/wal.ts', to: 'packages/beta/src/runtime/wal.ts' },
    ]);
  });

  it('that git cannot pair is followed through a configured alias of the old engine path', async () => {
    const r = repo();
    movedEngines(r, true);
    const unaliased = (await analyze({ root: r.root })).seams[0];
    expect(history(unaliased).mirroredChanges).toEqual([]);
    const aliased = (
      await analyze({
        root: r.root,
        config: { aliases: { 'engines/alpha': 'packages/alpha', 'engines/beta': 'packages/beta' } },
      })
    ).seams[0];
    expect(history(aliased).mirroredChanges.map((m) => m.origin.commit.subject)).toEqual([
      'both: bounds',
      'both: byteLength',
      'both: freeze',
      'move engines/ to packages/',
    ]);
    expect(aliased!.copies.map((copy) => copy.appeared?.subject)).toEqual([
      'two engines under engines/',
      'two engines under engines/',
    ]);
  });
});

describe('a file of another engine renamed into this one', () => {
  it("is a new copy made from it, not this copy's past", async () => {
    const r = repo();
    const slab = WAL_TS.replace('scan(', 'slab(');
    r.commit('two engines, slab code in beta', {
      'packages/alpha/src/runtime/wal.ts': WAL_TS,
      'packages/beta/src/runtime/wal.ts': WAL_TS,
      'packages/beta/src/engine/slab.ts': slab,
    });
    r.commit('beta: slab bounds', {
      'packages/beta/src/engine/slab.ts': fixed(slab, 'bounds'),
    });
    // beta's engine file moves into alpha's runtime (git pairs them), beta gets its own copy
    r.remove('packages/beta/src/engine/slab.ts');
    r.commit('move the slab into the runtime', {
      'packages/alpha/src/runtime/slab.ts': fixed(slab, 'bounds'),
      'packages/beta/src/runtime/slab.ts': fixed(slab, 'bounds', 'freeze'),
    });
    const report = await analyze({ root: r.root });
    const slabSeam = report.seams.find((seam) => seam.name === 'slab')!;
    expect(slabSeam.copies.map((copy) => [copy.engine, copy.appeared?.subject])).toEqual([
      ['alpha', 'move the slab into the runtime'],
      ['beta', 'move the slab into the runtime'],
    ]);
    expect(report.settings.aliases).toEqual([]);
  });
});
