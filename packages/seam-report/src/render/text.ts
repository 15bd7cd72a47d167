/**
 * The terminal report. Colour (ANSI) only when asked for: the CLI asks when stdout is a TTY
 * and NO_COLOR is not set.
 */
import type { SeamReport, SeamResult, TriggerResult, Verdict } from '../report.js';
import {
  commitLine,
  convergenceLine,
  copyOrigin,
  declarationLine,
  firedTriggers,
  historyCounts,
  LIST_LIMIT,
  limited,
  literalLine,
  mirrorLine,
  moveLine,
  nameLine,
  oneSidedLine,
  plural,
  ratio,
  revertLine,
  shortHash,
} from './format.js';

export interface TextOptions {
  readonly color?: boolean;
}

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
    out.push(`${p.bold('Order:')} ${report.decision.order.join(', ')}`);
  out.push('');
  out.push(
    `${p.bold('Engines:')} ${
      report.engines.length === 0
        ? 'none found'
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
      firedTriggers(seam)
        .map((t) => t.trigger)
        .join(', ') || '—',
      seam.verdict.verdict,
    ]);
    const header = ['seam', 'copies', 'class', 'similarity', 'triggers fired', 'verdict'];
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

  if (report.singleCopyModules.length > 0) {
    out.push('');
    out.push(
      `${p.bold('Single-copy modules')} (not seams): ${report.singleCopyModules
        .map((module) => `${module.seam} [${module.engine}]`)
        .join(', ')}`,
    );
  }

  if (report.excludedFiles.length > 0) {
    out.push('');
    out.push(p.bold('Generated files (not copies)'));
    for (const file of report.excludedFiles)
      out.push(
        `  ${file.path} [${file.seam}]: ${file.reason === 'generated_glob' ? `matches "${file.evidence}"` : `"${file.evidence}"`}`,
      );
  }

  if (report.unwatchedModules.length > 0) {
    out.push('');
    out.push(
      `${p.bold('Copies not watched')} (in several engines, left out by "seams"): ${report.unwatchedModules
        .map((module) => `${module.seam} [${module.copies.map((copy) => copy.engine).join(', ')}]`)
        .join(', ')}`,
    );
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
    for (const finding of report.drift.findings)
      out.push(`  ${p.yellow('!')} ${finding.seam}: ${finding.message}`);
  }

  if (report.warnings.length > 0) {
    out.push('');
    out.push(p.bold(p.yellow('Configuration warnings')));
    for (const warning of report.warnings) out.push(`  - ${warning}`);
  }

  if (report.notes.length > 0) {
    out.push('');
    out.push(p.bold('Notes'));
    for (const note of report.notes) out.push(`  - ${note}`);
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
    `${p.bold(p.cyan(seam.name))}  ${comparison.classification}, similarity ${ratio(comparison.similarity)}, reference ${comparison.reference}`,
  );
  if (seam.extracted) {
    out.push(
      `  extracted: to ${seam.extracted.to} in ${commitLine(seam.extracted.commit)}; history below is the adapters' since`,
    );
  }
  for (const copy of seam.copies) {
    out.push(
      `  ${copy.engine}: ${copy.path} (${plural(copy.lines, 'line')}, ${plural(copy.tokens, 'token')}), ${copyOrigin(seam, copy)}`,
    );
  }
  if (comparison.pairs.length > 1) {
    for (const pair of comparison.pairs) {
      out.push(`  ${pair.a} ↔ ${pair.b}: ${pair.classification} ${ratio(pair.similarity)}`);
    }
  }
  out.push(
    `  declarations: ${comparison.declarations.same} of ${comparison.declarations.total} the same`,
  );
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
    for (const event of h.copyEvents) {
      if (event.source === null) continue;
      out.push(
        `    ${event.copied ? 'copied' : 'appeared'}: ${event.engine} ${event.copied ? 'from' : 'beside'} ${event.source} (${ratio(event.similarity ?? 0)}) in ${commitLine(event.commit)}`,
      );
    }
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

function triggerMark(trigger: TriggerResult, p: ReturnType<typeof palette>): string {
  if (!trigger.applicable) return p.dim('·');
  return trigger.fired ? p.red('✔') : p.dim('✗');
}

function pushList(out: string[], items: readonly string[], indent: string): void {
  const { shown, more } = limited(items, LIST_LIMIT);
  for (const item of shown) out.push(`${indent}${item}`);
  if (more > 0) out.push(`${indent}… and ${more} more`);
}
