/**
 * Runs one fuzz target in a worker thread under a watchdog: a worker that sends no heartbeat
 * for `stallMs` is terminated and reported as a hang, with the input it was decoding.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { toHex } from '../canon.js';
import type { FuzzMessage, FuzzSummary, FuzzWorkerData } from './protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
const WORKER = join(here, '..', '..', 'dist', 'fuzz', 'worker.js');

export function runFuzzTarget(
  engine: string,
  target: number,
  seed: number,
  inputs: number,
  stallMs = 30_000,
): Promise<FuzzSummary> {
  const current = new SharedArrayBuffer(4 + 64 * 1024);
  const workerData: FuzzWorkerData = { engine, target, seed, inputs, current };
  const worker = new Worker(WORKER, { workerData });
  return new Promise((resolve, reject) => {
    let watchdog: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        const length = new DataView(current).getUint32(0, true);
        const input = toHex(new Uint8Array(current, 4, length));
        void worker.terminate();
        reject(
          new Error(
            `fuzz target ${target} of ${engine} hung (no progress for ${stallMs} ms) on input ${input}`,
          ),
        );
      }, stallMs);
    };
    arm();
    worker.on('message', (message: FuzzMessage) => {
      if (message.type === 'progress') arm();
      else if (message.type === 'done') {
        clearTimeout(watchdog);
        resolve(message.summary);
      } else {
        clearTimeout(watchdog);
        reject(
          new Error(
            `${message.name}: input #${message.index} threw an untyped error\ninput: ${message.input}\n${message.error}`,
          ),
        );
      }
    });
    worker.on('error', (error) => {
      clearTimeout(watchdog);
      reject(error);
    });
    worker.on('exit', (code) => {
      clearTimeout(watchdog);
      if (code !== 0) reject(new Error(`fuzz worker exited with ${code}`));
    });
  });
}
