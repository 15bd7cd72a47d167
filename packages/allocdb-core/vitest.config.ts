import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'allocdb-core',
    include: ['test/**/*.test.ts'],
    // Checkpoint workers run dist/: rebuild it first if it is stale.
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
  },
});
