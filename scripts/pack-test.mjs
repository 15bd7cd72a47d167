// Pack test: `pnpm pack` each publishable package, install the tarball into an empty temporary
// project with npm, and run the runnable example from its README (the code block after the
// `<!-- pack-test: example -->` marker). Also runs each declared bin with --help.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const requested = process.argv.slice(2);
const packages = (requested.length > 0 ? requested : readdirSync(join(root, 'packages')))
  .map((name) => join(root, 'packages', name))
  .filter((dir) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    return manifest.private !== true;
  });

const MARKER = '<!-- pack-test: example -->';

function example(readme) {
  const at = readme.indexOf(MARKER);
  if (at < 0) return undefined;
  const match = /```(?:js|javascript|mjs)\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match) throw new Error(`no js code block after ${MARKER}`);
  return match[1];
}

const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

let failures = 0;
for (const dir of packages) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const work = mkdtempSync(join(tmpdir(), `pack-test-${manifest.name}-`));
  try {
    const packed = run('pnpm', ['pack', '--pack-destination', work], dir)
      .trim()
      .split('\n')
      .pop()
      .trim();
    const tarball = packed.endsWith('.tgz')
      ? packed
      : join(
          work,
          readdirSync(work).find((f) => f.endsWith('.tgz')),
        );
    const project = join(work, 'project');
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'pack-test', private: true, type: 'module' }),
    );
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], project);
    const code = example(readFileSync(join(dir, 'README.md'), 'utf8'));
    if (code === undefined) throw new Error(`README.md has no ${MARKER} block`);
    writeFileSync(join(project, 'example.mjs'), code);
    const output = run('node', ['example.mjs'], project);
    for (const bin of Object.keys(manifest.bin ?? {}))
      run(join(project, 'node_modules', '.bin', bin), ['--help'], project);
    console.log(
      `pack test: ${manifest.name}@${manifest.version} installed from its tarball; README example ran:`,
    );
    console.log(output.trimEnd().replace(/^/gm, '    '));
  } catch (error) {
    failures++;
    console.error(
      `pack test: ${manifest.name} FAILED: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
process.exit(failures === 0 ? 0 : 1);
