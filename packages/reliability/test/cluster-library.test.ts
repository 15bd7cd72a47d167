/**
 * The library API of a cluster (docs/cluster.md, "The library API"), with a real nats-server and
 * two nodes in this process on their own NATS connections: `submit` and `submitBatch` on the
 * writer and on a follower (forwarded) answer alike, entry by entry; a follower's strict read
 * waits for the writer's LSN; `status()` names the writer; a node closed while writing hands the
 * lease over.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { QuotaCluster } from 'quota-core/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCluster, natsServerUnavailable } from '../src/cluster/nats.js';
import { tempDir } from './support.js';

const unavailable = natsServerUnavailable();
if (unavailable !== undefined) {
  console.warn(
    `!!! SKIPPED: the cluster library test needs nats-server: ${unavailable}. CI installs it (.ci/run)`,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(unavailable !== undefined)('cluster: the library API', () => {
  let nats: NatsCluster;
  let work: ReturnType<typeof tempDir>;
  const connections: NatsConnection[] = [];
  beforeAll(async () => {
    work = tempDir('cluster-library');
    nats = await NatsCluster.start(`${work.path}/nats`, 1);
  });
  afterAll(async () => {
    for (const nc of connections) await nc.close().catch(() => undefined);
    await nats?.stop();
    work?.remove();
  });

  const LEASE_MS = 20_000;

  it('submit and submitBatch on the writer and on a follower, entry by entry; the follower reads what the writer wrote', async () => {
    const open = async (node: string) => {
      const nc = await connect({ servers: nats.urls });
      connections.push(nc);
      return QuotaCluster.open({
        dir: `${work.path}/${node}`,
        nats: nc,
        name: 'library',
        node,
        replicas: 1,
        // Long, so that the handover below can only come from the closing writer giving its
        // lease up, never from the lease running out.
        leaseMs: LEASE_MS,
      });
    };
    const first = await open('a');
    // A node campaigns at its first lease turn (a quarter of the lease after it started).
    for (let wait = 0; !first.isWriter; wait++) {
      expect(wait).toBeLessThan(3_000);
      await sleep(10);
    }
    const second = await open('b');
    expect(second.role).toBe('follower');
    const debit = (operationId: bigint, amount: bigint) => ({
      operationId,
      clientId: 1n,
      command: { kind: 'debit' as const, bucketId: 1n, amount },
    });
    await second.submit({
      operationId: 1n,
      clientId: 1n,
      command: {
        kind: 'create_bucket',
        bucketId: 1n,
        limit: 100n,
        initialBalance: 100n,
        refillRatePerSlot: 0n,
      },
    });
    for (const [node, base] of [
      [first, 10n],
      [second, 20n],
    ] as const) {
      const results = await node.submitBatch([
        debit(base, 5n),
        debit(base + 1n, 0n),
        debit(base + 2n, 1_000n),
      ]);
      expect(results[0]).toMatchObject({ outcome: { resultCode: 'ok' }, fromRetryCache: false });
      expect(results[1]).toMatchObject({ code: 'invalid_request', definite: true });
      expect(results[2]).toMatchObject({ outcome: { resultCode: 'insufficient_funds' } });
      // The same ids again: answered from the retry cache, on either node.
      const again = await (node === first ? second : first).submitBatch([debit(base, 5n)]);
      expect(again[0]).toMatchObject({ outcome: { resultCode: 'ok' }, fromRetryCache: true });
      expect((again[0] as { lsn: bigint }).lsn).toBe((results[0] as { lsn: bigint }).lsn);
    }
    const last = await second.submit(debit(30n, 1n));
    expect(await second.waitForLsn(last.lsn, 5_000)).toBe(true);
    expect(second.getBucket(1n, { minLsn: last.lsn })?.balance).toBe(89n);
    expect(first.getBucket(1n, { minLsn: last.lsn })?.balance).toBe(89n);
    // A follower learns the writer at its lease turns.
    for (let wait = 0; second.status().writer?.node !== 'a'; wait++) {
      expect(wait).toBeLessThan(3_000);
      await sleep(10);
    }
    // The writer closes: it gives its lease up, and the follower takes over at once.
    await first.close();
    const closedAt = performance.now();
    while (!second.isWriter) {
      // Sooner than the lease could have run out: the lease was given up.
      expect(performance.now() - closedAt).toBeLessThan(LEASE_MS);
      await sleep(10);
    }
    expect((await second.submit(debit(31n, 1n))).outcome.resultCode).toBe('ok');
    await second.close();
  });
});
