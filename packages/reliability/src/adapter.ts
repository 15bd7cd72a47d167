/**
 * The engine adapter every suite is written against. An adapter knows how to open one durable
 * engine (with or without test seams), how to decode what it logs, how to generate a workload
 * for it, and carries a reference model written independently of the engine. The suites only
 * ever talk to this interface, so each runs unchanged for allocdb-core and quota-core, and a
 * deliberately broken adapter shows that a suite can fail.
 */
import type { Rng } from './random.js';

/** The file-system seam both engines accept (their `src/runtime/file-system.ts`). */
export interface FileSystem {
  openSync(path: string, flags: string, mode?: number): number;
  closeSync(fd: number): void;
  writeSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): number;
  write(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<number>;
  readSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): number;
  fdatasyncSync(fd: number): void;
  fdatasync(fd: number): Promise<void>;
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
  fstatSync(fd: number): { size: number };
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  mkdirSync(path: string, options: { recursive: true }): void;
  existsSync(path: string): boolean;
}

/** The named points where an engine's fault hooks may stop it. */
export type FaultPoint =
  | 'before_append'
  | 'after_append'
  | 'after_sync'
  | 'after_apply'
  | 'after_snapshot_write'
  | 'after_wal_rewrite'
  | 'during_replay';

export interface FaultHooks {
  at(point: FaultPoint): void;
}

export interface OpenOptions {
  readonly dir: string;
  readonly fileSystem?: FileSystem;
  readonly faults?: FaultHooks;
  /** The slot clock; the suites pass explicit slots or a logical clock, never the wall clock. */
  readonly clock?: () => bigint;
  /** Engine options (maxBatch, checkpointPolicy, …), passed through. */
  readonly engine?: Record<string, unknown>;
}

export interface SubmitResult {
  readonly lsn: bigint;
  readonly requestSlot: bigint;
  readonly outcome: unknown;
  readonly fromRetryCache: boolean;
}

export interface RecoveryStatus {
  readonly startupKind: string;
  readonly loadedSnapshotLsn: bigint | undefined;
  readonly replayedFrames: number;
  readonly lastReplayedLsn: bigint | undefined;
  readonly tornTailBytesTruncated: number;
}

/** A definite refusal of one entry of a batch (`SubmissionError`). */
export interface EntryError {
  readonly code: string;
  readonly definite: boolean;
}

/** A durable engine behind the adapter. */
export interface EngineHandle {
  submit(request: unknown, requestSlot?: bigint): Promise<SubmitResult>;
  /**
   * The engine's `submitBatch`: one promise for the group; each entry its result or its definite
   * error, in order; rejects with an indefinite error when an entry's fate is unknown.
   */
  submitBatch(
    requests: readonly unknown[],
    requestSlot?: bigint,
  ): Promise<(SubmitResult | EntryError)[]>;
  /** Expiration tick (allocdb); undefined for engines without one. */
  readonly tick: ((requestSlot?: bigint) => Promise<unknown>) | undefined;
  checkpoint(): Promise<unknown>;
  close(): Promise<void>;
  /** Stops as a killed process would: no drain, no sync, lock released. */
  crash(): void;
  readonly lastAppliedLsn: bigint;
  readonly lastRequestSlot: bigint;
  readonly accepting: boolean;
  readonly recoveryStatus: RecoveryStatus;
  /** The whole state as plain records (the state machine's `snapshot()`). */
  state(): unknown;
}

/** A logged command, decoded from a WAL frame payload. */
export type Logged =
  | { readonly kind: 'client'; readonly request: unknown }
  | { readonly kind: 'internal'; readonly command: unknown };

export interface ModelAnswer {
  readonly outcome: unknown;
  /** Client commands: how the model answered (`executed`, `cached`, …). */
  readonly disposition: string;
}

/** The independent reference model. */
export interface Model {
  readonly lastAppliedLsn: bigint;
  apply(logged: Logged, lsn: bigint, requestSlot: bigint): ModelAnswer;
  /** The answer a retry of `request` at `slot` must get from the retry cache, if any. */
  lookupRetry(
    request: unknown,
    slot: bigint,
  ): { readonly outcome: unknown; readonly appliedLsn: bigint } | undefined;
  state(): unknown;
}

export interface WalFrame {
  readonly recordType: number;
  readonly lsn: bigint;
  readonly requestSlot: bigint;
  readonly payload: Uint8Array;
}

export type ScanStop =
  | { readonly kind: 'clean' }
  | { readonly kind: 'torn_tail'; readonly offset: number }
  | { readonly kind: 'corruption'; readonly offset: number; readonly reason: string };

export interface ScanResult {
  readonly frames: WalFrame[];
  readonly validUpTo: number;
  readonly stop: ScanStop;
}

/** What the workload knows when it builds the next request. */
export interface WorkloadContext {
  readonly rng: Rng;
  /** Index of the simulated client (0-based). */
  readonly client: number;
  /** Fresh operation id. */
  readonly operationId: bigint;
}

/** A stateful request generator; learns from acknowledged results. */
export interface Workload {
  next(context: WorkloadContext): unknown;
  learn(request: unknown, result: SubmitResult): void;
}

/** A decoder the fuzz suite drives. */
export interface FuzzTarget {
  readonly name: string;
  /** Valid encodings to mutate. */
  readonly seeds: readonly Uint8Array[];
  /** Decodes; must either return or throw one of the typed errors. */
  decode(bytes: Uint8Array): unknown;
  /** Whether `error` is one of the typed errors this decoder may throw. */
  isTypedError(error: unknown): boolean;
  /** Optionally fixes checksums of a mutated input so that it reaches deeper checks. */
  readonly repair?: (bytes: Uint8Array, rng: Rng) => Uint8Array;
}

export interface EngineAdapter {
  readonly name: string;
  /** The engine's WAL magic (`ADBW`, `QTAW`). */
  readonly walMagic: string;
  readonly maxPayloadBytes: number;
  /** How many slots after its own an operation's answer stays in the retry cache. */
  readonly retryWindowSlots: bigint;
  open(options: OpenOptions): Promise<EngineHandle>;
  decodeLogged(recordType: number, payload: Uint8Array): Logged;
  createModel(): Model;
  /** Domain checks on a state (no half-applied bundle, balance ≤ limit, …): problems found. */
  checkState(state: unknown): string[];
  createWorkload(rng: Rng, clients: number): Workload;
  /** Transport form of a request (its canonical WAL payload) and back. */
  encodeRequest(request: unknown): Uint8Array;
  decodeRequest(bytes: Uint8Array): unknown;
  operationIdOf(request: unknown): bigint;
  /** The canonical bytes of a request's command (what dedupe compares). */
  commandKeyOf(request: unknown): string;
  /** A short human-readable form of a request, for transcripts. */
  describe(request: unknown): string;
  /** The engine's own frame scanner and encoder (its copy of `runtime/wal.ts`). */
  scanLog(bytes: Uint8Array): ScanResult;
  encodeFrames(frames: readonly WalFrame[]): Uint8Array;
  /** Whether `error` is the engine's typed recovery error (with code, path and offset). */
  isRecoveryError(error: unknown): boolean;
  fuzzTargets(rng: Rng): FuzzTarget[];
}
