/**
 * The quota-core adapter: opens `QuotaEngine` (through `quota-core/testing`'s `openEngineForTesting` when a file system or
 * fault hooks are injected), decodes its log, generates bucket workloads, and carries the
 * independent reference model of `./model.ts`.
 */
import {
  type ClientRequest,
  CodecError,
  type Command,
  type QuotaConfig,
  type QuotaEngine,
  RecoveryError,
  SnapshotError,
  SnapshotFileError,
  type SubmitResult,
} from 'quota-core';
import {
  decodeClientRequest,
  decodeCommand,
  decodeInternalCommand,
  decodeSnapshotBody,
  encodeClientRequest,
  encodeCommand,
  encodeInternalCommand,
  encodeSnapshotBody,
} from 'quota-core/codec';
import { QuotaDb, SNAPSHOT_SCHEMA_VERSION } from 'quota-core/state-machine';
import * as testing from 'quota-core/testing';
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
import { checkQuotaState, QuotaModel } from './model.js';

const wal: WalModule = testing;
const snapshotFile: SnapshotFileModule = {
  loadSnapshotFile: testing.loadSnapshotFile,
  encodeSnapshotFile: testing.encodeSnapshotFile,
  SnapshotFileError,
};

/** Crash-kill: a retry window longer than any test, an operation table that never fills. */
export const QUOTA_CRASH_CONFIG: QuotaConfig = Object.freeze({
  maxBuckets: 64,
  maxOperations: 65_536,
  maxClientRetryWindowSlots: 1_000_000n,
});

/** Simulation and fuzzing: tables small enough to fill, a window short enough to retire. */
export const QUOTA_SMALL_CONFIG: QuotaConfig = Object.freeze({
  maxBuckets: 6,
  maxOperations: 30,
  maxClientRetryWindowSlots: 10n,
});

export const QUOTA_SWEEP_CONFIG: QuotaConfig = Object.freeze({
  maxBuckets: 64,
  maxOperations: 1024,
  maxClientRetryWindowSlots: 20n,
});

const MAX_COMMAND_BYTES = 64 * 1024;
const U64_MAX = (1n << 64n) - 1n;

