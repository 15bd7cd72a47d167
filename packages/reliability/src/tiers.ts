import { appendFileSync } from 'node:fs';

/**
 * Quick and thorough settings. `pnpm test` runs the quick tier; `pnpm test:thorough` sets
 * THOROUGH=1. Seeds are fixed in both tiers; each suite names the variable that replays one seed.
 */
export const THOROUGH = process.env.THOROUGH === '1';

/** `quick` in `pnpm test`, `thorough` under THOROUGH=1. */
export function tier<T>(quick: T, thorough: T): T {
  return THOROUGH ? thorough : quick;
}

/** A seed from the environment (decimal or 0x-hex), or undefined. */
export function envSeed(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new Error(`${name} must be a 32-bit unsigned integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Where figures of a run are appended (one JSON line per suite), when RELIABILITY_REPORT is set. */
export function reportFigures(suite: string, figures: Record<string, unknown>): void {
  const path = process.env.RELIABILITY_REPORT;
  const line = JSON.stringify({ suite, thorough: THOROUGH, ...figures });
  if (path === undefined || path === '') {
    if (process.env.RELIABILITY_VERBOSE === '1') console.log(line);
    return;
  }
  appendFileSync(path, `${line}\n`);
}
