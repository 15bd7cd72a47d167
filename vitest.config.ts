import { defineConfig } from 'vitest/config';

// One vitest run over every package; each package's own vitest.config.ts sets its include
// pattern and timeouts. THOROUGH=1 (pnpm test:thorough) raises the iteration counts inside the
// suites; the seeds stay fixed so that any failure can be replayed.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'scripts/vitest.config.ts'],
  },
});
