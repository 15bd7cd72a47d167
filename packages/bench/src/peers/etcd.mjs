// The etcd peer of the cluster suite: three etcd members (Debian's etcd-server) on loopback,
// started here with fresh data directories, and the lease as etcd users write it through the
// `etcd3` npm client: a reserve is a lease grant (TTL) plus a transaction that puts the resource's
// key with that lease only if the key does not exist; a release revokes the lease, which deletes
// the key. etcd fsyncs its WAL on every member before a write is committed.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from 'reliability/dist/cluster/nats.js';

/** Whether `etcd` can run here; `reason` when it cannot. */
export function findEtcd() {
  const probe = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) {
    return {
      available: false,
      reason: `etcd is not installed (${probe.error.code}); apt-get install etcd-server`,
    };
  }
  const version = /etcd Version: (\S+)/.exec(probe.stdout)?.[1];
  return { available: true, version };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts three members in `dir`; resolves with their client URLs and `stop()`. */
export async function startEtcdCluster(dir) {
  const members = [];
  for (let i = 1; i <= 3; i++) {
    members.push({ name: `e${i}`, client: await freePort(), peer: await freePort() });
  }
  const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const children = members.map((m) => {
    const child = spawn(
      'etcd',
      [
        '--name',
        m.name,
        '--data-dir',
        join(dir, m.name),
        '--listen-client-urls',
        `http://127.0.0.1:${m.client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${m.client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${m.peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${m.peer}`,
        '--initial-cluster',
        initial,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        'bench',
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    return { child, exited, stderr: () => stderr };
  });
  const hosts = members.map((m) => `http://127.0.0.1:${m.client}`);
  const deadline = Date.now() + 30_000;
  for (const host of hosts) {
    for (;;) {
      try {
        const response = await fetch(`${host}/health`);
        if (response.ok && (await response.json()).health === 'true') break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) {
        throw new Error(
          `etcd did not become healthy: ${children.map((c) => c.stderr()).join('\n')}`,
        );
      }
      await sleep(100);
    }
  }
  return {
    hosts,
    async stop() {
      for (const { child, exited } of children) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
