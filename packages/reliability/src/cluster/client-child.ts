/**
 * One client process of the cluster fault suite (`harness.ts`): commands in a loop through the
 * engine's typed client, configured with every node of the cluster, while the parent kills and
 * pauses writers, NATS servers and nodes under it. Every command is logged before it is sent
 * (intent) and when answered (ack), one JSON line each, written synchronously; a command whose
 * fate is unknown is sent again with the same operation id until answered. Clients contend for
 * the same keys:
 *
 * - quota-core: debits of 1–3 units from shared buckets with small balances, so that some are
 *   refused (`insufficient_funds`); a debit applied twice would show in the final balances.
 * - allocdb-core: reserves and releases on a shared pool of resources; a reserve finds some busy
 *   (`resource_busy`), and a client releases only what it was acknowledged to hold.
 *
 * After some acks the client reads its key with `minLsn` (the ack's LSN): the read must reflect
 * it, and the applied LSNs a client sees never go back. It exits 1 on anything unexpected.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { AllocDbClient } from 'allocdb-core/client';
import { QuotaClient } from 'quota-core/client';
import { Rng } from '../random.js';
import type { ClusterChildArgs, ClusterEvent } from './protocol.js';

const args = JSON.parse(process.argv[2]!) as ClusterChildArgs;
const rng = new Rng(args.seed);
// The canary gives up at the first failure, so that its own loop retries under a fresh id.
const retry = {
  attemptTimeoutMs: 4_000,
  deadlineMs: args.canaryFreshIds ? 1 : 90_000,
  minDelayMs: 10,
  maxDelayMs: 250,
};
const started = Date.now();
let retries = 0;

function log(event: ClusterEvent): void {
  appendFileSync(args.log, `${JSON.stringify(event)}\n`);
}

function fail(message: string): never {
  log({ t: 'failure', message });
  process.stderr.write(`cluster client ${args.index}: ${message}\n`);
  process.exit(1);
}

let counter = 0n;
const nextOperationId = () => (BigInt(args.index + 1) << 64n) | ++counter;

/**
 * Runs `send` until it answers; an unknown fate is sent again with the same operation id (the
 * canary: with a fresh one, logged as a new intent, which the suite must catch applying twice).
 */
