/**
 * The options of `AllocDbEngine.open`, checked before anything touches the disk: each bad value
 * is a `ConfigError` naming the field (`engine.maxBatch`, `clock`, …).
 *
 * Two engine options are recorded with the data (docs/engine.md, "The recorded configuration"):
 * `maxCommandBytes` (the WAL's largest frame, which replay must accept) and `slotDurationMs` (what
 * a slot means for every TTL in the log). They stay undefined here unless given, so that the
 * directory's recorded values fill them in.
 */
import type { AllocDbConfig } from '../config.js';
import {
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_EXPIRATIONS_PER_TICK,
  DEFAULT_MAX_SNAPSHOT_BYTES,
  DEFAULT_MAX_SUBMISSION_QUEUE,
  MAX_COMMAND_BYTES_LIMIT,
} from '../constants.js';
import { ConfigError } from '../errors.js';
import { findUnknownKey, quoteKey, unknownKeyHint } from '../runtime/known-keys.js';
import type { CheckpointEvent } from './checkpoints.js';
import type { OpenProgress } from './recovery.js';

/** Automatic checkpoints: after this many frames or bytes of log since the last one. */
export interface CheckpointPolicy {
  readonly everyFrames?: number;
  readonly everyBytes?: number;
}

/** `engine: {…}` at open; every field is optional. */
export interface EngineOptions {
  readonly maxSubmissionQueue?: number;
  readonly maxBatch?: number;
  /** Recorded with the data; may grow with `allowCapacityGrowth`. */
  readonly maxCommandBytes?: number;
  readonly maxSnapshotBytes?: number;
  /** Recorded with the data; cannot change. */
  readonly slotDurationMs?: number;
  readonly maxExpirationsPerTick?: number;
  /** Off unless given. */
  readonly checkpointPolicy?: CheckpointPolicy;
  /**
   * How far (in slots) a submission's `requestSlot` may be ahead of the engine's clock; one
   * further ahead is refused with `slot_ahead` (definite: nothing written). Unbounded unless
   * given: an embedder owns its logical time. A server sets it, since its clients do not
   * (docs/engine.md, "Slots from callers").
   */
  readonly maxSlotSkew?: number;
  /**
   * The log's hard limit in bytes: once the log is this long (checkpoints failing, or none run),
   * new writes are refused with `log_full` (definite: nothing written) and a checkpoint is
   * started, retried with backoff, until one brings the log back under it. Unbounded unless
   * given; at least twice `checkpointPolicy.everyBytes` (a checkpoint keeps the frames since the
   * previous snapshot). docs/engine.md, "When checkpoints fail".
   */
  readonly maxWalBytes?: number;
}

export interface AllocDbEngineOpenOptions {
  /** Data directory; created if missing. */
  readonly dir: string;
  /**
   * The allocator's configuration, whole (`resolveConfig(…)`) or in part. A new directory records
   * it (missing fields take the defaults); an existing one must have recorded the same values for
   * every field given (omit it to use the recorded configuration).
   */
  readonly config?: Partial<AllocDbConfig>;
  readonly engine?: EngineOptions;
  /** The current slot; default: wall-clock milliseconds divided by `slotDurationMs`. */
  readonly clock?: () => bigint;
  /** Accept a requested configuration that only grows capacities of the recorded one. */
  readonly allowCapacityGrowth?: boolean;
  /**
   * Called while `open` replays the log: between slices of the replay (which yields to the event
   * loop after each slice of about 20 ms) and once at the end (`done: true`). Frames replayed,
   * log bytes scanned and the log's length; for a progress display.
   */
  readonly onProgress?: (progress: OpenProgress) => void;
  /**
   * Called after every checkpoint, requested or automatic: its result, or its error with the
   * failures in a row and when the next automatic attempt comes (docs/engine.md, "When
   * checkpoints fail"); `serve` prints these on stderr.
   */
  readonly onCheckpoint?: (event: CheckpointEvent) => void;
}

/** The options the engine runs with; the recorded two may still be undefined. */
export interface ResolvedEngineOptions {
  readonly maxSubmissionQueue: number;
  readonly maxBatch: number;
  readonly maxCommandBytes: number | undefined;
  readonly maxSnapshotBytes: number;
  readonly slotDurationMs: number | undefined;
  readonly maxExpirationsPerTick: number;
  readonly checkpointPolicy: CheckpointPolicy | undefined;
  readonly maxSlotSkew: bigint | undefined;
  readonly maxWalBytes: number | undefined;
}

const OPEN_OPTION_KEYS = [
  'dir',
  'config',
  'engine',
  'clock',
  'allowCapacityGrowth',
  'onProgress',
  'onCheckpoint',
] as const;
const ENGINE_OPTION_KEYS = [
  'maxSubmissionQueue',
  'maxBatch',
  'maxCommandBytes',
  'maxSnapshotBytes',
  'slotDurationMs',
  'maxExpirationsPerTick',
  'checkpointPolicy',
  'maxSlotSkew',
  'maxWalBytes',
] as const;
const CHECKPOINT_POLICY_KEYS = ['everyFrames', 'everyBytes'] as const;

/** Refuses a key of `value` that `known` does not list, naming it with a "did you mean". */
function refuseUnknownKeys(value: object, known: readonly string[], path: string): void {
  const key = findUnknownKey(value, known);
  if (key === undefined) return;
  const field = path === '' ? key : `${path}.${key}`;
  throw new ConfigError(
    'unknown_field',
    field,
    `${quoteKey(key)} is not ${path === '' ? 'an open option' : `a field of ${path}`}; ${unknownKeyHint(key, known)}`,
  );
}

