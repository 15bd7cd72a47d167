/**
 * The terminal report. Colour (ANSI) only when asked for: the CLI asks when stdout is a TTY
 * and NO_COLOR is not set.
 */
import type { SeamReport, SeamResult, TriggerResult, UnwatchedCopies, Verdict } from '../report.js';
import {
  blockLine,
  clusterLabel,
  clusterSummary,
  commitLine,
  convergenceLine,
  copiesByInterest,
  copyOrigin,
  declarationCount,
  declarationLine,
  extractedLine,
  firedTriggers,
  groupInJson,
  historyCounts,
  LIST_LIMIT,
  limited,
  listNames,
  literalLine,
  mirrorLine,
  moveLine,
  nameLine,
  oneSidedLine,
  outlierLine,
  outliersOf,
  pastableGroup,
  plural,
  ratio,
  revertLine,
  shortHash,
  unwatchedSummary,
} from './format.js';

export interface TextOptions {
  readonly color?: boolean;
  /** List the unwatched copies found outside the seams (`--discover`); otherwise one line counts them. */
  readonly discover?: boolean;
}

/** Seams named in the extraction order line before the rest are counted. */
const ORDER_NAMES = 20;

/** Copies listed one per line before the rest of a cluster is summarised. */
const COPY_LINES = 12;

type Paint = (text: string) => string;

function palette(color: boolean) {
  const code =
    (open: number, close: number): Paint =>
    (text) =>
      color ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    bold: code(1, 22),
    dim: code(2, 22),
    red: code(31, 39),
    green: code(32, 39),
    yellow: code(33, 39),
    magenta: code(35, 39),
    cyan: code(36, 39),
  };
}

