/**
 * The `seam-report` command: parses arguments, calls `analyze` and `render`, writes the
 * report, and turns the outcome into the exit status:
 *
 *   0  the report was produced (and no --fail-on condition holds)
 *   1  a --fail-on condition holds
 *   2  bad usage or configuration
 *   3  git or the repository cannot be read
 *   4  an internal error (a bug in seam-report)
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { analyze } from './analyze.js';
import { ConfigError, RepositoryError, SeamReportError, UsageError } from './errors.js';
import type { HistoryProgress } from './history.js';
import { FORMATS, type Format, render } from './render/index.js';
import { type SeamReport, TRIGGERS } from './report.js';
import { TOOL_VERSION } from './version.js';

export const EXIT = { ok: 0, failOn: 1, usage: 2, repository: 3, internal: 4 } as const;

/** Conditions `--fail-on` accepts. */
export const FAIL_ON = ['trigger', ...TRIGGERS, 'extract', 'drift', 'diverged'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export interface CliIo {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export const HELP = `Usage: seam-report [options] [directory]

Compares the runtime modules that sibling engines keep as copies, mines git history for fixes
made to several copies, and says whether extracting a shared runtime is justified.

Options:
  -f, --format <format>   text, markdown, json, html or sarif (default: text)
  -o, --output <file>     write the report to a file instead of standard output
      --also <fmt>=<file> also write the same report in another format to a file
                          (repeatable; e.g. --also json=report.json --also sarif=report.sarif)
  -c, --config <file>     configuration file (default: seam-report.config.json at the
                          repository root, else the "seamReport" key of its package.json)
  -b, --base <ref>        also check drift against this revision (a pull request's base)
      --fail-on <cond>    exit 1 when the condition holds; repeat it or separate with commas:
                          trigger (any trigger fired), ${TRIGGERS.join(', ')},
                          extract (a seam should be extracted now), drift (needs --base),
                          diverged (a seam's copies diverged)
      --no-history        compare today's copies only, without reading git history
      --pairs <which>     canonical (default: each copy against its seam's canonical copy)
                          or all (every pair of copies; grows with the square of the copies)
      --discover          list the unwatched copies (files copied across engines outside
                          the seams) in the text report; JSON always has them
      --strict            treat configuration warnings (entries that match nothing) as errors
      --color, --no-color force colour on or off (default: on when writing to a terminal)
  -q, --quiet             no progress indicator
  -h, --help              show this help
  -v, --version           show the version

Exit status: 0 report produced; 1 a --fail-on condition holds; 2 bad usage or configuration;
3 git or the repository cannot be read.
`;

interface CliArguments {
  readonly directory: string;
  readonly format: Format;
  readonly output: string | undefined;
  /** More formats of the same report, each to its file. */
  readonly also: readonly { readonly format: Format; readonly file: string }[];
  readonly config: string | undefined;
  readonly base: string | undefined;
  readonly failOn: readonly FailOn[];
  readonly history: boolean;
  readonly pairs: 'canonical' | 'all';
  readonly discover: boolean;
  readonly color: boolean | undefined;
  readonly quiet: boolean;
  readonly strict: boolean;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseCliArguments(argv, io.cwd);
    if (parsed === 'help') {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (parsed === 'version') {
      io.stdout.write(`${TOOL_VERSION}\n`);
      return EXIT.ok;
    }
    const progress = progressPrinter(io, parsed.quiet);
    let report: SeamReport;
    try {
      report = await analyze({
        root: parsed.directory,
        history: parsed.history,
        pairs: parsed.pairs,
        ...(parsed.config !== undefined ? { configPath: parsed.config } : {}),
        ...(parsed.base !== undefined ? { base: parsed.base } : {}),
        ...(progress ? { onProgress: progress.update } : {}),
      });
    } finally {
      progress?.done();
    }
    for (const warning of report.warnings) io.stderr.write(`seam-report: warning: ${warning}\n`);
    if (parsed.strict && report.warnings.length > 0) {
      throw new ConfigError(
        'config_warnings',
        undefined,
        `${report.warnings.length === 1 ? 'a configuration entry matches' : `${report.warnings.length} configuration entries match`} nothing (--strict)`,
        'Fix or remove the entries named above, or run without --strict.',
      );
    }
    const color =
      parsed.color ??
      (parsed.output === undefined &&
        io.stdout.isTTY === true &&
        io.env.NO_COLOR === undefined &&
        io.env.TERM !== 'dumb');
    const text = render(report, parsed.format, { color, discover: parsed.discover });
    if (parsed.output === undefined) io.stdout.write(text);
    else await writeReport(parsed.output, text);
    for (const { format, file } of parsed.also)
      await writeReport(file, render(report, format, { color: false, discover: parsed.discover }));

    const held = failOnConditionsHolding(report, parsed.failOn);
    for (const line of held) io.stderr.write(`seam-report: --fail-on ${line}\n`);
    return held.length > 0 ? EXIT.failOn : EXIT.ok;
  } catch (error) {
    return reportError(error, io);
  }
}

function parseCliArguments(
  argv: readonly string[],
  cwd: string,
): CliArguments | 'help' | 'version' {
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string', short: 'f' },
        output: { type: 'string', short: 'o' },
        also: { type: 'string', multiple: true },
        config: { type: 'string', short: 'c' },
        base: { type: 'string', short: 'b' },
        'fail-on': { type: 'string', multiple: true },
        'no-history': { type: 'boolean' },
        pairs: { type: 'string' },
        discover: { type: 'boolean' },
        color: { type: 'boolean' },
        'no-color': { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        strict: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    }));
  } catch (error) {
    throw new UsageError(
      'bad_argument',
      (error as Error).message,
      'Run seam-report --help for the options.',
      {
        cause: error,
      },
    );
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  if (positionals.length > 1) {
    throw new UsageError(
      'bad_argument',
      `expected at most one directory, got ${positionals.length}: ${positionals.join(' ')}`,
      'Pass the repository directory once, options before or after it.',
    );
  }
  const format = (values.format as string | undefined) ?? 'text';
  if (!FORMATS.includes(format as Format)) {
    throw new UsageError(
      'bad_argument',
      `unknown format "${format}"`,
      `Use one of: ${FORMATS.join(', ')}.`,
    );
  }
  const also = ((values.also as string[] | undefined) ?? []).map((value) => {
    const at = value.indexOf('=');
    const format = value.slice(0, at);
    if (at <= 0 || at === value.length - 1 || !FORMATS.includes(format as Format)) {
      throw new UsageError(
        'bad_argument',
        `--also ${value}: expected <format>=<file>`,
        `Name one of ${FORMATS.join(', ')} and a file, e.g. --also json=report.json.`,
      );
    }
    return { format: format as Format, file: resolve(cwd, value.slice(at + 1)) };
  });
  const failOn = ((values['fail-on'] as string[] | undefined) ?? [])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '');
  for (const condition of failOn) {
    if (!FAIL_ON.includes(condition as FailOn)) {
      throw new UsageError(
        'bad_argument',
        `unknown --fail-on condition "${condition}"`,
        `Use one of: ${FAIL_ON.join(', ')}.`,
      );
    }
  }
  if (failOn.includes('drift') && values.base === undefined) {
    throw new UsageError(
      'bad_argument',
      '--fail-on drift needs --base <ref>',
      'Name the revision the change is compared with, e.g. --base origin/main.',
    );
  }
  const pairs = (values.pairs as string | undefined) ?? 'canonical';
  if (pairs !== 'canonical' && pairs !== 'all') {
    throw new UsageError(
      'bad_argument',
      `unknown --pairs value "${pairs}"`,
      'Use --pairs canonical (each copy against the canonical one) or --pairs all (every pair).',
    );
  }
  if (values.color && values['no-color']) {
    throw new UsageError('bad_argument', '--color and --no-color together', 'Pass one of them.');
  }
  return {
    directory: resolve(cwd, positionals[0] ?? '.'),
    format: format as Format,
    output: values.output === undefined ? undefined : resolve(cwd, values.output as string),
    also,
    config: values.config === undefined ? undefined : resolve(cwd, values.config as string),
    base: values.base as string | undefined,
    failOn: failOn as FailOn[],
    history: values['no-history'] !== true,
    pairs,
    discover: values.discover === true,
    color: values.color ? true : values['no-color'] ? false : undefined,
    quiet: values.quiet === true,
    strict: values.strict === true,
  };
}

