/**
 * One client process of the serve crash-kill suite (`harness.ts`): a loop of commands through
 * the engine's typed client (`allocdb-core/client`, `quota-core/client`) against a server that
 * the parent SIGKILLs and restarts under it. Every command is logged before it is sent (intent)
 * and when it is answered (ack), one JSON line each, written synchronously. A command whose fate
 * is unknown is sent again with the same operation id until it is answered; a read with
 * `minLsn` after each ack must see the write. The process stops after the command in flight when
 * the stop file appears, and exits 1 on anything unexpected.
 *
 * quota-core: debits of 1–5 units from shared buckets with a balance no run can exhaust (every
 * debit must answer `ok`). allocdb-core: each client owns its resources and alternates reserve
 * and release on them (every answer must be `ok`: a reserve applied twice would answer
 * `resource_busy`, a release applied twice `stale_epoch`).
 */
import { appendFileSync, existsSync } from 'node:fs';
import { AllocDbClient } from 'allocdb-core/client';
import { QuotaClient } from 'quota-core/client';
import { Rng } from '../random.js';
import type { ServeChildArgs, ServeEvent } from './protocol.js';

const args = JSON.parse(process.argv[2]!) as ServeChildArgs;
const rng = new Rng(args.seed);
// The canary gives up at the first failure, so that its own loop retries under a fresh id.
const retry = {
  attemptTimeoutMs: 5_000,
  deadlineMs: args.canaryFreshIds ? 1 : 60_000,
  minDelayMs: 5,
  maxDelayMs: 200,
};
const started = Date.now();

function log(event: ServeEvent): void {
  appendFileSync(args.log, `${JSON.stringify(event)}\n`);
}

function fail(message: string): never {
  log({ t: 'failure', message });
  process.stderr.write(`serve client ${args.index}: ${message}\n`);
  process.exit(1);
}

let counter = 0n;
const nextOperationId = () => (BigInt(args.index + 1) << 64n) | ++counter;

/**
 * Runs `send` until it answers; an unknown fate (`definite: false`) is sent again with the same
 * operation id (with a fresh one in the canary, which must be caught applying twice).
 */
async function untilAnswered<T>(
  send: (operationId: bigint) => Promise<T>,
  operationId = 0n,
  intent?: Omit<Extract<ServeEvent, { t: 'intent' }>, 'op' | 't'>,
): Promise<T> {
  let id = operationId;
  for (;;) {
    try {
      return await send(id);
    } catch (error) {
      const { code, definite } = error as { code?: string; definite?: boolean };
      if (definite === false) {
        if (args.canaryFreshIds && intent !== undefined) {
          id = nextOperationId();
          log({ t: 'intent', op: String(id), ...intent });
        }
        continue;
      }
      fail(`a definite error ${code}: ${(error as Error).message}`);
    }
  }
}
let lastRead = 0n;

function checkRead(minLsn: bigint, applied: bigint): void {
  log({ t: 'read', minLsn: String(minLsn), applied: String(applied) });
  if (applied < minLsn) fail(`a read with minLsn ${minLsn} answered at applied LSN ${applied}`);
  if (applied < lastRead) fail(`reads went backwards: applied LSN ${applied} after ${lastRead}`);
  lastRead = applied;
}

async function quota(): Promise<void> {
  const client = new QuotaClient({ url: args.url, retry, clientId: BigInt(args.index + 1) });
  const debited = new Map<bigint, bigint>();
  while (!existsSync(args.stopFile)) {
    const bucketId = BigInt(rng.int(args.keys));
    const amount = BigInt(rng.range(1, 5));
    const operationId = nextOperationId();
    log({ t: 'intent', op: String(operationId), key: String(bucketId), amount: String(amount) });
    const result = await untilAnswered(
      (id) => client.submit({ kind: 'debit', bucketId, amount }, { operationId: id }),
      operationId,
      { key: String(bucketId), amount: String(amount) },
    );
    log({
      t: 'ack',
      op: String(result.operationId),
      key: String(bucketId),
      amount: String(amount),
      lsn: String(result.lsn),
      code: result.outcome.resultCode,
      cached: result.fromRetryCache,
    });
    if (result.outcome.resultCode !== 'ok')
      fail(`debit ${operationId}: ${result.outcome.resultCode}`);
    debited.set(bucketId, (debited.get(bucketId) ?? 0n) + amount);
    if (rng.chance(0.3)) {
      const bucket = await untilAnswered(() => client.getBucket(bucketId, { minLsn: result.lsn }));
      checkRead(result.lsn, client.appliedLsn);
      // Other clients debit the same bucket: the balance is at most what this one left.
      const ceiling = BigInt(args.initial) - debited.get(bucketId)!;
      if (bucket === undefined || bucket.balance > ceiling) {
        fail(
          `bucket ${bucketId} reads ${bucket?.balance} after this client's debits left at most ${ceiling}`,
        );
      }
    }
  }
}

async function allocdb(): Promise<void> {
  const client = new AllocDbClient({ url: args.url, retry, clientId: BigInt(args.index + 1) });
  const held = new Map<bigint, { reservationId: bigint; leaseEpoch: bigint }>();
  const first = BigInt(args.index * args.keys);
  while (!existsSync(args.stopFile)) {
    const resourceId = first + BigInt(rng.int(args.keys));
    const operationId = nextOperationId();
    const lease = held.get(resourceId);
    const command =
      lease === undefined
        ? ({
            kind: 'reserve',
            resourceId,
            holderId: BigInt(args.index + 1),
            ttlSlots: 3_000n,
          } as const)
        : ({
            kind: 'release',
            reservationId: lease.reservationId,
            holderId: BigInt(args.index + 1),
            leaseEpoch: lease.leaseEpoch,
          } as const);
    log({ t: 'intent', op: String(operationId), key: String(resourceId), kind: command.kind });
    const result = await untilAnswered(
      (id) => client.submit(command, { operationId: id }),
      operationId,
      { key: String(resourceId), kind: command.kind },
    );
    log({
      t: 'ack',
      op: String(result.operationId),
      key: String(resourceId),
      kind: command.kind,
      lsn: String(result.lsn),
      code: result.outcome.resultCode,
      cached: result.fromRetryCache,
      ...(result.outcome.reservationId === undefined
        ? {}
        : { reservationId: String(result.outcome.reservationId) }),
    });
    if (result.outcome.resultCode !== 'ok')
      fail(`${command.kind} ${operationId}: ${result.outcome.resultCode}`);
    if (result.outcome.reservationId !== undefined) {
      held.set(resourceId, {
        reservationId: result.outcome.reservationId,
        leaseEpoch: result.outcome.leaseEpoch,
      });
    } else {
      held.delete(resourceId);
    }
    if (rng.chance(0.3)) {
      const resource = await untilAnswered(() =>
        client.getResource(resourceId, { minLsn: result.lsn }),
      );
      checkRead(result.lsn, client.appliedLsn);
      const mine = held.get(resourceId);
      const expected = mine === undefined ? 'available' : 'reserved';
      if (resource?.state !== expected || resource.currentReservationId !== mine?.reservationId) {
        fail(
          `resource ${resourceId} reads ${resource?.state} (${resource?.currentReservationId}) after this client's ${command.kind}`,
        );
      }
    }
  }
}

(args.engine === 'quota-core' ? quota() : allocdb()).then(
  () => {
    log({ t: 'done', seconds: (Date.now() - started) / 1000 });
    process.exit(0);
  },
  (error: unknown) => fail(`crashed: ${(error as Error).stack}`),
);
