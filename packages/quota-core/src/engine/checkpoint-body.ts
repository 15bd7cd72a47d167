/**
 * The snapshot a checkpoint writes, built without stopping the submitters (docs/engine.md,
 * "Checkpoints"): the state at the pinned LSN is rebuilt from what is already on disk (the
 * snapshot file and the log's frames up to that LSN, replayed through the same apply code as
 * recovery), which the state machine's determinism makes equal to the live state at that LSN.
 * The rebuild runs on a worker thread when it can (this module is the worker's script, see the
 * end of the file), so that the live engine keeps committing meanwhile; the live state is never
 * read.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { QuotaConfig } from '../config.js';
import { SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
import type { FileSystem } from '../runtime/file-system.js';
import { encodeSnapshotFile } from '../runtime/snapshot-file.js';
import { lowerThreadPriority } from '../runtime/thread-priority.js';
import { encodeSnapshotBody } from '../snapshot/body-codec.js';
import type { QuotaDb } from '../state-machine/quota-db.js';
import { recover } from './recovery.js';

/** What to rebuild: the directory, its configuration, and the log's bytes to replay. */
export interface CheckpointRequest {
  readonly dir: string;
  readonly config: QuotaConfig;
  readonly maxCommandBytes: number;
  readonly maxSnapshotBytes: number;
  /** The first frame after the engine's snapshot, and the end of the frame at `lsn`. */
  readonly walFrom: number;
  readonly walTo: number;
  /** The pinned LSN the rebuilt state must reach. */
  readonly lsn: bigint;
}

/**
 * The snapshot file's bytes (header, body, CRC) for the state at `lastAppliedLsn`, with what the
 * engine checks against the live state at its pin: the request slot and the table counts.
 */
export interface CheckpointFile {
  readonly fileBytes: Uint8Array;
  readonly lastAppliedLsn: bigint;
  readonly lastRequestSlot: bigint;
  readonly tables: TableCounts;
}

/** How many entries each table of a state holds, by table name. */
export type TableCounts = Readonly<Record<string, number>>;

/** The table counts of `db` (what a rebuilt state must share with the live one). */
export function tableCounts(db: QuotaDb): TableCounts {
  const metrics = db.metrics();
  return {
    buckets: metrics.buckets.used,
    operations: metrics.operations.used,
    operationRetireQueue: metrics.operationRetireQueue.used,
  };
}

/**
 * Rebuilds the state at `request.lsn` from the directory (read-only: nothing is written) and
 * encodes its snapshot file. Throws when the log's bytes do not replay cleanly; the engine checks
 * what was rebuilt (LSN, slot, table counts) against its live state at the pin (`checkpoints.ts`).
 */
export function encodeCheckpointAt(
  request: CheckpointRequest,
  fileSystem?: FileSystem,
): CheckpointFile {
  const recovered = recover(
    {
      dir: request.dir,
      config: request.config,
      maxCommandBytes: request.maxCommandBytes,
      maxSnapshotBytes: request.maxSnapshotBytes,
      readOnly: true,
      walRange: { from: request.walFrom, to: request.walTo },
    },
    fileSystem === undefined ? {} : { fileSystem },
  );
  recovered.wal?.close();
  const { db } = recovered;
  const lastAppliedLsn = db.lastAppliedLsn ?? 0n;
  const lastRequestSlot = db.lastRequestSlot ?? 0n;
  if (recovered.walStop.kind !== 'clean') {
    throw new Error(
      `the checkpoint's replay of bytes ${request.walFrom}..${request.walTo} stopped at LSN ${lastAppliedLsn} (${recovered.walStop.kind}), before LSN ${request.lsn}`,
    );
  }
  const fileBytes = encodeSnapshotFile(
    { schemaVersion: SNAPSHOT_SCHEMA_VERSION, lastAppliedLsn, lastRequestSlot },
    encodeSnapshotBody(db.snapshot()),
  );
  return { fileBytes, lastAppliedLsn, lastRequestSlot, tables: tableCounts(db) };
}

/**
 * The worker's script: this module, as built in `dist/`; from the TypeScript sources (the
 * package's own tests), the built one (worker threads cannot load TypeScript; the tests build
 * first). Undefined when it is missing (a bundle that did not keep the file): checkpoints then
 * rebuild in-thread.
 */
const WORKER_URL: URL | undefined = (() => {
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL('../../dist/engine/checkpoint-body.js', here)
    : new URL(here);
  return here.startsWith('file:') && existsSync(fileURLToPath(url)) ? url : undefined;
})();

/** The `workerData` key under which `encodeCheckpointInWorker` hands a worker its request. */
const WORKER_REQUEST_KEY = 'quota-core:checkpoint';

/** Whether checkpoints can rebuild their snapshot on a worker thread. */
export const checkpointWorkerAvailable = WORKER_URL !== undefined;

/** `encodeCheckpointAt` on a worker thread: the event loop keeps running meanwhile. */
export function encodeCheckpointInWorker(request: CheckpointRequest): Promise<CheckpointFile> {
  if (WORKER_URL === undefined) return Promise.resolve(encodeCheckpointAt(request));
  return new Promise((resolve, reject) => {
    let answered = false;
    const worker = new Worker(WORKER_URL, { workerData: { [WORKER_REQUEST_KEY]: request } });
    worker.once('message', (message: CheckpointFile) => {
      answered = true;
      resolve(message);
    });
    worker.once('error', (error) => {
      answered = true;
      reject(
        new Error(`the checkpoint's snapshot could not be built: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    });
    worker.once('exit', (code) => {
      if (!answered) {
        reject(new Error(`the checkpoint's worker exited (code ${code}) without a snapshot`));
      }
    });
  });
}

// Loaded as a checkpoint's worker thread: rebuild at the low priority of background work, and
// send the snapshot file's bytes back (transferred, not copied).
if (!isMainThread && typeof workerData === 'object' && workerData !== null) {
  const request = (workerData as Record<string, unknown>)[WORKER_REQUEST_KEY];
  if (request !== undefined) {
    lowerThreadPriority();
    const file = encodeCheckpointAt(request as CheckpointRequest);
    parentPort!.postMessage(file, [file.fileBytes.buffer as ArrayBuffer]);
  }
}
