import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { CopyMatcher } from '../src/discover.js';
import { ObjectReader } from '../src/git.js';
import { type HistoryWalk, walkHistory } from '../src/history.js';
import { matchChanges } from '../src/mirrors.js';
import { DAY, EPOCH, HOUR } from './support/git-repo.js';
import { type HistoryScenario, historyScenario } from './support/scenarios.js';

let scenario: HistoryScenario;
let walk: HistoryWalk;

beforeAll(async () => {
  scenario = historyScenario();
  const config = resolveConfig({}, 'defaults');
  const reader = new ObjectReader(scenario.engines.repo.root);
  try {
    walk = await walkHistory({
      cwd: scenario.engines.repo.root,
      reader,
      matcher: new CopyMatcher(config),
      seams: new Set(['wal', 'retire_queue']),
      copyEventThreshold: 0.8,
      similarThreshold: 0.8,
      headTime: EPOCH + 14 * DAY,
    });
  } finally {
    await reader.close();
  }
});
afterAll(() => scenario.engines.dispose());

describe('walkHistory', () => {
  it('reads every commit that touched a seam path, oldest first', () => {
    expect(walk.commitsWalked).toBe(10);
    expect(walk.first?.hash).toBe(scenario.commits.alpha);
    expect(walk.last?.hash).toBe(scenario.commits.gammaAppears);
    expect([...walk.engineDirs].sort()).toEqual([
      'packages/alpha',
      'packages/beta',
      'packages/gamma',
    ]);
  });

  it('records copy events: the first copy has no source, later copies name theirs', () => {
    const events = walk.seams.get('wal')!.copyEvents;
    expect(events.map((e) => [e.engine, e.source, e.copied, e.commit.hash])).toEqual([
      ['alpha', null, false, scenario.commits.alpha],
      ['beta', 'alpha', true, scenario.commits.betaCopied],
      ['gamma', 'alpha', true, scenario.commits.gammaAppears],
    ]);
    expect(events[1]!.similarity).toBe(1);
  });

  it('knows the commit where each current copy appeared (the third engine included)', () => {
    const appeared = walk.seams.get('retire_queue')!.appeared;
    expect(appeared.get('gamma')?.hash).toBe(scenario.commits.gammaAppears);
    expect(appeared.get('gamma')?.date).toBe('2024-01-15T00:00:00Z');
    expect(appeared.get('alpha')?.hash).toBe(scenario.commits.alpha);
  });

  it('records normalised changes only, and only while two or more copies exist', () => {
    const events = walk.seams.get('wal')!.events;
    // the comment-only edit is not a change; the initial commit had one copy
    expect(events.map((e) => `${e.copy.engine}@${e.commit.subject}`)).toEqual([
      'alpha@fix negative offsets in both engines',
      'beta@fix negative offsets in both engines',
      'alpha@alpha: use byteLength',
      'beta@beta: use byteLength too',
      'alpha@alpha: freeze frames',
      'beta@beta: freeze frames',
      'beta@beta: RangeError for bad magic',
    ]);
    const bounds = events[0]!;
    expect(bounds.lines).toBe(1); // tokens inserted into one line, none removed
    expect(walk.seams.get('retire_queue')!.events).toEqual([]);
  });

  it('samples the similarity timeline, ending at the last change', () => {
    const timeline = walk.seams.get('wal')!.timeline;
    expect(timeline[0]).toMatchObject({
      commit: scenario.commits.alpha,
      copies: 1,
      similarity: null,
    });
    expect(timeline[1]).toMatchObject({
      commit: scenario.commits.betaCopied,
      copies: 2,
      similarity: 1,
    });
    const afterAlphaFix = timeline.find((p) => p.commit === scenario.commits.alphaFix)!;
    expect(afterAlphaFix.similarity).toBeLessThan(1);
    expect(timeline.find((p) => p.commit === scenario.commits.betaFixWeekLater)!.similarity).toBe(
      1,
    );
    expect(timeline.at(-1)).toMatchObject({ commit: scenario.commits.gammaAppears, copies: 3 });
  });
});

describe('mirrored and one-sided changes in history', () => {
  it('finds a fix mirrored in the same commit, one a week later (late) and one hours later', () => {
    const matched = matchChanges(walk.seams.get('wal')!.events, {
      threshold: 0.7,
      windowSeconds: 2 * DAY,
      minTokens: 4,
    });
    expect(
      matched.mirrored.map((m) => ({
        kind: m.kind,
        origin: m.origin.commit.hash,
        followers: m.followers.map((f) => [f.engine, f.commit.hash, f.delaySeconds]),
      })),
    ).toEqual([
      {
        kind: 'same_commit',
        origin: scenario.commits.sameCommitFix,
        followers: [['beta', scenario.commits.sameCommitFix, 0]],
      },
      {
        kind: 'late_propagation',
        origin: scenario.commits.alphaFix,
        followers: [['beta', scenario.commits.betaFixWeekLater, 7 * DAY]],
      },
      {
        kind: 'within_window',
        origin: scenario.commits.alphaFreeze,
        followers: [['beta', scenario.commits.betaFreezeHoursLater, 5 * HOUR]],
      },
    ]);
    expect(matched.mirrored.every((m) => m.match === 1)).toBe(true);
    expect(matched.oneSided.map((c) => [c.engine, c.commit.hash])).toEqual([
      ['beta', scenario.commits.betaOneSided],
    ]);
  });

  it('calls the week-later fix mirrored within the window when the window is wider', () => {
    const matched = matchChanges(walk.seams.get('wal')!.events, {
      threshold: 0.7,
      windowSeconds: 8 * DAY,
      minTokens: 4,
    });
    expect(matched.mirrored.map((m) => m.kind)).toEqual([
      'same_commit',
      'within_window',
      'within_window',
    ]);
  });
});
