/**
 * A checkpoint's worker thread: rebuilds the state at the pinned LSN from the directory and
 * sends back its snapshot file's bytes (transferred, not copied). See `checkpoint-body.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type CheckpointRequest, encodeCheckpointAt } from './checkpoint-body.js';

const file = encodeCheckpointAt(workerData as CheckpointRequest);
parentPort!.postMessage(file, [file.fileBytes.buffer as ArrayBuffer]);
