/**
 * Synthetic git repositories for tests: files written, commits made with fixed author and
 * committer dates (GIT_AUTHOR_DATE / GIT_COMMITTER_DATE), so every hash and every report is
 * the same on every run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** 2024-01-01T00:00:00Z: the clock of every synthetic repository starts here. */
export const EPOCH = Date.UTC(2024, 0, 1) / 1000;
export const DAY = 86_400;
export const HOUR = 3_600;

export class TestRepo {
  readonly root: string;
  /** Seconds since EPOCH of the next commit; each commit advances it by an hour by default. */
  private clock = 0;

  private constructor(root: string) {
    this.root = root;
  }

  static create(options: { init?: boolean } = {}): TestRepo {
    const repo = new TestRepo(mkdtempSync(join(tmpdir(), 'seam-report-test-')));
    if (options.init !== false) {
      repo.git('init', '-q', '-b', 'main');
      repo.git('config', 'user.name', 'Test');
      repo.git('config', 'user.email', 'test@example.com');
      repo.git('config', 'commit.gpgsign', 'false');
    }
    return repo;
  }

  git(...args: string[]): string {
    const date = `${EPOCH + this.clock} +0000`;
    return execFileSync('git', args, {
      cwd: this.root,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: this.root,
      },
    });
  }

  write(files: Record<string, string>): this {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.root, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
    return this;
  }

  remove(...paths: string[]): this {
    for (const path of paths) rmSync(join(this.root, path), { force: true });
    return this;
  }

  /** Moves the clock (seconds) before the next commit. */
  advance(seconds: number): this {
    this.clock += seconds;
    return this;
  }

  /** Commits everything in the work tree; returns the new commit's hash. */
  commit(subject: string, files: Record<string, string> = {}): string {
    this.write(files);
    this.git('add', '-A');
    this.git('commit', '-q', '--allow-empty', '-m', subject);
    const hash = this.git('rev-parse', 'HEAD').trim();
    this.clock += HOUR;
    return hash;
  }

  /** Seconds since the epoch of the next commit. */
  get now(): number {
    return EPOCH + this.clock;
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
