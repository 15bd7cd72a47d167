/**
 * The history walk with many copies: each distinct content measured once, copy events found
 * without comparing every pair, the timeline measured against the canonical copy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { TestRepo } from './support/git-repo.js';
import { REWRITTEN, walOf } from './support/many-copies.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.dispose();
});
const create = () => {
  const repo = TestRepo.create();
  repos.push(repo);
  repo.write({ 'seam-report.config.json': '{"slices": {"by": "first-parent"}}' });
  return repo;
};

describe('copy events among many copies', () => {
  it('name the most similar copy, also when it is not the first candidate', async () => {
    const repo = create();
    const variant = WAL_TS.replace('HEADER_BYTES = 16', 'HEADER_BYTES = 24');
    repo.commit('three engines', {
      [walOf('a')]: RETIRE_QUEUE_TS,
      [walOf('b')]: variant,
      [walOf('c')]: WAL_TS,
    });
    repo.commit('d from c, e from b', {
      [walOf('d')]: WAL_TS.replace('frames.push(frame);', 'frames.push(Object.freeze(frame));'),
      [walOf('e')]: variant,
    });
    const report = await analyze({ root: repo.root });
    const events = report.seams[0]!.history!.copyEvents;
    const of = (engine: string) => events.find((event) => event.engine === engine)!;
    expect(of('d')).toMatchObject({ source: 'c', copied: true });
    expect(of('d').similarity).toBeLessThan(1);
    expect(of('e')).toMatchObject({ source: 'b', similarity: 1, copied: true });
  });

  it('make thirty copies in one commit each a copy of the first', async () => {
    const repo = create();
    repo.commit('first', { [walOf('e-00')]: WAL_TS });
    const engines = Array.from({ length: 29 }, (_, i) => `e-${String(i + 1).padStart(2, '0')}`);
    repo.commit('twenty-nine more', Object.fromEntries(engines.map((e) => [walOf(e), WAL_TS])));
    repo.commit(
      'fix every copy',
      Object.fromEntries(
        ['e-00', ...engines].map((e) => [
          walOf(e),
          WAL_TS.replace('frames.push(frame);', 'frames.push(Object.freeze(frame));'),
        ]),
      ),
    );
    const history = (await analyze({ root: repo.root })).seams[0]!.history!;
    expect(history.copyEvents.filter((event) => event.source === 'e-00')).toHaveLength(29);
    expect(history.mirroredChanges).toHaveLength(1);
    expect(history.mirroredChanges[0]!.followers).toHaveLength(29);
    expect(history.convergences).toEqual([]);
  });
});

describe('the timeline with many copies', () => {
  it('measures each point against the canonical copy and counts the outliers', async () => {
    const repo = create();
    repo.commit(
      'four engines',
      Object.fromEntries(['a', 'b', 'c', 'd'].map((e) => [walOf(e), WAL_TS])),
    );
    repo.commit('d rewritten', { [walOf('d')]: REWRITTEN });
    const report = await analyze({ root: repo.root });
    const timeline = report.seams[0]!.history!.timeline;
    expect(timeline[0]).toMatchObject({ copies: 4, similarity: 1, outliers: 0 });
    const last = timeline.at(-1)!;
    expect(last.outliers).toBe(1);
    expect(last.similarity).toBe(report.seams[0]!.copies.find((c) => c.engine === 'd')!.similarity);
    // the seam itself is identical: its outlier does not make it diverged
    expect(report.seams[0]!.comparison.classification).toBe('identical');
  });
});
