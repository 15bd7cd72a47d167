/**
 * Configuration: `seam-report.config.json` at the repository root, else the `seamReport` key of
 * the root `package.json`, else the defaults below. Every value is validated here, with a
 * message naming the key, what it must be and what was found, so that a typo fails loudly
 * instead of silently measuring the wrong thing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './errors.js';
import { CLASSIFICATIONS, type Classification, type SliceMode } from './report.js';
import { languageOf, SUPPORTED_EXTENSIONS } from './source.js';

/** The configuration as a user writes it: every key optional. */
export interface SeamReportConfig {
  /** Presets for `engines` and `seamPaths`: `typescript`, `rust`, or `auto` (both; default). */
  layout?: 'auto' | 'typescript' | 'rust';
  /** Engine directories, relative to the root; `*` matches one path segment, `**` any number. */
  engines?: string[];
  /** Where a seam's copy lives inside an engine directory; `<seam>` stands for the module name. */
  seamPaths?: string[];
  /**
   * Seams to watch; default: every module present in two or more engines. An entry is a module
   * name, or a file group `{ name, files }` for copies the engine × path grid cannot express
   * (same-directory forks, copies under unrelated paths).
   */
  seams?: (string | { name: string; files: string[] })[];
  /** Module names that are never seams (entry points, not copies). */
  exclude?: string[];
  /** Seams that must stay engine-local whatever the numbers say. */
  never?: string[];
  /** Extraction order, first = smallest mechanical move; unlisted seams follow. */
  priority?: string[];
  thresholds?: {
    similar?: number;
    copyEvent?: number;
    mirrorMatch?: number;
    mirrorWindowDays?: number;
    driftInStep?: Classification;
  };
  triggers?: {
    repeated_fix?: { mirroredChanges?: number };
    stable_across_slices?: { seams?: string[]; slices?: number };
    third_engine?: { copies?: number };
    maintenance_cost?: {
      windowDays?: number | null;
      multiCopyChanges?: number;
      oneSidedChanges?: number;
      repeatedLines?: number;
    };
  };
  slices?:
    | { by: 'first-parent' }
    | { by: 'tags'; pattern?: string }
    | { by: 'release-commits'; subject: string };
}

/** The configuration after defaults; seam names normalised to snake_case. */
export interface ResolvedConfig {
  readonly source: string;
  readonly engines: readonly string[];
  readonly seamPaths: readonly string[];
  /** Grid seams to watch (module names), or null for every module in two or more engines. */
  readonly seams: readonly string[] | null;
  /** Seams declared as explicit file groups. */
  readonly fileGroups: readonly FileGroup[];
  readonly exclude: readonly string[];
  readonly never: readonly string[];
  readonly priority: readonly string[];
  readonly thresholds: {
    readonly similar: number;
    readonly copyEvent: number;
    readonly mirrorMatch: number;
    readonly mirrorWindowDays: number;
    readonly driftInStep: Classification;
  };
  readonly triggers: {
    readonly repeated_fix: { readonly mirroredChanges: number };
    readonly stable_across_slices: { readonly seams: readonly string[]; readonly slices: number };
    readonly third_engine: { readonly copies: number };
    readonly maintenance_cost: {
      readonly windowDays: number | null;
      readonly multiCopyChanges: number;
      readonly oneSidedChanges: number;
      readonly repeatedLines: number;
    };
  };
  readonly slices: SliceMode;
  /**
   * The keys the user wrote (dotted paths for nested ones, e.g. `triggers.stable_across_slices.seams`):
   * only those are checked for entries that match nothing; defaults never warn.
   */
  readonly given: ReadonlySet<string>;
}

/** A seam declared by its files: each file is a copy, named by its shortest distinguishing path. */
export interface FileGroup {
  readonly name: string;
  /** Paths relative to the repository root, in the order given. */
  readonly files: readonly string[];
}

export const CONFIG_FILE_NAME = 'seam-report.config.json';
export const PACKAGE_JSON_KEY = 'seamReport';