async function untilAnswered<T>(
  what: string,
  send: (operationId: bigint) => Promise<T>,
  operationId = 0n,
  intent?: Omit<Extract<ClusterEvent, { t: 'intent' }>, 't' | 'op'>,
): Promise<T> {
  let id = operationId;
  for (;;) {
    try {
      const answer = await send(id);
      // The canary also loses one answer in twenty as a network would (the command ran, the
      // client never heard): with its fresh id, the run shows a double debit whether or not a
      // fault happened to land on a command in flight.
      if (args.canaryFreshIds && intent !== undefined && rng.chance(0.05)) {
        retries++;
        id = nextOperationId();
        log({ t: 'intent', op: String(id), ...intent });
        continue;
      }
      return answer;
    } catch (error) {
      const { code, definite } = error as { code?: string; definite?: boolean };
      if (definite === false || code === 'no_writer' || code === 'fence_not_applied') {
        retries++;
        if (args.canaryFreshIds && intent !== undefined) {
          id = nextOperationId();
          log({ t: 'intent', op: String(id), ...intent });
        }
        continue;
      }
      fail(`${what}: a definite error ${code}: ${(error as Error).message}`);
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
  const client = new QuotaClient({ url: args.urls, retry, clientId: BigInt(args.index + 1) });
  while (!existsSync(args.stopFile)) {
    const bucketId = BigInt(rng.int(args.keys));
    const amount = BigInt(rng.range(1, 3));
    const op = nextOperationId();
    const common = { op: String(op), key: String(bucketId), kind: 'debit', amount: String(amount) };
    log({ t: 'intent', ...common });
    const result = await untilAnswered(
      `debit ${op}`,
      (id) => client.submit({ kind: 'debit', bucketId, amount }, { operationId: id }),
      op,
      { key: common.key, kind: 'debit', amount: common.amount },
    );
    const code = result.outcome.resultCode;
    log({
      t: 'ack',
      ...common,
      op: String(result.operationId),
      lsn: String(result.lsn),
      code,
      cached: result.fromRetryCache,
    });
    if (code !== 'ok' && code !== 'insufficient_funds') fail(`debit ${op}: ${code}`);
    if (rng.chance(0.25)) {
      const bucket = await untilAnswered(`read ${bucketId}`, () =>
        client.getBucket(bucketId, { minLsn: result.lsn }),
      );
      checkRead(result.lsn, client.appliedLsn);
      if (bucket === undefined || bucket.balance < 0n)
        fail(`bucket ${bucketId} reads ${bucket?.balance}`);
    }
  }
}

async function allocdb(): Promise<void> {
  const client = new AllocDbClient({ url: args.urls, retry, clientId: BigInt(args.index + 1) });
  const holder = BigInt(args.index + 1);
  const held = new Map<bigint, { reservationId: bigint; leaseEpoch: bigint }>();
  while (!existsSync(args.stopFile)) {
    const resourceId = BigInt(rng.int(args.keys));
    const op = nextOperationId();
    const lease = held.get(resourceId);
    const command =
      lease === undefined
        ? ({ kind: 'reserve', resourceId, holderId: holder, ttlSlots: 100_000n } as const)
        : ({
            kind: 'release',
            reservationId: lease.reservationId,
            holderId: holder,
            leaseEpoch: lease.leaseEpoch,
          } as const);
    log({ t: 'intent', op: String(op), key: String(resourceId), kind: command.kind });
    const result = await untilAnswered(`${command.kind} ${op}`, () =>
      client.submit(command, { operationId: op }),
    );
    const code = result.outcome.resultCode;
    const reservationId =
      command.kind === 'release'
        ? lease!.reservationId
        : code === 'ok'
          ? (result.outcome as { reservationId: bigint }).reservationId
          : undefined;
    log({
      t: 'ack',
      op: String(op),
      key: String(resourceId),
      kind: command.kind,
      lsn: String(result.lsn),
      code,
      cached: result.fromRetryCache,
      ...(reservationId === undefined ? {} : { reservationId: String(reservationId) }),
    });
    if (command.kind === 'release') {
      if (code !== 'ok') fail(`release ${op} of what this client held: ${code}`);
      held.delete(resourceId);
    } else if (code === 'ok') {
      const outcome = result.outcome as { reservationId: bigint; leaseEpoch: bigint };
      held.set(resourceId, {
        reservationId: outcome.reservationId,
        leaseEpoch: outcome.leaseEpoch,
      });
    } else if (code !== 'resource_busy') {
      fail(`reserve ${op}: ${code}`);
    }
    if (rng.chance(0.25)) {
      const resource = await untilAnswered(`read ${resourceId}`, () =>
        client.getResource(resourceId, { minLsn: result.lsn }),
      );
      checkRead(result.lsn, client.appliedLsn);
      const mine = held.get(resourceId);
      if (mine !== undefined && resource?.currentReservationId !== mine.reservationId) {
        fail(
          `resource ${resourceId} reads reservation ${resource?.currentReservationId} while this client holds ${mine.reservationId}`,
        );
      }
    }
  }
  // Leave nothing held: every lease this client was granted is released before it stops.
  for (const [resourceId, lease] of held) {
    const op = nextOperationId();
    log({ t: 'intent', op: String(op), key: String(resourceId), kind: 'release' });
    const result = await untilAnswered(`release ${op}`, () =>
      client.submit(
        {
          kind: 'release',
          reservationId: lease.reservationId,
          holderId: holder,
          leaseEpoch: lease.leaseEpoch,
        },
        { operationId: op },
      ),
    );
    log({
      t: 'ack',
      op: String(op),
      key: String(resourceId),
      kind: 'release',
      lsn: String(result.lsn),
      code: result.outcome.resultCode,
      cached: result.fromRetryCache,
      reservationId: String(lease.reservationId),
    });
    if (result.outcome.resultCode !== 'ok')
      fail(`final release ${op}: ${result.outcome.resultCode}`);
  }
}

(args.engine === 'quota-core' ? quota() : allocdb()).then(
  () => {
    log({ t: 'done', seconds: (Date.now() - started) / 1000, retries });
    process.exit(0);
  },
  (error: unknown) => fail(`crashed: ${(error as Error).stack}`),
);
