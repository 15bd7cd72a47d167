/**
 * Blocks shared by two files of one engine: a framing, a check or a loop pasted from one module
 * into another (`runtime/config-file.ts` and `runtime/snapshot-file.ts` repeating the same header
 * checks under other names). The seams compare each module with its copies in other engines; a
 * block duplicated inside one engine is invisible to that, and is maintained twice all the same.
 *
 * Each engine's files (the copies of every seam) are compared at the `shape` level (names and
 * literals as placeholders, so `ConfigFileError` and `SnapshotFileError` read alike): runs of at
 * least `discover.blockTokens` tokens that two files of the engine share, found from shared
 * 16-token windows and extended as far as the two files agree, are kept when their real tokens
 * are at least half alike (the shape of `export const A = 1;` repeated is not a block anyone
 * pasted). A block found at the same lines of the same two modules in several engines is listed
 * once, with the engines that have it, and where it is in the first of them.
 */
import { normalize, TokenTable } from './normalize.js';
import { compareStrings } from './order.js';
import type { SharedBlock } from './report.js';
import { roundRatio, similarityRatio } from './similarity.js';
import type { PreparedSource } from './source.js';

/** Tokens of the window that seeds a block. */
const WINDOW = 16;
/** A window seen more often than this in one engine is boilerplate, not a seed. */
const MAX_SEEDS = 64;
/** The real tokens of the two sides of a block must be at least this alike. */
const MIN_SIMILARITY = 0.5;

export interface EngineFile {
  readonly seam: string;
  readonly path: string;
  readonly source: PreparedSource;
}

interface Prepared {
  readonly file: EngineFile;
  readonly shape: Int32Array;
  readonly code: Int32Array;
  readonly lines: Int32Array;
}

interface Found {
  readonly a: number;
  readonly b: number;
  readonly aStart: number;
  readonly bStart: number;
  readonly length: number;
  readonly similarity: number;
}

export function sharedBlocks(
  engines: ReadonlyMap<string, readonly EngineFile[]>,
  minTokens: number,
): SharedBlock[] {
  const table = new TokenTable();
  const bySource = new Map<PreparedSource, Omit<Prepared, 'file'>>();
  const prepare = (file: EngineFile): Prepared => {
    let known = bySource.get(file.source);
    if (known === undefined) {
      const code = normalize(file.source.tokens, 'code', table);
      const lines = new Int32Array(code.tokens.length);
      code.tokens.forEach((token, i) => {
        lines[i] = token.line;
      });
      known = { shape: normalize(file.source.tokens, 'shape', table).ids, code: code.ids, lines };
      bySource.set(file.source, known);
    }
    return { file, ...known };
  };
  /** The blocks of a set of files, by their seams and contents: engines alike share them. */
  const memo = new Map<string, Found[]>();
  const results = new Map<string, { block: SharedBlock; engines: string[] }>();
  for (const engine of [...engines.keys()].sort(compareStrings)) {
    const files = [...engines.get(engine)!]
      .sort((x, y) => compareStrings(x.seam, y.seam))
      .map(prepare);
    if (files.length < 2) continue;
    const key = files.map((file) => `${file.file.seam}:${contentKey(file)}`).join('\u0000');
    let found = memo.get(key);
    if (found === undefined) {
      found = blocksIn(files, minTokens);
      memo.set(key, found);
    }
    for (const block of found) {
      const a = files[block.a]!;
      const b = files[block.b]!;
      const id = `${key}\u0000${block.a}\u0000${block.b}\u0000${block.aStart}\u0000${block.bStart}`;
      const known = results.get(id);
      if (known !== undefined) {
        known.engines.push(engine);
        continue;
      }
      results.set(id, {
        engines: [engine],
        block: {
          files: [a.file.seam, b.file.seam],
          engines: [],
          tokens: block.length,
          similarity: block.similarity,
          at: [
            {
              path: a.file.path,
              start: a.lines[block.aStart]!,
              end: a.lines[block.aStart + block.length - 1]!,
            },
            {
              path: b.file.path,
              start: b.lines[block.bStart]!,
              end: b.lines[block.bStart + block.length - 1]!,
            },
          ],
        },
      });
    }
  }
  // engines whose files differ elsewhere (in their names) may still share the same block, at
  // the same lines: one entry
  const merged = new Map<string, SharedBlock & { engines: string[] }>();
  for (const { block, engines } of results.values()) {
    const id = [
      ...block.files,
      block.tokens,
      ...block.at.map((where) => `${where.start}-${where.end}`),
    ].join('\u0000');
    const known = merged.get(id);
    if (known === undefined) merged.set(id, { ...block, engines: [...engines] });
    else known.engines.push(...engines);
  }
  return [...merged.values()]
    .map((block) => ({ ...block, engines: [...new Set(block.engines)].sort(compareStrings) }))
    .sort(
      (x, y) =>
        y.engines.length - x.engines.length ||
        y.tokens - x.tokens ||
        compareStrings(x.files.join(), y.files.join()),
    );
}

