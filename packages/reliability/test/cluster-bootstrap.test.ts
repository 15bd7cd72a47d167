/**
 * Catch-up from a published snapshot (docs/cluster.md, "Catch-up and bounded storage"), with a
 * real nats-server and the library API: a writer checkpoints often, publishes its snapshots and
 * trims the stream below them; a node with an empty directory, and later the same node back
 * after being away while the stream was trimmed past it, starts from the published snapshot and
 * the stream's tail, and ends with the writer's state (the same snapshot body at the same LSN).
 */
import { createHash } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AllocDbEngine } from 'allocdb-core';
import { AllocDbCluster } from 'allocdb-core/cluster';
import * as allocdbCodec from 'allocdb-core/codec';
import * as allocdbTesting from 'allocdb-core/testing';
import { QuotaEngine } from 'quota-core';
import { QuotaCluster } from 'quota-core/cluster';
import * as quotaCodec from 'quota-core/codec';
import * as quotaTesting from 'quota-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCluster, natsServerUnavailable } from '../src/cluster/nats.js';
import { tempDir } from './support.js';

const unavailable = natsServerUnavailable();
if (unavailable !== undefined) {
  console.warn(
    `!!! SKIPPED: the cluster bootstrap test needs nats-server: ${unavailable}. CI installs it (.ci/run)`,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function digestOf(engine: 'quota-core' | 'allocdb-core', dir: string) {
  const opened =
    engine === 'quota-core' ? await QuotaEngine.open({ dir }) : await AllocDbEngine.open({ dir });
  try {
    const body =
      opened instanceof QuotaEngine
        ? quotaCodec.encodeSnapshotBody(quotaTesting.stateMachineOf(opened).snapshot())
        : allocdbCodec.encodeSnapshotBody(allocdbTesting.stateMachineOf(opened).snapshot());
    return { lsn: opened.lastAppliedLsn, digest: createHash('sha256').update(body).digest('hex') };
  } finally {
    await opened.close();
  }
}

describe.skipIf(unavailable !== undefined)(
  'cluster: a node starts from the published snapshot',
  () => {
    let nats: NatsCluster;
    let work: ReturnType<typeof tempDir>;
    const connections: NatsConnection[] = [];
    beforeAll(async () => {
      work = tempDir('cluster-bootstrap');
      nats = await NatsCluster.start(`${work.path}/nats`, 1);
    });
    afterAll(async () => {
      for (const nc of connections) await nc.close().catch(() => undefined);
      await nats?.stop();
      work?.remove();
    });

    for (const engine of ['quota-core', 'allocdb-core'] as const) {
      it(`${engine}: an empty directory, then a node away past the trim, bootstrap and converge`, async () => {
        const name = `boot${engine === 'quota-core' ? 'q' : 'a'}`;
        const open = async (dir: string, events: string[]) => {
          const nc = await connect({ servers: nats.urls });
          connections.push(nc);
          const options = {
            dir,
            nats: nc,
            name,
            replicas: 1,
            leaseMs: 2_000,
            keepMessages: 5,
            engine: { checkpointPolicy: { everyBytes: 8 * 1024 } },
            onEvent: (event: { kind: string; why?: string }) => {
              if (event.kind === 'role') events.push(event.why ?? '');
            },
          };
          return engine === 'quota-core'
            ? QuotaCluster.open(options)
            : AllocDbCluster.open(options);
        };
        let operationId = 1n;
        /** Submits as a client would: a failover under load is retried with the same id. */
        const submitOne = async (node: QuotaCluster | AllocDbCluster, id: bigint) => {
          for (;;) {
            try {
              return node instanceof QuotaCluster
                ? await node.submit({
                    operationId: id,
                    clientId: 1n,
                    command: {
                      kind: 'create_bucket',
                      bucketId: id,
                      limit: 10n,
                      initialBalance: 10n,
                      refillRatePerSlot: 0n,
                    },
                  })
                : await node.submit({
                    operationId: id,
                    clientId: 1n,
                    command: { kind: 'create_resource', resourceId: id },
                  });
            } catch (error) {
              const { code, definite } = error as { code?: string; definite?: boolean };
              if (definite !== false && code !== 'no_writer') throw error;
              await sleep(50);
            }
          }
        };
        const write = async (node: QuotaCluster | AllocDbCluster, count: number) => {
          const pending: Promise<unknown>[] = [];
          for (let i = 0; i < count; i++) {
            pending.push(submitOne(node, operationId++));
            if (pending.length === 50) await Promise.all(pending.splice(0));
          }
          await Promise.all(pending);
        };
        const stream = engine === 'quota-core' ? `QUOTA_${name}` : `ALLOCDB_${name}`;
        const jsm = await jetstreamManager(
          connections[0] ?? (await connect({ servers: nats.urls })),
        );
        const firstSeq = async () => (await jsm.streams.info(stream)).state.first_seq;

        const writerEvents: string[] = [];
        const writer = await open(`${work.path}/${engine}-writer`, writerEvents);
        await until('a writer', () => writer.isWriter);
        // Writes go on until the writer has checkpointed, published a snapshot and trimmed the
        // stream below it (a checkpoint runs beside the writes, so this takes a few rounds).
        const writeUntilTrimmed = async (above: number) => {
          for (let round = 0; (await firstSeq()) <= above; round++) {
            if (round > 100)
              throw new Error(`no trim past sequence ${above} after ${round} rounds`);
            await write(writer, 100);
            await sleep(50);
          }
        };
        // (sequence 1 is the first writer's term marker: a trim past it alone removes no command)
        await writeUntilTrimmed(10);

        const joinerEvents: string[] = [];
        const joinerDir = `${work.path}/${engine}-joiner`;
        let joiner = await open(joinerDir, joinerEvents);
        expect(
          joinerEvents.some((why) => why.startsWith('bootstrapping from the published snapshot')),
        ).toBe(true);
        await until(
          'the joiner to catch up',
          () => joiner.lastAppliedLsn === writer.lastAppliedLsn,
        );
        expect(joiner.role).toBe('follower');
        await joiner.close();

        // Away while the writer goes on and trims past where the joiner stopped.
        const stoppedAt = joiner.lastAppliedLsn;
        const before = await firstSeq();
        await writeUntilTrimmed(before + 20);
        // Bounded: the stream holds what follows the latest published snapshot (plus the 5 kept
        // below it), not the whole history the writer has written.
        const { messages, last_seq } = (await jsm.streams.info(stream)).state;
        expect(last_seq).toBeGreaterThan(40);
        expect(messages).toBeLessThan(last_seq / 2);
        joinerEvents.length = 0;
        joiner = await open(joinerDir, joinerEvents);
        expect(
          joinerEvents.some((why) => why.startsWith('bootstrapping from the published snapshot')),
        ).toBe(true);
        await until(
          'the joiner to catch up again',
          () => joiner.lastAppliedLsn === writer.lastAppliedLsn,
        );
        expect(joiner.lastAppliedLsn).toBeGreaterThan(stoppedAt);
        const lsn = writer.lastAppliedLsn;
        await joiner.close();
        await writer.close();
        const a = await digestOf(engine, `${work.path}/${engine}-writer`);
        const b = await digestOf(engine, joinerDir);
        expect(a.lsn).toBe(lsn);
        expect(b).toEqual(a);
      });
    }

    it('a stream trimmed down to a term marker: a new node bootstraps (it does not mistake the marker for a broken log)', async () => {
      const name = 'bootmarker';
      const events: string[] = [];
      const open = async (dir: string, record: string[]) => {
        const nc = await connect({ servers: nats.urls });
        connections.push(nc);
        return QuotaCluster.open({
          dir,
          nats: nc,
          name,
          replicas: 1,
          keepMessages: 1,
          engine: { checkpointPolicy: { everyFrames: 1 } },
          onEvent: (event) => {
            if (event.kind === 'role') record.push(event.why);
          },
        });
      };
      const create = (node: QuotaCluster, id: bigint) =>
        node.submit({
          operationId: id,
          clientId: 1n,
          command: {
            kind: 'create_bucket',
            bucketId: id,
            limit: 1n,
            initialBalance: 1n,
            refillRatePerSlot: 0n,
          },
        });
      const jsm = await jetstreamManager(connections[0] ?? (await connect({ servers: nats.urls })));
      const state = async () => (await jsm.streams.info(`QUOTA_${name}`)).state;
      let writer = await open(`${work.path}/marker-writer`, []);
      await until('a writer', () => writer.isWriter);
      for (let id = 1n; id <= 20n; id++) await create(writer, id);
      await writer.close();
      // The same node writes again: its term marker is the message after its earlier batches.
      writer = await open(`${work.path}/marker-writer`, []);
      await until('a writer again', () => writer.isWriter);
      const marker = (await state()).last_seq;
      await create(writer, 21n);
      // Its snapshot at that one batch is published and the stream trimmed to one message below
      // it: the marker.
      await until(
        'the trim to the marker',
        async () => (await state()).first_seq === marker,
        30_000,
      );
      const joiner = await open(`${work.path}/marker-joiner`, events);
      expect(
        events.some((why) => why.startsWith('bootstrapping from the published snapshot')),
      ).toBe(true);
      await until('the joiner to catch up', () => joiner.lastAppliedLsn === writer.lastAppliedLsn);
      expect(joiner.getBucket(21n)?.balance).toBe(1n);
      expect(joiner.failure).toBeUndefined();
      await joiner.close();
      await writer.close();
    });
  },
);
