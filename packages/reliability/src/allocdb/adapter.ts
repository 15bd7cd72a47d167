/**
 * The allocdb-core adapter: opens `AllocDbEngine` (through `allocdb-core/testing`'s `openEngineForTesting` when a file system
 * or fault hooks are injected), decodes its log, generates lease workloads, and carries the
 * independent reference model of `./model.ts`.
 */
import {
  type AllocDbConfig,
  type AllocDbEngine,
  type ClientRequest,
  CodecError,
  type Command,
  RecoveryError,
  SnapshotError,
  SnapshotFileError,
  type SubmitResult,
} from 'allocdb-core';
import {
  decodeClientRequest,
  decodeCommand,
  decodeInternalCommand,
  decodeSnapshotBody,
  encodeClientRequest,
  encodeCommand,
  encodeSnapshotBody,
} from 'allocdb-core/codec';
import { AllocDb, SNAPSHOT_SCHEMA_VERSION } from 'allocdb-core/state-machine';
import * as testing from 'allocdb-core/testing';
import type {
  EngineAdapter,
  EngineHandle,
  EntryError,
  FuzzTarget,
  Logged,
  Model,
  OpenOptions,
  RecoveryStatus,
  Workload,
  WorkloadContext,
} from '../adapter.js';
import { toHex } from '../canon.js';
import { repairSnapshotFile, repairWal, scanThreeWays } from '../fuzz/wal-differential.js';
import type { SnapshotFileModule, WalModule } from '../internals.js';
import { memorySnapshotFs } from '../memory-fs.js';
import type { Rng } from '../random.js';
import { AllocModel, checkAllocState } from './model.js';

const wal: WalModule = testing;
const snapshotFile: SnapshotFileModule = {
  loadSnapshotFile: testing.loadSnapshotFile,
  encodeSnapshotFile: testing.encodeSnapshotFile,
  SnapshotFileError,
};

/**
 * The crash-kill configuration: a retry window far longer than any test runs (so every
 * acknowledged operation can be retried from the cache at the end), an operation table large
 * enough never to fill within an episode, short TTLs so that ticks expire leases.
 */
export const ALLOC_CRASH_CONFIG: AllocDbConfig = Object.freeze({
  shardId: 0n,
  maxResources: 48,
  maxReservations: 4096,
  maxBundleSize: 4,
  maxOperations: 65_536,
  maxTtlSlots: 8n,
  maxClientRetryWindowSlots: 1_000_000n,
  reservationHistoryWindowSlots: 4n,
  maxExpirationBucketLen: 512,
});

/**
 * The simulation configuration: every table, window and bucket small enough to fill, a shard
 * id above zero, retention short enough that records retire during a run.
 */
export const ALLOC_SMALL_CONFIG: AllocDbConfig = Object.freeze({
  shardId: 3n,
  maxResources: 10,
  maxReservations: 8,
  maxBundleSize: 3,
  maxOperations: 40,
  maxTtlSlots: 6n,
  maxClientRetryWindowSlots: 12n,
  reservationHistoryWindowSlots: 3n,
  maxExpirationBucketLen: 3,
});

/**
 * The sweep configuration: bundles of up to 48 resources, so that some frames span several
 * 512-byte sectors (the torn-write rule for a whole frame with a zero sector needs them).
 */
export const ALLOC_SWEEP_CONFIG: AllocDbConfig = Object.freeze({
  shardId: 1n,
  maxResources: 64,
  maxReservations: 64,
  maxBundleSize: 48,
  maxOperations: 1024,
  maxTtlSlots: 6n,
  maxClientRetryWindowSlots: 20n,
  reservationHistoryWindowSlots: 3n,
  maxExpirationBucketLen: 8,
});

const MAX_COMMAND_BYTES = 64 * 1024;

class AllocHandle implements EngineHandle {
  constructor(private readonly engine: AllocDbEngine) {}

