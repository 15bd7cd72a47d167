/**
 * Real `nats-server` processes for the cluster suites and benchmarks: N servers with JetStream
 * on loopback, routed into one cluster, each with its own store directory under the work
 * directory. A server can be killed (SIGKILL) and started again on the same ports and store, as
 * a machine that loses its NATS server and gets it back.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * Why `nats-server` cannot run here (the suites then skip, saying so in one line), or undefined
 * when it can. With `REQUIRE_NATS=1` (.ci/run) a missing server throws instead: CI always runs
 * the cluster suites.
 */
export function natsServerUnavailable(): string | undefined {
  const probe = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  if (probe.error === undefined) return undefined;
  const why = `nats-server is not installed (${(probe.error as NodeJS.ErrnoException).code}); install it: apt-get install nats-server, brew install nats-server, or the release binary from https://github.com/nats-io/nats-server/releases`;
  if (process.env.REQUIRE_NATS === '1') throw new Error(`REQUIRE_NATS=1 but ${why}`);
  return why;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface NatsServer {
  readonly name: string;
  readonly clientPort: number;
  readonly monitorPort: number;
  readonly config: string;
  process: ChildProcess | undefined;
  log: string;
}

export class NatsCluster {
  readonly servers: readonly NatsServer[];

  private constructor(servers: NatsServer[]) {
    this.servers = servers;
  }

  /** `nats://127.0.0.1:<port>` of every server, for `--cluster`. */
  get urls(): string[] {
    return this.servers.map((server) => `nats://127.0.0.1:${server.clientPort}`);
  }

  /** Starts `size` servers (1 runs without routes) and waits until each is healthy. */
  static async start(work: string, size: number): Promise<NatsCluster> {
    const ports = await Promise.all(
      Array.from({ length: size }, async () => ({
        client: await freePort(),
        route: await freePort(),
        monitor: await freePort(),
      })),
    );
    const routes = ports.map((port) => `nats-route://127.0.0.1:${port.route}`);
    const servers: NatsServer[] = ports.map((port, index) => {
      const name = `nats-${index + 1}`;
      const store = join(work, name);
      mkdirSync(store, { recursive: true });
      const config = join(work, `${name}.conf`);
      const lines = [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${port.client}`,
        `http: 127.0.0.1:${port.monitor}`,
        `jetstream { store_dir: ${JSON.stringify(store)}, max_memory_store: 256MB, max_file_store: 8GB }`,
      ];
      if (size > 1) {
        lines.push(
          `cluster { name: engines, listen: 127.0.0.1:${port.route}, routes: [${routes.join(', ')}] }`,
        );
      }
      writeFileSync(config, `${lines.join('\n')}\n`);
      return {
        name,
        clientPort: port.client,
        monitorPort: port.monitor,
        config,
        process: undefined,
        log: '',
      };
    });
    const cluster = new NatsCluster(servers);
    for (let index = 0; index < size; index++) cluster.launch(index);
    await Promise.all(servers.map((_, index) => cluster.healthy(index)));
    return cluster;
  }

  private launch(index: number): void {
    const server = this.servers[index]! as NatsServer;
    const child = spawn('nats-server', ['-c', server.config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      server.log = (server.log + chunk.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    server.process = child;
  }

  /** Waits until server `index` answers healthy (JetStream up), up to 30 s. */
  async healthy(index: number): Promise<void> {
    const server = this.servers[index]!;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${server.monitorPort}/healthz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(`${server.name} did not become healthy in 30 s:\n${server.log}`);
      }
      await sleep(100);
    }
  }

  /** SIGKILLs server `index`; resolves once it has exited. */
  async kill(index: number): Promise<void> {
    const child = this.servers[index]!.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts server `index` again on its ports and store; resolves once it is healthy. */
  async restart(index: number): Promise<void> {
    await this.kill(index);
    this.launch(index);
    await this.healthy(index);
  }

  /** Stops every server. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((_, index) => this.kill(index)));
  }
}
