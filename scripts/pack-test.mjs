// Pack test: the packages as a user meets them.
//
// First, two workspace checks:
// - every bin that `pnpm install` links from one workspace package into another points at a
//   committed file (not at a build output such as dist/), so that install on a fresh clone, before
//   any build, does not warn "Failed to create bin";
// - every package's `build` script starts from an empty dist/: a stale file planted in dist/ must
//   be gone after `pnpm -r run build`, so that nothing from an earlier build reaches a tarball.
// Then each publishable package is packed with `pnpm pack` and its tarball installed with npm into
// an empty CommonJS project (a package.json without "type": "module"), where, in child processes:
// - the tarball ships no source maps: no .map file and no sourceMappingURL comment (the maps would
//   point at src/, which is not shipped; see docs/packaging.md);
// - the README's runnable example (the code block after `<!-- pack-test: example -->`) runs as
//   an ES module (.mjs);
// - every `exports` entry with a `default` condition is require()d from a CommonJS .js file
//   (require(esm): Node ≥ 20.19 / ≥ 22.12) and import()ed from one;
// - the README's CommonJS example (the block after `<!-- pack-test: commonjs -->`) runs as a
//   CommonJS .js file; a package whose root entry has `default` must have one;
// - each declared bin runs with --help through `npx`;
// - every marked README example typechecks as strict TypeScript against the installed tarball's
//   declarations (`typecheckReadmeExamples`);
// - the README's service example (`<!-- pack-test: serve -->`) runs: the server from the
//   installed bin, the client in two processes against it, then SIGTERM (`runServeExample`);
// - without the NATS packages (optional peers, not installed here), the `./cluster` entry's open
//   and `<bin> serve --cluster` each fail with one error naming what to install
//   (`checkMissingPeers`).
// Usage: node scripts/pack-test.mjs [package-directory-name ...]   (default: every package)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const manifestOf = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const workspace = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: manifestOf(dir) }));
const requested = process.argv.slice(2);
const packages = workspace.filter(
  ({ dir, manifest }) =>
    manifest.private !== true &&
    (requested.length === 0 || requested.includes(dir.slice(dir.lastIndexOf('/') + 1))),
);

const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

// ---------------------------------------------------------------------------------------------
// The README examples as TypeScript: what a user who pastes one into a `.ts` file gets.

const MARKER = '<!-- pack-test: example -->';
const SERVE_MARKER = '<!-- pack-test: serve -->';

/** Every code block after a `<!-- pack-test: example -->` (or `serve`) marker, in order. */
function markedExamples(readme) {
  const blocks = [];
  for (const marker of [MARKER, SERVE_MARKER]) {
    for (let at = readme.indexOf(marker); at >= 0; at = readme.indexOf(marker, at + 1)) {
      const match = /```(?:js|javascript|mjs|ts|typescript|mts)\n([\s\S]*?)```/.exec(
        readme.slice(at),
      );
      if (!match) throw new Error(`no code block after the ${marker} at offset ${at}`);
      blocks.push(match[1]);
    }
  }
  return blocks;
}

/**
 * The README's service example (`<!-- pack-test: serve -->`: a ```sh line `npx <bin> serve …`,
 * then a ```js client): runs the server line from the installed package (with `--port 0`), runs
 * the client twice, as two processes, against the port it printed, then stops the server with
 * SIGTERM, which must exit 0. Returns the two clients' output, or undefined without the marker.
 */
