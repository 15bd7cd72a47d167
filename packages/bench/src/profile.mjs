// CPU profiles of the workloads that miss a target: `pnpm --filter bench profile [-- --target=…]`.
// Each target runs in its own `node --cpu-prof` child process (so the profile holds that
// workload alone, after a warm-up), then the self time per function is summarised as markdown.
//
//   targets: group-commit-4096, group-commit-16, submit-sync, replay, state-machine-allocdb,
//            state-machine-quota, group-commit-quota-4096 (default: all)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSummary, summariseProfile } from './lib/cpu-profile.mjs';

const TARGETS = [
  'group-commit-4096',
  'group-commit-16',
  'submit-sync',
  'replay',
  'state-machine-allocdb',
  'state-machine-quota',
  'group-commit-quota-4096',
];
const chosen =
  process.argv
    .find((a) => a.startsWith('--target='))
    ?.slice(9)
    .split(',') ?? TARGETS;
const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 15);
const target = fileURLToPath(new URL('./profile-target.mjs', import.meta.url));

for (const name of chosen) {
  if (!TARGETS.includes(name))
    throw new Error(`unknown target ${name}; one of ${TARGETS.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'engine-bench-profile-'));
  const args = [name];
  if (name === 'replay') {
    // The log is written by an unprofiled process: the profile holds the open alone.
    const log = join(dir, 'log');
    const built = spawnSync(process.execPath, [target, 'build-replay-log', log], {
      stdio: 'inherit',
    });
    if (built.status !== 0) throw new Error('could not write the replay log');
    args.push(log);
  }
  try {
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--cpu-prof', `--cpu-prof-dir=${dir}`, target, ...args],
      { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' },
    );
    if (child.status !== 0) {
      console.log(`\n#### ${name}: skipped (${child.stdout.trim() || `exit ${child.status}`})`);
      continue;
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    console.log(`\n${child.stdout.trim()}`);
    console.log(formatSummary(name, summariseProfile(join(dir, file)), top));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
