/**
 * The global setup of seam-report's tests: finds a Chromium for the HTML report test
 * (test/render/html.test.ts), installing Debian's package when this machine allows it, and hands
 * its path to the test (`inject('chromium')`). Where no browser can be had (no Chromium, and no
 * apt-get or no root / passwordless sudo to install one), the HTML test is skipped and this says
 * so in one loud line on stderr, so that `pnpm test` passes on a fresh machine with only Node and
 * npm. `REQUIRE_CHROMIUM=1` (set by .ci/run) turns that skip into a failure: CI always runs the
 * HTML test. `CHROMIUM_PATH` names the browser to use instead of looking (nothing is installed
 * then). docs/testing.md, "The HTML report test".
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Chromium executable for the HTML test, or null when there is none (skipped). */
    chromium: string | null;
  }
}

/** Where a Chromium usually is: Debian's package, other Linux packages, macOS, playwright's. */
function candidates(): string[] {
  const paths = [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  ];
  // playwright's own download (`npx playwright-core install chromium`), where one was made
  paths.push(chromium.executablePath());
  return paths;
}

const ENSURE_SCRIPT = fileURLToPath(
  new URL('../../../../scripts/ensure-chromium.sh', import.meta.url),
);

/** Why Debian's package cannot be installed here without asking anyone, or undefined if it can. */
function cannotInstall(): string | undefined {
  if (process.platform !== 'linux') return `this is ${process.platform}, not Linux with apt-get`;
  if (spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0) {
    return 'apt-get is not available';
  }
  if (process.getuid?.() === 0) return undefined;
  if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return undefined;
  return 'installing needs root (or passwordless sudo)';
}

/** The Chromium to use, or why there is none. */
export function locateChromium(): { path: string } | { missing: string } {
  const named = process.env.CHROMIUM_PATH;
  if (named !== undefined && named !== '') {
    return existsSync(named)
      ? { path: named }
      : { missing: `CHROMIUM_PATH=${named} does not exist` };
  }
  const found = candidates().find((path) => existsSync(path));
  if (found !== undefined) return { path: found };
  const why = cannotInstall();
  if (why !== undefined) return { missing: `no Chromium found, and ${why}` };
  const installed = spawnSync('bash', [ENSURE_SCRIPT], { stdio: ['ignore', 'inherit', 'inherit'] });
  const after = candidates().find((path) => existsSync(path));
  if (after !== undefined) return { path: after };
  return {
    missing: `no Chromium found, and scripts/ensure-chromium.sh failed (exit ${installed.status})`,
  };
}

export default function setup(project: TestProject): void {
  const located = locateChromium();
  if ('path' in located) {
    project.provide('chromium', located.path);
    return;
  }
  const line = `the HTML report test (seam-report test/render/html.test.ts) needs Chromium: ${located.missing}; install it (scripts/ensure-chromium.sh as root, or set CHROMIUM_PATH)`;
  if (process.env.REQUIRE_CHROMIUM === '1') throw new Error(`REQUIRE_CHROMIUM=1: ${line}`);
  process.stderr.write(`\n!!! SKIPPED: ${line}. CI (.ci/run) always runs it.\n\n`);
  project.provide('chromium', null);
}
