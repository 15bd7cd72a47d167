/**
 * Seams extracted by deleting their copies: the module moved into a shared package or crate and
 * the engines' files were removed, rather than reduced to adapters that import it (see
 * extraction.ts for that). A module that is not a seam today is **extracted by removal** when
 * two or more engines, still present at HEAD, lost their copy of it (deleted, or renamed out of
 * the engine) and have none today, and the code they lost is found in one module outside those
 * engines: a file the removal commit added or changed, or the module's one copy left today in
 * another directory (a shared crate that the engine patterns also match). At least half of each
 * lost copy's tokens must be found, in order, in that module, and most of the names it uses. A
 * copy whose code the same commit put elsewhere in its own engine moved, and was not extracted;
 * an engine deleted whole is not an extraction, even when another engine keeps the code.
 */

import type { ModuleIndex } from './extraction.js';
import { commitDiffs, isNullOid, type ObjectReader, type RawChange } from './git.js';
import type { Removal } from './history.js';
import { normalize, TokenTable } from './normalize.js';
import { compareStrings } from './order.js';
import type { ExtractedSeam } from './report.js';
import { lcsLength } from './similarity.js';
import { languageOf, prepareSource } from './source.js';
import type { Language } from './tokenize/token.js';

/** Share of a lost copy's tokens that must be found, in order, in the module it moved to. */
const MIN_FOUND = 0.5;
/** Share of the names a lost copy uses that the module it moved to must use too. */
const MIN_NAMES = 0.6;
/** Files of a removal commit read to find where the code went, at most. */
const MAX_TARGETS = 64;
const TEST_PATH = /(^|\/)(tests?|__tests__)\/|\.(test|spec)\.[cm]?[jt]sx?$|(^|\/|_)tests?\.rs$/;

export interface RemovedSeamOptions {
  readonly cwd: string;
  readonly reader: ObjectReader;
  readonly removals: readonly Removal[];
  /** Today's copies of modules that are not seams (single copies, unwatched ones), by module. */
  readonly remaining: ReadonlyMap<
    string,
    readonly { engine: string; engineDir: string; path: string }[]
  >;
  readonly modules: ModuleIndex;
}

export async function findRemovedSeams(options: RemovedSeamOptions): Promise<ExtractedSeam[]> {
  const bySeam = new Map<string, Map<string, Removal>>();
  for (const removal of options.removals) {
    const engines = bySeam.get(removal.seam) ?? new Map<string, Removal>();
    engines.set(removal.engine, removal); // the last removal per engine
    bySeam.set(removal.seam, engines);
  }
  const found: ExtractedSeam[] = [];
  const diffs = new Map<string, RawChange[]>();
  for (const seam of [...bySeam.keys()].sort(compareStrings)) {
    const remaining = options.remaining.get(seam) ?? [];
    // engines that lost their copy, have none today, and are still there
    const lost: Removal[] = [];
    for (const removal of bySeam.get(seam)!.values()) {
      if (remaining.some((copy) => copy.engine === removal.engine)) continue;
      const dir = await options.reader.read(`HEAD:${removal.engineDir}`);
      if (dir?.type !== 'tree') continue;
      lost.push(removal);
    }
    if (lost.length < 2) continue;
    const lostDirs = new Set(lost.map((removal) => removal.engineDir));
    const outside = (path: string) => ![...lostDirs].some((dir) => path.startsWith(`${dir}/`));
    const commits = [...new Set(lost.map((removal) => removal.commit.hash))].filter(
      (hash) => !diffs.has(hash),
    );
    if (commits.length > 0) {
      const read = await commitDiffs(options.cwd, commits);
      for (const hash of commits) diffs.set(hash, read.get(hash) ?? []);
    }
    // where the code may have gone: files the removal commits added or changed outside the
    // engines that lost it, and the module's copies left today elsewhere; and, to tell a move
    // inside the engine apart, the files the commit added or changed in the engine itself
    const targets = new Map<string, { spec: string; path: string; language: Language }>();
    const inside = new Map<Removal, { spec: string; language: Language }[]>();
    for (const removal of lost) {
      const own: { spec: string; language: Language }[] = [];
      for (const change of diffs.get(removal.commit.hash) ?? []) {
        if (isNullOid(change.newOid) || TEST_PATH.test(change.path)) continue;
        const language = languageOf(change.path);
        if (language !== removal.language) continue;
        if (change.path.startsWith(`${removal.engineDir}/`)) {
          if (own.length < MAX_TARGETS) own.push({ spec: change.newOid, language });
          continue;
        }
        if (!outside(change.path) || targets.size >= MAX_TARGETS) continue;
        targets.set(change.path, { spec: change.newOid, path: change.path, language });
      }
      inside.set(removal, own);
    }
    for (const copy of remaining) {
      const language = languageOf(copy.path);
      if (language === undefined || !outside(copy.path)) continue;
      targets.set(copy.path, { spec: `HEAD:${copy.path}`, path: copy.path, language });
    }
    const table = new TokenTable();
    const read = async (spec: string, language: Language) => {
      const text = (await options.reader.read(spec))?.content.toString('utf8') ?? '';
      const tokens = prepareSource(text, language).tokens;
      return {
        ids: normalize(tokens, 'code', table).ids,
        names: new Set(tokens.filter((token) => token.kind === 'identifier').map((t) => t.text)),
      };
    };
    /**
     * Whether a lost copy's code is in a module: at least half of its tokens in order, and most
     * of the names it uses (a large unrelated file holds half of any small file's punctuation).
     */
    const holds = (
      lostCopy: { ids: Int32Array; names: Set<string> },
      module: { ids: Int32Array; names: Set<string> },
    ) => {
      if (lcsLength(lostCopy.ids, module.ids) < MIN_FOUND * lostCopy.ids.length) return false;
      let named = 0;
      for (const name of lostCopy.names) if (module.names.has(name)) named++;
      return named >= MIN_NAMES * lostCopy.names.size;
    };
    const targetCode = new Map<string, { ids: Int32Array; names: Set<string> }>();
    for (const target of targets.values())
      targetCode.set(target.path, await read(target.spec, target.language));
    // the one module where most of the lost copies are found; a copy whose code stayed in its
    // own engine (moved to another folder of it) was not extracted
    const foundIn = new Map<string, Removal[]>();
    for (const removal of lost) {
      const code = await read(removal.oid, removal.language);
      if (code.ids.length === 0) continue;
      let stayed = false;
      for (const own of inside.get(removal) ?? []) {
        if (holds(code, await read(own.spec, own.language))) {
          stayed = true;
          break;
        }
      }
      if (stayed) continue;
      for (const [path, target] of targetCode) {
        if (!holds(code, target)) continue;
        foundIn.set(path, [...(foundIn.get(path) ?? []), removal]);
      }
    }
    const best = [...foundIn].sort(
      (x, y) => y[1].length - x[1].length || compareStrings(x[0], y[0]),
    )[0];
    if (best === undefined || best[1].length < 2) continue;
    const [path, removals] = best;
    const last = removals.reduce((x, y) => (y.order > x.order ? y : x));
    found.push({
      name: seam,
      commit: last.commit,
      to: (await options.modules.nameOf(path, targets.get(path)!.language)) ?? path,
      files: [path],
      removed: removals
        .map((removal) => ({ engine: removal.engine, path: removal.path }))
        .sort((x, y) => compareStrings(x.engine, y.engine)),
    });
  }
  return found;
}
