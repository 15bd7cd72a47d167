// Generates a synthetic engine-family repository for the seam-report benchmark: `commits` commits
// that touch runtime copies in packages/<engine>/src/runtime/, built in one `git fast-import` run.
// Deterministic (seeded PRNG, fixed dates), so every machine measures the same repository.
//
// The history mixes what seam-report looks for: fixes made to every copy in one commit, fixes
// made to one copy and propagated to the other a few commits (or weeks) later, one-sided
// changes, commits that only touch engine code outside the runtime, and a third engine that
// appears two thirds of the way through.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bump when the generated history changes, so that cached repositories are rebuilt. */
const GENERATOR_VERSION = 2;
const SEAMS = ['fixed-map', 'retire-queue', 'wal', 'wal-file'];
const START = 1_704_067_200; // 2024-01-01T00:00:00Z
const FUNCTIONS_PER_MODULE = 24;
const STATEMENTS_PER_FUNCTION = 6;

/** mulberry32: a small, well-mixed 32-bit PRNG. */
export function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function statement(rand, fn, k) {
  const constant = Math.floor(rand() * 0xffff);
  const forms = [
    `const v${k} = (input[${k}] ?? 0) ^ 0x${constant.toString(16)};`,
    `if (state.count >= ${constant}) return ${k};`,
    `state.total += v${Math.max(0, k - 1)} * ${(constant % 97) + 1};`,
    `for (let i = 0; i < ${(constant % 13) + 1}; i++) state.slots[i] = i + ${k};`,
    `assertRange(state.head, ${constant % 1024}, 'fn${fn} statement ${k}');`,
  ];
  return forms[Math.floor(rand() * forms.length)];
}

/** A module as a list of functions, each a list of statement lines. */
export function newModule(rand) {
  return Array.from({ length: FUNCTIONS_PER_MODULE }, (_, fn) =>
    Array.from({ length: STATEMENTS_PER_FUNCTION }, (_, k) => statement(rand, fn, k)),
  );
}

export function moduleText(seam, functions) {
  const lines = [`/** ${seam}: generated runtime module for the seam-report benchmark. */`, ''];
  functions.forEach((body, fn) => {
    lines.push(`export function step${fn}(state: State, input: number[]): number {`);
    for (const line of body) lines.push(`  ${line}`);
    lines.push('  return state.total;', '}', '');
  });
  return lines.join('\n');
}

/** An edit that can be applied to any copy of a module (the same edit, so mirrors match). */
export function randomEdit(rand, seq) {
  const fn = Math.floor(rand() * FUNCTIONS_PER_MODULE);
  const at = Math.floor(rand() * STATEMENTS_PER_FUNCTION);
  const kind = rand();
  if (kind < 0.5) return { fn, at, op: 'replace', line: statement(rand, fn, at) };
  if (kind < 0.8)
    return { fn, at, op: 'insert', line: `state.guard${seq % 7} = checkBound(state, ${seq});` };
  return { fn, at, op: 'delete' };
}

export function applyEdit(functions, edit) {
  const body = functions[edit.fn];
  const at = Math.min(edit.at, body.length - 1);
  if (edit.op === 'replace') body[at] = edit.line;
  else if (edit.op === 'insert') body.splice(at, 0, edit.line);
  else if (body.length > 2) body.splice(at, 1);
}

/**
 * The fast-import stream for `commits` commits, yielded one commit at a time so that the whole
 * stream (tens of megabytes) never sits in memory at once.
 */