const LAYOUTS = {
  typescript: {
    engines: ['packages/*'],
    seamPaths: [
      'src/runtime/<seam>.ts',
      'src/runtime/<seam>.mts',
      'src/runtime/<seam>.js',
      'src/runtime/<seam>.mjs',
    ],
  },
  rust: { engines: ['crates/*'], seamPaths: ['src/<seam>.rs'] },
} as const;

/** The defaults, straight from the seed document's triggers and extraction order. */
export const DEFAULTS = {
  exclude: ['index', 'lib', 'main', 'mod'],
  priority: ['retire_queue', 'fixed_map', 'wal', 'wal_file'],
  thresholds: {
    similar: 0.8,
    copyEvent: 0.8,
    mirrorMatch: 0.7,
    // a week-later mirror of a fix is a late propagation, not routine mirroring
    mirrorWindowDays: 2,
    driftInStep: 'similar' as Classification,
  },
  triggers: {
    repeated_fix: { mirroredChanges: 2 },
    stable_across_slices: { seams: ['fixed_map', 'wal', 'wal_file'], slices: 3 },
    third_engine: { copies: 3 },
    maintenance_cost: {
      windowDays: null,
      multiCopyChanges: 3,
      oneSidedChanges: 2,
      repeatedLines: 100,
    },
  },
} as const;

/**
 * The one naming rule for seams, applied to module file names and to every name in the
 * configuration alike: snake_case. `wal-file` (a TypeScript file name), `wal_file` (Rust, the
 * seed), `walFile` and `WalFile` all name the seam `wal_file`; `CRC32C` is `crc32c`,
 * `HTTPServer` is `http_server`.
 */
export function seamName(moduleName: string): string {
  return moduleName
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/([0-9])([A-Z][a-z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[-\s.]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '')
    .toLowerCase();
}

/**
 * Loads the configuration for `root`: an explicit file, else the config file, else the
 * package.json key, else defaults. `inline` (from the library API) wins over all files.
 */
export async function loadConfig(
  root: string,
  options: { configPath?: string; inline?: SeamReportConfig } = {},
): Promise<ResolvedConfig> {
  if (options.inline !== undefined) return resolveConfig(options.inline, 'inline configuration');
  if (options.configPath !== undefined) {
    const text = await readConfigFile(options.configPath, true);
    return resolveConfig(parseJson(text!, options.configPath), options.configPath);
  }
  const configFile = join(root, CONFIG_FILE_NAME);
  const text = await readConfigFile(configFile, false);
  if (text !== undefined) return resolveConfig(parseJson(text, configFile), configFile);
  const packageFile = join(root, 'package.json');
  const packageText = await readConfigFile(packageFile, false);
  if (packageText !== undefined) {
    const manifest = parseJson(packageText, packageFile);
    if (isRecord(manifest) && manifest[PACKAGE_JSON_KEY] !== undefined) {
      return resolveConfig(manifest[PACKAGE_JSON_KEY], `${packageFile}#${PACKAGE_JSON_KEY}`);
    }
  }
  return resolveConfig({}, 'defaults');
}

async function readConfigFile(path: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    throw new ConfigError(
      'config_unreadable',
      path,
      code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(error)})`,
      code === 'ENOENT'
        ? 'Check the path given to --config, or leave --config out to use seam-report.config.json or the defaults.'
        : 'Make the file readable by the user running seam-report.',
      { cause: error },
    );
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    throw new ConfigError(
      'config_unreadable',
      file,
      `not valid JSON (${describeJsonError(text, message)})`,
      'Fix the JSON syntax: a trailing comma, a comment or a missing quote is the usual cause.',
      { cause: error },
    );
  }
}

/** Node reports a character position; people want a line and a column. */
function describeJsonError(text: string, message: string): string {
  const position = /position (\d+)/.exec(message);
  if (position === null) return message;
  const offset = Number(position[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${message.replace(/ in JSON at position \d+.*$/, '')} at line ${line}, column ${column}`;
}

