/**
 * The NATS client packages a cluster needs (docs/cluster.md): optional peer dependencies, loaded
 * on first use, so that an engine that never joins a cluster installs and runs without them. A
 * missing one is one error naming what to install.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/` (the NATS packages only as types, and at run time through `import()`).
 */
import type * as JetStream from '@nats-io/jetstream';
import type * as Kv from '@nats-io/kv';
import type * as Obj from '@nats-io/obj';
import type * as Transport from '@nats-io/transport-node';
import { PackageError } from './package-error.js';

/** The packages a cluster loads, in the order they are named to the user. */
export const NATS_PEER_PACKAGES = [
  '@nats-io/transport-node',
  '@nats-io/jetstream',
  '@nats-io/kv',
  '@nats-io/obj',
] as const;

/** A peer package a cluster needs is not installed. */
export class MissingPeerError extends PackageError {
  declare readonly code: 'missing_peer';
  readonly missing: readonly string[];
  constructor(missing: readonly string[]) {
    super(
      'missing_peer',
      `clustering needs the NATS client packages, optional peer dependencies that are not installed (missing: ${missing.join(', ')}); run: npm install ${NATS_PEER_PACKAGES.join(' ')}`,
    );
    this.missing = missing;
  }
}

export interface NatsPeer {
  readonly transport: typeof Transport;
  readonly jetstream: typeof JetStream;
  readonly kv: typeof Kv;
  readonly obj: typeof Obj;
}

function isMissing(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown })?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    String((error as Error).message).includes(name)
  );
}

let loaded: NatsPeer | undefined;

/**
 * Loads the four packages (once per process). Throws `MissingPeerError` naming every missing
 * one; any other failure to load them is rethrown as it is.
 */
export async function loadNatsPeer(): Promise<NatsPeer> {
  if (loaded !== undefined) return loaded;
  const missing: string[] = [];
  const modules: unknown[] = [];
  for (const name of NATS_PEER_PACKAGES) {
    try {
      modules.push(await import(name));
    } catch (error) {
      if (!isMissing(error, name)) throw error;
      missing.push(name);
    }
  }
  if (missing.length > 0) throw new MissingPeerError(missing);
  const [transport, jetstream, kv, obj] = modules as [
    typeof Transport,
    typeof JetStream,
    typeof Kv,
    typeof Obj,
  ];
  loaded = { transport, jetstream, kv, obj };
  return loaded;
}
