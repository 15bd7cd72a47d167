/**
 * Checkpoints rebuild their snapshot on a worker thread, which runs this package's compiled
 * `dist/` even when the tests run the TypeScript sources (worker threads cannot load TypeScript;
 * docs/engine.md, "Checkpoints"). `pnpm test` builds every package first; when vitest is run
 * directly, this rebuilds `dist/` if any source is newer than it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newest(dir: string, suffix: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(suffix)) continue;
    latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

export default function setup(): void {
  const dist = join(root, 'dist');
  const stale = !existsSync(dist) || newest(join(root, 'src'), '.ts') > newest(dist, '.js');
  if (!stale) return;
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
}