export function renderText(report: SeamReport, options: TextOptions = {}): string {
  const p = palette(options.color ?? false);
  const out: string[] = [];
  const verdictColor: Record<Verdict, Paint> = {
    extract: p.green,
    reconcile_first: p.yellow,
    keep_local: p.dim,
    never: p.magenta,
    extracted: p.cyan,
  };
  const head = report.repository.head;
  out.push(
    p.bold(`seam-report ${report.tool.version}`) +
      ` ${report.repository.root}` +
      (head
        ? ` @ ${shortHash(head.hash)}${report.repository.branch ? ` (${report.repository.branch})` : ''}`
        : ''),
  );
  out.push('');
  out.push(
    `${p.bold('Decision:')} ${report.decision.extractNow ? p.green(report.decision.summary) : report.decision.summary}`,
  );
  if (report.decision.order.length > 0)
    out.push(
      `${p.bold('Order:')} ${report.decision.order.slice(0, ORDER_NAMES).join(', ')}${report.decision.order.length > ORDER_NAMES ? `, … ${report.decision.order.length - ORDER_NAMES} more` : ''}`,
    );
  out.push('');
  out.push(
    `${p.bold('Engines:')} ${
      report.engines.length === 0
        ? 'none found'
        : report.engines.length > 8
          ? `${report.engines.length}: ${listNames(
              report.engines.map((engine) => engine.name),
              8,
            )}`
          : report.engines.map((engine) => `${engine.name} (${engine.path})`).join(', ')
    }`,
  );

  if (report.seams.length > 0) {
    out.push('');
    out.push(p.bold('Seams'));
    const rows = report.seams.map((seam) => [
      seam.name,
      String(seam.copies.length),
      seam.comparison.classification,
      ratio(seam.comparison.similarity),
      clusterSummary(seam),
      firedTriggers(seam)
        .map((t) => t.trigger)
        .join(', ') || '—',
      seam.verdict.verdict,
    ]);
    const header = [
      'seam',
      'copies',
      'class',
      'similarity',
      'clusters',
      'triggers fired',
      'verdict',
    ];
    const widths = header.map((title, i) =>
      Math.max(title.length, ...rows.map((row) => row[i]!.length)),
    );
    const line = (cells: string[], paintLast: Paint = (t) => t) =>
      `  ${cells
        .map((cell, i) => (i === cells.length - 1 ? paintLast(cell) : cell.padEnd(widths[i]!)))
        .join('  ')}`;
    out.push(p.dim(line(header)));
    report.seams.forEach((seam, i) => {
      out.push(line(rows[i]!, verdictColor[seam.verdict.verdict]));
    });
    for (const seam of report.seams) out.push('', ...seamDetails(seam, p, verdictColor));
  }

  if (report.extractedSeams.length > 0) {
    out.push('');
    out.push(p.bold('Already extracted (copies removed):'));
    pushList(out, report.extractedSeams.map(extractedLine), '  ');
  }

  if (report.sharedBlocks.length > 0) {
    out.push('');
    out.push(`${p.bold('Blocks shared inside an engine:')} ${blockLine(report.sharedBlocks[0]!)}`);
    pushList(out, report.sharedBlocks.slice(1).map(blockLine), '  ', LIST_LIMIT - 1);
  }

  if (report.singleCopyModules.length > 0) {
    out.push('');
    out.push(
      `${p.bold('Single-copy modules')} (not seams): ${listNames(
        report.singleCopyModules.map((module) => `${module.seam} [${module.engine}]`),
        12,
      )}`,
    );
  }

  if (report.excludedFiles.length > 0) {
    out.push('');
    out.push(p.bold('Generated files (not copies)'));
    pushList(
      out,
      report.excludedFiles.map(
        (file) =>
          `${file.path} [${file.seam}]: ${file.reason === 'generated_glob' ? `matches "${file.evidence}"` : file.reason === 'generated_script' ? `written by ${file.evidence}` : `"${file.evidence}"`}`,
      ),
      '  ',
    );
  }

  if (report.unwatchedModules.length > 0) {
    out.push('');
    out.push(
      `${p.bold('Copies not watched')} (in several engines, left out by "seams"): ${listNames(
        report.unwatchedModules.map(
          (module) =>
            `${module.seam} [${listNames(
              module.copies.map((copy) => copy.engine),
              3,
            )}]`,
        ),
        12,
      )}`,
    );
  }

  const unwatched = report.unwatchedCopies.filter((group) => group.local === null);
  const local = report.unwatchedCopies.filter((group) => group.local !== null);
  if (report.unwatchedCopies.length > 0 && options.discover !== true) {
    out.push('');
    out.push(`${p.bold('Unwatched copies:')} ${unwatchedSummary(report)} (--discover lists them)`);
  } else if (options.discover === true) {
    out.push('');
    out.push(p.bold('Unwatched copies (--discover)'));
    if (report.unwatchedCopies.length === 0)
      out.push('  none: no file outside the seams is a copy of a file in another engine');
    for (const group of [...unwatched, ...local]) out.push(...unwatchedLines(group));
  }

  if (report.history) {
    const { history } = report;
    out.push('');
    out.push(
      `${p.bold('History:')} ${plural(history.commitsWalked, 'commit')} touching seam paths; ${plural(history.slices.total, 'slice')} (by ${history.slices.mode}) changed engine code`,
    );
    out.push(`  slices: ${history.slices.reason}`);
    for (const slice of history.slices.recent) {
      out.push(
        `  ${slice.open ? 'open slice up to' : 'slice'} ${commitLine(slice.commit)}${slice.changedSeams.length > 0 ? ` — changed: ${slice.changedSeams.join(', ')}` : ''}`,
      );
    }
  }

  if (report.drift) {
    out.push('');
    out.push(`${p.bold('Drift')} against ${commitLine(report.drift.base)}`);
    if (report.drift.findings.length === 0)
      out.push('  no seam drifted: every change reached all copies or none');
    for (const finding of report.drift.findings) {
      out.push(`  ${p.yellow('!')} ${finding.seam}: ${finding.message}`);
      if (finding.outliers.length > 0)
        out.push(`    left out (not in step at the base): ${listNames(finding.outliers)}`);
      pushList(
        out,
        finding.drifted.map((copy) => `${copy.path}:${copy.line}: ${copy.message}`),
        '    ',
      );
    }
  }

  if (report.warnings.length > 0) {
    out.push('');
    out.push(p.bold(p.yellow('Configuration warnings')));
    pushList(
      out,
      report.warnings.map((warning) => `- ${warning}`),
      '  ',
    );
  }

  if (report.notes.length > 0) {
    out.push('');
    out.push(p.bold('Notes'));
    pushList(
      out,
      report.notes.map((note) => `- ${note}`),
      '  ',
    );
  }
  return `${out.join('\n')}\n`;
}

