/**
 * A seam extracted by deleting its copies (issue 23, item 4): the module moved into a shared crate
 * and the engines' files were removed. The report said only "matches no module" (an error under
 * `--strict`), never "already extracted"; with one shared crate left holding the module, it even
 * called that crate the only engine. Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { type CliIo, EXIT, runCli } from '../src/cli.js';
import { render } from '../src/render/index.js';
import { DAY, TestRepo } from './support/git-repo.js';
import { RETIRE_QUEUE_TS, WAL_RS, WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
function repo(): TestRepo {
  const created = TestRepo.create();
  repos.push(created);
  return created;
}
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

const TIME_RS = `//! Logical time.

pub const SLOT_MILLIS: u64 = 1_000;

pub struct Clock {
    pub slot: u64,
}

impl Clock {
    pub fn advance(&mut self, slots: u64) -> u64 {
        self.slot = self.slot.checked_add(slots).expect("slot overflow");
        self.slot
    }

    pub fn millis(&self) -> u64 {
        self.slot * SLOT_MILLIS
    }
}
`;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: process.cwd(),
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe('a seam extracted by deleting its copies', () => {
  it('is reported as already extracted, when and where to; its configured name is no mistake', async () => {
    const r = repo();
    r.commit('two engines', {
      'seam-report.config.json': JSON.stringify({ seams: ['wal', 'time'] }),
      'crates/alloc/src/wal.rs': WAL_RS,
      'crates/quota/src/wal.rs': WAL_RS.replace('16', '24'),
      'crates/alloc/src/time.rs': TIME_RS,
      'crates/quota/src/time.rs': TIME_RS,
    });
    r.advance(30 * DAY);
    r.remove('crates/alloc/src/time.rs', 'crates/quota/src/time.rs');
    const moved = r.commit('Move logical time into the shared runtime crate', {
      'crates/shared/Cargo.toml': '[package]\nauthors = ["x"]\nname = "engine-shared"\n',
      'crates/shared/src/time.rs': TIME_RS,
      'crates/alloc/src/lib.rs': 'pub use engine_shared::time;\n',
      'crates/quota/src/lib.rs': 'pub use engine_shared::time;\n',
    });
    const report = await analyze({ root: r.root });
    expect(report.warnings).toEqual([]);
    expect(report.extractedSeams).toEqual([
      {
        name: 'time',
        commit: expect.objectContaining({ hash: moved }),
        to: 'engine_shared',
        files: ['crates/shared/src/time.rs'],
        removed: [
          { engine: 'alloc', path: 'crates/alloc/src/time.rs' },
          { engine: 'quota', path: 'crates/quota/src/time.rs' },
        ],
      },
    ]);
    // the shared crate is where the seam went, not an engine
    expect(report.engines.map((engine) => engine.name)).toEqual(['alloc', 'quota']);
    expect(report.singleCopyModules).toEqual([]);
    expect(report.decision.extracted).toEqual(['time']);
    expect(report.decision.summary).toMatch(/\(already extracted: time\)$/);
    const text = render(report, 'text');
    expect(text).toContain(
      `Already extracted (copies removed):\n  time to engine_shared (crates/shared/src/time.rs) in ${moved.slice(0, 10)}`,
    );
    expect((await cli([r.root, '--strict'])).code).toBe(EXIT.ok);
  });

  it('with one shared crate left holding the module, does not call that crate the only engine', async () => {
    const r = repo();
    r.commit('two engines', {
      'crates/alloc/src/time.rs': TIME_RS,
      'crates/quota/src/time.rs': TIME_RS,
      'crates/alloc/src/lib.rs': 'pub mod time;\n',
      'crates/quota/src/lib.rs': 'pub mod time;\n',
    });
    r.advance(30 * DAY);
    r.remove('crates/alloc/src/time.rs', 'crates/quota/src/time.rs');
    const moved = r.commit('Move time into a shared crate', {
      'crates/shared/Cargo.toml': '[package]\nname = "shared"\n',
      'crates/shared/src/time.rs': TIME_RS,
      'crates/alloc/src/lib.rs': 'pub use shared::time;\n',
      'crates/quota/src/lib.rs': 'pub use shared::time;\n',
    });
    const report = await analyze({ root: r.root });
    expect(report.engines).toEqual([]);
    expect(report.notes.join('\n')).not.toMatch(/Only one engine/);
    expect(report.extractedSeams.map((seam) => [seam.name, seam.commit.hash, seam.to])).toEqual([
      ['time', moved, 'shared'],
    ]);
    expect(report.decision.summary).toBe(
      'Nothing left to extract: every seam is already extracted (time)',
    );
  });

  it('an engine deleted whole is not an extraction, though another engine keeps the code', async () => {
    const r = repo();
    const files: Record<string, string> = {};
    for (const engine of ['alloc', 'quota', 'fence']) {
      files[`crates/${engine}/src/time.rs`] = TIME_RS;
      files[`crates/${engine}/src/wal.rs`] = WAL_RS;
    }
    r.commit('three engines', files);
    r.advance(30 * DAY);
    r.remove(
      'crates/quota/src/time.rs',
      'crates/quota/src/wal.rs',
      'crates/fence/src/time.rs',
      'crates/fence/src/wal.rs',
    );
    r.commit('drop the quota and fence engines');
    const report = await analyze({ root: r.root });
    expect(report.extractedSeams).toEqual([]);
    expect(report.singleCopyModules.map((m) => m.seam)).toEqual(['time', 'wal']);
  });

  it('a module moved to another folder of each engine is not extracted, whatever else the commit changed', async () => {
    // this repository's own history: the engine shells moved from src/runtime/ to src/engine/,
    // in a commit that also changed large files of other packages
    const r = repo();
    const checkpoint = RETIRE_QUEUE_TS.replaceAll('RetireQueue', 'CheckpointPolicy');
    const files: Record<string, string> = {};
    for (const engine of ['alloc', 'quota']) {
      files[`packages/${engine}/src/runtime/checkpoint.ts`] = checkpoint;
      files[`packages/${engine}/src/runtime/wal.ts`] = WAL_TS;
    }
    r.commit('two engines', files);
    r.advance(DAY);
    r.remove(
      'packages/alloc/src/runtime/checkpoint.ts',
      'packages/quota/src/runtime/checkpoint.ts',
    );
    r.commit('engine shells leave the runtime', {
      'packages/alloc/src/engine/checkpoint-body.ts': checkpoint.replace('capacity', 'limit'),
      'packages/quota/src/engine/checkpoint-body.ts': checkpoint.replace('capacity', 'limit'),
      // a large file of another package, changed in the same commit
      'packages/bench/src/common.ts': `${WAL_TS}\n${RETIRE_QUEUE_TS}\n${WAL_TS.replaceAll('Frame', 'Record')}`,
    });
    const report = await analyze({ root: r.root });
    expect(report.extractedSeams).toEqual([]);
  });
});