  submit(request: unknown, requestSlot?: bigint): Promise<SubmitResult> {
    return this.engine.submit(
      request as ClientRequest,
      requestSlot === undefined ? undefined : { requestSlot },
    );
  }

  submitBatch(
    requests: readonly unknown[],
    requestSlot?: bigint,
  ): Promise<(SubmitResult | EntryError)[]> {
    return this.engine.submitBatch(
      requests as ClientRequest[],
      requestSlot === undefined ? undefined : { requestSlot },
    );
  }

  readonly tick = (requestSlot?: bigint): Promise<unknown> =>
    this.engine.tickExpirations(requestSlot === undefined ? {} : { requestSlot });

  checkpoint(): Promise<unknown> {
    return this.engine.checkpoint();
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  crash(): void {
    testing.simulateCrash(this.engine);
  }

  get lastAppliedLsn(): bigint {
    return this.engine.lastAppliedLsn;
  }

  get lastRequestSlot(): bigint {
    return testing.stateMachineOf(this.engine).lastRequestSlot ?? 0n;
  }

  get accepting(): boolean {
    return this.engine.metrics().acceptingWrites;
  }

  get recoveryStatus(): RecoveryStatus {
    return this.engine.recoveryStatus;
  }

  state(): unknown {
    return testing.stateMachineOf(this.engine).snapshot();
  }
}

class AllocModelAdapter implements Model {
  private readonly model: AllocModel;
  constructor(config: AllocDbConfig) {
    this.model = new AllocModel(config);
  }
  get lastAppliedLsn(): bigint {
    return this.model.lastAppliedLsn;
  }
  apply(logged: Logged, lsn: bigint, requestSlot: bigint) {
    if (logged.kind === 'client') {
      return this.model.applyClient(lsn, requestSlot, logged.request as ClientRequest);
    }
    return {
      outcome: this.model.applyInternal(lsn, requestSlot, logged.command as Command),
      disposition: 'internal',
    };
  }
  lookupRetry(request: unknown, slot: bigint) {
    return this.model.lookupRetry(request as ClientRequest, slot);
  }
  state(): unknown {
    return this.model.state();
  }
}

interface KnownReservation {
  readonly id: bigint;
  readonly holder: bigint;
  epoch: bigint;
  state: 'reserved' | 'confirmed' | 'revoking';
}

/**
 * Lease traffic: creates, reserves and bundles over a small pool of resources, then confirms,
 * releases, revokes and reclaims what was reserved, with a share of wrong holders, stale epochs,
 * missing ids and out-of-range TTLs so that every result code turns up.
 */
class AllocWorkload implements Workload {
  private readonly known: KnownReservation[] = [];
  private readonly pool: number;

  constructor(
    private readonly config: AllocDbConfig,
    pool: number,
    /**
     * The durable engine refuses an empty bundle or a repeated member before the log
     * (`invalid_request`); the state machine still answers them (logs written before that rule).
     * Workloads for the engine set this; those for the state machine keep the malformed ones.
     */
    private readonly wellFormedBundles = false,
  ) {
    this.pool = pool;
  }

  private resource(rng: Rng): bigint {
    return BigInt(rng.range(1, this.pool));
  }

  /** `count` different resources (fewer if the pool is smaller), at least one. */
  private distinctResources(rng: Rng, count: number): bigint[] {
    const ids = new Set<bigint>();
    const target = Math.max(1, Math.min(count, this.pool));
    while (ids.size < target) ids.add(this.resource(rng));
    return [...ids];
  }

  private ttl(rng: Rng): bigint {
    if (rng.chance(0.03)) return rng.chance(0.5) ? 0n : this.config.maxTtlSlots + 1n;
    return BigInt(rng.range(1, Number(this.config.maxTtlSlots)));
  }

  private target(rng: Rng, holder: bigint): KnownReservation | undefined {
    if (this.known.length === 0) return undefined;
    const own = this.known.filter((r) => r.holder === holder);
    return rng.pick(own.length > 0 && rng.chance(0.7) ? own : this.known);
  }

