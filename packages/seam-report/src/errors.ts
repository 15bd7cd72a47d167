/**
 * The errors seam-report throws. Each has a stable `code` (documented in the README) and a
 * message in two parts: what was wrong, then `hint`, how to fix it. The CLI maps the class to
 * its exit status: usage and config errors exit 2, repository and git errors exit 3.
 */

export type UsageErrorCode = 'bad_argument' | 'unknown_revision';

export type ConfigErrorCode = 'config_unreadable' | 'config_invalid' | 'config_warnings';

export type RepositoryErrorCode =
  | 'not_found'
  | 'not_a_repository'
  | 'git_not_found'
  | 'git_failed'
  | 'unreadable_file';

export type SeamReportErrorCode = UsageErrorCode | ConfigErrorCode | RepositoryErrorCode;

export abstract class SeamReportError extends Error {
  abstract readonly code: SeamReportErrorCode;
  /** How to fix it, one sentence. */
  readonly hint: string;

  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.hint = hint;
  }
}

/** A command-line argument or an `analyze` option that cannot be used as given. */
export class UsageError extends SeamReportError {
  override readonly name = 'UsageError';
  readonly code: UsageErrorCode;

  constructor(code: UsageErrorCode, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, hint, options);
    this.code = code;
  }
}

/** The configuration file (or the `seamReport` key of package.json) is unreadable or invalid. */
export class ConfigError extends SeamReportError {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  /** The file the configuration came from, or undefined for inline configuration. */
  readonly file: string | undefined;

  constructor(
    code: ConfigErrorCode,
    file: string | undefined,
    message: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(file === undefined ? message : `${file}: ${message}`, hint, options);
    this.code = code;
    this.file = file;
  }
}

/** The directory is not a git repository, git is missing, or git failed to read it. */
export class RepositoryError extends SeamReportError {
  override readonly name = 'RepositoryError';
  readonly code: RepositoryErrorCode;

  constructor(
    code: RepositoryErrorCode,
    message: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, hint, options);
    this.code = code;
  }
}
