/**
 * Two files naming one module inside one engine (issue 23, item 1). A real configuration with a
 * broad seam path (`src/**\/<seam>.ts`) needed seven runs, one `config_invalid` at a time, for
 * modules nobody watches (`src/browser.ts` beside `src/utils/browser.ts`, `_worker.ts` beside
 * `worker.ts`). Only clashes among watched seams stop the run, all listed at once; the others are
 * warnings, listed all at once. Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { ConfigError } from '../src/errors.js';
import { TestRepo } from './support/git-repo.js';
import { rejectionOf } from './support/rejection.js';
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

const BROAD = { engines: ['packages/*'], seamPaths: ['src/**/<seam>.ts'] };

describe('module name clashes inside one engine', () => {
  it('clashes of modules nobody watches are warnings, all listed at once; the seams are analysed', async () => {
    const r = repo();
    r.commit('two engines, broad seam paths', {
      'seam-report.config.json': JSON.stringify(BROAD),
      'packages/a/src/wal.ts': WAL_TS,
      'packages/b/src/wal.ts': WAL_TS,
      // a module in one engine only, twice in it
      'packages/a/src/browser.ts': 'export const browser = 1;\n',
      'packages/a/src/utils/browser.ts': 'export const browser = 2;\n',
      // `_worker` and `worker` are one module name; again in one engine only
      'packages/b/src/_worker.ts': 'export const worker = 1;\n',
      'packages/b/src/worker.ts': 'export const worker = 2;\n',
    });
    const report = await analyze({ root: r.root });
    expect(report.seams.map((seam) => seam.name)).toEqual(['wal']);
    expect(report.warnings).toEqual([
      'engine a has two files for module browser (packages/a/src/browser.ts and packages/a/src/utils/browser.ts); browser is not a watched seam, so only packages/a/src/browser.ts is listed (narrow "seamPaths" to tell them apart)',
      'engine b has two files for module worker (packages/b/src/_worker.ts and packages/b/src/worker.ts); worker is not a watched seam, so only packages/b/src/_worker.ts is listed (narrow "seamPaths" to tell them apart)',
    ]);
    expect(report.singleCopyModules.map((m) => `${m.seam}:${m.path}`)).toEqual([
      'browser:packages/a/src/browser.ts',
      'worker:packages/b/src/_worker.ts',
    ]);
  });

  it('a clash in a module the seams list leaves out is a warning too', async () => {
    const r = repo();
    r.commit('two engines', {
      'seam-report.config.json': JSON.stringify({ ...BROAD, seams: ['wal'] }),
      'packages/a/src/wal.ts': WAL_TS,
      'packages/b/src/wal.ts': WAL_TS,
      'packages/a/src/queue.ts': RETIRE_QUEUE_TS,
      'packages/a/src/old/queue.ts': RETIRE_QUEUE_TS,
      'packages/b/src/queue.ts': RETIRE_QUEUE_TS,
    });
    const report = await analyze({ root: r.root });
    expect(report.seams.map((seam) => seam.name)).toEqual(['wal']);
    expect(report.unwatchedModules.map((m) => m.seam)).toEqual(['queue']);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toMatch(/^engine a has two files for module queue /);
  });

  it('clashes among watched seams stop the run, every one named in one error', async () => {
    const r = repo();
    r.commit('two engines with clashing seams', {
      'seam-report.config.json': JSON.stringify(BROAD),
      'packages/a/src/wal.ts': WAL_TS,
      'packages/a/src/io/wal.ts': WAL_TS,
      'packages/b/src/wal.ts': WAL_TS,
      'packages/a/src/queue.ts': RETIRE_QUEUE_TS,
      'packages/b/src/queue.ts': RETIRE_QUEUE_TS,
      'packages/b/src/old/queue.ts': RETIRE_QUEUE_TS,
      'packages/a/src/browser.ts': 'export const browser = 1;\n',
      'packages/a/src/utils/browser.ts': 'export const browser = 2;\n',
    });
    const error = (await rejectionOf(analyze({ root: r.root }))) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('config_invalid');
    expect(error.message).toBe(
      'engine a has two copies of wal in the working tree: packages/a/src/io/wal.ts and packages/a/src/wal.ts; engine b has two copies of queue in the working tree: packages/b/src/old/queue.ts and packages/b/src/queue.ts',
    );
  });
});
