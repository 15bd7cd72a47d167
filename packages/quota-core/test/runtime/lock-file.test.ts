import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDirectoryLock, EngineLockedError } from '../../src/runtime/lock-file.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('directory lock', () => {
  it('is exclusive while held and free after release', () => {
    const dir = tempDir();
    const lock = acquireDirectoryLock(dir);
    expect(readFileSync(join(dir, 'lock'), 'utf8').trim()).toBe(String(process.pid));
    expect(() => acquireDirectoryLock(dir)).toThrow(EngineLockedError);
    lock.release();
    lock.release();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    acquireDirectoryLock(dir).release();
  });

  it('replaces a stale lock left by a process that died', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'lock'), `${deadPid()}\n`);
    const lock = acquireDirectoryLock(dir);
    expect(readFileSync(join(dir, 'lock'), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });

  it('names the live owner', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'lock'), '1\n'); // pid 1 always runs
    expect(() => acquireDirectoryLock(dir)).toThrow(
      expect.objectContaining({ code: 'engine_locked', pid: 1 }),
    );
  });
});
