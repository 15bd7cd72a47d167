// The README's `pnpm test` on a machine where no browser can be had: seam-report's HTML report
// test is skipped with one loud line instead of failing the run, and CI (.ci/run sets
// REQUIRE_CHROMIUM=1) fails instead of skipping. A machine without Chromium is simulated with
// CHROMIUM_PATH naming a browser that does not exist (nothing is installed then).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');

/** Runs the HTML report test alone in a child vitest, with `env` over a clean environment. */
function htmlTest(env) {
  const inherited = Object.fromEntries(
    // CI's own REQUIRE_* flags are not inherited: each case sets what it simulates.
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('VITEST') && !name.startsWith('REQUIRE_'),
    ),
  );
  const result = spawnSync(
    process.execPath,
    [vitest, 'run', '--project', 'seam-report', 'test/render/html.test.ts'],
    { cwd: root, encoding: 'utf8', env: { ...inherited, NO_COLOR: '1', ...env } },
  );
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe('the HTML report test where no browser can be had', () => {
  it('is skipped, and says so in one loud line', () => {
    const { status, output } = htmlTest({ CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(status, output).toBe(0);
    const loud = output.split('\n').filter((line) => line.includes('SKIPPED'));
    expect(loud, output).toHaveLength(1);
    expect(loud[0]).toMatch(
      /^!!! SKIPPED: the HTML report test .* needs Chromium: CHROMIUM_PATH=\/nonexistent\/chromium does not exist; .*scripts\/ensure-chromium\.sh.*CI \(\.ci\/run\) always runs it\.$/,
    );
    expect(output).toMatch(/4 skipped/);
  });

  it('fails instead under REQUIRE_CHROMIUM=1, as in CI', () => {
    const { status, output } = htmlTest({
      CHROMIUM_PATH: '/nonexistent/chromium',
      REQUIRE_CHROMIUM: '1',
    });
    expect(status, output).not.toBe(0);
    expect(output).toMatch(/REQUIRE_CHROMIUM=1: the HTML report test .* needs Chromium/);
    expect(output).not.toMatch(/!!! SKIPPED/);
  });
});
