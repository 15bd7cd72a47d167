/**
 * Configuration entries that match nothing. Each is a mistake that would otherwise be silent:
 * a `never` entry naming no module (so the seam it meant is told "Extract now"), a `seams` entry
 * for a module that does not exist, an engine pattern or a seam path that finds no copy, an
 * `exclude` or `!pattern` that leaves nothing out. Only entries the user wrote are checked:
 * defaults (`priority`'s seed order, the layout presets) never warn. `--strict` turns these
 * warnings into a configuration error.
 */
import { closest, type ResolvedConfig } from './config.js';
import type { CopyMatcher, Discovery } from './discover.js';
import { sortedStrings } from './order.js';

export interface WarningInputs {
  readonly config: ResolvedConfig;
  readonly matcher: CopyMatcher;
  /** Every candidate path of the tree analysed (the working tree). */
  readonly paths: readonly string[];
  readonly discovery: Discovery;
  /** Seams extracted by deleting their copies: naming one is no mistake. */
  readonly extracted?: ReadonlySet<string>;
}

export function configWarnings({
  config,
  matcher,
  paths,
  discovery,
  extracted = new Set(),
}: WarningInputs): string[] {
  const warnings: string[] = [];
  const given = (key: string) => config.given.has(key);
  const enginesMatched = new Set<number>();
  const seamPathsMatched = new Set<number>();
  const dropped = new Set<string>();
  for (const path of paths) {
    const detail = matcher.inspect(path);
    if (detail.enginePattern !== undefined) enginesMatched.add(detail.enginePattern);
    if (detail.seamPath !== undefined && detail.location !== undefined)
      seamPathsMatched.add(detail.seamPath);
    if (detail.dropped) dropped.add(`${detail.dropped.by}\u0000${detail.dropped.entry}`);
  }

  const modules = new Set<string>([
    ...discovery.engines.flatMap((engine) => engine.modules),
    ...discovery.seams.keys(),
    ...extracted,
  ]);
  const known = sortedStrings(modules);
  const suggestion = (name: string) => {
    const near = closest(name, known);
    return near === undefined ? '' : `; did you mean ${near}?`;
  };
  const where = `in ${config.sourceLabel}`;

  if (given('engines')) {
    config.engines.forEach((entry, index) => {
      if (entry.startsWith('!')) {
        if (!dropped.has(`engines\u0000${entry}`))
          warnings.push(`engines entry "${entry}" leaves out no engine directory ${where}`);
      } else if (!enginesMatched.has(index)) {
        warnings.push(
          `engines entry "${entry}" matches no directory with a copy under the seam paths ${where}`,
        );
      }
    });
  }
  if (given('seamPaths')) {
    config.seamPaths.forEach((entry, index) => {
      if (!seamPathsMatched.has(index))
        warnings.push(`seamPaths entry "${entry}" matches no file in any engine ${where}`);
    });
  }
  for (const glob of config.generated) {
    if (!dropped.has(`generated\u0000${glob}`))
      warnings.push(`generated entry "${glob}" matches no copy ${where}`);
  }
  if (given('exclude')) {
    for (const entry of config.exclude) {
      if (!dropped.has(`exclude\u0000${entry}`))
        warnings.push(`exclude entry "${entry}" leaves out no module ${where}`);
    }
  }
  const present = new Set(paths);
  for (const seam of config.seams ?? []) {
    if (!modules.has(seam))
      warnings.push(`seams entry "${seam}" matches no module ${where}${suggestion(seam)}`);
  }
  for (const group of config.fileGroups) {
    const missing = group.files.filter((file) => !present.has(file));
    for (const file of missing)
      warnings.push(`seams entry "${group.name}": file ${file} does not exist ${where}`);
    if (group.files.length - missing.length < 2)
      warnings.push(
        `seams entry "${group.name}" has fewer than two files, so it is not compared ${where}`,
      );
    if (discovery.engines.some((engine) => engine.modules.includes(group.name)))
      warnings.push(
        `seams entry "${group.name}" (a file group) has the name of a module found in the engines; the file group wins ${where}`,
      );
  }
  for (const name of config.never) {
    if (!modules.has(name))
      warnings.push(`never entry "${name}" matches no module ${where}${suggestion(name)}`);
  }
  if (given('priority')) {
    for (const name of config.priority) {
      if (!modules.has(name))
        warnings.push(`priority entry "${name}" matches no module ${where}${suggestion(name)}`);
    }
  }
  if (given('triggers.stable_across_slices.seams')) {
    for (const name of config.triggers.stable_across_slices.seams) {
      if (!modules.has(name))
        warnings.push(
          `triggers.stable_across_slices.seams entry "${name}" matches no module ${where}${suggestion(name)}`,
        );
    }
  }
  for (const clash of discovery.clashes) {
    warnings.push(
      `engine ${clash.engine} has two files for module ${clash.seam} (${clash.paths[0]} and ${clash.paths[1]}); ${clash.seam} is not a watched seam, so only ${clash.paths[0]} is listed (narrow "seamPaths" to tell them apart)`,
    );
  }
  return warnings;
}
