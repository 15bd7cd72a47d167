/**
 * `quota unlock --dir <dir>`: clears the directory's lock for an operator who knows its engine is
 * gone (docs/engine.md, "The directory lock"). An engine removes a lock itself only when it can
 * prove its owner dead (this host, boot and PID namespace); a lock taken in another container or
 * on another host is refused at open, and this command is how it is cleared. It refuses a lock
 * whose owner runs on this host, and warns when it removes one it cannot check.
 */
import { parseArgs } from 'node:util';
import { inspectDirectoryLock, removeDirectoryLock } from '../runtime/lock-file.js';
import type { CliIo } from './usage.js';

const NAME = 'quota unlock';
export const UNLOCK_EXIT_DONE = 0;
export const UNLOCK_EXIT_USAGE = 3;
export const UNLOCK_EXIT_IO_ERROR = 5;
/** The lock's owner runs on this host: stop it instead. */
export const UNLOCK_EXIT_HELD = 7;

export function unlockUsage(): string {
  return `usage: quota unlock --dir <dir>

Removes the lock of the data directory <dir>, for when its engine is gone but left its lock
where this host cannot prove it (another container's PID namespace, another host on a network
file system, a lock of an older version). Refused when the owner runs on this host.
Removing the lock of an engine that still runs lets two engines write one log: make sure first.

exit status:
  0  removed (or there was no lock)
  3  usage error
  5  the lock file cannot be read or removed
  7  the owner runs on this host: stop it (SIGTERM) instead
`;
}

/** Runs `quota unlock`; returns the exit status. */
export function runUnlock(argv: readonly string[], io: CliIo): number {
  let dir: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { dir: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    });
    if (values.help) {
      io.stdout(unlockUsage());
      return UNLOCK_EXIT_DONE;
    }
    if (positionals.length > 0) {
      io.stderr(`${NAME}: unexpected argument '${positionals[0]}' (run '${NAME} --help')`);
      return UNLOCK_EXIT_USAGE;
    }
    dir = values.dir;
  } catch (error) {
    io.stderr(`${NAME}: ${(error as Error).message.split('\n')[0]} (run '${NAME} --help')`);
    return UNLOCK_EXIT_USAGE;
  }
  if (dir === undefined) {
    io.stderr(`${NAME}: --dir <dir> is required: the data directory whose lock to clear`);
    return UNLOCK_EXIT_USAGE;
  }
  try {
    const state = inspectDirectoryLock(dir);
    if (state.kind === 'free') {
      io.stdout(`${NAME}: ${dir} is not locked; nothing to do`);
      return UNLOCK_EXIT_DONE;
    }
    if (state.kind === 'alive') {
      io.stderr(
        `${NAME}: ${dir} is held by process ${state.owner.pid}, which runs on this host: stop it (SIGTERM) instead; removing its lock would let two engines write one log`,
      );
      return UNLOCK_EXIT_HELD;
    }
    removeDirectoryLock(dir);
    const owner = state.owner === undefined ? 'an unnamed owner' : `process ${state.owner.pid}`;
    if (state.kind === 'stale') {
      io.stdout(`${NAME}: removed the stale lock of ${owner} (${state.why})`);
    } else {
      io.stderr(
        `${NAME}: warning: removed the lock of ${owner}, which this host cannot check (${state.why}); if that engine still runs, two engines now write one log: stop it at once`,
      );
    }
    return UNLOCK_EXIT_DONE;
  } catch (error) {
    io.stderr(`${NAME}: cannot clear the lock of ${dir}: ${(error as Error).message}`);
    return UNLOCK_EXIT_IO_ERROR;
  }
}