  next({ rng, client, operationId }: WorkloadContext): ClientRequest {
    const holder = BigInt(client + 1);
    const clientId = BigInt(100 + client);
    const kind = rng.weighted([
      [10, 'create'],
      [20, 'reserve'],
      [12, 'bundle'],
      [18, 'confirm'],
      [14, 'release'],
      [6, 'revoke'],
      [5, 'reclaim'],
      [3, 'junk'],
    ] as const);
    const request = (command: Command): ClientRequest => ({ operationId, clientId, command });
    const shard = this.config.shardId << 64n;
    switch (kind) {
      case 'create':
        return request({ kind: 'create_resource', resourceId: this.resource(rng) });
      case 'reserve':
        return request({
          kind: 'reserve',
          resourceId: this.resource(rng),
          holderId: holder,
          ttlSlots: this.ttl(rng),
        });
      case 'bundle': {
        const size = rng.range(
          rng.chance(0.05) ? 0 : 2,
          this.config.maxBundleSize + (rng.chance(0.05) ? 1 : 0),
        );
        const resourceIds = this.wellFormedBundles
          ? this.distinctResources(rng, size)
          : Array.from({ length: size }, () => this.resource(rng));
        return request({
          kind: 'reserve_bundle',
          resourceIds,
          holderId: holder,
          ttlSlots: this.ttl(rng),
        });
      }
      case 'confirm':
      case 'release': {
        const r = this.target(rng, holder);
        if (r === undefined)
          return request({ kind: 'create_resource', resourceId: this.resource(rng) });
        return request({
          kind,
          reservationId: r.id,
          holderId: rng.chance(0.9) ? r.holder : r.holder + 1n,
          leaseEpoch: rng.chance(0.88) ? r.epoch : r.epoch === 1n ? 2n : 1n,
        });
      }
      case 'revoke':
      case 'reclaim': {
        const r = this.target(rng, holder);
        if (r === undefined)
          return request({ kind: 'create_resource', resourceId: this.resource(rng) });
        return request({ kind, reservationId: r.id });
      }
      case 'junk':
        return request(
          rng.chance(0.5)
            ? {
                kind: 'confirm',
                reservationId: shard | BigInt(rng.range(1, 1_000_000)),
                holderId: holder,
                leaseEpoch: 1n,
              }
            : { kind: 'reclaim', reservationId: shard | BigInt(rng.range(1, 1_000_000)) },
        );
    }
  }