async function runServeExample(project, readme) {
  const at = readme.indexOf(SERVE_MARKER);
  if (at < 0) return undefined;
  const rest = readme.slice(at);
  const shell = /```sh\n([\s\S]*?)```/.exec(rest)?.[1];
  const client = /```(?:js|mjs)\n([\s\S]*?)```/.exec(rest)?.[1];
  if (shell === undefined || client === undefined) {
    throw new Error(`the ${SERVE_MARKER} block needs a sh block and a js block after it`);
  }
  const line = shell.split('\n').find((text) => text.startsWith('npx '));
  const words = line?.replace(/#.*$/, '').replace(/&\s*$/, '').trim().split(/\s+/);
  if (words === undefined || words[2] !== 'serve') {
    throw new Error(`the ${SERVE_MARKER} sh block must start the server with 'npx <bin> serve …'`);
  }
  const portInExample = /127\.0\.0\.1:(\d+)/.exec(client)?.[1];
  if (portInExample === undefined) throw new Error('the serve example names no 127.0.0.1 port');
  const server = spawn(
    join(project, 'node_modules', '.bin', words[1]),
    [...words.slice(2), '--port', '0'],
    { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  server.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => server.once('exit', (code) => resolve(code)));
  let outputs;
  let stopped;
  try {
    const port = await new Promise((resolve, reject) => {
      let stdout = '';
      server.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
        if (match) resolve(match[1]);
      });
      exited.then((code) => reject(new Error(`the server exited (${code}): ${stderr}`)));
    });
    writeFileSync(
      join(project, 'serve-example.mjs'),
      client.replaceAll(`127.0.0.1:${portInExample}`, `127.0.0.1:${port}`),
    );
    outputs = [
      run('node', ['serve-example.mjs'], project),
      run('node', ['serve-example.mjs'], project),
    ];
  } finally {
    server.kill('SIGTERM');
    stopped = await exited;
  }
  if (stopped !== 0) {
    throw new Error(`the served example's server exited ${stopped} on SIGTERM: ${stderr}`);
  }
  return outputs;
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
function fail(what, message) {
  failures++;
  console.error(`pack test: ${what} FAILED: ${message}`);
}

// --- Workspace: bins linked between workspace packages exist before any build. -----------------
{
  const byName = new Map(workspace.map((p) => [p.manifest.name, p]));
  const dependents = [{ dir: root, manifest: manifestOf(root) }, ...workspace];
  const problems = new Set();
  for (const { manifest } of dependents) {
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      for (const [name, spec] of Object.entries(manifest[field] ?? {})) {
        const target = byName.get(name);
        if (!String(spec).startsWith('workspace:') || target === undefined) continue;
        const bins =
          typeof target.manifest.bin === 'string'
            ? { [name]: target.manifest.bin }
            : (target.manifest.bin ?? {});
        for (const [bin, path] of Object.entries(bins)) {
          const file = join(target.dir, path);
          const ignored = spawnSync('git', ['check-ignore', '-q', file], { cwd: root }).status;
          if (ignored === 0 || !existsSync(file)) {
            problems.add(
              `${name}'s bin "${bin}" (${path}), linked into ${manifest.name}, ` +
                `${ignored === 0 ? 'is git-ignored (a build output)' : 'does not exist'}: ` +
                'pnpm install on a fresh clone warns "Failed to create bin"; point bin at a ' +
                'committed file',
            );
          }
        }
      }
    }
  }
  for (const problem of problems) fail('workspace bins', problem);
  if (problems.size === 0) {
    console.log('pack test: every bin linked between workspace packages is a committed file');
  }
}

// --- Workspace: every build starts from an empty dist/. ----------------------------------------
{
  const STALE = 'stale-file-from-an-earlier-build.js';
  const built = workspace.filter(({ manifest }) => manifest.scripts?.build !== undefined);
  for (const { dir } of built) {
    mkdirSync(join(dir, 'dist'), { recursive: true });
    writeFileSync(join(dir, 'dist', STALE), '// planted by scripts/pack-test.mjs\n');
  }
  try {
    run('pnpm', ['-r', 'run', 'build'], root);
    const stale = built.filter(({ dir }) => existsSync(join(dir, 'dist', STALE)));
    for (const { manifest } of stale) {
      fail(
        `${manifest.name} build`,
        `dist/${STALE} survived \`pnpm run build\`: the build must start from an empty dist/`,
      );
    }
    if (stale.length === 0) {
      console.log(
        `pack test: ${built.map((p) => p.manifest.name).join(', ')}: each build starts from an empty dist/`,
      );
    }
  } catch (error) {
    fail('pnpm -r run build', `${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  } finally {
    for (const { dir } of built) rmSync(join(dir, 'dist', STALE), { force: true });
  }
}

// --- Each publishable package from its tarball. -------------------------------------------------
function codeBlock(readme, marker) {
  const at = readme.indexOf(marker);
  if (at < 0) return undefined;
  const match = /```(?:js|javascript|mjs|cjs)\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match) throw new Error(`no js code block after ${marker}`);
  return match[1];
}

/** Files (relative paths) of a directory tree, without node_modules. */
function filesUnder(dir, prefix = '') {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(dir, path);
    return [path];
  });
}

