// Prints the last line of a CI run, "N passed, N failed", from vitest's JSON report plus the
// number of failed CI steps (build, typecheck, lint, pack test). A test run that produced no
// report (vitest crashed, the build inside `pnpm test` failed) counts as one failure, so that CI
// never prints "0 failed" for a broken run.
import { existsSync, readFileSync } from 'node:fs';

const [reportPath, statusText = '0', stepFailuresText = '0'] = process.argv.slice(2);
const status = Number(statusText);
let passed = 0;
let failed = Number(stepFailuresText);
let testFailures = 0;
if (reportPath && existsSync(reportPath)) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed = report.numPassedTests ?? 0;
  testFailures = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
}
if (status !== 0 && testFailures === 0) testFailures = 1;
failed += testFailures;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
