/**
 * The markdown report: for a pull-request comment or a CI job summary. The verdict is the first
 * line; then drift (when checked), the seam table and the trigger table; the details of each seam
 * follow in collapsed sections, diffs as ```diff blocks.
 *
 * The report stays under `MARKDOWN_LIMIT` characters however many copies and seams there are (a
 * pull-request comment holds 65,536): lists are cut with a count of the rest, each seam's details
 * show at most a few diffs, and when the details of every seam would not fit, the last ones are
 * left out with a note saying so. The summary always comes first and always fits.
 */
import type { SeamReport, SeamResult } from '../report.js';
import { TRIGGERS } from '../report.js';
import {
  blockLine,
  clusterSummary,
  convergenceLine,
  copiesByInterest,
  copyOrigin,
  declarationCount,
  declarationLine,
  extractedLine,
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

/** The most characters a markdown report has: under a pull-request comment's 65,536. */
export const MARKDOWN_LIMIT = 60_000;

/** Hunk lines shown per diff before it is cut (the HTML report shows them all). */
const DIFF_LINE_LIMIT = 120;
/** Distinct texts whose diff against the canonical copy is shown per seam. */
const DIFFS_SHOWN = 3;
/** Rows of the seam and trigger tables before the rest are counted. */
const TABLE_ROWS = 60;
/** Copies listed per seam in its details. */
const COPIES_LISTED = 12;
/** Room kept for the closing lines (history, warnings, notes). */
const FOOTER_ROOM = 4_000;

/** Escapes text for a table cell or inline position. */
function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/\n/g, ' ');
}

