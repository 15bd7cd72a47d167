import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'reliability',
    include: ['test/**/*.test.ts'],
    // The crash-kill suite spawns the child scripts from dist/: build it first if it is stale.
    globalSetup: ['./test/global-setup.ts'],
    // The machine is shared and has two cores: generous limits, and the heavy suites inside one
    // file run one after another.
    testTimeout: process.env.THOROUGH === '1' ? 3_600_000 : 600_000,
    hookTimeout: 120_000,
  },
});