/**
 * The entries a CommonJS caller may require(): those with a `default` condition, and plain
 * targets (such as package.json). JSON targets are only require()d: import() needs an attribute.
 */
function requirableEntries(manifest) {
  return Object.entries(manifest.exports ?? {})
    .filter(([subpath, target]) => {
      if (subpath.includes('*')) return false;
      return typeof target === 'string' || (target !== null && 'default' in target);
    })
    .map(([subpath, target]) => ({
      specifier: subpath === '.' ? manifest.name : `${manifest.name}${subpath.slice(1)}`,
      json: (typeof target === 'string' ? target : target.default).endsWith('.json'),
    }));
}

// A CommonJS file (run in a project without "type": "module") that import()s and require()s each
// entry it is given and fails unless every one loads with its exports. Without require(esm)
// (Node < 20.19, < 22.12) it checks import() alone, the way the READMEs tell such users to load.
const REQUIRE_CHECK = `'use strict';
const entries = JSON.parse(process.argv[2]);
const nonEmpty = (value) => value !== null && typeof value === 'object' && Object.keys(value).length > 0;
const requireEsm = process.features.require_module === true;
async function main() {
  for (const { specifier, json } of entries) {
    if (!json && !nonEmpty(await import(specifier))) throw new Error(\`import(\${specifier}) gave no exports\`);
    if (json || requireEsm) {
      if (!nonEmpty(require(specifier))) throw new Error(\`require(\${specifier}) gave no exports\`);
    }
    const how = [json || requireEsm ? 'require()' : '', json ? '' : 'import()'].filter(Boolean);
    console.log(\`\${specifier}: \${how.join(' and ')} \${how.length > 1 ? 'load' : 'loads'} it from CommonJS\`);
  }
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

// A module that opens the cluster entry's class without the NATS packages and prints the error.
const MISSING_PEER_CHECK = `const entry = await import(process.argv[2]);
const name = Object.keys(entry).find((key) => key.endsWith('Cluster') && typeof entry[key].open === 'function');
try {
  await entry[name].open({ dir: 'cluster-dir', nats: { request() {} }, name: 'packtest' });
  console.log('opened');
} catch (error) {
  console.log(JSON.stringify({ name, code: error.code, message: error.message }));
}
`;

/**
 * The cluster without its optional peers: the entry's `open` and the bin's `serve --cluster`
 * must each refuse with one error naming the four NATS packages to install.
 */
function checkMissingPeers(project, manifest, bins) {
  if (manifest.exports?.['./cluster'] === undefined) return undefined;
  writeFileSync(join(project, 'missing-peer.mjs'), MISSING_PEER_CHECK);
  const opened = JSON.parse(
    run('node', ['missing-peer.mjs', `${manifest.name}/cluster`], project).trim(),
  );
  const packages = ['@nats-io/transport-node', '@nats-io/jetstream', '@nats-io/kv', '@nats-io/obj'];
  if (opened.code !== 'missing_peer' || !packages.every((p) => opened.message.includes(p))) {
    throw new Error(`${opened.name}.open without the NATS packages: ${JSON.stringify(opened)}`);
  }
  const served = spawnSync(
    'npx',
    [
      '--no',
      '--',
      bins[0],
      'serve',
      '--dir',
      'served',
      '--port',
      '0',
      '--cluster',
      'nats://127.0.0.1:4222',
      '--name',
      'packtest',
    ],
    { cwd: project, encoding: 'utf8', timeout: 60_000 },
  );
  const lines = served.stderr.split('\n').filter((line) => line !== '');
  if (
    served.status !== 9 ||
    lines.length !== 1 ||
    !lines[0].includes('npm install @nats-io/transport-node')
  ) {
    throw new Error(
      `\`${bins[0]} serve --cluster\` without the NATS packages: exit ${served.status}, stderr ${JSON.stringify(served.stderr)}`,
    );
  }
  return `${opened.name}.open and \`${bins[0]} serve --cluster\` name the missing NATS packages (exit 9)`;
}

