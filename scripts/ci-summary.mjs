// Prints the last line of a CI run, "N passed, N failed", from vitest's JSON report plus the
// number of failed CI steps (build, typecheck, lint, pack test): failed tests, plus test files
// that failed without a failed test (they could not be loaded). A test run that produced no
// report (vitest crashed, the build inside `pnpm test` failed), or that failed with nothing
// counted (an unhandled error), counts as one failure, so that CI never prints "0 failed" for a
// broken run. scripts/test/ci-summary.test.mjs runs it on real vitest reports.
import { existsSync, readFileSync } from 'node:fs';

const [reportPath, statusText = '0', stepFailuresText = '0'] = process.argv.slice(2);
const status = Number(statusText);
let passed = 0;
let failed = Number(stepFailuresText);
let testFailures = 0;
if (reportPath && existsSync(reportPath)) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed = report.numPassedTests ?? 0;
  // vitest's report counts failed tests; a test file that failed without a failed test (it could
  // not be loaded: an import or syntax error) is only marked `failed` in testResults, so it is
  // counted from there. (`numRuntimeErrorTestSuites`, read before, is Jest's field, not vitest's.)
  const brokenFiles = (report.testResults ?? []).filter(
    (file) =>
      file.status === 'failed' &&
      !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
  ).length;
  testFailures = (report.numFailedTests ?? 0) + brokenFiles;
}
if (status !== 0 && testFailures === 0) testFailures = 1;
failed += testFailures;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
