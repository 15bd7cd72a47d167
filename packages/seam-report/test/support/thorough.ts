/**
 * Iteration counts for property tests. `pnpm test` runs the quick setting; `pnpm test:thorough`
 * (THOROUGH=1) multiplies them. Seeds stay fixed either way so a failure can be replayed; a
 * failing property prints its seed and path (fast-check does this by itself).
 */
export const THOROUGH = process.env.THOROUGH === '1';

/** `quick` runs in `pnpm test`; `thorough` in `pnpm test:thorough`. */
export function runs(quick: number, thorough: number = quick * 20): number {
  return THOROUGH ? thorough : quick;
}

/**
 * A seed from the environment: a 32-bit unsigned integer, decimal or hex (`0x…`). Anything else
 * stops the run with an error naming the variable: a typo must not silently replay another seed
 * (`Number('abc')` is NaN, which fast-check runs as seed 0).
 */
export function seedFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const text = raw.trim();
  const value = /^(0x[0-9a-f]+|[0-9]+)$/i.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value > 0xffff_ffff) {
    throw new Error(
      `${name} must be a 32-bit unsigned integer (decimal, or hex with 0x), got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** The fixed seed of the quick tier; set FC_SEED to replay another one. */
export const SEED = seedFromEnv('FC_SEED', 0x5eed);