for (const { dir, manifest } of packages) {
  const work = mkdtempSync(join(tmpdir(), `pack-test-${manifest.name}-`));
  try {
    run('pnpm', ['pack', '--pack-destination', work], dir);
    const tarball = join(
      work,
      readdirSync(work).find((f) => f.endsWith('.tgz')),
    );
    const project = join(work, 'project');
    mkdirSync(project);
    // A CommonJS project: no "type": "module", so .js files are CommonJS.
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'pack-test', version: '0.0.0', private: true }),
    );
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], project);
    const installed = join(project, 'node_modules', manifest.name);

    // No source maps: no .map file, and no sourceMappingURL comment that would dangle.
    const entries = run('tar', ['-tzf', tarball], work)
      .split('\n')
      .filter((line) => line !== '' && !line.endsWith('/'))
      .map((line) => line.replace(/^package\//, ''));
    const maps = entries.filter((path) => path.endsWith('.map'));
    if (maps.length > 0) {
      throw new Error(
        `the tarball ships ${maps.length} source map(s) (${maps.slice(0, 3).join(', ')}, …) that point at src/, which is not shipped`,
      );
    }
    const mapComments = filesUnder(installed).filter((path) =>
      /\/[/*][#@] sourceMappingURL=/.test(readFileSync(join(installed, path), 'utf8')),
    );
    if (mapComments.length > 0) {
      throw new Error(
        `shipped files name source maps that are not shipped: ${mapComments.slice(0, 3).join(', ')}`,
      );
    }

    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const example = codeBlock(readme, '<!-- pack-test: example -->');
    if (example === undefined)
      throw new Error('README.md has no <!-- pack-test: example --> block');
    writeFileSync(join(project, 'example.mjs'), example);
    const output = run('node', ['example.mjs'], project);

    const requirable = requirableEntries(manifest);
    writeFileSync(join(project, 'require-check.js'), REQUIRE_CHECK);
    const loaded = run('node', ['require-check.js', JSON.stringify(requirable)], project);

    // The README's CommonJS example runs whenever there is one; a root export with `default`
    // (require() works) must come with one.
    const commonjs = codeBlock(readme, '<!-- pack-test: commonjs -->');
    if (commonjs === undefined && requirable.some((e) => e.specifier === manifest.name)) {
      throw new Error(
        'its root export has a `default` condition (require() works) but README.md has no ' +
          '<!-- pack-test: commonjs --> block showing it',
      );
    }
    let commonjsOutput;
    if (commonjs !== undefined && process.features.require_module) {
      writeFileSync(join(project, 'commonjs-example.js'), commonjs);
      commonjsOutput = run('node', ['commonjs-example.js'], project);
    }

    const bins = Object.keys(
      typeof manifest.bin === 'string' ? { [manifest.name]: manifest.bin } : (manifest.bin ?? {}),
    );
    for (const bin of bins) {
      const help = run('npx', ['--no', '--', bin, '--help'], project);
      if (!help.includes(bin)) throw new Error(`\`npx ${bin} --help\` printed no usage:\n${help}`);
    }

    console.log(
      `pack test: ${manifest.name}@${manifest.version} installed from its tarball ` +
        `(${entries.length} files, no source maps) into a CommonJS project; README example ran:`,
    );
    console.log(output.trimEnd().replace(/^/gm, '    '));
    console.log(loaded.trimEnd().replace(/^/gm, '    '));
    if (commonjsOutput !== undefined) {
      console.log('  README CommonJS example (require) ran:');
      console.log(commonjsOutput.trimEnd().replace(/^/gm, '    '));
    } else if (commonjs !== undefined) {
      console.log(
        `  (Node ${process.version} cannot require() ES modules: CommonJS example not run)`,
      );
    }
    for (const bin of bins) console.log(`  npx ${bin} --help: ok`);
    const peers = checkMissingPeers(project, manifest, bins);
    if (peers !== undefined) console.log(`  without the optional NATS packages: ${peers}`);
    const served = await runServeExample(project, readme);
    if (served !== undefined) {
      console.log('  README service example ran (the server, then the client in two processes):');
      for (const output of served) console.log(output.trimEnd().replace(/^/gm, '    '));
    }
    const typechecked = typecheckReadmeExamples(
      project,
      readFileSync(join(dir, 'README.md'), 'utf8'),
    );
    console.log(`    (${typechecked} README example(s) typecheck as strict TypeScript)`);
  } catch (error) {
    fail(manifest.name, `${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
process.exit(failures === 0 ? 0 : 1);
