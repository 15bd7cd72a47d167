/**
 * Background threads at the lowest scheduling priority. On Linux a thread can lower its own
 * priority (addressed by its thread id, read from /proc/thread-self), so that on a busy machine
 * the event loop that serves the submitters is not the one that waits for a core. Elsewhere, or
 * where it is not allowed, the thread keeps the normal priority.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The niceness a background thread asks for: the lowest priority. */
const BACKGROUND_NICENESS = 19;

/** Lowers the calling thread's scheduling priority where the platform allows it. */
export function lowerThreadPriority(): void {
  let threadId: number;
  try {
    threadId = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  } catch {
    return; // not Linux: the normal priority
  }
  if (!Number.isSafeInteger(threadId) || threadId <= 0) return;
  try {
    setPriority(threadId, BACKGROUND_NICENESS);
  } catch {
    // not permitted (a restricted container): the normal priority
  }
}
