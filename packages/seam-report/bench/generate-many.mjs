// Generates the many-copies repository of the seam-report benchmark: 400 engines
// (packages/pkg-000 … pkg-399), each with the same four runtime copies (`fixed-map`,
// `retire-queue`, `wal`, `wal-file`, about 220 lines each), built in a few dozen commits with one
// `git fast-import` run. Deterministic (seeded PRNG, fixed dates), so every machine measures the
// same repository.
//
// The history is what a monorepo with hundreds of copies goes through: the first engine, the
// others copied from it in four batches, then, one commit a day, fixes made to every copy in
// step (lockstep), fixes rolled out to a subset of copies, one-sided changes, constants changed in
// a few copies, copies rewritten into outliers, and engine work outside the runtime. Each engine
// also carries a file identical in all of them outside the seam paths (`src/engine/errors.ts`,
// for the discovery of unwatched copies) and a file named alike in all of them whose contents
// have nothing in common (`src/board.ts`).
import { cachedRepository, moduleText, newModule, random, statement } from './generate-repo.mjs';

/** Bump when the generated history changes, so that cached repositories are rebuilt. */
const GENERATOR_VERSION = 1;
const SEAMS = ['fixed-map', 'retire-queue', 'wal', 'wal-file'];
const START = 1_704_067_200; // 2024-01-01T00:00:00Z
const DAY = 86_400;
/** Commits after the copies are made: one a day, in a fixed rotation of kinds. */
const WORK_COMMITS = 36;

const ERRORS_TS = `/** Errors of the engine shell: the same file in every engine. */
export class EngineClosedError extends Error {
  readonly code = 'engine_closed';
  constructor(what: string) {
    super(\`\${what}: the engine is closed; open it again before submitting\`);
  }
}

export class OverloadedError extends Error {
  readonly code = 'overloaded';
  constructor(readonly queued: number, readonly limit: number) {
    super(\`the submission queue holds \${queued} of \${limit} commands; retry later\`);
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof OverloadedError;
}
`;

/** A file named alike in every engine, with contents of its own (not a copy). */
function boardText(rand, engine) {
  const lines = [`/** ${engine}'s board wiring. */`];
  for (let i = 0; i < 12; i++) {
    const pin = Math.floor(rand() * 1_000_000);
    lines.push(
      `export const pin${engine.replace(/\W/g, '')}_${pin.toString(36)} = configure(${pin}, '${pin.toString(16)}');`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function* manyCopiesStream(engineCount) {
  const rand = random(0x400c);
  const engines = Array.from(
    { length: engineCount },
    (_, i) => `pkg-${String(i).padStart(3, '0')}`,
  );
  const modules = new Map(); // `${engine}/${seam}` -> functions
  const outliers = new Map(SEAMS.map((seam) => [seam, new Set()]));
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
  const file = (engine, seam) => [path(engine, seam), text(engine, seam)];
  const pick = (count, from) => {
    const pool = [...from];
    const chosen = [];
    while (chosen.length < count && pool.length > 0)
      chosen.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]);
    return chosen.sort();
  };
  const engineFiles = (engine) => [
    [`packages/${engine}/src/engine/errors.ts`, ERRORS_TS],
    [`packages/${engine}/src/board.ts`, boardText(rand, engine)],
    [`packages/${engine}/src/domain.ts`, `export const revision = 0;\n`],
  ];
  /** The same statement replaced at the same place in each given copy. */
  const edit = (seam, targets, seq) => {
    const fn = Math.floor(rand() * 24);
    const at = Math.floor(rand() * 6);
    const line =
      rand() < 0.5 ? statement(rand, fn, at) : `state.guard${seq % 5} = checkBound(state, ${seq});`;
    const insert = rand() < 0.5;
    for (const engine of targets) {
      const body = modules.get(`${engine}/${seam}`)[fn];
      if (insert) body.splice(Math.min(at, body.length), 0, line);
      else body[Math.min(at, body.length - 1)] = line;
    }
    return targets.map((engine) => file(engine, seam));
  };

  const first = engines[0];
  for (const seam of SEAMS) modules.set(`${first}/${seam}`, newModule(rand));
  let time = START;
  yield emit(`${first}: runtime`, time, [
    ...SEAMS.map((seam) => file(first, seam)),
    ...engineFiles(first),
  ]);
  const rest = engines.slice(1);
  const batch = Math.ceil(rest.length / 4);
  for (let b = 0; b * batch < rest.length; b++) {
    time += DAY;
    const copied = rest.slice(b * batch, (b + 1) * batch);
    const files = [];
    for (const engine of copied) {
      for (const seam of SEAMS) {
        modules.set(`${engine}/${seam}`, structuredClone(modules.get(`${first}/${seam}`)));
        files.push(file(engine, seam));
      }
      files.push(...engineFiles(engine));
    }
    yield emit(`${copied[0]} … ${copied.at(-1)}: copy the runtime from ${first}`, time, files);
  }

  for (let i = 0; i < WORK_COMMITS; i++) {
    time += DAY;
    const seam = SEAMS[Math.floor(i / 6) % SEAMS.length];
    const inStep = engines.filter((engine) => !outliers.get(seam).has(engine));
    switch (i % 6) {
      case 0:
        yield emit(`fix ${seam} in every engine`, time, edit(seam, inStep, i));
        break;
      case 1: {
        const targets = pick(Math.max(2, Math.floor(engineCount / 10)), inStep);
        yield emit(
          `roll out a ${seam} change to ${targets.length} engines`,
          time,
          edit(seam, targets, i),
        );
        break;
      }
      case 2: {
        const [engine] = pick(1, inStep);
        yield emit(`${engine}: ${seam} change`, time, edit(seam, [engine], i));
        break;
      }
      case 3: {
        // a constant changed in a few copies: same shape, another literal
        const targets = pick(3, inStep);
        const fn = Math.floor(rand() * 24);
        const value = 1000 + i;
        const files = [];
        for (const engine of targets) {
          const functions = modules.get(`${engine}/${seam}`);
          functions[fn] = functions[fn].map((line) => line.replace(/\b\d+\b/, String(value)));
          files.push(file(engine, seam));
        }
        yield emit(`${targets.join(', ')}: ${seam} limit ${value}`, time, files);
        break;
      }
      case 4: {
        // a copy rewritten: two thirds of its functions replaced, an outlier from now on
        const [engine] = pick(1, inStep);
        const functions = modules.get(`${engine}/${seam}`);
        const fresh = newModule(rand);
        for (let fn = 0; fn < functions.length; fn++) if (fn % 3 !== 0) functions[fn] = fresh[fn];
        outliers.get(seam).add(engine);
        yield emit(`${engine}: rewrite ${seam}`, time, [file(engine, seam)]);
        break;
      }
      default: {
        const targets = pick(10, engines);
        yield emit(
          'engine work outside the runtime',
          time,
          targets.map((engine) => [
            `packages/${engine}/src/domain.ts`,
            `export const revision = ${i};\n`,
          ]),
        );
      }
    }
  }
}

/** The many-copies repository (`engines` engines × 4 copies), cached under the OS temp directory. */
export async function manyCopiesRepository(engines = 400) {
  return cachedRepository(`seam-report-bench-many-${engines}-v${GENERATOR_VERSION}`, () =>
    manyCopiesStream(engines),
  );
}
