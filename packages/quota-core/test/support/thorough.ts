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

/** The fixed seed of the quick tier; set FC_SEED to replay another one. */
export const SEED = process.env.FC_SEED === undefined ? 0x5eed : Number(process.env.FC_SEED);