// ---------------------------------------------------------------------------------------------
// Validation

const TOP_KEYS = [
  'layout',
  'engines',
  'seamPaths',
  'seams',
  'exclude',
  'never',
  'priority',
  'thresholds',
  'triggers',
  'slices',
  '$schema',
];
const THRESHOLD_KEYS = ['similar', 'copyEvent', 'mirrorMatch', 'mirrorWindowDays', 'driftInStep'];
const TRIGGER_KEYS: Record<string, readonly string[]> = {
  repeated_fix: ['mirroredChanges'],
  stable_across_slices: ['seams', 'slices'],
  third_engine: ['copies'],
  maintenance_cost: ['windowDays', 'multiCopyChanges', 'oneSidedChanges', 'repeatedLines'],
};

/** Validates user configuration and fills in defaults. `source` names it in error messages. */
export function resolveConfig(input: unknown, source: string): ResolvedConfig {
  const file = source === 'defaults' || source === 'inline configuration' ? undefined : source;
  const fail = (message: string, hint: string): never => {
    throw new ConfigError('config_invalid', file, message, hint);
  };
  if (!isRecord(input)) {
    return fail(
      `the configuration must be a JSON object, got ${describe(input)}`,
      'Write an object such as {"never": ["snapshot"]}, or {} for the defaults.',
    );
  }
  checkKeys(input, TOP_KEYS, '', fail);

  const layout = input.layout ?? 'auto';
  if (layout !== 'auto' && layout !== 'typescript' && layout !== 'rust') {
    fail(
      `layout must be "auto", "typescript" or "rust", got ${describe(layout)}`,
      'Use "rust" for crates/<engine>/src/<seam>.rs, "typescript" for packages/<engine>/src/runtime/<seam>.ts.',
    );
  }
  const presets =
    layout === 'auto' ? [LAYOUTS.typescript, LAYOUTS.rust] : [LAYOUTS[layout as 'rust']];
  const engines =
    stringList(input, 'engines', fail) ?? presets.flatMap((preset) => [...preset.engines]);
  const seamPaths =
    stringList(input, 'seamPaths', fail) ?? presets.flatMap((preset) => [...preset.seamPaths]);
  for (const engine of engines) checkEnginePattern(engine, fail);
  for (const seamPath of seamPaths) checkSeamPath(seamPath, fail);

  const thresholds = optionalRecord(input, 'thresholds', fail) ?? {};
  checkKeys(thresholds, THRESHOLD_KEYS, 'thresholds.', fail);
  const triggers = optionalRecord(input, 'triggers', fail) ?? {};
  checkKeys(triggers, Object.keys(TRIGGER_KEYS), 'triggers.', fail);
  const trigger = (name: string): Record<string, unknown> => {
    const value = optionalRecord(triggers, name, fail, 'triggers.') ?? {};
    checkKeys(value, TRIGGER_KEYS[name]!, `triggers.${name}.`, fail);
    return value;
  };
  const repeatedFix = trigger('repeated_fix');
  const stable = trigger('stable_across_slices');
  const third = trigger('third_engine');
  const maintenance = trigger('maintenance_cost');
  const d = DEFAULTS;

  const driftInStep = thresholds.driftInStep ?? d.thresholds.driftInStep;
  if (!CLASSIFICATIONS.includes(driftInStep as Classification)) {
    fail(
      `thresholds.driftInStep must be one of ${CLASSIFICATIONS.join(', ')}, got ${describe(driftInStep)}`,
      'It is the weakest classification at the base for which a one-sided change is reported as drift.',
    );
  }
  const windowDays = maintenance.windowDays;
  if (windowDays !== undefined && windowDays !== null) {
    number(maintenance, 'windowDays', { min: 0 }, 'triggers.maintenance_cost.', fail);
  }

  const { seams, fileGroups } = seamEntries(input.seams, fail);
  const names = (
    key: string,
    fallback: readonly string[] | undefined,
    record: Record<string, unknown> = input,
    path = '',
  ) => {
    const list = stringList(record, key, fail, path);
    if (list === undefined) return fallback === undefined ? [] : [...fallback];
    return list.map((entry) => checkedSeamName(entry, `${path}${key}`, fail));
  };
  return {
    source,
    engines,
    seamPaths,
    seams,
    fileGroups,
    exclude: names('exclude', d.exclude),
    never: names('never', undefined),
    priority: names('priority', d.priority),
    thresholds: {
      similar: ratio(thresholds, 'similar', d.thresholds.similar, fail),
      copyEvent: ratio(thresholds, 'copyEvent', d.thresholds.copyEvent, fail),
      mirrorMatch: ratio(thresholds, 'mirrorMatch', d.thresholds.mirrorMatch, fail),
      mirrorWindowDays:
        number(thresholds, 'mirrorWindowDays', { min: 0 }, 'thresholds.', fail) ??
        d.thresholds.mirrorWindowDays,
      driftInStep: driftInStep as Classification,
    },
    triggers: {
      repeated_fix: {
        mirroredChanges:
          count(repeatedFix, 'mirroredChanges', 'repeated_fix', fail) ??
          d.triggers.repeated_fix.mirroredChanges,
      },
      stable_across_slices: {
        seams: names(
          'seams',
          d.triggers.stable_across_slices.seams,
          stable,
          'triggers.stable_across_slices.',
        ),
        slices:
          count(stable, 'slices', 'stable_across_slices', fail) ??
          d.triggers.stable_across_slices.slices,
      },
      third_engine: {
        copies: count(third, 'copies', 'third_engine', fail) ?? d.triggers.third_engine.copies,
      },
      maintenance_cost: {
        windowDays: (windowDays as number | null | undefined) ?? null,
        multiCopyChanges:
          count(maintenance, 'multiCopyChanges', 'maintenance_cost', fail) ??
          d.triggers.maintenance_cost.multiCopyChanges,
        oneSidedChanges:
          count(maintenance, 'oneSidedChanges', 'maintenance_cost', fail) ??
          d.triggers.maintenance_cost.oneSidedChanges,
        repeatedLines:
          count(maintenance, 'repeatedLines', 'maintenance_cost', fail) ??
          d.triggers.maintenance_cost.repeatedLines,
      },
    },
    slices: sliceMode(input.slices, fail),
    given: givenKeys(input),
  };
}

