/**
 * The data directory's lock: `<dir>/lock`, created exclusively and holding the owner's pid.
 *
 * - The lock file is written completely before it appears (written under a temporary name, then
 *   hard-linked to `lock`, which fails if a lock exists), so a reader never sees a half-written
 *   pid.
 * - A lock whose pid no longer runs is stale (its engine died without closing): it is removed
 *   and acquisition retried once.
 * - Two engines in one process share a pid, which is alive, so the second open fails as it must.
 *
 * Limits, documented rather than hidden: two processes that both find the same stale lock at the
 * same instant can race in removing it; and a dead owner's pid reused by an unrelated process
 * keeps the lock looking alive until that process exits (the error message names the pid and the
 * file to remove).
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { PackageError } from './package-error.js';

export const LOCK_FILE_NAME = 'lock';

/** Another live engine holds the directory. */
export class EngineLockedError extends PackageError {
  declare readonly code: 'engine_locked';
  readonly path: string;
  readonly pid: number | undefined;
  constructor(path: string, pid: number | undefined) {
    super(
      'engine_locked',
      `${path} is held by ${pid === undefined ? 'another engine' : `process ${pid}`}, which is still running. ` +
        'Close that engine first; if you are sure no engine uses the directory, delete the lock file.',
    );
    this.path = path;
    this.pid = pid;
  }
}

export interface DirectoryLock {
  readonly path: string;
  /** Removes the lock if this process still owns it. Harmless to call twice. */
  release(): void;
}

function readOwner(path: string): number | undefined {
  try {
    const text = fs.readFileSync(path, 'utf8').trim();
    const pid = Number(text);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string): boolean {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, `${process.pid}\n`);
  try {
    fs.linkSync(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Takes the lock of `directory` or throws `EngineLockedError`. */
export function acquireDirectoryLock(directory: string): DirectoryLock {
  const path = join(directory, LOCK_FILE_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(path)) {
      let held = true;
      return {
        path,
        release() {
          if (!held) return;
          held = false;
          if (readOwner(path) === process.pid) fs.rmSync(path, { force: true });
        },
      };
    }
    const owner = readOwner(path);
    if (owner !== undefined && isRunning(owner)) throw new EngineLockedError(path, owner);
    // Stale: its owner is gone (or it is unreadable garbage). Remove it and try once more.
    fs.rmSync(path, { force: true });
  }
  throw new EngineLockedError(path, readOwner(path));
}
