// Pack test: `pnpm pack` each publishable package, install the tarball into an empty temporary
// project with npm, and run the runnable example from its README (the code block after the
// `<!-- pack-test: example -->` marker). Also runs each declared bin with --help, and
// typechecks every marked README example as strict TypeScript against the installed tarball's
// declarations (`typecheckReadmeExamples`).
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

// ---------------------------------------------------------------------------------------------
// The README examples as TypeScript: what a user who pastes one into a `.ts` file gets.

/** Every code block after a `<!-- pack-test: example -->` marker, in order. */
function markedExamples(readme) {
  const blocks = [];
  for (let at = readme.indexOf(MARKER); at >= 0; at = readme.indexOf(MARKER, at + 1)) {
    const match = /```(?:js|javascript|mjs|ts|typescript|mts)\n([\s\S]*?)```/.exec(
      readme.slice(at),
    );
    if (!match) throw new Error(`no code block after the ${MARKER} at offset ${at}`);
    blocks.push(match[1]);
  }
  return blocks;
}

/** The TypeScript and Node typings this repository builds with, so users' checks match ours. */
function typescriptVersions() {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return [
    `typescript@${manifest.devDependencies.typescript}`,
    `@types/node@${manifest.devDependencies['@types/node']}`,
  ];
}

/**
 * Typechecks every marked example of `readme` against the package installed in `project` (its
 * own `.d.ts`, as published): installs TypeScript there from npm, writes each example as
 * `readme-example-N.mts`, and runs `tsc --noEmit` with `strict` (library files checked too).
 * Throws with the compiler's output when an example does not typecheck. Returns the count.
 */
function typecheckReadmeExamples(project, readme) {
  const blocks = markedExamples(readme);
  if (blocks.length === 0) throw new Error(`README.md has no ${MARKER} block to typecheck`);
  run(
    'npm',
    [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...typescriptVersions(),
    ],
    project,
  );
  const files = blocks.map((code, i) => {
    const file = `readme-example-${i + 1}.mts`;
    writeFileSync(join(project, file), code);
    return file;
  });
  const tsconfig = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: 'ES2022',
      lib: ['ES2022'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      types: ['node'],
    },
    files,
  };
  writeFileSync(join(project, 'tsconfig.readme.json'), JSON.stringify(tsconfig, null, 2));
  const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    run('node', [tsc, '-p', 'tsconfig.readme.json'], project);
  } catch (error) {
    throw new Error(
      `a README example does not typecheck (strict TypeScript):\n${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
  }
  return blocks.length;
}

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
    const typechecked = typecheckReadmeExamples(
      project,
      readFileSync(join(dir, 'README.md'), 'utf8'),
    );
    console.log(`    (${typechecked} README example(s) typecheck as strict TypeScript)`);
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
