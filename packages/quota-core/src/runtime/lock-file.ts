/**
 * The data directory's lock: `<dir>/lock`, created exclusively and naming its owner: the pid, and
 * where that pid means something — the host, its boot, its PID namespace (docs/engine.md, "The
 * directory lock").
 *
 * - The lock file is written completely before it appears (written under a temporary name, then
 *   hard-linked to `lock`, which fails if a lock exists), so a reader never sees a half-written
 *   owner.
 * - A lock is removed only when its owner is **proven dead**: it was taken on this host, in this
 *   boot and in this PID namespace, and its pid no longer runs; or it was taken on this host
 *   (same host name and machine id) in an earlier boot, whose processes are all gone. Anything
 *   else — another host on a network file system, another container (another PID namespace) on a
 *   shared volume, a lock whose owner cannot be read — may still be running: its pid means
 *   nothing here. The open is refused with a line naming the owner and how an operator who knows
 *   it is gone clears it (`removeDirectoryLock`, behind the engines' `unlock` command).
 * - Two engines in one process share a pid, which is alive, so the second open fails as it must.
 *
 * Limits, documented rather than hidden: two processes that both find the same stale lock at the
 * same instant can race in removing it; and a dead owner's pid reused by an unrelated process
 * keeps the lock looking alive until that process exits (the error message names the owner).
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PackageError } from './package-error.js';

export const LOCK_FILE_NAME = 'lock';

/** Who holds a lock: what its file says. Empty strings where the platform has no such thing. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** `/etc/machine-id` (Linux): tells this host from another of the same name. */
  readonly machine: string;
  /** `/proc/sys/kernel/random/boot_id` (Linux): changes at every boot. */
  readonly boot: string;
  /** The PID namespace (`readlink /proc/self/ns/pid`, Linux): a pid means something only inside it. */
  readonly pidNamespace: string;
}

/** What a lock file shows about its owner, seen from this process. */
export type LockState =
  | { readonly kind: 'free' }
  /** Its owner runs here (this host, boot and namespace): it holds the directory. */
  | { readonly kind: 'alive'; readonly owner: LockOwner }
  /** Its owner is proven gone: the lock may be removed. */
  | { readonly kind: 'stale'; readonly owner: LockOwner; readonly why: string }
  /** Its owner cannot be checked from here (another host or namespace, or an unreadable file). */
  | { readonly kind: 'unprovable'; readonly owner: LockOwner | undefined; readonly why: string };

function describeOwner(owner: LockOwner | undefined): string {
  if (owner === undefined) return 'an owner the lock file does not name readably';
  const where = [
    owner.host === '' ? undefined : `host ${owner.host}`,
    owner.pidNamespace === '' ? undefined : `PID namespace ${owner.pidNamespace}`,
  ].filter((part) => part !== undefined);
  return `process ${owner.pid}${where.length === 0 ? '' : ` (${where.join(', ')})`}`;
}

/** Another engine holds the directory, or may: the lock's owner is not proven gone. */
export class EngineLockedError extends PackageError {
  declare readonly code: 'engine_locked';
  readonly path: string;
  readonly pid: number | undefined;
  readonly owner: LockOwner | undefined;
  constructor(path: string, state: LockState, unlockCommand: string | undefined) {
    const owner = state.kind === 'free' ? undefined : state.owner;
    const clear =
      unlockCommand === undefined
        ? `delete ${path}`
        : `clear it with '${unlockCommand}' (it warns before removing a lock it cannot check)`;
    super(
      'engine_locked',
      state.kind === 'alive'
        ? `${path} is held by ${describeOwner(owner)}, which is still running. Stop that engine first (one engine per directory)`
        : `${path} is held by ${describeOwner(owner)}, which may still be running: ${state.kind === 'unprovable' ? state.why : 'it could not be removed'}. ` +
            `If you are sure no engine uses the directory, ${clear}`,
    );
    this.path = path;
    this.pid = owner?.pid;
    this.owner = owner;
  }
}

export interface DirectoryLock {
  readonly path: string;
  /** Removes the lock if this process still owns it. Harmless to call twice. */
  release(): void;
}

function readTrimmed(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8').trim();
  } catch {
    // Not Linux (or a sandbox hiding /proc): the identity has no such part.
    return '';
  }
}

function readLink(path: string): string {
  try {
    return fs.readlinkSync(path);
  } catch {
    return '';
  }
}