  learn(request: unknown, result: SubmitResult): void {
    const { command } = request as ClientRequest;
    const outcome = result.outcome as { resultCode: string; reservationId?: bigint };
    const find = (id: bigint) => this.known.findIndex((r) => r.id === id);
    if (
      (command.kind === 'reserve' || command.kind === 'reserve_bundle') &&
      outcome.resultCode === 'ok'
    ) {
      if (find(outcome.reservationId!) < 0) {
        this.known.push({
          id: outcome.reservationId!,
          holder: command.holderId,
          epoch: 1n,
          state: 'reserved',
        });
        if (this.known.length > 256) this.known.shift();
      }
      return;
    }
    if (!('reservationId' in command)) return;
    const at = find(command.reservationId);
    if (at < 0) return;
    const r = this.known[at]!;
    const gone = () => this.known.splice(at, 1);
    if (
      outcome.resultCode === 'reservation_not_found' ||
      outcome.resultCode === 'reservation_retired'
    ) {
      gone();
    } else if (outcome.resultCode === 'ok') {
      if (command.kind === 'confirm') r.state = 'confirmed';
      else if (command.kind === 'revoke') {
        r.state = 'revoking';
        r.epoch += 1n;
      } else gone();
    }
  }
}

/** A seeded sequence of commands applied to a bare state machine: states for snapshot seeds. */
function sampleStates(rng: Rng, config: AllocDbConfig, count: number): Uint8Array[] {
  const db = new AllocDb(config);
  const workload = new AllocWorkload(config, config.maxResources + 1);
  const bodies: Uint8Array[] = [encodeSnapshotBody(db.snapshot())];
  let slot = 1n;
  for (let i = 1; i <= count; i++) {
    if (rng.chance(0.3)) slot += BigInt(rng.range(1, 3));
    const request = workload.next({
      rng,
      client: rng.int(3),
      operationId: BigInt(rng.range(1, 60)),
    });
    const outcome = db.applyClient({ lsn: BigInt(i), requestSlot: slot }, request);
    workload.learn(request, { lsn: BigInt(i), requestSlot: slot, outcome, fromRetryCache: false });
    if (i % Math.max(1, Math.floor(count / 6)) === 0)
      bodies.push(encodeSnapshotBody(db.snapshot()));
  }
  return bodies;
}

export function allocdbAdapter(config: AllocDbConfig = ALLOC_CRASH_CONFIG): EngineAdapter {
  const walOptions = { maxPayloadBytes: MAX_COMMAND_BYTES };
  return {
    name: 'allocdb-core',
    walMagic: 'ADBW',
    maxPayloadBytes: MAX_COMMAND_BYTES,
    retryWindowSlots: config.maxTtlSlots + config.maxClientRetryWindowSlots,
    async open(options: OpenOptions): Promise<EngineHandle> {
      const engine = await testing.openEngineForTesting(
        {
          dir: options.dir,
          config,
          clock: options.clock ?? (() => 0n),
          ...(options.engine === undefined ? {} : { engine: options.engine }),
        },
        {
          ...(options.fileSystem === undefined ? {} : { fileSystem: options.fileSystem }),
          ...(options.faults === undefined ? {} : { faults: options.faults }),
        },
      );
      return new AllocHandle(engine);
    },
    decodeLogged(recordType: number, payload: Uint8Array): Logged {
      return recordType === 1
        ? { kind: 'client', request: decodeClientRequest(payload) }
        : { kind: 'internal', command: decodeInternalCommand(payload) };
    },
    createModel: () => new AllocModelAdapter(config),
    checkState: checkAllocState,
    createWorkload: (_rng: Rng, _clients: number) =>
      new AllocWorkload(config, Math.min(config.maxResources + 1, 40), true),
    encodeRequest: (request) => encodeClientRequest(request as ClientRequest),
    decodeRequest: (bytes) => decodeClientRequest(bytes),
    operationIdOf: (request) => (request as ClientRequest).operationId,
    commandKeyOf: (request) => toHex(encodeCommand((request as ClientRequest).command)),
    describe: (request) => describeCommand((request as ClientRequest).command),
    scanLog: (bytes) => wal.scanLog(bytes, walOptions),
    encodeFrames: (frames) => wal.encodeFrames(frames, walOptions),
    isRecoveryError: (error) => error instanceof RecoveryError,
    fuzzTargets(rng: Rng): FuzzTarget[] {
      return allocFuzzTargets(rng, config);
    },
  };
}

/** `reserve_bundle [1,2] h3 ttl4`-style text for transcripts. */
export function describeCommand(command: Command): string {
  const id = (value: bigint) =>
    value >> 64n === 0n ? `${value}` : `${value >> 64n}:${value & 0xffff_ffff_ffff_ffffn}`;
  switch (command.kind) {
    case 'create_resource':
      return `create ${command.resourceId}`;
    case 'reserve':
      return `reserve ${command.resourceId} h${command.holderId} ttl${command.ttlSlots}`;
    case 'reserve_bundle':
      return `bundle [${command.resourceIds.join(',')}] h${command.holderId} ttl${command.ttlSlots}`;
    case 'confirm':
    case 'release':
      return `${command.kind} ${id(command.reservationId)} h${command.holderId} e${command.leaseEpoch}`;
    case 'revoke':
    case 'reclaim':
      return `${command.kind} ${id(command.reservationId)}`;
    case 'expire':
      return `expire ${id(command.reservationId)} @${command.deadlineSlot}`;
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

function allocFuzzTargets(rng: Rng, config: AllocDbConfig): FuzzTarget[] {
  const small = ALLOC_SMALL_CONFIG;
  const workload = new AllocWorkload(small, small.maxResources + 1);
  const requests: ClientRequest[] = [];
  for (let i = 0; i < 64; i++) {
    requests.push(
      workload.next({ rng, client: rng.int(3), operationId: rng.bigRange(0n, (1n << 128n) - 1n) }),
    );
  }
  const internal: Command[] = [
    { kind: 'expire', reservationId: (3n << 64n) | 77n, deadlineSlot: 12n },
    { kind: 'create_resource', resourceId: (1n << 128n) - 1n },
    {
      kind: 'reserve_bundle',
      resourceIds: [1n, 2n, 3n, (1n << 127n) + 5n],
      holderId: 9n,
      ttlSlots: 3n,
    },
  ];
  const clientPayloads = requests.map((r) => encodeClientRequest(r));
  const frames = requests.map((_request, i) => ({
    recordType: i % 7 === 6 ? 2 : 1,
    lsn: BigInt(i + 1),
    requestSlot: BigInt(Math.floor(i / 3)),
    payload:
      i % 7 === 6 ? new Uint8Array([1, ...encodeCommand(internal[i % 3]!)]) : clientPayloads[i]!,
  }));
  const walOptions = { maxPayloadBytes: 4096 };
  const logs = [4, 12, 40].map((n) => wal.encodeFrames(frames.slice(0, n), walOptions));
  const bodies = sampleStates(rng, small, 400);
  const files = bodies.map((body, i) =>
    snapshotFile.encodeSnapshotFile(
      {
        schemaVersion: SNAPSHOT_SCHEMA_VERSION,
        lastAppliedLsn: BigInt(i),
        lastRequestSlot: BigInt(i),
      },
      body,
    ),
  );
  const isCodec = (error: unknown) => error instanceof CodecError;
  void config;
  const targets: FuzzTarget[] = [
    {
      name: 'allocdb WAL frames (scanLog, FrameScanner and the table agree)',
      seeds: logs,
      decode: (bytes) => scanThreeWays(wal, bytes, walOptions, 'ADBW'),
      isTypedError: () => false,
      repair: repairWal,
    },
    {
      name: 'allocdb client request codec',
      seeds: clientPayloads,
      decode(bytes) {
        const request = decodeClientRequest(bytes);
        if (!sameBytes(encodeClientRequest(request), bytes))
          throw new Error('decoded request re-encodes differently');
        return request;
      },
      isTypedError: isCodec,
    },
    {
      name: 'allocdb internal command codec',
      seeds: internal.map((c) => new Uint8Array([1, ...encodeCommand(c)])),
      decode: (bytes) => decodeInternalCommand(bytes),
      isTypedError: isCodec,
    },
    {
      name: 'allocdb command codec',
      seeds: requests.map((r) => encodeCommand(r.command)),
      decode(bytes) {
        const command = decodeCommand(bytes);
        if (!sameBytes(encodeCommand(command), bytes))
          throw new Error('decoded command re-encodes differently');
        return command;
      },
      isTypedError: isCodec,
    },
    {
      name: 'allocdb snapshot body (decode, then restore)',
      seeds: bodies,
      decode(bytes) {
        return AllocDb.fromSnapshot(small, decodeSnapshotBody(bytes, small));
      },
      isTypedError: (error) => error instanceof SnapshotError,
    },
    {
      name: 'allocdb snapshot file (framing and CRC)',
      seeds: files,
      decode(bytes) {
        return snapshotFile.loadSnapshotFile('/mem/snapshot', SNAPSHOT_SCHEMA_VERSION, {
          maxSnapshotBytes: 1 << 20,
          fileSystem: memorySnapshotFs('/mem/snapshot', bytes),
        });
      },
      isTypedError: (error) => error instanceof snapshotFile.SnapshotFileError,
      repair: repairSnapshotFile,
    },
  ];
  return targets;
}