/** The keys present in the user's configuration, nested ones as dotted paths. */
function givenKeys(input: Record<string, unknown>): Set<string> {
  const given = new Set<string>();
  const visit = (record: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(record)) {
      given.add(`${prefix}${key}`);
      if (isRecord(value) && prefix.split('.').length < 3) visit(value, `${prefix}${key}.`);
    }
  };
  visit(input, '');
  return given;
}

/** A seam name from the configuration, in the one naming rule (see `seamName`). */
function checkedSeamName(entry: string, key: string, fail: Fail): string {
  if (entry.startsWith('!')) {
    fail(
      `${key} entry "${entry}" is negated, but ${key} lists seam names and cannot negate`,
      key === 'exclude'
        ? 'List the module names to leave out, without "!".'
        : 'Remove the entry, or list the module in "exclude" to leave it out entirely.',
    );
  }
  const name = seamName(entry);
  if (!/^[a-z0-9_]+$/.test(name)) {
    fail(
      `${key} entry "${entry}" is not a module name`,
      'A seam is named by its module file without extension: "wal_file", "wal-file", "walFile" and "WalFile" all name wal_file.',
    );
  }
  return name;
}

/** `seams`: module names (grid seams) and `{ name, files }` file groups. */
function seamEntries(
  value: unknown,
  fail: Fail,
): { seams: string[] | null; fileGroups: FileGroup[] } {
  if (value === undefined) return { seams: null, fileGroups: [] };
  const hint =
    'Write ["wal", "fixed_map"], and for copies the engine × path grid cannot express {"name": "work_loop", "files": ["src/WorkLoop.new.js", "src/WorkLoop.old.js"]}.';
  if (!Array.isArray(value)) return fail(`seams must be a list, got ${describe(value)}`, hint);
  const seams: string[] = [];
  const fileGroups: FileGroup[] = [];
  const named = new Set<string>();
  value.forEach((entry, index) => {
    let name: string;
    if (typeof entry === 'string' && entry !== '') {
      name = checkedSeamName(entry, 'seams', fail);
      seams.push(name);
    } else if (isRecord(entry)) {
      checkKeys(entry, ['name', 'files'], `seams[${index}].`, fail);
      if (typeof entry.name !== 'string' || entry.name === '') {
        return fail(`seams[${index}].name must be a non-empty string`, hint);
      }
      name = checkedSeamName(entry.name, `seams[${index}].name`, fail);
      const files = stringList(entry, 'files', fail, `seams[${index}].`);
      if (files === undefined || files.length < 2) {
        return fail(`seams[${index}].files must list two or more files (one per copy)`, hint);
      }
      for (const file of files) {
        checkRelative(file, `seams[${index}].files`, fail);
        if (languageOf(file) === undefined) {
          fail(
            `seams[${index}].files entry "${file}" has an unsupported file extension`,
            `Supported: ${SUPPORTED_EXTENSIONS.map((ext) => `.${ext}`).join(', ')}.`,
          );
        }
      }
      if (new Set(files).size !== files.length) {
        fail(`seams[${index}].files lists a file twice`, 'List each copy once.');
      }
      fileGroups.push({ name, files });
    } else {
      return fail(`seams[${index}] must be a module name or {"name", "files"}`, hint);
    }
    if (named.has(name)) {
      fail(`seams names ${name} twice`, 'Name each seam once (names are compared in snake_case).');
    }
    named.add(name);
  });
  return { seams, fileGroups };
}

