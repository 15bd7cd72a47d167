/**
 * What every command of the `allocdb` tool shares: where it writes, and the one error
 * type for a usage mistake (a bad flag, argument or `--config`), which each command reports as
 * one line with exit status 3.
 */

/** Where a command writes its output and its one-line errors. */
export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

/** A usage mistake: the command line or a file it names is wrong; the message says how. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