export function renderMarkdown(report: SeamReport): string {
  const head = report.repository.head;
  const out: string[] = [];
  out.push(`## Seam report: ${cell(report.decision.summary)}`);
  out.push('');
  // configuration mistakes first: a report made with a wrong configuration measures the wrong thing
  if (report.warnings.length === 1) {
    out.push(`> ⚠️ Configuration warning: ${cell(report.warnings[0]!)}`, '');
  } else if (report.warnings.length > 1) {
    const { shown, more } = limited(report.warnings, LIST_LIMIT);
    out.push(`> ⚠️ ${report.warnings.length} configuration warnings:`);
    for (const warning of shown) out.push(`> - ${cell(warning)}`);
    if (more > 0) out.push(`> - … and ${plural(more, 'more warning')} (see the JSON report)`);
    out.push('');
  }
  if (report.drift) out.push(...driftSummary(report), '');
  if (report.decision.order.length > 0) {
    const { shown, more } = limited(report.decision.order, TABLE_ROWS);
    out.push(
      `Extraction order (smallest mechanical move first): ${shown.map((s) => `\`${s}\``).join(' → ')}${more > 0 ? ` → … ${more} more` : ''}`,
    );
    out.push('');
  }
  const engines =
    report.engines.length === 0
      ? 'none found'
      : report.engines.length > 8
        ? `${report.engines.length} (${listNames(report.engines.map((e) => `\`${e.name}\``))})`
        : report.engines.map((e) => `\`${e.name}\` (${e.path})`).join(', ');
  out.push(`Engines: ${engines}${head ? ` · HEAD \`${shortHash(head.hash)}\`` : ''}`);

  if (report.seams.length > 0) {
    const { shown, more } = limited(report.seams, TABLE_ROWS);
    out.push('');
    out.push('| seam | copies | classification | similarity | clusters | verdict |');
    out.push('|---|---:|---|---:|---|---|');
    for (const seam of shown) {
      out.push(
        `| \`${seam.name}\` | ${seam.copies.length} | ${seam.comparison.classification} | ${ratio(seam.comparison.similarity)} | ${clusterSummary(seam)} | **${seam.verdict.verdict}** |`,
      );
    }
    if (more > 0) out.push(`| … ${plural(more, 'more seam')} | | | | | |`);
    out.push('');
    out.push(`| seam | ${TRIGGERS.join(' | ')} |`);
    out.push(`|---|${TRIGGERS.map(() => '---').join('|')}|`);
    for (const seam of shown) {
      const marks = TRIGGERS.map((name) => {
        const trigger = seam.triggers.find((t) => t.trigger === name)!;
        return !trigger.applicable ? 'n/a' : trigger.fired ? '🔴 fired' : '—';
      });
      out.push(`| \`${seam.name}\` | ${marks.join(' | ')} |`);
    }
    if (more > 0)
      out.push(`| … ${plural(more, 'more seam')} | ${TRIGGERS.map(() => '').join(' | ')} |`);
  }

  const footer = footerLines(report);
  let used = length(out) + length(footer);
  // every seam of the table keeps at least its compact section (clusters, outliers, the first
  // reconcile items); full details take the room left over, in order
  const sections: { full: string[]; compact?: string[] }[] = [];
  if (report.drift && report.drift.findings.length > 0)
    sections.push({ full: driftDetails(report) });
  report.seams.forEach((seam, index) =>
    sections.push({
      full: seamDetails(seam),
      ...(index < TABLE_ROWS ? { compact: seamCompact(seam) } : {}),
    }),
  );
  if (report.unwatchedCopies.length > 0) sections.push({ full: unwatchedDetails(report) });
  let reserved = sections.reduce(
    (sum, section) => sum + (section.compact === undefined ? 0 : length(section.compact) + 1),
    0,
  );
  const room = MARKDOWN_LIMIT - FOOTER_ROOM;
  let left = 0;
  let compacted = 0;
  let detailsFit = true;
  for (const section of sections) {
    const compactSize = section.compact === undefined ? 0 : length(section.compact) + 1;
    reserved -= compactSize;
    const size = length(section.full) + 1;
    if (detailsFit && used + size + reserved <= room) {
      out.push('', ...section.full);
      used += size;
      continue;
    }
    // once details stop fitting, the rest keep their order with compact sections only
    detailsFit = false;
    if (section.compact !== undefined && used + compactSize + reserved <= room) {
      out.push('', ...section.compact);
      used += compactSize;
      compacted++;
    } else left++;
  }
  if (left > 0 || compacted > 0) {
    out.push('');
    const parts = [
      compacted > 0
        ? `the details of ${plural(compacted, 'seam')} are cut to their clusters, outliers and first reconcile items`
        : '',
      left > 0 ? `${plural(left, 'more section')} (seam details) left out` : '',
    ].filter((part) => part !== '');
    out.push(
      `> ${parts.join('; ')} to keep this report under ${MARKDOWN_LIMIT.toLocaleString('en-US')} characters: the HTML and JSON reports (\`--format html\`, \`--format json\`) have everything.`,
    );
  }
  out.push(...footer);
  const text = `${out.join('\n')}\n`;
  return text.length <= MARKDOWN_LIMIT ? text : cut(text);
}

/** Characters of lines joined by newlines. */
function length(lines: readonly string[]): number {
  return lines.reduce((sum, line) => sum + line.length + 1, 0);
}

/**
 * Last resort, never reached by the budget above unless a single line is enormous: cut at a
 * line boundary, close any open fence and details, and say so.
 */
function cut(text: string): string {
  const note =
    '\n\n> Report cut to stay under the comment size limit: see the HTML or JSON report.\n';
  let kept = text.slice(0, MARKDOWN_LIMIT - note.length - 40);
  kept = kept.slice(0, kept.lastIndexOf('\n'));
  if (kept.split('```').length % 2 === 0) kept += '\n```';
  const open = kept.split('<details>').length - kept.split('</details>').length;
  for (let i = 0; i < open; i++) kept += '\n</details>';
  return `${kept}${note}`;
}

function driftSummary(report: SeamReport): string[] {
  const drift = report.drift!;
  if (drift.findings.length === 0)
    return [
      `No drift against \`${shortHash(drift.base.hash)}\`: every change reached all copies in step, or none.`,
    ];
  const { shown, more } = limited(drift.findings, LIST_LIMIT);
  const lines = [
    `### ⚠️ Drift against \`${shortHash(drift.base.hash)}\`: ${plural(drift.findings.length, 'seam')}`,
    '',
  ];
  for (const finding of shown) lines.push(`- ⚠️ **${finding.seam}**: ${cell(finding.message)}`);
  if (more > 0) lines.push(`- … and ${plural(more, 'more seam')}`);
  return lines;
}