const contentKeys = new WeakMap<Int32Array, string>();
function contentKey(file: Prepared): string {
  let key = contentKeys.get(file.code);
  if (key === undefined) {
    let a = 0x811c9dc5;
    let b = file.code.length;
    for (let i = 0; i < file.code.length; i++) {
      a = Math.imul(a ^ file.code[i]!, 0x01000193);
      b = Math.imul(b ^ (file.code[i]! + 0x9e3779b9), 0x85ebca6b) ^ (b >>> 13);
    }
    key = `${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}.${file.code.length}`;
    contentKeys.set(file.code, key);
  }
  return key;
}

/** Maximal runs of at least `minTokens` shape tokens shared by two different files. */
function blocksIn(files: readonly Prepared[], minTokens: number): Found[] {
  const seeds = new Map<number, number[]>();
  files.forEach((file, f) => {
    for (let i = 0; i + WINDOW <= file.shape.length; i++) {
      const hash = windowHash(file.shape, i);
      const list = seeds.get(hash) ?? [];
      if (list.length <= MAX_SEEDS * 2) list.push(f, i);
      seeds.set(hash, list);
    }
  });
  const found: Found[] = [];
  const covered = new Set<string>();
  for (const list of seeds.values()) {
    if (list.length < 4 || list.length > MAX_SEEDS * 2) continue;
    for (let x = 0; x < list.length; x += 2) {
      for (let y = x + 2; y < list.length; y += 2) {
        const [fa, ia, fb, ib] = [list[x]!, list[x + 1]!, list[y]!, list[y + 1]!];
        if (fa === fb) continue;
        const a = files[fa]!;
        const b = files[fb]!;
        // start where the agreement starts (a seed inside a run belongs to that run)
        let s = 0;
        while (ia - s > 0 && ib - s > 0 && a.shape[ia - s - 1] === b.shape[ib - s - 1]) s++;
        const aStart = ia - s;
        const bStart = ib - s;
        const id = `${fa}:${fb}:${aStart}:${bStart}`;
        if (covered.has(id)) continue;
        covered.add(id);
        let length = 0;
        while (
          aStart + length < a.shape.length &&
          bStart + length < b.shape.length &&
          a.shape[aStart + length] === b.shape[bStart + length]
        )
          length++;
        if (length < minTokens) continue;
        const similarity = roundRatio(
          similarityRatio(
            a.code.subarray(aStart, aStart + length),
            b.code.subarray(bStart, bStart + length),
          ),
        );
        if (similarity < MIN_SIMILARITY) continue;
        found.push({ a: fa, b: fb, aStart, bStart, length, similarity });
      }
    }
  }
  return found.sort((x, y) => x.a - y.a || x.b - y.b || x.aStart - y.aStart);
}

function windowHash(ids: Int32Array, at: number): number {
  let hash = 0x811c9dc5;
  for (let i = at; i < at + WINDOW; i++) hash = Math.imul(hash ^ ids[i]!, 0x01000193);
  return hash >>> 0;
}
