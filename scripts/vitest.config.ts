import { defineProject } from 'vitest/config';

// Tests of the repository scripts (the demo); they run the built packages, so `pnpm test` (which
// builds first) or `pnpm build` before `pnpm exec vitest run --project scripts`.
export default defineProject({
  test: {
    name: 'scripts',
    include: ['test/**/*.test.mjs'],
    testTimeout: 120_000,
    // The demo runs in a beforeAll: on a loaded two-core machine it takes longer than the
    // default 10 s hook limit.
    hookTimeout: 120_000,
  },
});
