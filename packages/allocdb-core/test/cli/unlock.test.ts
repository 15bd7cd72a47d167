/**
 * The directory lock across PID namespaces, with real processes: a `allocdb serve` started in its
 * own PID namespace (as in another container sharing the volume) holds the directory under a pid
 * that no process of this namespace has. A second server here must not take that for a dead
 * owner; `allocdb unlock` is how an operator clears a lock nobody here can check.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AllocDbEngine } from '../../src/index.js';
import { currentLockOwner } from '../../src/runtime/lock-file.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const bin = fileURLToPath(new URL('../../dist/bin/allocdb.js', import.meta.url));

function allocdb(args: string[], timeout = 30_000) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ALLOCDB_TOKEN: '' },
    timeout,
  });
  return {
    status: result.status,
    stdout: result.stdout,
    lines: result.stderr.split('\n').filter((line) => line !== ''),
  };
}

/** Whether this machine can start a process in a new PID namespace (root and util-linux). */
function namespacesAvailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
  if (probe.error !== undefined) return `unshare cannot run (${probe.error.message})`;
  if (probe.status !== 0)
    return `unshare --pid failed (${probe.stderr.toString().trim()}; it needs root)`;
  return undefined;
}
const unavailable = namespacesAvailable();
if (unavailable !== undefined) {
  console.warn(
    `SKIPPED: allocdb-core PID-namespace lock test: ${unavailable}. CI runs it as root (.ci/run)`,
  );
}

/** A pid no process of this namespace has, so that a pid-only check would call its owner dead. */
function freePid(): number {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  for (let pid = Math.floor(max * 0.9); pid > 300; pid--) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
  throw new Error('no free pid');
}

/** `allocdb serve` in a new PID namespace, running as `pid` there. */
function serveInNamespace(dir: string, pid: number): Promise<{ child: ChildProcess; url: string }> {
  const script = `echo ${pid - 1} > /proc/sys/kernel/ns_last_pid && "${process.execPath}" "${bin}" serve --port 0 --dir "${dir}"; true`;
  const child = spawn(
    'unshare',
    ['--pid', '--fork', '--mount-proc', '--kill-child', 'sh', '-c', script],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ALLOCDB_TOKEN: '' } },
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve({ child, url: match[1]! });
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before listening: ${stderr}`)));
  });
}

describe('allocdb unlock and the lock across PID namespaces', () => {
  it.skipIf(unavailable !== undefined)(
    'a server in another PID namespace keeps the directory: a second one here is refused (exit 7), never takes the lock; unlock clears it once the first is gone',
    async () => {
      const dir = join(tempDir(), 'shared-volume');
      const pid = freePid();
      const holder = await serveInNamespace(dir, pid);
      const exited = new Promise((resolve) => holder.child.once('exit', resolve));
      try {
        const lock = JSON.parse(readFileSync(join(dir, 'lock'), 'utf8'));
        expect(lock.pid).toBe(pid);
        expect(lock.pidNamespace).not.toBe(currentLockOwner().pidNamespace);
        // A pid-only check would see no process `pid` here and remove the lock: two writers.
        const second = allocdb(['serve', '--port', '0', '--dir', dir], 20_000);
        expect(second.status).toBe(7);
        expect(second.lines).toHaveLength(1);
        expect(second.lines[0]).toContain('another PID namespace');
        expect(second.lines[0]).toContain(`allocdb unlock --dir ${dir}`);
        await expect(AllocDbEngine.open({ dir })).rejects.toMatchObject({ code: 'engine_locked' });
        expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8'))).toEqual(lock);
      } finally {
        holder.child.kill('SIGKILL');
        await exited;
      }
      // Killed, its lock stays, and nothing here can prove it gone: still refused.
      expect(existsSync(join(dir, 'lock'))).toBe(true);
      expect(allocdb(['serve', '--port', '0', '--dir', dir], 20_000).status).toBe(7);
      // The operator, who knows it is gone, clears it: removed with a warning.
      const unlocked = allocdb(['unlock', '--dir', dir]);
      expect(unlocked.status).toBe(0);
      expect(unlocked.lines).toHaveLength(1);
      expect(unlocked.lines[0]).toMatch(
        /^allocdb unlock: warning: removed the lock of process \d+/,
      );
      expect(existsSync(join(dir, 'lock'))).toBe(false);
      const engine = await AllocDbEngine.open({ dir });
      await engine.close();
    },
  );

  it('refuses to remove the lock of an engine running on this host, and says when there is none', async () => {
    const dir = join(tempDir(), 'data');
    expect(allocdb(['unlock', '--dir', dir]).stdout).toContain('is not locked; nothing to do');
    const engine = await AllocDbEngine.open({ dir });
    try {
      const refused = allocdb(['unlock', '--dir', dir]);
      expect(refused.status).toBe(7);
      expect(refused.lines).toHaveLength(1);
      expect(refused.lines[0]).toContain(`held by process ${process.pid}, which runs on this host`);
      expect(existsSync(join(dir, 'lock'))).toBe(true);
    } finally {
      await engine.close();
    }
    expect(allocdb(['unlock']).status).toBe(3);
    expect(allocdb(['unlock', '--help']).stdout).toContain('usage: allocdb unlock --dir <dir>');
  });
});
