/**
 * The durable engine's own limits (engine.md): named defaults, and validation that turns a bad
 * value into a `ConfigError` naming the field before anything is opened.
 */
import { ConfigError } from '../errors.js';
import { MAX_ENCODABLE_PAYLOAD_BYTES } from '../runtime/wal.js';

/** Requests that may wait for a flush before `submit` answers `overloaded`. */
export const DEFAULT_MAX_SUBMISSION_QUEUE = 16_384;
/** Commands per group commit (one write, one fdatasync). */
export const DEFAULT_MAX_BATCH = 4_096;
/**
 * Largest encoded client request, and so the WAL's maxPayloadBytes. Every quota request takes
 * at most 74 bytes, so no valid request comes near engine.md's default of 64 KiB; it is kept
 * anyway, because lowering it buys nothing and an operator's tools (`quota verify`) use it too.
 */
export const DEFAULT_MAX_COMMAND_BYTES = 64 * 1024;
/** Largest snapshot file written or read. */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024;
/** Length of a slot of the default wall clock. */
export const DEFAULT_SLOT_DURATION_MS = 1_000;

/** Automatic checkpoints: after this many frames or bytes of log since the last one. */
export interface CheckpointPolicy {
  readonly everyFrames?: number;
  readonly everyBytes?: number;
}

export interface EngineOptions {
  readonly maxSubmissionQueue?: number;
  readonly maxBatch?: number;
  readonly maxCommandBytes?: number;
  readonly maxSnapshotBytes?: number;
  readonly slotDurationMs?: number;
  /** Off unless given. */
  readonly checkpointPolicy?: CheckpointPolicy;
}

export interface ResolvedEngineOptions {
  readonly maxSubmissionQueue: number;
  readonly maxBatch: number;
  readonly maxCommandBytes: number;
  readonly maxSnapshotBytes: number;
  readonly slotDurationMs: number;
  readonly checkpointPolicy: CheckpointPolicy | undefined;
}

function positiveInteger(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new ConfigError(
      'invalid_value',
      field,
      `must be an integer from 1 to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

/** Fills in defaults and validates every engine option. */
export function resolveEngineOptions(options: EngineOptions = {}): ResolvedEngineOptions {
  const policy = options.checkpointPolicy;
  if (policy !== undefined) {
    if (policy.everyFrames !== undefined)
      positiveInteger(policy.everyFrames, 'engine.checkpointPolicy.everyFrames');
    if (policy.everyBytes !== undefined)
      positiveInteger(policy.everyBytes, 'engine.checkpointPolicy.everyBytes');
  }
  return {
    maxSubmissionQueue: positiveInteger(
      options.maxSubmissionQueue ?? DEFAULT_MAX_SUBMISSION_QUEUE,
      'engine.maxSubmissionQueue',
    ),
    maxBatch: positiveInteger(options.maxBatch ?? DEFAULT_MAX_BATCH, 'engine.maxBatch'),
    maxCommandBytes: positiveInteger(
      options.maxCommandBytes ?? DEFAULT_MAX_COMMAND_BYTES,
      'engine.maxCommandBytes',
      MAX_ENCODABLE_PAYLOAD_BYTES,
    ),
    maxSnapshotBytes: positiveInteger(
      options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES,
      'engine.maxSnapshotBytes',
    ),
    slotDurationMs: positiveInteger(
      options.slotDurationMs ?? DEFAULT_SLOT_DURATION_MS,
      'engine.slotDurationMs',
    ),
    checkpointPolicy: policy,
  };
}

/** The default slot clock: wall-clock milliseconds divided by the slot length. */
export function wallClock(slotDurationMs: number): () => bigint {
  return () => BigInt(Math.floor(Date.now() / slotDurationMs));
}
