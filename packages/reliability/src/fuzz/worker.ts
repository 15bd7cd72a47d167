/**
 * A fuzz worker thread: drives one decoder of one engine with `inputs` seeded inputs. For every
 * input it records the bytes in a shared buffer first (so a hang can be reported with its input),
 * then decodes them and checks: the call returns or throws one of the decoder's typed errors;
 * how long it took; how much `arrayBuffers` grew across the call. Progress is reported every 500
 * inputs as a heartbeat for the parent's watchdog.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadAdapter } from '../adapters.js';
import { toHex } from '../canon.js';
import { Rng } from '../random.js';
import { nextInput } from './mutate.js';
import type { FuzzMessage, FuzzWorkerData } from './protocol.js';

const data = workerData as FuzzWorkerData;
const post = (message: FuzzMessage) => parentPort!.postMessage(message);
const adapter = await loadAdapter(data.engine, 'small');
const rng = new Rng(data.seed);
const target = adapter.fuzzTargets(rng.fork(1))[data.target]!;
const current = new Uint8Array(data.current);
const currentLength = new DataView(data.current);

const typedErrors: Record<string, number> = {};
const byMutation: Record<string, number> = {};
let decoded = 0;
let maxCallMs = 0;
let maxCallInputLength = 0;
let maxArrayBufferGrowth = 0;
const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
const inputs = rng.fork(2);

let failed = false;
for (let index = 0; index < data.inputs && !failed; index++) {
  let { bytes, kind } = nextInput(inputs, target.seeds);
  if (target.repair !== undefined && inputs.chance(0.5)) bytes = target.repair(bytes, inputs);
  byMutation[kind] = (byMutation[kind] ?? 0) + 1;
  const shown = Math.min(bytes.length, current.length - 4);
  currentLength.setUint32(0, shown, true);
  current.set(bytes.subarray(0, shown), 4);
  const before = process.memoryUsage().arrayBuffers;
  const started = performance.now();
  try {
    const result = target.decode(bytes) as { stop?: { kind: string; reason?: string } } | undefined;
    decoded++;
    if (result?.stop !== undefined) {
      const key = `verdict:${result.stop.kind}${result.stop.reason === undefined ? '' : `:${result.stop.reason}`}`;
      typedErrors[key] = (typedErrors[key] ?? 0) + 1;
    }
  } catch (error) {
    if (!target.isTypedError(error)) {
      post({
        type: 'failure',
        name: target.name,
        index,
        input: toHex(bytes),
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      failed = true;
      break;
    }
    const e = error as { name?: string; code?: string; reason?: string };
    const key = `${e.name}:${e.code}${e.reason === undefined ? '' : `:${e.reason}`}`;
    typedErrors[key] = (typedErrors[key] ?? 0) + 1;
  }
  const ms = performance.now() - started;
  const growth = process.memoryUsage().arrayBuffers - before - bytes.length;
  if (ms > maxCallMs) {
    maxCallMs = ms;
    maxCallInputLength = bytes.length;
  }
  if (growth > maxArrayBufferGrowth) maxArrayBufferGrowth = growth;
  if (index % 500 === 499) post({ type: 'progress', done: index + 1 });
}

if (!failed)
  post({
    type: 'done',
    summary: {
      name: target.name,
      inputs: data.inputs,
      decoded,
      typedErrors,
      byMutation,
      maxCallMs,
      maxCallInputLength,
      maxArrayBufferGrowth,
      arrayBuffersBefore,
      arrayBuffersAfter: process.memoryUsage().arrayBuffers,
    },
  });
