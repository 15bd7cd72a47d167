/**
 * Mirrored changes match on real tokens (issue 11): two unrelated edits of the same shape are
 * not a propagation, small edits need the same place, and the evidence says how a match was
 * made. Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { render } from '../src/render/index.js';
import type { SeamResult } from '../src/report.js';
import { DAY, TestRepo } from './support/git-repo.js';
import { EngineRepo, historyScenario, walPath } from './support/scenarios.js';
import { WAL_RS, WAL_TS } from './support/sources.js';

const repos: { dispose(): void }[] = [];
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});
function engines(): EngineRepo {
  const created = new EngineRepo();
  repos.push(created);
  return created;
}

const history = (seam: SeamResult | undefined) => seam!.history!;

describe('edits of the same shape with different names and values', () => {
  it('are two one-sided changes, not a late propagation (TypeScript constants months apart)', async () => {
    const e = engines();
    e.set(walPath('alpha'), WAL_TS).set(walPath('beta'), WAL_TS).commit('two engines');
    e.at(10);
    e.set(walPath('alpha'), `${WAL_TS}export const ALLOC_TAG = 'alloc-v2' as const;\n`).commit(
      'alpha: tag',
    );
    e.at(100);
    e.set(walPath('beta'), `${WAL_TS}export const QUOTA_LIMIT = 'quota-max' as const;\n`).commit(
      'beta: limit',
    );
    const [wal] = (await analyze({ root: e.repo.root })).seams;
    expect(history(wal).mirroredChanges).toEqual([]);
    expect(history(wal).oneSidedChanges.map((c) => c.commit.subject)).toEqual([
      'alpha: tag',
      'beta: limit',
    ]);
  });

  it('are not matched for Rust attributes naming different lints', async () => {
    const r = TestRepo.create();
    repos.push(r);
    r.commit('two crates', { 'crates/a/src/wal.rs': WAL_RS, 'crates/b/src/wal.rs': WAL_RS });
    r.advance(30 * DAY);
    r.commit('a: allow', { 'crates/a/src/wal.rs': `#![allow(dead_code)]\n${WAL_RS}` });
    r.advance(60 * DAY);
    r.commit('b: allow', { 'crates/b/src/wal.rs': `#![allow(unused_mut)]\n${WAL_RS}` });
    const [wal] = (await analyze({ root: r.root })).seams;
    expect(history(wal).mirroredChanges).toEqual([]);
    expect(history(wal).oneSidedChanges).toHaveLength(2);
  });
});

describe('small edits', () => {
  it('match only when the same edit is made at the same place', async () => {
    const e = engines();
    e.set(walPath('alpha'), WAL_TS).set(walPath('beta'), WAL_TS).commit('two engines');
    e.at(1);
    // the same one-token change (16 → 24), in different constants
    e.set(walPath('alpha'), WAL_TS.replace('HEADER_BYTES = 16', 'HEADER_BYTES = 24')).commit(
      'alpha: header size',
    );
    e.at(2);
    e.set(walPath('beta'), WAL_TS.replace('setUint32(4, frame', 'setUint32(24, frame')).commit(
      'beta: length offset',
    );
    e.at(3);
    e.set(
      walPath('beta'),
      e.text(walPath('beta')).replace('HEADER_BYTES = 16', 'HEADER_BYTES = 24'),
    ).commit('beta: header size');
    const [wal] = (await analyze({ root: e.repo.root })).seams;
    expect(
      history(wal).mirroredChanges.map((m) => [
        m.origin.commit.subject,
        m.followers.map((f) => [f.commit.subject, f.how]),
      ]),
    ).toEqual([['alpha: header size', [['beta: header size', 'exact_in_context']]]]);
    expect(history(wal).oneSidedChanges.map((c) => c.commit.subject)).toEqual([
      'beta: length offset',
    ]);
  });

  it('have a configurable minimum size', async () => {
    const e = engines();
    e.set(walPath('alpha'), WAL_TS).set(walPath('beta'), WAL_TS).commit('two engines');
    e.at(1);
    e.fix('freeze', 'alpha').commit('alpha: freeze');
    e.at(2);
    // the same fix in beta, plus one more token: similar, not exact
    e.set(
      walPath('beta'),
      WAL_TS.replace('frames.push(frame);', 'frames.push(Object.freeze(frame)!);'),
    ).commit('beta: freeze');
    const loose = (await analyze({ root: e.repo.root })).seams[0];
    expect(history(loose).mirroredChanges.map((m) => m.followers[0]!.how)).toEqual(['similar']);
    const strict = (
      await analyze({ root: e.repo.root, config: { thresholds: { mirrorMinTokens: 10 } } })
    ).seams[0];
    expect(history(strict).mirroredChanges).toEqual([]);
  });
});

describe('the evidence says how each match was made', () => {
  it('in the JSON and in the text report', async () => {
    const scenario = historyScenario();
    repos.push(scenario.engines);
    const report = await analyze({ root: scenario.engines.repo.root });
    const wal = report.seams.find((seam) => seam.name === 'wal');
    expect(
      history(wal).mirroredChanges.map((m) => [
        m.origin.commit.subject,
        m.followers.map((f) => [f.how, f.match]),
      ]),
    ).toEqual([
      ['fix negative offsets in both engines', [['exact', 1]]],
      ['alpha: use byteLength', [['exact_in_context', 1]]],
      ['alpha: freeze frames', [['exact', 1]]],
    ]);
    expect(render(report, 'text')).toMatch(/beta 7d 0h later in [0-9a-f]{10} \(exact in context\)/);
  });
});
