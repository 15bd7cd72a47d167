/**
 * Reports to render in the format tests: the synthetic three-engine history with a drift check
 * against an earlier commit, plus small edge cases (no commits, one engine, Rust).
 */
import { analyze } from '../../src/analyze.js';
import type { SeamReport } from '../../src/report.js';
import { TestRepo } from './git-repo.js';
import { historyScenario } from './scenarios.js';
import { rustTests, WAL_RS, WAL_TS } from './sources.js';

export interface RenderFixtures {
  readonly full: SeamReport;
  readonly edgeCases: Readonly<Record<string, SeamReport>>;
  dispose(): void;
}

export async function renderFixtures(): Promise<RenderFixtures> {
  const scenario = historyScenario();
  const repos: TestRepo[] = [];
  const make = () => {
    const repo = TestRepo.create();
    repos.push(repo);
    return repo;
  };
  // the change under review: beta's one-sided fix, alpha's comment, gamma's arrival
  scenario.engines.repo.git('branch', 'review-base', scenario.commits.betaFreezeHoursLater);
  const full = await analyze({ root: scenario.engines.repo.root, base: 'review-base' });

  const empty = make();
  empty.write({ 'packages/a/src/runtime/wal.ts': WAL_TS, 'packages/b/src/runtime/wal.ts': WAL_TS });
  const single = make();
  single.commit('one engine', { 'packages/allocdb-core/src/runtime/wal.ts': WAL_TS });
  const rust = make();
  rust.commit('crates', {
    'crates/a/src/wal.rs': `${WAL_RS}${rustTests('tests', 'assert!(true);')}`,
    'crates/b/src/wal.rs': WAL_RS.replace('HEADER_BYTES: usize = 16', 'HEADER_BYTES: usize = 24'),
  });
  const edgeCases = {
    noCommits: await analyze({ root: empty.root }),
    oneEngine: await analyze({ root: single.root }),
    rust: await analyze({ root: rust.root }),
  };
  return {
    full,
    edgeCases,
    dispose() {
      scenario.engines.dispose();
      for (const repo of repos) repo.dispose();
    },
  };
}