/** The held conditions, each as "condition holds: where". */
export function failOnConditionsHolding(
  report: SeamReport,
  conditions: readonly FailOn[],
): string[] {
  const held: string[] = [];
  const counted = report.seams.filter((seam) => seam.verdict.verdict !== 'never');
  for (const condition of new Set(conditions)) {
    let where: string[] = [];
    if (condition === 'trigger') {
      where = counted.filter((seam) => seam.triggers.some((t) => t.fired)).map((seam) => seam.name);
    } else if (condition === 'extract') {
      where = [...report.decision.extract];
    } else if (condition === 'drift') {
      where = (report.drift?.findings ?? []).map((finding) => finding.seam);
    } else if (condition === 'diverged') {
      where = counted
        .filter((seam) => seam.comparison.classification === 'diverged')
        .map((seam) => seam.name);
    } else {
      where = counted
        .filter((seam) => seam.triggers.some((t) => t.trigger === condition && t.fired))
        .map((seam) => seam.name);
    }
    if (where.length > 0) held.push(`${condition} holds: ${where.join(', ')}`);
  }
  return held;
}

async function writeReport(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (error) {
    throw new UsageError(
      'bad_argument',
      `cannot write the report to ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      'Pass an --output path in an existing, writable directory.',
      { cause: error },
    );
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof SeamReportError) {
    // one line: what was wrong, then what to do
    io.stderr.write(
      `seam-report: ${oneLine(error.message)} [${error.code}] — ${oneLine(error.hint)}\n`,
    );
    if (error instanceof UsageError || error instanceof ConfigError) return EXIT.usage;
    if (error instanceof RepositoryError) return EXIT.repository;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(
    `seam-report: internal error: ${detail}\n  This is a bug in seam-report; please report it with the command you ran.\n`,
  );
  return EXIT.internal;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** A one-line progress indicator on a terminal's stderr during the history walk. */
function progressPrinter(io: CliIo, quiet: boolean) {
  if (quiet || io.stderr.isTTY !== true) return undefined;
  let shown = false;
  return {
    update: (progress: HistoryProgress) => {
      shown = true;
      io.stderr.write(`\rseam-report: reading history… ${progress.commits} commits`);
    },
    done: () => {
      if (shown) io.stderr.write('\r\u001b[2K');
    },
  };
}
