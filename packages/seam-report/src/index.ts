/**
 * seam-report's library API: `analyze` a repository into a `SeamReport`, `render` it as text,
 * markdown, JSON or HTML. The `seam-report` command is a thin layer over these two.
 */
export { type AnalyzeOptions, analyze } from './analyze.js';
export { DEFAULTS, type ResolvedConfig, type SeamReportConfig } from './config.js';
export type { DeclarationComparison, DeclarationKind, DeclarationStatus } from './declarations.js';
export {
  ConfigError,
  type ConfigErrorCode,
  RepositoryError,
  type RepositoryErrorCode,
  SeamReportError,
  type SeamReportErrorCode,
  UsageError,
  type UsageErrorCode,
} from './errors.js';
export type { HistoryProgress } from './history.js';
export type { Hunk } from './hunks.js';
export type { LiteralDifference, NameDifference, ValueInCopy } from './literals.js';
export { FORMATS, type Format, type RenderOptions, render } from './render/index.js';
export * from './report.js';
export type { Language } from './tokenize/token.js';
