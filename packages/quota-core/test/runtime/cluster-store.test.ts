/**
 * The cluster store's snapshot download against a real nats-server (docs/cluster.md, "Catch-up
 * and bounded storage"). A writer that publishes a newer snapshot while a node is still
 * downloading the previous one purges that one's chunks; the download must not wait for them
 * for ever (a node bootstrapping under load did, in the thorough fault suite), but give up with
 * `SnapshotStalledError` so that the node fetches the latest snapshot again.
 *
 * The purge overtaking a download is simulated in the order that makes it certain: the older
 * snapshot's chunks are purged (as a newer publish does) while its description still names
 * them, then the download starts. A slow node under load meets the same state mid-download.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterStore,
  SNAPSHOT_STALL_MS,
  SnapshotStalledError,
} from '../../src/runtime/cluster-store.js';
import { loadNatsPeer } from '../../src/runtime/nats-peer.js';

const found = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
const unavailable = found.error === undefined ? undefined : 'nats-server is not on PATH';
if (unavailable !== undefined) {
  if (process.env.REQUIRE_NATS === '1') {
    throw new Error(`REQUIRE_NATS=1: the cluster store test needs nats-server: ${unavailable}`);
  }
  console.warn(
    `!!! SKIPPED: the cluster store test needs nats-server (${unavailable}); CI installs it (.ci/run)`,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free loopback port. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(unavailable !== undefined)('ClusterStore: the published snapshot', () => {
  let work: string;
  let natsPort: number;
  let natsProcess: ReturnType<typeof spawn>;
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cluster-store-'));
    natsPort = await freePort();
    natsProcess = spawn(
      'nats-server',
      ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', join(work, 'js')],
      { stdio: 'ignore' },
    );
    for (let attempt = 0; ; attempt++) {
      try {
        connections.push(await connect({ servers: `nats://127.0.0.1:${natsPort}` }));
        break;
      } catch (error) {
        if (attempt > 100) throw error;
        await sleep(50);
      }
    }
  });

  afterAll(async () => {
    for (const nc of connections) await nc.close().catch(() => undefined);
    natsProcess?.kill('SIGKILL');
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('a download whose chunks were purged under it stops with SnapshotStalledError; the next fetch gets the newer snapshot', async () => {
    const peer = await loadNatsPeer();
    const bucket = 'STALL_test';
    const nc = connections[0]!;
    const store = await ClusterStore.open(peer, nc, { bucket, replicas: 1 });
    const older = new Uint8Array(1024 * 1024).fill(1);
    await store.publishSnapshot(older, 1n);
    // What a newer publish does to the older object's chunks, before this download reads them.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge(`OBJ_${bucket}_snapshots`, { filter: `$O.${bucket}_snapshots.C.>` });

    const started = performance.now();
    const outcome = await store.fetchSnapshot().then(
      (value) => ({ value, error: undefined }),
      (error: unknown) => ({ value: undefined, error }),
    );
    expect(outcome.error).toBeInstanceOf(SnapshotStalledError);
    expect((outcome.error as Error).message).toMatch(
      /received no chunk for 10000 ms after 0 bytes/,
    );
    // It gave up after the stall bound, not at once.
    expect(performance.now() - started).toBeGreaterThanOrEqual(SNAPSHOT_STALL_MS - 1_000);

    const newer = new Uint8Array(512 * 1024).fill(2);
    await store.publishSnapshot(newer, 2n);
    const again = await store.fetchSnapshot();
    expect(again?.lsn).toBe(2n);
    expect(again?.fileBytes).toEqual(newer);
  }, 60_000);
});