let self: LockOwner | undefined;

/** This process as a lock owner. */
export function currentLockOwner(): LockOwner {
  self ??= {
    pid: process.pid,
    host: hostname(),
    machine: readTrimmed('/etc/machine-id'),
    boot: readTrimmed('/proc/sys/kernel/random/boot_id'),
    pidNamespace: readLink('/proc/self/ns/pid'),
  };
  return { ...self, pid: process.pid };
}

function ownerText(owner: LockOwner): string {
  return `${JSON.stringify(owner)}\n`;
}

const OWNER_FIELDS = ['host', 'machine', 'boot', 'pidNamespace'] as const;

/** The owner a lock file names, or undefined when it names none readably. */
function parseOwner(text: string): LockOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const pid = record.pid;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  for (const field of OWNER_FIELDS) if (typeof record[field] !== 'string') return undefined;
  return {
    pid,
    host: record.host as string,
    machine: record.machine as string,
    boot: record.boot as string,
    pidNamespace: record.pidNamespace as string,
  };
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

/** Judges a lock's owner from this process: alive, proven gone, or beyond proof. */
export function judgeLockOwner(owner: LockOwner | undefined, here: LockOwner): LockState {
  if (owner === undefined) {
    return {
      kind: 'unprovable',
      owner,
      why: 'the lock file does not name its owner (a host, boot and PID namespace with the pid), as a lock of an older version or a damaged one does',
    };
  }
  if (owner.host !== here.host) {
    return {
      kind: 'unprovable',
      owner,
      why: `it was taken on host ${owner.host}, not this one (${here.host}), where its pid cannot be checked`,
    };
  }
  if (owner.boot !== here.boot) {
    // Same host name: the same host only if the machine ids agree (and exist).
    if (owner.machine !== '' && owner.machine === here.machine) {
      return { kind: 'stale', owner, why: 'taken in an earlier boot of this host' };
    }
    return {
      kind: 'unprovable',
      owner,
      why: 'it was taken in another boot, and no machine id shows that boot was this host',
    };
  }
  if (owner.pidNamespace !== here.pidNamespace) {
    return {
      kind: 'unprovable',
      owner,
      why: `it was taken in another PID namespace (${owner.pidNamespace}; this process runs in ${here.pidNamespace}), such as another container sharing the volume, where pid ${owner.pid} is not this namespace's`,
    };
  }
  return isRunning(owner.pid)
    ? { kind: 'alive', owner }
    : { kind: 'stale', owner, why: `process ${owner.pid} no longer runs` };
}

/** What the lock of `directory` shows, seen from this process. */
export function inspectDirectoryLock(directory: string): LockState {
  const path = join(directory, LOCK_FILE_NAME);
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'free' };
    throw error;
  }
  return judgeLockOwner(parseOwner(text), currentLockOwner());
}

/** Removes the lock file of `directory` whoever holds it (the operator's `unlock`). */
export function removeDirectoryLock(directory: string): void {
  fs.rmSync(join(directory, LOCK_FILE_NAME), { force: true });
}

function tryCreate(path: string, owner: LockOwner): boolean {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, ownerText(owner));
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

export interface LockOptions {
  /** The operator's command that clears a lock this process cannot check, named in the error. */
  readonly unlockCommand?: string;
}

/** Takes the lock of `directory` or throws `EngineLockedError`. */
export function acquireDirectoryLock(directory: string, options: LockOptions = {}): DirectoryLock {
  const path = join(directory, LOCK_FILE_NAME);
  const here = currentLockOwner();
  let state: LockState = { kind: 'free' };
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(path, here)) {
      let held = true;
      return {
        path,
        release() {
          if (!held) return;
          held = false;
          const owner = parseOwner(readTrimmed(path));
          const mine =
            owner !== undefined &&
            owner.pid === here.pid &&
            owner.host === here.host &&
            owner.boot === here.boot &&
            owner.pidNamespace === here.pidNamespace;
          if (mine) fs.rmSync(path, { force: true });
        },
      };
    }
    state = inspectDirectoryLock(directory);
    if (state.kind === 'alive' || state.kind === 'unprovable') break;
    // Free again (its owner released it meanwhile), or proven stale: remove and try once more.
    if (state.kind === 'stale') fs.rmSync(path, { force: true });
  }
  throw new EngineLockedError(path, state, options.unlockCommand);
}
