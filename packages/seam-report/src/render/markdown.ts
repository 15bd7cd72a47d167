/**
 * The markdown report: for a pull-request comment or a CI job summary. Tables first (the
 * decision, the seams, the triggers), details per seam in collapsed sections, diffs as
 * ```diff blocks.
 */
import type { SeamReport, SeamResult } from '../report.js';
import { TRIGGERS } from '../report.js';
import {
  convergenceLine,
  copyOrigin,
  declarationLine,
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

/** Hunk lines shown per copy pair before the diff is cut (the HTML report shows them all). */
const DIFF_LINE_LIMIT = 120;

/** Escapes text for a table cell or inline position. */
function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/\n/g, ' ');
}

export function renderMarkdown(report: SeamReport): string {
  const out: string[] = [];
  const head = report.repository.head;
  out.push('## Seam report');
  out.push('');
  out.push(`**${cell(report.decision.summary)}**`);
  out.push('');
  if (report.decision.order.length > 0) {
    out.push(
      `Extraction order (smallest mechanical move first): ${report.decision.order.map((s) => `\`${s}\``).join(' → ')}`,
    );
    out.push('');
  }
  out.push(
    `Engines: ${
      report.engines.length === 0
        ? 'none found'
        : report.engines.map((e) => `\`${e.name}\` (${e.path})`).join(', ')
    }${head ? ` · HEAD \`${shortHash(head.hash)}\`` : ''}`,
  );

  if (report.drift) {
    out.push('');
    out.push(`### Drift against \`${shortHash(report.drift.base.hash)}\``);
    out.push('');
    if (report.drift.findings.length === 0)
      out.push('No seam drifted: every change reached all copies or none.');
    for (const finding of report.drift.findings)
      out.push(`- ⚠️ **${finding.seam}**: ${cell(finding.message)}`);
  }

  if (report.seams.length > 0) {
    out.push('');
    out.push('| seam | copies | classification | similarity | verdict |');
    out.push('|---|---:|---|---:|---|');
    for (const seam of report.seams) {
      out.push(
        `| \`${seam.name}\` | ${seam.copies.length} | ${seam.comparison.classification} | ${ratio(seam.comparison.similarity)} | **${seam.verdict.verdict}** |`,
      );
    }
    out.push('');
    out.push(`| seam | ${TRIGGERS.join(' | ')} |`);
    out.push(`|---|${TRIGGERS.map(() => '---').join('|')}|`);
    for (const seam of report.seams) {
      const marks = TRIGGERS.map((name) => {
        const trigger = seam.triggers.find((t) => t.trigger === name)!;
        return !trigger.applicable ? 'n/a' : trigger.fired ? '🔴 fired' : '—';
      });
      out.push(`| \`${seam.name}\` | ${marks.join(' | ')} |`);
    }
    for (const seam of report.seams) out.push('', ...seamDetails(seam));
  }

  if (report.singleCopyModules.length > 0) {
    out.push('');
    out.push(
      `Single-copy modules (not seams): ${report.singleCopyModules.map((m) => `\`${m.seam}\` (${m.engine})`).join(', ')}`,
    );
  }
  if (report.excludedFiles.length > 0) {
    out.push('');
    out.push(
      `Generated files (not copies): ${report.excludedFiles.map((f) => `\`${f.path}\``).join(', ')}`,
    );
  }
  if (report.unwatchedModules.length > 0) {
    out.push('');
    out.push(
      `Copies not watched (in several engines, left out by \`seams\`): ${report.unwatchedModules.map((m) => `\`${m.seam}\` (${m.copies.map((copy) => copy.engine).join(', ')})`).join(', ')}`,
    );
  }
  if (report.history) {
    out.push('');
    out.push(
      `History: ${plural(report.history.commitsWalked, 'commit')} touching seam paths; ${plural(report.history.slices.total, 'slice')} (by ${report.history.slices.mode}) changed engine code. Slices: ${cell(report.history.slices.reason)}.`,
    );
  }
  if (report.warnings.length > 0) {
    out.push('');
    for (const warning of report.warnings) out.push(`> ⚠️ ${cell(warning)}`);
  }
  if (report.notes.length > 0) {
    out.push('');
    for (const note of report.notes) out.push(`> ${cell(note)}`);
  }
  return `${out.join('\n')}\n`;
}

function seamDetails(seam: SeamResult): string[] {
  const out: string[] = [];
  const { comparison } = seam;
  out.push('<details>');
  out.push(
    `<summary><code>${seam.name}</code>: ${comparison.classification} (${ratio(comparison.similarity)}), ${seam.verdict.verdict}</summary>`,
  );
  out.push('');
  for (const copy of seam.copies) {
    out.push(
      `- \`${copy.engine}\`: \`${copy.path}\`, ${plural(copy.lines, 'line')}${copy.appeared ? `, since \`${shortHash(copy.appeared.hash)}\` (${copy.appeared.date.slice(0, 10)})` : `, ${copyOrigin(seam, copy)}`}`,
    );
  }
  out.push('');
  out.push(`**Verdict: ${seam.verdict.verdict}** — ${cell(seam.verdict.reasons.join('; '))}`);
  if (seam.verdict.reconcile.length > 0) {
    out.push('');
    out.push('Reconcile first:');
    listItems(out, seam.verdict.reconcile);
  }
  out.push('');
  out.push('| trigger | fired | evidence |');
  out.push('|---|---|---|');
  for (const trigger of seam.triggers) {
    out.push(
      `| ${trigger.trigger} | ${!trigger.applicable ? 'n/a' : trigger.fired ? 'yes' : 'no'} | ${cell(trigger.summary)} |`,
    );
  }
  out.push('');
  out.push(
    `Declarations: ${comparison.declarations.same} of ${comparison.declarations.total} the same.`,
  );
  listItems(
    out,
    declarationLine(seam).map(
      (line) => `\`${line.split(':')[0]}\`:${line.slice(line.indexOf(':') + 1)}`,
    ),
  );
  if (comparison.literalDifferences.length > 0) {
    out.push('');
    out.push('Literals that differ:');
    listItems(
      out,
      comparison.literalDifferences.map((_, i) => literalLine(seam, i)),
    );
  }
  if (comparison.nameDifferences.length > 0) {
    out.push('');
    out.push('Names that differ:');
    listItems(
      out,
      comparison.nameDifferences.map((_, i) => nameLine(seam, i)),
    );
  }
  if (seam.history) {
    const h = seam.history;
    out.push('');
    out.push(`History: ${historyCounts(h)}.`);
    listItems(out, [
      ...h.mirroredChanges.map(mirrorLine),
      ...h.oneSidedChanges.map(oneSidedLine),
      ...h.reverts.map(revertLine),
      ...h.convergences.map(convergenceLine),
      ...h.moves.map(moveLine),
    ]);
  }
  for (const diff of comparison.diffs) {
    if (diff.hunks.length === 0) continue;
    out.push('');
    out.push(`Diff \`${diff.reference}\` → \`${diff.other}\`:`);
    out.push('');
    out.push('```diff');
    let printed = 0;
    for (const hunk of diff.hunks) {
      if (printed >= DIFF_LINE_LIMIT) break;
      out.push(`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`);
      for (const line of hunk.lines) {
        if (printed++ >= DIFF_LINE_LIMIT) break;
        out.push(line.replace(/```/g, '`\u200b``'));
      }
    }
    const total = diff.hunks.reduce((sum, hunk) => sum + hunk.lines.length, 0);
    if (total > DIFF_LINE_LIMIT)
      out.push(`… ${total - DIFF_LINE_LIMIT} more lines (see the HTML report)`);
    out.push('```');
  }
  out.push('');
  out.push('</details>');
  return out;
}

function listItems(out: string[], items: readonly string[]): void {
  const { shown, more } = limited(items, LIST_LIMIT);
  for (const item of shown) out.push(`- ${cell(item)}`);
  if (more > 0) out.push(`- … and ${more} more`);
}
