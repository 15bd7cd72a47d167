/**
 * Reverts and convergence are not divergence debt (issue 11): a change and its revert on one
 * copy were two one-sided changes that fired maintenance_cost alone; a change that made one copy
 * identical to another was one-sided. Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import type { SeamReport, SeamResult } from '../src/report.js';
import { EngineRepo, FIXES, walPath } from './support/scenarios.js';
import { WAL_TS } from './support/sources.js';

const repos: EngineRepo[] = [];
function engines(...names: string[]): EngineRepo {
  const created = new EngineRepo();
  repos.push(created);
  for (const name of names) created.set(walPath(name), WAL_TS);
  created.commit(`${names.join(', ')}`);
  return created;
}
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

const wal = (report: SeamReport): SeamResult => report.seams.find((seam) => seam.name === 'wal')!;
const trigger = (seam: SeamResult, name: string) =>
  seam.triggers.find((result) => result.trigger === name)!;
const subjects = (changes: readonly { commit: { subject: string } }[]) =>
  changes.map((change) => change.commit.subject);

describe('reverts', () => {
  it('a change and its revert on one copy are neither one-sided nor maintenance cost', async () => {
    const e = engines('alpha', 'beta');
    e.at(1);
    e.fix('bounds', 'alpha').commit('alpha: bounds');
    e.at(2);
    e.repo.git('revert', '--no-edit', 'HEAD');
    const seam = wal(await analyze({ root: e.repo.root }));
    expect(seam.history!.oneSidedChanges).toEqual([]);
    expect(
      seam.history!.reverts.map((r) => [
        r.engine,
        r.commit.subject,
        r.reverted.map((c) => c.subject),
      ]),
    ).toEqual([['alpha', 'Revert "alpha: bounds"', ['alpha: bounds']]]);
    expect(trigger(seam, 'maintenance_cost').fired).toBe(false);
    expect(seam.history!.changes).toBe(2);
  });

  it('a revert of several changes at once undoes them all', async () => {
    const e = engines('alpha', 'beta');
    e.at(1);
    e.fix('bounds', 'alpha').commit('alpha: bounds');
    e.at(2);
    e.fix('freeze', 'alpha').commit('alpha: freeze');
    e.at(3);
    e.set(walPath('alpha'), WAL_TS).commit('alpha: back to the copy');
    const seam = wal(await analyze({ root: e.repo.root }));
    expect(seam.history!.oneSidedChanges).toEqual([]);
    expect(seam.history!.reverts.map((r) => r.reverted.map((c) => c.subject))).toEqual([
      ['alpha: bounds', 'alpha: freeze'],
    ]);
  });

  it('what stays after a revert in one copy is what counts: the other copy keeps a one-sided fix', async () => {
    const e = engines('alpha', 'beta');
    e.at(1);
    e.fix('bounds', 'alpha', 'beta').commit('both: bounds');
    e.at(2);
    e.set(walPath('alpha'), WAL_TS).commit('alpha: undo bounds');
    const seam = wal(await analyze({ root: e.repo.root }));
    expect(seam.history!.mirroredChanges).toEqual([]);
    expect(seam.history!.oneSidedChanges.map((c) => [c.engine, c.commit.subject])).toEqual([
      ['beta', 'both: bounds'],
    ]);
    expect(subjects(seam.history!.reverts)).toEqual(['alpha: undo bounds']);
  });
});

describe('convergence', () => {
  it('a change that makes a copy identical to another is a convergence, not one-sided', async () => {
    const e = engines('alpha');
    e.at(1);
    e.set(
      walPath('beta'),
      WAL_TS.replace('FRAME_MAGIC = 0x57414c31', 'FRAME_MAGIC = 0x51554f31'),
    ).commit('beta: copy with its own magic');
    e.at(5);
    e.set(walPath('beta'), WAL_TS).commit('beta: use the shared magic');
    const seam = wal(await analyze({ root: e.repo.root }));
    expect(seam.history!.oneSidedChanges).toEqual([]);
    expect(seam.history!.convergences.map((c) => [c.engine, c.commit.subject, c.with])).toEqual([
      ['beta', 'beta: use the shared magic', ['alpha']],
    ]);
    expect(trigger(seam, 'maintenance_cost').observed.oneSidedSlices).toBe(0);
  });

  it('a sync that brings every copy in step carries each earlier fix: propagations, not debt', async () => {
    const e = engines('alpha', 'beta', 'gamma');
    e.at(1);
    e.fix('bounds', 'alpha').commit('alpha: bounds');
    e.at(2);
    e.fix('freeze', 'beta').commit('beta: freeze');
    e.at(3);
    e.fix('magicError', 'gamma').commit('gamma: RangeError');
    e.at(10);
    const synced = (Object.keys(FIXES) as (keyof typeof FIXES)[])
      .filter((fix) => fix !== 'byteLength')
      .reduce((text, fix) => text.replace(FIXES[fix][0], FIXES[fix][1]), WAL_TS);
    for (const engine of ['alpha', 'beta', 'gamma']) e.set(walPath(engine), synced);
    e.commit('sync all copies');
    const seam = wal(await analyze({ root: e.repo.root }));
    expect(seam.history!.oneSidedChanges).toEqual([]);
    expect(
      seam.history!.mirroredChanges.map((m) => [
        m.origin.commit.subject,
        m.kind,
        m.followers.map((f) => [f.engine, f.commit.subject, f.how]),
      ]),
    ).toEqual([
      [
        'alpha: bounds',
        'late_propagation',
        [
          ['beta', 'sync all copies', 'contained'],
          ['gamma', 'sync all copies', 'contained'],
        ],
      ],
      [
        'beta: freeze',
        'late_propagation',
        [
          ['alpha', 'sync all copies', 'contained'],
          ['gamma', 'sync all copies', 'contained'],
        ],
      ],
      [
        'gamma: RangeError',
        'late_propagation',
        // the RangeError edit is most of what the sync brought alpha and beta: similar outright
        [
          ['alpha', 'sync all copies', 'similar'],
          ['beta', 'sync all copies', 'similar'],
        ],
      ],
    ]);
    expect(seam.history!.convergences).toEqual([]);
  });
});