type Fail = (message: string, hint: string) => never;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function checkKeys(
  record: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  fail: Fail,
): void {
  for (const key of Object.keys(record)) {
    if (allowed.includes(key)) continue;
    const suggestion = closest(key, allowed);
    fail(
      `unknown key ${path}${key}`,
      suggestion === undefined
        ? `Allowed keys here: ${allowed.filter((k) => k !== '$schema').join(', ')}.`
        : `Did you mean ${path}${suggestion}?`,
    );
  }
}

/** The allowed key closest to a misspelt one (edit distance ≤ 3), for "did you mean". */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function optionalRecord(
  record: Record<string, unknown>,
  key: string,
  fail: Fail,
  path = '',
): Record<string, unknown> | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  if (!isRecord(value))
    fail(`${path}${key} must be an object, got ${describe(value)}`, 'See the README for its keys.');
  return value as Record<string, unknown>;
}

function stringList(
  record: Record<string, unknown>,
  key: string,
  fail: Fail,
  path = '',
): string[] | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    fail(
      `${path}${key} must be a list of non-empty strings, got ${describe(value)}`,
      `Write it as ["first", "second"].`,
    );
  }
  return value as string[];
}

function number(
  record: Record<string, unknown>,
  key: string,
  range: { min: number; max?: number },
  path: string,
  fail: Fail,
): number | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  const max = range.max ?? Number.POSITIVE_INFINITY;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < range.min || value > max) {
    fail(
      `${path}${key} must be a number${range.max === undefined ? ` ≥ ${range.min}` : ` between ${range.min} and ${range.max}`}, got ${describe(value)}`,
      `Set ${path}${key} to a number in range, or remove it to use the default.`,
    );
  }
  return value as number;
}

function ratio(record: Record<string, unknown>, key: string, fallback: number, fail: Fail): number {
  return number(record, key, { min: 0, max: 1 }, 'thresholds.', fail) ?? fallback;
}

