/** Temporary directories kept when a test fails (their path is in the failure message). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(label: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `reliability-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
