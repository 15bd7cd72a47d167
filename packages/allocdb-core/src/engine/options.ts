/**
 * The allocator engine's options: the runtime's durable-engine options plus its own tick limit,
 * validated into `ConfigError`s naming the field before anything is opened.
 */
import { ConfigError } from '../errors.js';
import {
  type DurableEngineOptions,
  positiveIntegerOption,
  type ResolvedDurableEngineOptions,
  resolveDurableEngineOptions,
} from '../runtime/engine-options.js';

export {
  type CheckpointPolicy,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_COMMAND_BYTES,
  DEFAULT_MAX_SNAPSHOT_BYTES,
  DEFAULT_MAX_SUBMISSION_QUEUE,
  DEFAULT_SLOT_DURATION_MS,
  wallClock,
} from '../runtime/engine-options.js';

/** `expire` commands one tick may log. */
export const DEFAULT_MAX_EXPIRATIONS_PER_TICK = 1_024;

export interface EngineOptions extends DurableEngineOptions {
  readonly maxExpirationsPerTick?: number;
}

export interface ResolvedEngineOptions extends ResolvedDurableEngineOptions {
  readonly maxExpirationsPerTick: number;
}

const invalidOption = (field: string, message: string) =>
  new ConfigError('invalid_value', field, message);

/** Fills in defaults and validates every engine option. */
export function resolveEngineOptions(options: EngineOptions = {}): ResolvedEngineOptions {
  return {
    ...resolveDurableEngineOptions(options, invalidOption),
    maxExpirationsPerTick: positiveIntegerOption(
      options.maxExpirationsPerTick ?? DEFAULT_MAX_EXPIRATIONS_PER_TICK,
      'engine.maxExpirationsPerTick',
      invalidOption,
    ),
  };
}
