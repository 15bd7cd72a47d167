/**
 * A checkpoint's worker thread: rebuilds the state at the pinned LSN from the directory and
 * sends back its snapshot file's bytes (transferred, not copied). See `checkpoint-body.ts`.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { type CheckpointRequest, encodeCheckpointAt } from './checkpoint-body.js';

/**
 * Background work: on Linux this thread lowers its own scheduling priority (a thread is
 * addressed by its id, read from /proc/thread-self), so that on a busy machine the engine's
 * event loop, which serves the submitters, is not the one that waits for a core. Elsewhere, or
 * if it is not allowed, nothing changes.
 */
function lowerPriority(): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    if (Number.isSafeInteger(threadId) && threadId > 0) setPriority(threadId, 19);
  } catch {
    // Not Linux, or not permitted: run at the normal priority.
  }
}

lowerPriority();
const file = encodeCheckpointAt(workerData as CheckpointRequest);
parentPort!.postMessage(file, [file.fileBytes.buffer as ArrayBuffer]);