function driftDetails(report: SeamReport): string[] {
  const out = ['<details>', '<summary>Drifted copies, per seam</summary>', ''];
  for (const finding of report.drift!.findings) {
    out.push(
      `**${finding.seam}** (canonical copy \`${finding.canonical}\`${finding.outliers.length > 0 ? `; left out, not in step at the base: ${cell(listNames(finding.outliers))}` : ''}):`,
    );
    listItems(
      out,
      finding.drifted.map((copy) => `\`${copy.path}:${copy.line}\` ${copy.message}`),
    );
    out.push('');
  }
  out.push('</details>');
  return out;
}

function unwatchedDetails(report: SeamReport): string[] {
  const out = ['<details>', `<summary>Unwatched copies: ${unwatchedSummary(report)}</summary>`, ''];
  const items = report.unwatchedCopies.map((group) => {
    const files = listNames(
      group.files.map((file) => `\`${file.path}\``),
      3,
    );
    const what = `\`${group.name}\`: ${plural(group.files.length, 'file')}, ${group.classification} (${ratio(group.similarity)}): ${files}`;
    if (group.local !== null) return `${what} — kept local: ${group.local.reason}`;
    const entry = pastableGroup(group);
    const seamPath = group.suggestion?.seamPath;
    // the pattern outside a code span: the cell's escaping of "<" renders there, not in code
    return `${what} — watch them${
      entry === undefined
        ? `: ${groupInJson(group)}`
        : ` with \`"seams": [${JSON.stringify(entry)}]\``
    }${seamPath ? `, or add "${seamPath}" to \`seamPaths\`` : ''}`;
  });
  listItems(out, items);
  out.push('', '</details>');
  return out;
}

function footerLines(report: SeamReport): string[] {
  const out: string[] = [];
  if (report.sharedBlocks.length > 0) {
    out.push('');
    out.push('Blocks shared inside an engine (names and literals aside):');
    listItems(out, report.sharedBlocks.map(blockLine));
  }
  if (report.extractedSeams.length > 0) {
    out.push('');
    out.push('Already extracted (copies removed):');
    listItems(out, report.extractedSeams.map(extractedLine));
  }
  if (report.singleCopyModules.length > 0) {
    out.push('');
    out.push(
      `Single-copy modules (not seams): ${cell(
        listNames(
          report.singleCopyModules.map((m) => `\`${m.seam}\` (${m.engine})`),
          12,
        ),
      )}`,
    );
  }
  if (report.excludedFiles.length > 0) {
    out.push('');
    out.push(
      `Generated files (not copies): ${cell(
        listNames(
          report.excludedFiles.map((f) => `\`${f.path}\``),
          5,
        ),
      )}`,
    );
  }
  if (report.unwatchedModules.length > 0) {
    out.push('');
    out.push(
      `Copies not watched (in several engines, left out by \`seams\`): ${cell(
        listNames(
          report.unwatchedModules.map(
            (m) =>
              `\`${m.seam}\` (${listNames(
                m.copies.map((copy) => copy.engine),
                3,
              )})`,
          ),
          8,
        ),
      )}`,
    );
  }
  if (report.history) {
    out.push('');
    out.push(
      `History: ${plural(report.history.commitsWalked, 'commit')} touching seam paths; ${plural(report.history.slices.total, 'slice')} (by ${report.history.slices.mode}) changed engine code. Slices: ${cell(report.history.slices.reason)}.`,
    );
  }
  if (report.notes.length > 0) {
    out.push('');
    for (const note of report.notes) out.push(`> ${cell(note)}`);
  }
  return out;
}

/** Reconcile items kept in a seam's compact section. */
const COMPACT_RECONCILE = 3;

/**
 * A seam's section when its details do not fit: the verdict, the clusters, the outliers and the
 * first reconcile items, folded like the details.
 */
function seamCompact(seam: SeamResult): string[] {
  const { comparison } = seam;
  const out = [
    '<details>',
    `<summary><code>${seam.name}</code>: ${comparison.classification} (${ratio(comparison.similarity)}), ${seam.verdict.verdict}${seam.copies.length > 2 ? ` — ${clusterSummary(seam)}` : ''}</summary>`,
    '',
    `**Verdict: ${seam.verdict.verdict}** — ${cell(seam.verdict.reasons.join('; '))}`,
  ];
  const outliers = seam.copies.filter((copy) => copy.cluster === 'outlier');
  if (outliers.length > 0) {
    out.push('');
    out.push(
      `Outliers: ${cell(listNames(outliers.map((copy) => `${copy.engine} ${ratio(copy.similarity)}`)))}`,
    );
  }
  if (seam.verdict.reconcile.length > 0) {
    out.push('');
    out.push('Reconcile first:');
    const { shown, more } = limited(seam.verdict.reconcile, COMPACT_RECONCILE);
    for (const item of shown) out.push(`- ${cell(item)}`);
    if (more > 0) out.push(`- … and ${more} more`);
  }
  out.push('', '</details>');
  return out;
}

function seamDetails(seam: SeamResult): string[] {
  const out: string[] = [];
  const { comparison } = seam;
  out.push('<details>');
  out.push(
    `<summary><code>${seam.name}</code>: ${comparison.classification} (${ratio(comparison.similarity)}), ${seam.verdict.verdict}${seam.copies.length > 2 ? ` — ${clusterSummary(seam)}` : ''}</summary>`,
  );
  out.push('');
  out.push(`**Verdict: ${seam.verdict.verdict}** — ${cell(seam.verdict.reasons.join('; '))}`);
  out.push('');
  const copies = copiesByInterest(seam);
  const { shown, more } = limited(copies, COPIES_LISTED);
  for (const copy of shown) {
    out.push(
      `- \`${copy.engine}\`${copy.cluster === 'canonical' ? ' (canonical)' : ''}: \`${copy.path}\`, ${plural(copy.lines, 'line')}${copy.appeared ? `, since \`${shortHash(copy.appeared.hash)}\` (${copy.appeared.date.slice(0, 10)})` : `, ${copyOrigin(seam, copy)}`}${copy.cluster === 'canonical' ? '' : `, ${copy.cluster}${copy.cluster === 'identical' ? '' : ` ${ratio(copy.similarity)}`}`}`,
    );
  }
  if (more > 0) {
    const rest = copies.slice(shown.length);
    const byCluster = new Map<string, number>();
    for (const copy of rest) byCluster.set(copy.cluster, (byCluster.get(copy.cluster) ?? 0) + 1);
    out.push(
      `- … and ${more} more: ${[...byCluster].map(([cluster, count]) => `${count} ${cluster}`).join(', ')}`,
    );
  }
  const outliers = outliersOf(seam);
  if (outliers.length > 0) {
    out.push('');
    out.push('Outliers (not near the canonical copy; left out of the verdict):');
    listItems(
      out,
      outliers.map((engine) => outlierLine(seam, engine)),
    );
  }
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
  out.push(`Declarations: ${declarationCount(seam)}.`);
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
  const diffs = comparison.diffs.filter((diff) => diff.hunks.length > 0);
  for (const diff of diffs.slice(0, DIFFS_SHOWN)) {
    out.push('');
    out.push(
      `Diff \`${diff.reference}\` → \`${diff.other}\`${diff.alsoIn.length > 0 ? ` (the same text in ${plural(diff.alsoIn.length, 'more copy', 'more copies')})` : ''}:`,
    );
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
  if (diffs.length > DIFFS_SHOWN) {
    out.push('');
    out.push(
      `… and ${plural(diffs.length - DIFFS_SHOWN, 'more distinct text')} differing from the canonical copy (see the HTML report).`,
    );
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
