/**
 * Synthetic engine histories shared by several test files. Every edit is a precise, distinct
 * change so that tests can say exactly which changes must match which.
 */
import { DAY, HOUR, TestRepo } from './git-repo.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './sources.js';

const wal = (engine: string) => `packages/${engine}/src/runtime/wal.ts`;
const queue = (engine: string) => `packages/${engine}/src/runtime/retire-queue.ts`;

/** Distinct fixes to WAL_TS: `[before, after]` text replacements. */
export const FIXES = {
  bounds: [
    'if (bytes.length - offset < HEADER_BYTES) return undefined;',
    'if (offset < 0 || bytes.length - offset < HEADER_BYTES) return undefined;',
  ],
  byteLength: [
    'view.setUint32(4, frame.payload.length, true);',
    'view.setUint32(4, frame.payload.byteLength, true);',
  ],
  freeze: ['frames.push(frame);', 'frames.push(Object.freeze(frame));'],
  magicError: [
    "throw new Error('bad magic at ' + offset);",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: TypeScript source text containing a template literal
    'throw new RangeError(`bad magic at ${offset}`);',
  ],
} as const;

export class EngineRepo {
  readonly repo: TestRepo;
  private readonly texts = new Map<string, string>();
  /** The repository clock when this builder started, the origin of `at`. */
  private readonly start: number;

  constructor(repo: TestRepo = TestRepo.create()) {
    this.repo = repo;
    this.start = repo.now;
  }

  /** The current text of a path as this builder last wrote it. */
  text(path: string): string {
    return this.texts.get(path)!;
  }

  set(path: string, text: string): this {
    this.texts.set(path, text);
    this.repo.write({ [path]: text });
    return this;
  }

  /** Applies a fix to the wal copy of each named engine. */
  fix(fix: keyof typeof FIXES, ...engines: string[]): this {
    const [before, after] = FIXES[fix];
    for (const engine of engines) {
      const current = this.text(wal(engine));
      if (!current.includes(before)) throw new Error(`fix ${fix} does not apply to ${engine}`);
      this.set(wal(engine), current.replace(before, after));
    }
    return this;
  }

  commit(subject: string): string {
    return this.repo.commit(subject);
  }

  /** Sets the clock to `days` (and `hours`) after the repository's first commit. */
  at(days: number, hours = 0): this {
    const target = days * DAY + hours * HOUR;
    const elapsed = this.repo.now - this.start;
    if (target < elapsed) throw new Error('the test clock only moves forward');
    this.repo.advance(target - elapsed);
    return this;
  }

  dispose(): void {
    this.repo.dispose();
  }
}

/** The configuration the scenario repository carries. */
export const SCENARIO_CONFIG = { slices: { by: 'first-parent' } } as const;

export interface HistoryScenario {
  readonly engines: EngineRepo;
  readonly commits: {
    readonly alpha: string;
    readonly betaCopied: string;
    readonly sameCommitFix: string;
    readonly alphaFix: string;
    readonly betaFixWeekLater: string;
    readonly alphaFreeze: string;
    readonly betaFreezeHoursLater: string;
    readonly betaOneSided: string;
    readonly alphaCommentOnly: string;
    readonly gammaAppears: string;
  };
}

/**
 * Two engines, then a third: alpha is created (day 0); beta copies it (day 1); a fix lands in
 * both wal copies in one commit (day 2); a fix lands in alpha (day 3) and a week later in beta
 * (day 10); a fix lands in alpha (day 11) and five hours later in beta; beta gets a fix alpha
 * never gets (day 12); alpha's wal gets a comment-only edit (day 13); gamma appears as a copy
 * of alpha (day 14). retire-queue never changes after the copies are made.
 *
 * Every commit is its own unit of work (`"slices": {"by": "first-parent"}` in the repository's
 * configuration), so each mirrored fix is its own occurrence.
 */
export function historyScenario(): HistoryScenario {
  const e = new EngineRepo();
  e.repo.write({ 'seam-report.config.json': `${JSON.stringify(SCENARIO_CONFIG)}\n` });
  const alpha = e
    .set(wal('alpha'), WAL_TS)
    .set(queue('alpha'), RETIRE_QUEUE_TS)
    .commit('alpha engine');
  e.at(1);
  const betaCopied = e
    .set(wal('beta'), WAL_TS)
    .set(queue('beta'), RETIRE_QUEUE_TS)
    .commit('beta: copy runtime from alpha');
  e.at(2);
  const sameCommitFix = e
    .fix('bounds', 'alpha', 'beta')
    .commit('fix negative offsets in both engines');
  e.at(3);
  const alphaFix = e.fix('byteLength', 'alpha').commit('alpha: use byteLength');
  e.at(10);
  const betaFixWeekLater = e.fix('byteLength', 'beta').commit('beta: use byteLength too');
  e.at(11);
  const alphaFreeze = e.fix('freeze', 'alpha').commit('alpha: freeze frames');
  e.at(11, 5);
  const betaFreezeHoursLater = e.fix('freeze', 'beta').commit('beta: freeze frames');
  e.at(12);
  const betaOneSided = e.fix('magicError', 'beta').commit('beta: RangeError for bad magic');
  e.at(13);
  const alphaCommentOnly = e
    .set(wal('alpha'), `// Frames are little-endian.\n${e.text(wal('alpha'))}`)
    .commit('alpha: document byte order');
  e.at(14);
  const gammaAppears = e
    .set(wal('gamma'), e.text(wal('alpha')))
    .set(queue('gamma'), RETIRE_QUEUE_TS)
    .commit('gamma engine from alpha');
  return {
    engines: e,
    commits: {
      alpha,
      betaCopied,
      sameCommitFix,
      alphaFix,
      betaFixWeekLater,
      alphaFreeze,
      betaFreezeHoursLater,
      betaOneSided,
      alphaCommentOnly,
      gammaAppears,
    },
  };
}

export { queue as queuePath, wal as walPath };
