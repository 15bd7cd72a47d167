import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'seam-report',
    include: ['test/**/*.test.ts'],
    // Finds (or installs) Chromium for the HTML report test, or says in one line why it is skipped.
    globalSetup: ['test/support/chromium-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
