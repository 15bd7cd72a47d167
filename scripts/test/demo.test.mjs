// `pnpm demo` (scripts/demo.mjs) as a newcomer sees it: both engines survive the SIGKILL, the
// acknowledged quota debit is neither lost nor applied twice on retry, no path is printed that
// is gone when the demo ends, and the seam report is one paragraph at the end, built from
// seam-report's JSON output, with the command for the full report.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
let output;

beforeAll(() => {
  const result = spawnSync(process.execPath, ['scripts/demo.mjs'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  output = result.stdout;
});

describe('pnpm demo', () => {
  it('allocdb-core: the winner keeps the seat after the crash; the retry gets the original answer', () => {
    expect(output).toMatch(/alice reserves seat 1 → ok/);
    expect(output).toMatch(/bob reserves seat 1 +→ resource_busy/);
    expect(output).toMatch(/allocdb-core reopened: wal_only/);
    expect(output).toMatch(/seat 1: confirmed/);
    expect(output).toMatch(/alice retries her reserve → ok, fromRetryCache=true/);
  });

  it('quota-core: the acknowledged debit survives the crash and its retry does not debit twice', () => {
    const acknowledged = /quota-core +debit 3 units \(operation (\d+)\) → ok, balance (\d+)/.exec(
      output,
    );
    expect(acknowledged).not.toBeNull();
    const [, operation, balance] = acknowledged;
    expect(balance).toBe('7');
    expect(output).toMatch(/quota-core reopened: wal_only/);
    expect(output).toMatch(new RegExp(`bucket \\d+: balance ${balance} \\(`));
    const retried =
      /retries its debit \(operation (\d+)\) → ok, fromRetryCache=true; balance (\d+)/.exec(output);
    expect(retried).not.toBeNull();
    expect(retried[1]).toBe(operation);
    expect(retried[2]).toBe(balance);
  });

  it('prints no path that no longer exists when it ends', () => {
    expect(output).not.toContain(tmpdir());
    const paths = output.match(/(?<![\w.])\/[\w.@-]+(?:\/[\w.@-]+)+/g) ?? [];
    for (const path of paths) expect(existsSync(path), path).toBe(true);
  });

  it('ends with one paragraph from the seam report (JSON), with the command for the full report', () => {
    const json = spawnSync(
      process.execPath,
      ['packages/seam-report/dist/bin.js', '--format', 'json', '--quiet', root],
      { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    );
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout);

    const blocks = output.trimEnd().split(/\n\s*\n/);
    const paragraph = blocks[blocks.length - 1].replace(/\s*\n\s*/g, ' ');
    expect(paragraph).toMatch(/^Seam report: /);
    expect(paragraph).toMatch(/`pnpm seam-report`\.$/);
    expect(paragraph.length).toBeLessThan(800);
    expect(paragraph).toContain(`the same ${report.seams.length} modules`);
    // The decision's lists, five names each at most and then how many more (it stays short).
    for (const names of [report.decision.extract, report.decision.reconcileFirst]) {
      for (const name of names.slice(0, 5)) expect(paragraph).toContain(name);
      if (names.length > 5) expect(paragraph).toContain(`and ${names.length - 5} more`);
    }
    // The per-seam table is gone: seams without a verdict worth telling are not listed.
    for (const seam of report.seams.filter((s) => s.verdict.verdict === 'keep_local')) {
      expect(paragraph).not.toMatch(new RegExp(`\\b${seam.name}\\b`));
    }
  });
});