class QuotaHandle implements EngineHandle {
  constructor(private readonly engine: QuotaEngine) {}
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
  readonly tick = undefined;
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

class QuotaModelAdapter implements Model {
  private readonly model: QuotaModel;
  constructor(config: QuotaConfig) {
    this.model = new QuotaModel(config);
  }
  get lastAppliedLsn(): bigint {
    return this.model.lastAppliedLsn;
  }
  apply(logged: Logged, lsn: bigint, requestSlot: bigint) {
    if (logged.kind === 'client')
      return this.model.applyClient(lsn, requestSlot, logged.request as ClientRequest);
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

/**
 * Metering traffic: buckets created over a small pool of ids (small limits and rates, and now
 * and then the u64 extremes), debits that mostly fit and sometimes do not, against existing and
 * missing buckets. Every request passes boundary validation (amount > 0, initial ≤ limit).
 */
class QuotaWorkload implements Workload {
  constructor(private readonly pool: number) {}

  next({ rng, client, operationId }: WorkloadContext): ClientRequest {
    const bucketId = BigInt(rng.range(1, this.pool));
    const clientId = BigInt(200 + client);
    if (rng.chance(0.2)) {
      const extreme = rng.chance(0.08);
      const limit = extreme ? U64_MAX : BigInt(rng.range(0, 1000));
      const initialBalance = extreme
        ? rng.bigRange(0n, U64_MAX)
        : BigInt(rng.range(0, Number(limit)));
      const refillRatePerSlot = extreme
        ? rng.pick([1n, 2n, 1n << 63n, U64_MAX])
        : BigInt(
            rng.weighted([
              [2, 0],
              [5, rng.range(1, 5)],
              [1, rng.range(50, 500)],
            ] as const),
          );
      return {
        operationId,
        clientId,
        command: { kind: 'create_bucket', bucketId, limit, initialBalance, refillRatePerSlot },
      };
    }
    const amount = rng.chance(0.05) ? rng.bigRange(1000n, U64_MAX) : BigInt(rng.range(1, 120));
    return { operationId, clientId, command: { kind: 'debit', bucketId, amount } };
  }

  learn(): void {}
}

function sampleBodies(rng: Rng, config: QuotaConfig, count: number): Uint8Array[] {
  const db = new QuotaDb(config);
  const workload = new QuotaWorkload(config.maxBuckets + 1);
  const bodies: Uint8Array[] = [encodeSnapshotBody(db.snapshot())];
  let slot = 1n;
  for (let i = 1; i <= count; i++) {
    if (rng.chance(0.3)) slot += BigInt(rng.range(1, 3));
    db.applyClient(
      { lsn: BigInt(i), requestSlot: slot },
      workload.next({ rng, client: 0, operationId: BigInt(rng.range(1, 60)) }),
    );
    if (i % Math.max(1, Math.floor(count / 6)) === 0)
      bodies.push(encodeSnapshotBody(db.snapshot()));
  }
  return bodies;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

function describeCommand(command: Command): string {
  return command.kind === 'create_bucket'
    ? `create ${command.bucketId} limit ${command.limit} init ${command.initialBalance} rate ${command.refillRatePerSlot}`
    : `debit ${command.bucketId} ${command.amount}`;
}

function quotaFuzzTargets(rng: Rng): FuzzTarget[] {
  const small = QUOTA_SMALL_CONFIG;
  const workload = new QuotaWorkload(small.maxBuckets + 1);
  const requests = Array.from({ length: 64 }, () =>
    workload.next({ rng, client: rng.int(3), operationId: rng.bigRange(0n, (1n << 128n) - 1n) }),
  );
  const clientPayloads = requests.map((r) => encodeClientRequest(r));
  const internal = requests.slice(0, 8).map((r) => encodeInternalCommand(r.command));
  const walOptions = { maxPayloadBytes: 4096 };
  const frames = requests.map((_request, i) => ({
    recordType: i % 9 === 8 ? 2 : 1,
    lsn: BigInt(i + 1),
    requestSlot: BigInt(Math.floor(i / 3)),
    payload: i % 9 === 8 ? internal[i % internal.length]! : clientPayloads[i]!,
  }));
  const logs = [4, 12, 40].map((n) => wal.encodeFrames(frames.slice(0, n), walOptions));
  const bodies = sampleBodies(rng, small, 300);
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
  return [
    {
      name: 'quota WAL frames (scanLog, FrameScanner and the table agree)',
      seeds: logs,
      decode: (bytes) => scanThreeWays(wal, bytes, walOptions, 'QTAW'),
      isTypedError: () => false,
      repair: repairWal,
    },
    {
      name: 'quota client request codec',
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
      name: 'quota internal command codec',
      seeds: internal,
      decode: (bytes) => decodeInternalCommand(bytes),
      isTypedError: isCodec,
    },
    {
      name: 'quota command codec',
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
      name: 'quota snapshot body (decode, then restore)',
      seeds: bodies,
      decode: (bytes) => QuotaDb.fromSnapshot(small, decodeSnapshotBody(bytes, small)),
      isTypedError: (error) => error instanceof SnapshotError,
    },
    {
      name: 'quota snapshot file (framing and CRC)',
      seeds: files,
      decode: (bytes) =>
        snapshotFile.loadSnapshotFile('/mem/snapshot', SNAPSHOT_SCHEMA_VERSION, {
          maxSnapshotBytes: 1 << 20,
          fileSystem: memorySnapshotFs('/mem/snapshot', bytes),
        }),
      isTypedError: (error) => error instanceof snapshotFile.SnapshotFileError,
      repair: repairSnapshotFile,
    },
  ];
}

export function quotaAdapter(config: QuotaConfig = QUOTA_CRASH_CONFIG): EngineAdapter {
  const walOptions = { maxPayloadBytes: MAX_COMMAND_BYTES };
  return {
    name: 'quota-core',
    walMagic: 'QTAW',
    maxPayloadBytes: MAX_COMMAND_BYTES,
    retryWindowSlots: config.maxClientRetryWindowSlots,
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
      return new QuotaHandle(engine);
    },
    decodeLogged: (recordType, payload) =>
      recordType === 1
        ? { kind: 'client', request: decodeClientRequest(payload) }
        : { kind: 'internal', command: decodeInternalCommand(payload) },
    createModel: () => new QuotaModelAdapter(config),
    checkState: checkQuotaState,
    createWorkload: () => new QuotaWorkload(Math.min(config.maxBuckets + 1, 24)),
    encodeRequest: (request) => encodeClientRequest(request as ClientRequest),
    decodeRequest: (bytes) => decodeClientRequest(bytes),
    operationIdOf: (request) => (request as ClientRequest).operationId,
    commandKeyOf: (request) => toHex(encodeCommand((request as ClientRequest).command)),
    describe: (request) => describeCommand((request as ClientRequest).command),
    scanLog: (bytes) => wal.scanLog(bytes, walOptions),
    encodeFrames: (frames) => wal.encodeFrames(frames, walOptions),
    isRecoveryError: (error) => error instanceof RecoveryError,
    fuzzTargets: (rng) => quotaFuzzTargets(rng),
  };
}