function seamDetails(
  seam: SeamResult,
  p: ReturnType<typeof palette>,
  verdictColor: Record<Verdict, Paint>,
): string[] {
  const out: string[] = [];
  const { comparison } = seam;
  out.push(
    `${p.bold(p.cyan(seam.name))}  ${comparison.classification}, similarity ${ratio(comparison.similarity)}, canonical ${comparison.reference}${seam.copies.length > 2 ? ` (${clusterSummary(seam)})` : ''}`,
  );
  if (seam.extracted) {
    out.push(
      `  extracted: to ${seam.extracted.to} in ${commitLine(seam.extracted.commit)}; history below is the adapters' since`,
    );
  }
  out.push(...copyLines(seam));
  const outliers = outliersOf(seam);
  if (outliers.length > 0) {
    out.push('  outliers (not near the canonical copy):');
    pushList(
      out,
      outliers.map((engine) => outlierLine(seam, engine)),
      '    ',
    );
  }
  if (comparison.pairs.length > 0 && seam.copies.length > 2 && pairsAreAll(seam)) {
    out.push('  pairs:');
    pushList(
      out,
      comparison.pairs.map(
        (pair) => `${pair.a} ↔ ${pair.b}: ${pair.classification} ${ratio(pair.similarity)}`,
      ),
      '    ',
      PAIR_LINES,
    );
  }
  out.push(`  declarations: ${declarationCount(seam)}`);
  pushList(out, declarationLine(seam), '    ');
  if (comparison.literalDifferences.length > 0) {
    out.push(`  literals that differ: ${comparison.literalDifferences.length}`);
    pushList(
      out,
      comparison.literalDifferences.map((_, i) => literalLine(seam, i)),
      '    ',
    );
  }
  if (comparison.nameDifferences.length > 0) {
    out.push(`  names that differ: ${comparison.nameDifferences.length}`);
    pushList(
      out,
      comparison.nameDifferences.map((_, i) => nameLine(seam, i)),
      '    ',
    );
  }
  if (seam.history) {
    const h = seam.history;
    out.push(`  history: ${historyCounts(h)}`);
    pushList(
      out,
      h.copyEvents
        .filter((event) => event.source !== null)
        .map(
          (event) =>
            `${event.copied ? 'copied' : 'appeared'}: ${event.engine} ${event.copied ? 'from' : 'beside'} ${event.source} (${ratio(event.similarity ?? 0)}) in ${commitLine(event.commit)}`,
        ),
      '    ',
    );
    pushList(out, h.mirroredChanges.map(mirrorLine), '    ');
    pushList(out, h.oneSidedChanges.map(oneSidedLine), '    ');
    pushList(out, h.reverts.map(revertLine), '    ');
    pushList(out, h.convergences.map(convergenceLine), '    ');
    pushList(out, h.moves.map(moveLine), '    ');
  }
  out.push('  triggers:');
  for (const trigger of seam.triggers)
    out.push(`    ${triggerMark(trigger, p)} ${trigger.trigger}: ${trigger.summary}`);
  out.push(
    `  verdict: ${verdictColor[seam.verdict.verdict](seam.verdict.verdict)} — ${seam.verdict.reasons.join('; ')}`,
  );
  if (seam.verdict.reconcile.length > 0) {
    out.push('  reconcile first:');
    pushList(out, seam.verdict.reconcile, '    ');
  }
  return out;
}

/** Pair lines printed with `--pairs all` before the rest are counted (the JSON has them all). */
const PAIR_LINES = 40;

/** Whether the report holds every pair (`--pairs all`) rather than each copy against the canonical one. */
function pairsAreAll(seam: SeamResult): boolean {
  return seam.comparison.pairs.length > seam.copies.length - 1;
}

/**
 * One line per copy, with its standing against the canonical copy; past `COPY_LINES` copies, the
 * canonical copy and each cluster's first few, and a count of the rest.
 */
function copyLines(seam: SeamResult): string[] {
  const line = (copy: SeamResult['copies'][number]) =>
    `  ${copy.engine}: ${copy.path} (${plural(copy.lines, 'line')}, ${plural(copy.tokens, 'token')}; ${clusterLabel(copy)}), ${copyOrigin(seam, copy)}`;
  if (seam.copies.length <= COPY_LINES) return seam.copies.map(line);
  const out: string[] = [];
  const ordered = copiesByInterest(seam);
  const byCluster = new Map<string, SeamResult['copies'][number][]>();
  for (const copy of ordered) {
    const key = copy.cluster === 'canonical' ? 'canonical' : copy.cluster;
    byCluster.set(key, [...(byCluster.get(key) ?? []), copy]);
  }
  for (const [cluster, copies] of byCluster) {
    const shown = cluster === 'canonical' ? copies : copies.slice(0, LIST_LIMIT / 2);
    out.push(...shown.map(line));
    const rest = copies.slice(shown.length);
    if (rest.length > 0)
      out.push(
        `  … and ${rest.length} more ${cluster} (${listNames(rest.map((copy) => copy.engine))})`,
      );
  }
  return out;
}

/** A group of unwatched copies: where, how alike, and the entry that would watch them. */
function unwatchedLines(group: UnwatchedCopies): string[] {
  const out = [
    `  ${group.name}: ${plural(group.files.length, 'file')} ${group.classification} (similarity ${ratio(group.similarity)}), found by ${group.foundBy}: ${listNames(
      group.files.map((file) => file.path),
      3,
    )}`,
  ];
  if (group.local !== null) out.push(`    kept local: ${group.local.reason}`);
  else if (group.suggestion !== null) {
    const entry = pastableGroup(group);
    out.push(
      entry === undefined
        ? `    watch them: ${groupInJson(group)}`
        : `    watch them: "seams": [${JSON.stringify(entry)}]`,
    );
    if (group.suggestion.seamPath !== null)
      out.push(
        `    or add "${group.suggestion.seamPath}" to "seamPaths" (watches every module beside them too)`,
      );
  }
  return out;
}

function triggerMark(trigger: TriggerResult, p: ReturnType<typeof palette>): string {
  if (!trigger.applicable) return p.dim('·');
  return trigger.fired ? p.red('✔') : p.dim('✗');
}

function pushList(
  out: string[],
  items: readonly string[],
  indent: string,
  limit = LIST_LIMIT,
): void {
  const { shown, more } = limited(items, limit);
  for (const item of shown) out.push(`${indent}${item}`);
  if (more > 0) out.push(`${indent}… and ${more} more`);
}