function* generateStream(commits) {
  const rand = random(0x5eed);
  const engines = ['alpha', 'beta'];
  const modules = new Map(); // `${engine}/${seam}` -> functions
  const pending = []; // edits waiting to be propagated: { due, engine, seam, edit }
  let mark = 0;

  const emit = (subject, time, files) => {
    mark++;
    const message = `${subject}\n`;
    let out = `commit refs/heads/main\nmark :${mark}\ncommitter Bench <bench@example.com> ${time} +0000\n`;
    out += `data ${Buffer.byteLength(message)}\n${message}`;
    for (const [path, text] of files)
      out += `M 100644 inline ${path}\ndata ${Buffer.byteLength(text)}\n${text}\n`;
    return `${out}\n`;
  };
  const path = (engine, seam) => `packages/${engine}/src/runtime/${seam}.ts`;
  const text = (engine, seam) => moduleText(seam, modules.get(`${engine}/${seam}`));
  const copyEngine = (engine, from) => {
    for (const seam of SEAMS)
      modules.set(`${engine}/${seam}`, structuredClone(modules.get(`${from}/${seam}`)));
    return SEAMS.map((seam) => [path(engine, seam), text(engine, seam)]);
  };

  for (const seam of SEAMS) modules.set(`alpha/${seam}`, newModule(rand));
  yield emit(
    'alpha engine',
    START,
    SEAMS.map((seam) => [path('alpha', seam), text('alpha', seam)]),
  );
  yield emit('beta engine, runtime copied from alpha', START + 3600, copyEngine('beta', 'alpha'));

  for (let i = 2; i < commits; i++) {
    const time = START + i * 3600;
    if (i === Math.floor((commits * 2) / 3)) {
      engines.push('gamma');
      yield emit('gamma engine, runtime copied from alpha', time, copyEngine('gamma', 'alpha'));
      continue;
    }
    const due = pending.findIndex((p) => p.due <= i);
    const roll = rand();
    if (due !== -1 && roll < 0.5) {
      const [{ engine, seam, edit }] = pending.splice(due, 1);
      applyEdit(modules.get(`${engine}/${seam}`), edit);
      yield emit(`${engine}: propagate ${seam} fix`, time, [
        [path(engine, seam), text(engine, seam)],
      ]);
      continue;
    }
    const seam = SEAMS[Math.floor(rand() * SEAMS.length)];
    const edit = randomEdit(rand, i);
    if (roll < 0.3) {
      for (const engine of engines) applyEdit(modules.get(`${engine}/${seam}`), edit);
      yield emit(
        `fix ${seam} in every engine`,
        time,
        engines.map((engine) => [path(engine, seam), text(engine, seam)]),
      );
    } else if (roll < 0.85) {
      const engine = engines[Math.floor(rand() * engines.length)];
      applyEdit(modules.get(`${engine}/${seam}`), edit);
      yield emit(`${engine}: ${seam} change`, time, [[path(engine, seam), text(engine, seam)]]);
      if (rand() < 0.4) {
        for (const other of engines) {
          if (other === engine) continue;
          // most propagations follow within hours; some weeks later
          const delay = rand() < 0.7 ? 1 + Math.floor(rand() * 8) : 100 + Math.floor(rand() * 400);
          pending.push({ due: i + delay, engine: other, seam, edit });
        }
      }
    } else {
      const engine = engines[Math.floor(rand() * engines.length)];
      yield emit(`${engine}: domain work`, time, [
        [`packages/${engine}/src/domain.ts`, `export const revision = ${i};\n`],
      ]);
    }
  }
}

/** A generated repository with `commits` commits, cached under the OS temp directory. */
export async function generatedRepository(commits) {
  return cachedRepository(`seam-report-bench-${commits}-v${GENERATOR_VERSION}`, () =>
    generateStream(commits),
  );
}

/**
 * A repository built from a stream of fast-import commits, cached under the OS temp directory
 * by `name` (the generators are deterministic: the same name is the same repository).
 */
export async function cachedRepository(name, stream) {
  const dir = join(tmpdir(), name);
  const marker = join(dir, '.generated');
  if (existsSync(marker)) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  const child = spawn('git', ['fast-import', '--quiet'], {
    cwd: dir,
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`git fast-import exited ${code}`)),
    );
  });
  let batch = '';
  for (const commit of stream()) {
    batch += commit;
    if (batch.length < 1 << 20) continue;
    if (!child.stdin.write(batch)) await once(child.stdin, 'drain');
    batch = '';
  }
  child.stdin.end(batch);
  await done;
  execFileSync('git', ['checkout', '-q', '-f', 'main'], { cwd: dir });
  writeFileSync(marker, `${name}\n`);
  // keep the marker out of the repository's view of itself
  writeFileSync(join(dir, '.git', 'info', 'exclude'), '.generated\n');
  return dir;
}
