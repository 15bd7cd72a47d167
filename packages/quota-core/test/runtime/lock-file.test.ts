import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  acquireDirectoryLock,
  currentLockOwner,
  EngineLockedError,
  inspectDirectoryLock,
  judgeLockOwner,
  type LockOwner,
} from '../../src/runtime/lock-file.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

function writeLock(dir: string, owner: Partial<LockOwner>): string {
  const text = `${JSON.stringify({ ...currentLockOwner(), ...owner })}\n`;
  writeFileSync(join(dir, 'lock'), text);
  return text;
}

describe('directory lock', () => {
  it('is exclusive while held and free after release; the file names pid, host, boot and PID namespace', () => {
    const dir = tempDir();
    const lock = acquireDirectoryLock(dir);
    const owner = JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')) as LockOwner;
    expect(owner).toEqual(currentLockOwner());
    expect(owner.pid).toBe(process.pid);
    if (process.platform === 'linux') {
      expect(owner.pidNamespace).toMatch(/^pid:\[\d+\]$/);
      expect(owner.boot).not.toBe('');
    }
    expect(() => acquireDirectoryLock(dir)).toThrow(EngineLockedError);
    lock.release();
    lock.release();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    acquireDirectoryLock(dir).release();
  });

  it('replaces a stale lock: taken on this host, boot and PID namespace by a process that died', () => {
    const dir = tempDir();
    writeLock(dir, { pid: deadPid() });
    const lock = acquireDirectoryLock(dir);
    expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('names the live owner', () => {
    const dir = tempDir();
    writeLock(dir, { pid: 1 }); // pid 1 always runs
    expect(() => acquireDirectoryLock(dir)).toThrow(
      expect.objectContaining({ code: 'engine_locked', pid: 1 }),
    );
  });

  it('never removes a lock taken on another host: its pid means nothing here', () => {
    const dir = tempDir();
    const text = writeLock(dir, { pid: deadPid(), host: 'other-host.example' });
    const error = (() => {
      try {
        acquireDirectoryLock(dir, { unlockCommand: `quota unlock --dir ${dir}` });
      } catch (caught) {
        return caught as EngineLockedError;
      }
      throw new Error('the lock was taken');
    })();
    expect(error).toBeInstanceOf(EngineLockedError);
    expect(error.message).toContain('host other-host.example');
    expect(error.message).toContain(`quota unlock --dir ${dir}`);
    expect(error.message).not.toContain('\n');
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(text);
  });

  it('never removes a lock taken in another PID namespace (another container on a shared volume)', () => {
    const dir = tempDir();
    const text = writeLock(dir, { pid: deadPid(), pidNamespace: 'pid:[4026599999]' });
    expect(() => acquireDirectoryLock(dir)).toThrow(/another PID namespace \(pid:\[4026599999\]/);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(text);
    expect(inspectDirectoryLock(dir).kind).toBe('unprovable');
  });

  it('an earlier boot of this host (same name and machine id) is over; of a host it cannot tell, it is not', () => {
    const here = currentLockOwner();
    const earlier = tempDir();
    writeLock(earlier, { pid: 1, boot: 'an-earlier-boot', machine: 'm-1' });
    const sameMachine = { ...here, machine: 'm-1' };
    expect(inspectDirectoryLock(earlier).kind).toBe(
      here.machine === 'm-1' ? 'stale' : 'unprovable',
    );
    // judged with this host's machine id equal to the lock's: proven over
    expect(judgeLockOwner({ ...sameMachine, boot: 'an-earlier-boot' }, sameMachine).kind).toBe(
      'stale',
    );
    // no machine id to compare: another host of the same name is possible
    expect(
      judgeLockOwner({ ...here, machine: '', boot: 'an-earlier-boot' }, { ...here, machine: '' })
        .kind,
    ).toBe('unprovable');
    expect(
      judgeLockOwner({ ...here, machine: 'm-2', boot: 'an-earlier-boot' }, sameMachine).kind,
    ).toBe('unprovable');
  });

  it("a lock that does not name its owner (an older version's bare pid, or garbage) is not removed", () => {
    for (const text of [`${deadPid()}\n`, 'garbage', '{"pid":-1}']) {
      const dir = tempDir();
      writeFileSync(join(dir, 'lock'), text);
      expect(() => acquireDirectoryLock(dir), text).toThrow(/does not name its owner/);
      expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(text);
    }
  });
});
