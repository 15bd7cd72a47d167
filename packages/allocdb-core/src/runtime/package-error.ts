/**
 * The package's base error class. Every error the package throws on purpose (the runtime's, the
 * state machine's, the engine's) extends it and carries a stable string `code`, so a caller can
 * catch the package's errors with one `instanceof` and switch on `code`.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */

// ---------------------------------------------------------------------------------------------
// Engine-specific values. This is the only block that differs between the engines' copies.
/** Base class of every error allocdb-core throws on purpose. */
export class AllocDbError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
/** The runtime's name for the package's base error class (the same class). */
export { AllocDbError as PackageError };
// ---------------------------------------------------------------------------------------------
