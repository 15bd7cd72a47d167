/**
 * The crash-kill child: opens (recovers) the data directory, then runs the engine under
 * concurrent load until the parent kills it with SIGKILL. Each simulated client submits, awaits
 * and submits again (sometimes a burst, sometimes the same request twice at once); the requests
 * the previous run never heard back about are retried first with their original operation ids;
 * checkpoints and expiration ticks run now and then.
 *
 * Two append-only files carry what the parent needs, both written with writeSync (so a SIGKILL
 * cannot lose what was written):
 * - the journal: every WAL write, copied *before* the write is handed to the log, so it holds
 *   every frame that may have become durable, including the internal commands of ticks, which
 *   nobody acknowledges one by one;
 * - the events: an intent line before each submission, an ack line only after its promise
 *   resolved (LSN, slot, outcome, fromRetryCache).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { SubmitResult } from '../adapter.js';
import { loadAdapter } from '../adapters.js';
import { fromHex, plain, toHex } from '../canon.js';
import { journalingFs } from '../journal-fs.js';
import { nodeFs } from '../node-fs.js';
import { Rng } from '../random.js';
import type { ChildArgs, ChildEvent } from './protocol.js';

const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
// A child the parent forgot must not run forever.
setTimeout(() => process.exit(3), 60_000).unref();

const events = openSync(args.events, 'a');
const journal = openSync(args.journal, 'a');
const emit = (event: ChildEvent) => writeSync(events, `${JSON.stringify(event)}\n`);

const journaling = journalingFs(nodeFs, (bytes) => writeSync(journal, bytes));

const adapter = await loadAdapter(args.engine, 'crash');
let slot = 0n;
const engine = await adapter.open({
  dir: args.dir,
  fileSystem: journaling,
  clock: () => slot,
  engine: {
    maxBatch: 256,
    ...(args.autoCheckpointFrames > 0
      ? { checkpointPolicy: { everyFrames: args.autoCheckpointFrames } }
      : {}),
  },
});
slot = engine.lastRequestSlot;
emit({ t: 'ready', lsn: String(engine.lastAppliedLsn), recovery: plain(engine.recoveryStatus) });
process.stdout.write('ready\n');

const rng = new Rng(args.seed);
const workload = adapter.createWorkload(rng.fork(1), args.clients);
const base = BigInt(args.operationIdBase);
let counter = 0n;
let submissions = 0;
let background: Promise<unknown> = Promise.resolve();

/** The background work every submission may start: the slot clock, ticks and checkpoints. */
function counted(): void {
  submissions++;
  if (submissions % args.submissionsPerSlot === 0) slot += 1n;
  if (args.tickEvery > 0 && submissions % args.tickEvery === 0 && engine.tick !== undefined) {
    const tick = engine.tick;
    background = background.then(() =>
      tick().then(
        () => emit({ t: 'tick' }),
        () => undefined,
      ),
    );
  }
  if (submissions % args.checkpointEvery === 0) {
    background = background.then(() =>
      engine.checkpoint().then(
        () => emit({ t: 'checkpoint', lsn: String(engine.lastAppliedLsn) }),
        () => undefined,
      ),
    );
  }
}

function acknowledge(request: unknown, payload: string, result: SubmitResult): void {
  emit({
    t: 'ack',
    payload,
    lsn: String(result.lsn),
    slot: String(result.requestSlot),
    outcome: plain(result.outcome),
    cached: result.fromRetryCache,
  });
  workload.learn(request, result);
}

function refused(payload: string, error: { code?: string; definite?: boolean }): void {
  emit({ t: 'error', payload, code: String(error.code), definite: error.definite === true });
}

function submit(request: unknown): Promise<void> {
  const payload = toHex(adapter.encodeRequest(request));
  emit({ t: 'intent', payload });
  counted();
  return engine.submit(request).then(
    (result) => acknowledge(request, payload, result),
    (error: { code?: string; definite?: boolean }) => refused(payload, error),
  );
}

/**
 * A group through `submitBatch`: an intent line for every entry first; then each entry's ack or
 * definite error, or, when the batch rejects (an entry's fate unknown), an error line for each.
 */
function submitGroup(requests: readonly unknown[]): Promise<void> {
  const payloads = requests.map((request) => toHex(adapter.encodeRequest(request)));
  for (const payload of payloads) {
    emit({ t: 'intent', payload });
    counted();
  }
  return engine.submitBatch(requests).then(
    (results) =>
      results.forEach((result, i) => {
        if ('lsn' in result) acknowledge(requests[i], payloads[i]!, result);
        else refused(payloads[i]!, result);
      }),
    (error: { code?: string; definite?: boolean }) => {
      for (const payload of payloads) refused(payload, error);
    },
  );
}

async function client(index: number): Promise<void> {
  const own = rng.fork(100 + index);
  for (;;) {
    const next = () => workload.next({ rng: own, client: index, operationId: base | counter++ });
    const roll = own.float();
    if (roll < 0.1) {
      // A burst: several requests in flight from one client.
      await Promise.all(Array.from({ length: own.range(2, 5) }, () => submit(next())));
    } else if (roll < 0.2) {
      // A group through submitBatch (sometimes holding one request twice: the second joins).
      const group = Array.from({ length: own.range(2, 9) }, () => next());
      if (own.float() < 0.2) group.push(group[0]);
      await submitGroup(group);
    } else if (roll < 0.23) {
      // The same request twice at once: the second joins the first.
      const request = next();
      await Promise.all([submit(request), submit(request)]);
    } else {
      await submit(next());
    }
  }
}

// The previous child's unanswered requests, retried with their operation ids: one group through
// submitBatch or one submit each (chosen by the seed).
const retries = args.retries.map((hex) => adapter.decodeRequest(fromHex(hex)));
if (retries.length > 0 && rng.fork(2).float() < 0.5) {
  for (let i = 0; i < retries.length; i += 256) await submitGroup(retries.slice(i, i + 256));
} else {
  await Promise.all(retries.map((request) => submit(request)));
}
await Promise.all(Array.from({ length: args.clients }, (_, i) => client(i)));
closeSync(events);