function count(
  record: Record<string, unknown>,
  key: string,
  trigger: string,
  fail: Fail,
): number | undefined {
  const value = number(record, key, { min: 1 }, `triggers.${trigger}.`, fail);
  if (value !== undefined && !Number.isInteger(value)) {
    fail(
      `triggers.${trigger}.${key} must be a whole number, got ${value}`,
      'Counts are whole numbers of changes, slices, copies or lines.',
    );
  }
  return value;
}

function checkEnginePattern(entry: string, fail: Fail): void {
  // "!pattern" leaves out the engine directories the pattern matches
  const pattern = entry.startsWith('!') ? entry.slice(1) : entry;
  if (pattern === '' || pattern.startsWith('!')) {
    fail(
      `engines entry "${entry}" must name a directory pattern after "!"`,
      'Write "!packages/legacy-*" to leave out engine directories that "packages/*" matches.',
    );
  }
  if (pattern.includes('<seam>')) {
    fail(
      `engines entry "${pattern}" contains <seam>`,
      'engines names engine directories (e.g. "packages/*"); put <seam> in seamPaths (e.g. "src/runtime/<seam>.ts").',
    );
  }
  checkRelative(pattern, 'engines', fail);
}

function checkSeamPath(pattern: string, fail: Fail): void {
  if (pattern.startsWith('!')) {
    fail(
      `seamPaths entry "${pattern}" is negated; seamPaths cannot negate`,
      'Leave modules out by name with "exclude", or engine directories with "!pattern" in "engines".',
    );
  }
  checkRelative(pattern, 'seamPaths', fail);
  const fileName = pattern.slice(pattern.lastIndexOf('/') + 1);
  if (pattern.split('<seam>').length !== 2 || !fileName.includes('<seam>')) {
    fail(
      `seamPaths entry "${pattern}" must contain <seam> exactly once, in the file name`,
      'Write it relative to an engine directory, e.g. "src/runtime/<seam>.ts" or "src/<seam>.rs".',
    );
  }
  if (languageOf(pattern) === undefined) {
    fail(
      `seamPaths entry "${pattern}" has an unsupported file extension`,
      `Supported: ${SUPPORTED_EXTENSIONS.map((ext) => `.${ext}`).join(', ')}.`,
    );
  }
}

function checkRelative(pattern: string, key: string, fail: Fail): void {
  if (pattern.startsWith('/') || pattern.split('/').includes('..') || pattern.includes('\\')) {
    fail(
      `${key} entry "${pattern}" must be a relative path inside the repository, with forward slashes`,
      'Write paths relative to the repository root (engines) or to an engine directory (seamPaths).',
    );
  }
}

function sliceMode(value: unknown, fail: Fail): SliceMode {
  if (value === undefined) return { by: 'first-parent' };
  const hint =
    'Use {"by": "first-parent"}, {"by": "tags", "pattern": "v*"} or {"by": "release-commits", "subject": "^release"}.';
  if (!isRecord(value)) return fail(`slices must be an object, got ${describe(value)}`, hint);
  if (value.by === 'first-parent') {
    checkKeys(value, ['by'], 'slices.', fail);
    return { by: 'first-parent' };
  }
  if (value.by === 'tags') {
    checkKeys(value, ['by', 'pattern'], 'slices.', fail);
    const pattern = value.pattern ?? '*';
    if (typeof pattern !== 'string' || pattern === '') {
      return fail(`slices.pattern must be a non-empty string, got ${describe(pattern)}`, hint);
    }
    return { by: 'tags', pattern };
  }
  if (value.by === 'release-commits') {
    checkKeys(value, ['by', 'subject'], 'slices.', fail);
    if (typeof value.subject !== 'string' || value.subject === '') {
      return fail(
        'slices.subject must be a regular expression matching release commit subjects',
        hint,
      );
    }
    try {
      new RegExp(value.subject);
    } catch (error) {
      return fail(
        `slices.subject is not a valid regular expression: ${(error as Error).message}`,
        hint,
      );
    }
    return { by: 'release-commits', subject: value.subject };
  }
  return fail(
    `slices.by must be "first-parent", "tags" or "release-commits", got ${describe(value.by)}`,
    hint,
  );
}