/** `value`, if it is an integer from 1 to `max`; otherwise a ConfigError naming `field`. */
export function positiveInteger(
  value: unknown,
  field: string,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new ConfigError(
      'invalid_value',
      field,
      `must be an integer from 1 to ${max}, got ${describe(value)}`,
    );
  }
  return value;
}

/** `engine.maxSlotSkew`: an integer of slots from 0. */
function slotSkew(value: unknown): bigint {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(
      'invalid_value',
      'engine.maxSlotSkew',
      `must be an integer of slots from 0 to ${Number.MAX_SAFE_INTEGER}, got ${describe(value)}`,
    );
  }
  return BigInt(value);
}

function describe(value: unknown): string {
  return typeof value === 'bigint'
    ? `${value}n`
    : typeof value === 'string'
      ? JSON.stringify(value)
      : String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fills in defaults and validates every engine option. */
export function resolveEngineOptions(options: EngineOptions | undefined): ResolvedEngineOptions {
  if (options !== undefined && !isPlainObject(options)) {
    throw new ConfigError('invalid_value', 'engine', 'must be an object of engine options');
  }
  const given = options ?? {};
  refuseUnknownKeys(given, ENGINE_OPTION_KEYS, 'engine');
  const policy = given.checkpointPolicy;
  if (policy !== undefined) {
    if (!isPlainObject(policy)) {
      throw new ConfigError(
        'invalid_value',
        'engine.checkpointPolicy',
        'must be an object { everyFrames?, everyBytes? }',
      );
    }
    refuseUnknownKeys(policy, CHECKPOINT_POLICY_KEYS, 'engine.checkpointPolicy');
    if (policy.everyFrames !== undefined)
      positiveInteger(policy.everyFrames, 'engine.checkpointPolicy.everyFrames');
    if (policy.everyBytes !== undefined)
      positiveInteger(policy.everyBytes, 'engine.checkpointPolicy.everyBytes');
  }
  return {
    maxSubmissionQueue: positiveInteger(
      given.maxSubmissionQueue ?? DEFAULT_MAX_SUBMISSION_QUEUE,
      'engine.maxSubmissionQueue',
    ),
    maxBatch: positiveInteger(given.maxBatch ?? DEFAULT_MAX_BATCH, 'engine.maxBatch'),
    maxCommandBytes:
      given.maxCommandBytes === undefined
        ? undefined
        : positiveInteger(given.maxCommandBytes, 'engine.maxCommandBytes', MAX_COMMAND_BYTES_LIMIT),
    maxSnapshotBytes: positiveInteger(
      given.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES,
      'engine.maxSnapshotBytes',
    ),
    slotDurationMs:
      given.slotDurationMs === undefined
        ? undefined
        : positiveInteger(given.slotDurationMs, 'engine.slotDurationMs'),
    maxExpirationsPerTick: positiveInteger(
      given.maxExpirationsPerTick ?? DEFAULT_MAX_EXPIRATIONS_PER_TICK,
      'engine.maxExpirationsPerTick',
    ),
    checkpointPolicy: policy,
    maxSlotSkew: given.maxSlotSkew === undefined ? undefined : slotSkew(given.maxSlotSkew),
    maxWalBytes: given.maxWalBytes === undefined ? undefined : walLimit(given.maxWalBytes, policy),
  };
}

/** `engine.maxWalBytes`: room for at least two checkpoint intervals of log. */
function walLimit(value: unknown, policy: CheckpointPolicy | undefined): number {
  const limit = positiveInteger(value, 'engine.maxWalBytes');
  const interval = policy?.everyBytes;
  if (interval !== undefined && limit < 2 * interval) {
    throw new ConfigError(
      'invalid_value',
      'engine.maxWalBytes',
      `must be at least twice checkpointPolicy.everyBytes (${2 * interval}): a checkpoint keeps the frames since the previous snapshot, got ${limit}`,
    );
  }
  return limit;
}

/** Checks the open options' shape (each field's own type); the config is checked against the
 * directory's recorded one later. Throws ConfigError / TypeError naming the field. */
export function checkOpenOptions(options: unknown): AllocDbEngineOpenOptions {
  if (!isPlainObject(options)) {
    throw new ConfigError('invalid_value', 'options', 'AllocDbEngine.open needs { dir, config? }');
  }
  refuseUnknownKeys(options, OPEN_OPTION_KEYS, '');
  const { dir, config, clock, allowCapacityGrowth, onProgress, onCheckpoint } = options;
  if (typeof dir !== 'string' || dir === '') {
    throw new ConfigError(
      'invalid_value',
      'dir',
      'must be the data directory path (a non-empty string)',
    );
  }
  if (config !== undefined && !isPlainObject(config)) {
    throw new ConfigError(
      'invalid_value',
      'config',
      'must be an object: the allocator configuration, whole (resolveConfig({...})) or in part',
    );
  }
  if (clock !== undefined && typeof clock !== 'function') {
    throw new ConfigError(
      'invalid_value',
      'clock',
      'must be a function returning the current slot as a bigint',
    );
  }
  if (allowCapacityGrowth !== undefined && typeof allowCapacityGrowth !== 'boolean') {
    throw new ConfigError('invalid_value', 'allowCapacityGrowth', 'must be true or false');
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new ConfigError(
      'invalid_value',
      'onProgress',
      'must be a function called with the replay progress',
    );
  }
  if (onCheckpoint !== undefined && typeof onCheckpoint !== 'function') {
    throw new ConfigError(
      'invalid_value',
      'onCheckpoint',
      'must be a function called after each checkpoint',
    );
  }
  return options as unknown as AllocDbEngineOpenOptions;
}

/** The default slot clock: wall-clock milliseconds divided by the slot length. */
export function wallClock(slotDurationMs: number): () => bigint {
  return () => BigInt(Math.floor(Date.now() / slotDurationMs));
}
