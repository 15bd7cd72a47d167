// The child process of kill.test.ts: opens the engine on a directory (recovering whatever the
// previous child left), then submits debits from many concurrent clients until it is killed.
// Every debit is announced on stdout before it is submitted ("sent <op> <amount>") and again
// once it is acknowledged ("ack <op> <lsn>"). stdout is a pipe, and pipe writes are synchronous
// on Linux, so a line the parent reads was written before the kill.
//
//   node crash-child.mjs <dir> <firstOperationId> <clients>
import { QuotaEngine } from '../../dist/index.js';

const [dir, first, clients] = process.argv.slice(2);
const config = { maxBuckets: 2, maxOperations: 200_000, maxClientRetryWindowSlots: 1_000_000n };
let slot = 1n;
const engine = await QuotaEngine.open({ dir, config, clock: () => slot });
const say = (line) => process.stdout.write(`${line}\n`);
if (engine.getBucket(1n) === undefined) {
  const created = await engine.submit({
    operationId: 1n,
    clientId: 0n,
    command: {
      kind: 'create_bucket',
      bucketId: 1n,
      limit: 10n ** 15n,
      initialBalance: 10n ** 12n,
      refillRatePerSlot: 0n,
    },
  });
  if (created.outcome.resultCode !== 'ok' && created.outcome.resultCode !== 'already_exists') {
    throw new Error(created.outcome.resultCode);
  }
}
say('ready');
let nextOperationId = BigInt(first);
async function client(clientId) {
  for (;;) {
    const operationId = nextOperationId++;
    const amount = (operationId % 9n) + 1n;
    say(`sent ${operationId} ${amount}`);
    const result = await engine.submit({
      operationId,
      clientId,
      command: { kind: 'debit', bucketId: 1n, amount },
    });
    if (result.outcome.resultCode !== 'ok') throw new Error(result.outcome.resultCode);
    say(`ack ${operationId} ${result.lsn}`);
    if (operationId % 64n === 0n) slot++;
  }
}
await Promise.all(Array.from({ length: Number(clients) }, (_, i) => client(BigInt(i + 1))));
