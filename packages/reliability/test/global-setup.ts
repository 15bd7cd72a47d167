/**
 * The crash-kill children and the fuzz workers run this package's compiled `dist/` (plain node
 * processes and worker threads cannot load TypeScript). `pnpm test` builds every package first;
 * when vitest is run directly, this rebuilds `dist/` if any source is newer than it.
 *
 * The cluster suites need `nats-server`: where it is missing, this installs Debian's package when
 * the machine allows it without asking anyone (root or passwordless sudo, and apt-get:
 * scripts/ensure-cluster-peers.sh --if-possible); otherwise the suites skip, each with one loud
 * line. `REQUIRE_NATS=1` (set by .ci/run) turns that skip into a failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
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

function ensureNatsServer(): void {
  if (spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).error === undefined) return;
  const script = join(root, '..', '..', 'scripts', 'ensure-cluster-peers.sh');
  spawnSync('bash', [script, '--if-possible'], { stdio: 'inherit' });
}

export default function setup(): void {
  ensureNatsServer();
  const dist = join(root, 'dist');
  const stale = !existsSync(dist) || newest(join(root, 'src'), '.ts') > newest(dist, '.js');
  if (!stale) return;
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
}
