/**
 * The durable engine's own limits (engine.md): named defaults, and validation that rejects a bad
 * value, naming the field, before anything is opened. An engine may add options of its own (the
 * allocator's `maxExpirationsPerTick`) and validates them with `positiveIntegerOption`.
 *
 * Part of the copied runtime (see runtime.md): imports nothing outside Node built-ins and
 * `src/runtime/`.
 */
import { MAX_ENCODABLE_PAYLOAD_BYTES } from './wal.js';

/** Requests that may wait for a flush before `submit` answers `overloaded`. */
export const DEFAULT_MAX_SUBMISSION_QUEUE = 16_384;
/** Commands per group commit (one write, one fdatasync). */
export const DEFAULT_MAX_BATCH = 4_096;
/** Largest encoded client request, and so the WAL's maxPayloadBytes (engine.md's default). */
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

/** The options every durable engine takes (`engine: {…}` at open); all optional. */
export interface DurableEngineOptions {
  readonly maxSubmissionQueue?: number;
  readonly maxBatch?: number;
  readonly maxCommandBytes?: number;
  readonly maxSnapshotBytes?: number;
  readonly slotDurationMs?: number;
  /** Off unless given. */
  readonly checkpointPolicy?: CheckpointPolicy;
}

export interface ResolvedDurableEngineOptions {
  readonly maxSubmissionQueue: number;
  readonly maxBatch: number;
  readonly maxCommandBytes: number;
  readonly maxSnapshotBytes: number;
  readonly slotDurationMs: number;
  readonly checkpointPolicy: CheckpointPolicy | undefined;
}

/** Builds the engine's typed error for an invalid option (`field` is e.g. `engine.maxBatch`). */
export type InvalidOption = (field: string, message: string) => Error;

/** `value`, if it is an integer from 1 to `max`; otherwise the engine's typed error. */
export function positiveIntegerOption(
  value: unknown,
  field: string,
  invalid: InvalidOption,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalid(field, `must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Fills in defaults and validates every option. */
export function resolveDurableEngineOptions(
  options: DurableEngineOptions,
  invalid: InvalidOption,
): ResolvedDurableEngineOptions {
  const option = (value: unknown, field: string, max?: number) =>
    positiveIntegerOption(value, `engine.${field}`, invalid, max);
  const policy = options.checkpointPolicy;
  if (policy !== undefined) {
    if (policy.everyFrames !== undefined)
      option(policy.everyFrames, 'checkpointPolicy.everyFrames');
    if (policy.everyBytes !== undefined) option(policy.everyBytes, 'checkpointPolicy.everyBytes');
  }
  return {
    maxSubmissionQueue: option(
      options.maxSubmissionQueue ?? DEFAULT_MAX_SUBMISSION_QUEUE,
      'maxSubmissionQueue',
    ),
    maxBatch: option(options.maxBatch ?? DEFAULT_MAX_BATCH, 'maxBatch'),
    maxCommandBytes: option(
      options.maxCommandBytes ?? DEFAULT_MAX_COMMAND_BYTES,
      'maxCommandBytes',
      MAX_ENCODABLE_PAYLOAD_BYTES,
    ),
    maxSnapshotBytes: option(
      options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES,
      'maxSnapshotBytes',
    ),
    slotDurationMs: option(options.slotDurationMs ?? DEFAULT_SLOT_DURATION_MS, 'slotDurationMs'),
    checkpointPolicy: policy,
  };
}

/** The default slot clock: wall-clock milliseconds divided by the slot length. */
export function wallClock(slotDurationMs: number): () => bigint {
  return () => BigInt(Math.floor(Date.now() / slotDurationMs));
}
