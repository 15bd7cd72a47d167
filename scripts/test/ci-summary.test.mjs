// The last line of a CI run (scripts/ci-summary.mjs), from a real vitest JSON report: a test file
// that fails to load (an import error, a failing hook) has no failed test, and vitest's report
// has no field counting it (ci-summary read `numRuntimeErrorTestSuites`, which is Jest's, not
// vitest's), so such a file went uncounted whenever another test failed too.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const summary = join(root, 'scripts', 'ci-summary.mjs');
let dir;

/** Runs vitest on `files` (name → source) and returns the report's path and vitest's status. */
function report(name, files) {
  for (const [file, source] of Object.entries(files)) {
    writeFileSync(join(dir, `${name}-${file}`), source);
  }
  const output = join(dir, `${name}.json`);
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')),
  );
  const result = spawnSync(
    process.execPath,
    [
      vitest,
      'run',
      '--root',
      dir,
      '--globals',
      '--reporter=json',
      `--outputFile.json=${output}`,
      ...Object.keys(files).map((file) => `${name}-${file}`),
    ],
    { encoding: 'utf8', env: { ...inherited, NO_COLOR: '1' } },
  );
  return { output, status: result.status };
}

function line(output, status, steps = 0) {
  const result = spawnSync(process.execPath, [summary, output, String(status), String(steps)], {
    encoding: 'utf8',
  });
  return { text: result.stdout.trim(), status: result.status };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ci-summary-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ci-summary', () => {
  it('counts a file that fails to load beside a failing test: two failures', () => {
    const run = report('mixed', {
      'pass.test.mjs': "it('passes', () => expect(1).toBe(1));\n",
      'fail.test.mjs': "it('fails', () => expect(1).toBe(2));\n",
      'broken.test.mjs': "import './missing.mjs';\nit('never runs', () => {});\n",
    });
    expect(run.status).not.toBe(0);
    expect(line(run.output, run.status)).toEqual({ text: '1 passed, 2 failed', status: 1 });
  });

  it('counts a failing hook and the steps that failed', () => {
    const run = report('hook', {
      'pass.test.mjs': "it('a', () => {});\nit('b', () => {});\n",
      'hook.test.mjs':
        "beforeAll(() => { throw new Error('setup'); });\nit('skipped by the hook', () => {});\n",
    });
    expect(line(run.output, run.status, 2)).toEqual({ text: '2 passed, 3 failed', status: 1 });
  });

  it('a clean run is all passed, exit 0; a run without a report is one failure', () => {
    const run = report('clean', { 'pass.test.mjs': "it('passes', () => {});\n" });
    expect(run.status).toBe(0);
    expect(line(run.output, run.status)).toEqual({ text: '1 passed, 0 failed', status: 0 });
    expect(line(join(dir, 'none.json'), 1)).toEqual({ text: '0 passed, 1 failed', status: 1 });
  });
});
