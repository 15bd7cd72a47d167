/**
 * The quota engine's options: the runtime's durable-engine options (quota adds none of its own),
 * validated into `ConfigError`s naming the field before anything is opened.
 */
import { ConfigError } from '../errors.js';
import {
  type DurableEngineOptions,
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

export type EngineOptions = DurableEngineOptions;
export type ResolvedEngineOptions = ResolvedDurableEngineOptions;

/** Fills in defaults and validates every engine option. */
export function resolveEngineOptions(options: EngineOptions = {}): ResolvedEngineOptions {
  return resolveDurableEngineOptions(
    options,
    (field, message) => new ConfigError('invalid_value', field, message),
  );
}
