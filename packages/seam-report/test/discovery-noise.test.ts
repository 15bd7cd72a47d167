/**
 * The discovery of unwatched copies, on a monorepo of many packages (issue 23, item 11): tool
 * configuration files (`vitest.config.ts`, `tsup.config.ts`, named `vitest_2 … vitest_9`)
 * dominated the groups; `*.test-d.ts` (vitest's type tests) was taken for code; and a
 * suggestion cut with "… and 4 more files" was not valid configuration when pasted. Tool configs
 * are skipped by default (`discover.toolConfigs` brings them back), type tests are tests, and
 * every suggestion printed pastes as it is. Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { render } from '../src/render/index.js';
import { TestRepo } from './support/git-repo.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.dispose();
});

const VITEST_CONFIG = `import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    coverage: { provider: 'v8', reporter: ['text', 'html'], include: ['src/**'] },
  },
});
`;
const TSUP_CONFIG = `import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
`;
const TYPE_TEST = `import { expectTypeOf, test } from 'vitest';
import type { Frame } from '../src/runtime/wal.js';

test('a frame carries its payload', () => {
  expectTypeOf<Frame['payload']>().toEqualTypeOf<Uint8Array>();
  expectTypeOf<Frame['lsn']>().toEqualTypeOf<bigint>();
});
`;

const ENGINES = Array.from({ length: 10 }, (_, i) => `pkg-${i}`);

function monorepo(config?: object): TestRepo {
  const r = TestRepo.create();
  repos.push(r);
  const files: Record<string, string> = {};
  if (config !== undefined) files['seam-report.config.json'] = JSON.stringify(config);
  ENGINES.forEach((engine, i) => {
    const dir = `packages/${engine}`;
    files[`${dir}/src/runtime/wal.ts`] = WAL_TS;
    files[`${dir}/vitest.config.ts`] = VITEST_CONFIG;
    files[`${dir}/tsup.config.ts`] = TSUP_CONFIG;
    files[`${dir}/src/frame.test-d.ts`] = TYPE_TEST;
    // one file at one path in every package, one under a different name in three of them
    files[`${dir}/src/util/retry.ts`] = RETIRE_QUEUE_TS;
    if (i < 3) files[`${dir}/src/helpers/queue-${i}.ts`] = RETIRE_QUEUE_TS.replace('FIFO', 'ring');
  });
  r.commit('ten packages', files);
  return r;
}

describe('discovery on a monorepo of many packages', () => {
  it('skips tool configuration files and type tests by default', async () => {
    const report = await analyze({ root: monorepo().root, history: false });
    const names = report.unwatchedCopies.map((group) => group.name);
    expect(names).toEqual(['queue_0', 'retry']);
    expect(names.some((name) => /vitest|tsup|frame/.test(name))).toBe(false);
  });

  it('lists tool configuration files when the configuration asks for them', async () => {
    const report = await analyze({
      root: monorepo({ discover: { toolConfigs: true } }).root,
      history: false,
    });
    expect(report.unwatchedCopies.map((group) => group.name)).toEqual([
      'queue_0',
      'retry',
      'tsup',
      'vitest',
    ]);
  });

  it('prints only suggestions that paste as they are, in text and markdown', async () => {
    const report = await analyze({ root: monorepo().root, history: false });
    for (const format of ['text', 'markdown'] as const) {
      // (markdown escapes "<" outside code spans, where it renders as "<")
      const output = render(report, format, { discover: true }).replaceAll('&lt;', '<');
      expect(output).not.toMatch(/more files/);
      const pasted = [...output.matchAll(/"seams": (\[.*?\])(?:`|$)/gm)].map((m) => m[1]!);
      expect(pasted.length, format).toBe(1);
      // the three queue files: the whole entry, valid configuration
      expect(JSON.parse(pasted[0]!)).toEqual([
        {
          name: 'queue_0',
          files: [0, 1, 2].map((i) => `packages/pkg-${i}/src/helpers/queue-${i}.ts`),
        },
      ]);
      // ten retry files at one path: the seamPaths pattern, and where the whole file group is
      expect(output).toContain('"src/util/<seam>.ts"');
      expect(output).toMatch(/file group of 10 files .*JSON report/);
    }
  });
});
