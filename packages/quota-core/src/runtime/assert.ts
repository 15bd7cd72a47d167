/**
 * Assertions: checks of the engine's own invariants where a silent bug would corrupt data (an
 * LSN that does not rise by one, a table over its capacity, a batch over its limit). A failed
 * assertion is a bug in this package, never bad input: input gets typed errors instead. It
 * throws `AssertionError` (code `assertion_failed`); the durable engine halts on it rather than
 * write or acknowledge a state it can no longer vouch for.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { PackageError } from './package-error.js';

/** An internal invariant does not hold: a bug. The instance that threw must not be trusted. */
export class AssertionError extends PackageError {
  declare readonly code: 'assertion_failed';

  constructor(message: string) {
    super('assertion_failed', `assertion failed: ${message}`);
  }
}

/**
 * Throws `AssertionError` unless `condition` holds. Keep `message` a constant string on hot
 * paths (a template literal would be built on every call, true or not).
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
