/**
 * The `--config <file>` reader shared by `inspect`, `verify`, `dump` and `serve`: a JSON object of
 * the quota configuration's fields (as `resolveConfig` takes them, whole or in part), bigint
 * fields as decimal strings or integers. Every problem with the file is a `UsageError` naming
 * it; the values themselves are validated by `resolveConfig` (a `ConfigError`).
 */
import { readFileSync } from 'node:fs';
import { CONFIG_FIELD_TYPES, CONFIG_FIELDS, type QuotaConfig } from '../config.js';
import { unknownKeyHint } from '../runtime/known-keys.js';
import { UsageError } from './usage.js';

/** Reads a `--config` file: a JSON object of quota fields, bigints as strings or integers. */
export function readConfigFile(path: string): Partial<QuotaConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UsageError(`the config file ${path} must hold a JSON object of quota fields`);
  }
  const config: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(raw)) {
    const type = CONFIG_FIELD_TYPES[field as keyof typeof CONFIG_FIELD_TYPES];
    if (type === undefined) {
      throw new UsageError(
        `the config file ${path} has an unknown field '${field}'; ${unknownKeyHint(field, CONFIG_FIELDS)}`,
      );
    }
    if (type === 'bigint' && (typeof value === 'string' || typeof value === 'number')) {
      try {
        config[field] = BigInt(value);
      } catch {
        throw new UsageError(
          `config field ${field} must be an integer, got ${JSON.stringify(value)}`,
        );
      }
    } else {
      config[field] = value;
    }
  }
  return config as Partial<QuotaConfig>;
}
