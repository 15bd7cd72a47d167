/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, no external
 * resource; a Content-Security-Policy forbids fetching anything). Sections: the decision, a
 * seam × engine similarity heat map, the trigger table, drift, then per seam its copies,
 * differences, a similarity timeline with mirrored and one-sided changes marked, and
 * side-by-side diffs.
 */
import type { Hunk } from '../hunks.js';
import type { SeamReport, SeamResult, TriggerResult } from '../report.js';
import { TRIGGERS } from '../report.js';
import {
  blockLine,
  clusterLabel,
  clusterSummary,
  commitLine,
  convergenceLine,
  copiesByInterest,
  copyOrigin,
  day,
  declarationPhrase,
  duration,
  engineSimilarity,
  extractedLine,
  groupInJson,
  historyCounts,
  listNames,
  moveLine,
  outlierLine,
  outliersOf,
  pastableGroup,
  plural,
  ratio,
  revertLine,
  shortHash,
} from './format.js';

function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Heat colour for a similarity: red below 0.5, through amber, to green at 1. */
function heat(similarity: number): string {
  const hue = Math.round(120 * Math.min(1, Math.max(0, (similarity - 0.5) / 0.5)));
  return `hsl(${hue} 65% 82%)`;
}

function anchor(seam: string): string {
  return `seam-${seam.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

const STYLE = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6474; --line: #d9dde5; --bg: #ffffff; --soft: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 64px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
h2 code { font-size: inherit; }
code, .mono, pre, .sbs td.code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.meta { color: var(--muted); margin: 0 0 12px; }
.decision { font-size: 17px; font-weight: 600; padding: 10px 14px; border-radius: 6px; margin: 8px 0; }
.decision.hold { background: #eef2f8; border-left: 4px solid #5b6b8c; }
.decision.extract { background: #e7f6ea; border-left: 4px solid #2e8b45; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.heat td.cell { text-align: center; min-width: 96px; font-variant-numeric: tabular-nums; }
table.heat td.canonical { font-weight: 600; }
table.heat td.none { background: repeating-linear-gradient(45deg, #fafafa, #fafafa 4px, #f0f0f0 4px, #f0f0f0 8px); color: var(--muted); text-align: center; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; margin-right: 6px; }
.v-extract { background: #d6f0dc; color: #1e6b34; }
.v-reconcile_first { background: #fbecc8; color: #7a5200; }
.v-keep_local { background: #e8ebf0; color: #46505f; }
.v-never { background: #f1dcf3; color: #6d2a75; }
.v-extracted { background: #d9f0f3; color: #1b5e66; }
.c-identical, .c-equivalent { background: #d6f0dc; color: #1e6b34; }
.c-renamed { background: #dcebfa; color: #1d4f87; }
.c-similar { background: #fbecc8; color: #7a5200; }
.c-diverged { background: #f8d7d7; color: #8a1f1f; }
.fired { color: #a01818; font-weight: 600; }
.quiet { color: var(--muted); }
ul { margin: 4px 0 8px; padding-left: 22px; }
details { margin: 8px 0; }
summary { cursor: pointer; font-weight: 600; }
.sbs { width: 100%; table-layout: fixed; }
.sbs td { border: none; border-right: 1px solid var(--line); padding: 0 6px; white-space: pre-wrap; word-break: break-all; }
.sbs td.ln { width: 44px; color: var(--muted); text-align: right; user-select: none; font-size: 11.5px; }
.sbs tr.hunk td { background: #eef1f6; color: var(--muted); padding: 2px 6px; }
.sbs td.del { background: #fde8e8; }
.sbs td.add { background: #e4f6e7; }
.sbs td.empty { background: var(--soft); }
svg.timeline { display: block; max-width: 100%; height: auto; background: #fff; }
svg text { font: 11px system-ui, sans-serif; fill: #5b6474; }
.legend span { margin-right: 14px; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px; }
.notes li { color: var(--muted); }
`;

/**
 * Rows shown per list of literal or name differences. Diverged copies align by chance in many
 * places, and past a few dozen rows such lists are noise to a reader; the JSON has them all.
 */
const HTML_LIST_LIMIT = 40;
/** Values, names or followers named in one cell or line before the rest are counted. */
const HTML_VALUES = 12;

function moreNote(total: number, limit = HTML_LIST_LIMIT): string {
  return total > limit
    ? `<p class="quiet">… and ${total - limit} more (all of them are in the JSON report).</p>`
    : '';
}

/** Copies listed per seam (canonical and outliers first), pairs and diffs shown per seam. */
const HTML_COPY_ROWS = 100;
const HTML_PAIR_ROWS = 500;
const HTML_DIFFS = 30;

const MARK_COLORS = {
  copy: '#2f6fb3',
  mirrored: '#2e8b45',
  late: '#d98a00',
  oneSided: '#c0392b',
} as const;

export function renderHtml(report: SeamReport): string {
  const head = report.repository.head;
  const title = `Seam report — ${report.repository.root.split('/').pop() ?? report.repository.root}`;
  const body: string[] = [];
  body.push(`<header><h1>${esc(title)}</h1>`);
  body.push(
    `<p class="meta">${esc(report.repository.root)}${
      head ? ` · HEAD <code>${shortHash(head.hash)}</code> ${esc(day(head.date))}` : ' · no commits'
    }${report.repository.branch ? ` · branch ${esc(report.repository.branch)}` : ''} · seam-report ${esc(report.tool.version)}</p>`,
  );
  body.push(
    `<p class="decision ${report.decision.extractNow ? 'extract' : 'hold'}" id="decision">${esc(report.decision.summary)}</p>`,
  );
  if (report.decision.order.length > 0) {
    body.push(
      `<p>Extraction order, smallest mechanical move first: ${report.decision.order
        .map((seam) => `<a href="#${anchor(seam)}"><code>${esc(seam)}</code></a>`)
        .join(' → ')}</p>`,
    );
  }
  body.push('</header>');

  body.push(heatMap(report));
  if (report.seams.length > 0) body.push(triggerTable(report));
  if (report.drift) body.push(driftSection(report));
  for (const seam of report.seams) body.push(seamSection(seam, report.settings.thresholds.similar));
  if (report.sharedBlocks.length > 0) {
    body.push(
      `<h2>Blocks shared inside an engine</h2><p class="quiet">Two files of one engine sharing a block (names and literals aside).</p><ul>${report.sharedBlocks
        .slice(0, HTML_LIST_LIMIT)
        .map((block) => `<li>${esc(blockLine(block))}</li>`)
        .join('')}</ul>${moreNote(report.sharedBlocks.length)}`,
    );
  }
  if (report.extractedSeams.length > 0) {
    body.push(
      `<h2>Already extracted (copies removed)</h2><ul>${report.extractedSeams
        .slice(0, HTML_LIST_LIMIT)
        .map((seam) => `<li>${esc(extractedLine(seam))}</li>`)
        .join('')}</ul>${moreNote(report.extractedSeams.length)}`,
    );
  }
  if (report.excludedFiles.length > 0) {
    body.push(
      `<h2>Generated files</h2><p>Not copies: a generator's output is not maintained by hand.</p><ul>${report.excludedFiles
        .slice(0, HTML_LIST_LIMIT)
        .map(
          (file) =>
            `<li><code>${esc(file.path)}</code> (${esc(file.seam)}): ${esc(file.evidence)}</li>`,
        )
        .join('')}</ul>${moreNote(report.excludedFiles.length)}`,
    );
  }
  if (report.unwatchedModules.length > 0) {
    body.push(
      `<h2>Copies not watched</h2><p>Modules with copies in several engines that "seams" in the configuration leaves out:</p><ul>${report.unwatchedModules
        .slice(0, HTML_LIST_LIMIT)
        .map(
          (module) =>
            `<li><code>${esc(module.seam)}</code> in ${esc(
              listNames(
                module.copies.map((copy) => copy.engine),
                12,
              ),
            )}</li>`,
        )
        .join('')}</ul>${moreNote(report.unwatchedModules.length)}`,
    );
  }
  if (report.unwatchedCopies.length > 0) body.push(unwatchedSection(report));
  if (report.warnings.length > 0) {
    body.push(
      `<h2>Configuration warnings</h2><ul>${report.warnings
        .slice(0, HTML_LIST_LIMIT)
        .map((warning) => `<li>${esc(warning)}</li>`)
        .join('')}</ul>${moreNote(report.warnings.length)}`,
    );
  }
  if (report.notes.length > 0) {
    body.push(
      `<h2>Notes</h2><ul class="notes">${report.notes
        .slice(0, HTML_LIST_LIMIT)
        .map((note) => `<li>${esc(note)}</li>`)
        .join('')}</ul>${moreNote(report.notes.length)}`,
    );
  }

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

/** Engines shown as heat-map columns; with more, the map shows cluster sizes instead. */
const HEAT_MAP_ENGINES = 24;

function heatMap(report: SeamReport): string {
  const engines = report.engines.map((engine) => engine.name);
  const out: string[] = ['<section id="heatmap"><h2>Similarity by seam and engine</h2>'];
  if (report.seams.length === 0) {
    out.push(
      `<p class="quiet">No seams: ${
        engines.length === 0
          ? 'no engine was found.'
          : `${plural(engines.length, 'engine')} (${esc(engines.join(', '))}), no module present in two of them.`
      }</p></section>`,
    );
    return out.join('');
  }
  if (engines.length > HEAT_MAP_ENGINES) return clusterMap(report, out);
  out.push(
    '<p class="quiet">Each cell: token similarity (LCS ratio) of that engine\'s copy to the seam\'s canonical copy (★).</p>',
  );
  out.push('<table class="heat"><thead><tr><th>seam</th>');
  for (const engine of engines) out.push(`<th>${esc(engine)}</th>`);
  out.push('<th>classification</th><th>verdict</th></tr></thead><tbody>');
  for (const seam of report.seams) {
    out.push(`<tr><th><a href="#${anchor(seam.name)}"><code>${esc(seam.name)}</code></a></th>`);
    for (const engine of engines) {
      const value = engineSimilarity(seam, engine);
      const canonical = seam.comparison.reference === engine;
      out.push(
        value === undefined
          ? '<td class="none" title="no copy">—</td>'
          : `<td class="cell${canonical ? ' canonical' : ''}" style="background:${heat(value)}" title="${esc(`${seam.name} in ${engine}: ${canonical ? 'the canonical copy' : ratio(value)}`)}">${canonical ? '★ ' : ''}${ratio(value)}</td>`,
      );
    }
    out.push(
      `<td><span class="badge c-${seam.comparison.classification}">${seam.comparison.classification}</span></td><td><span class="badge v-${seam.verdict.verdict}">${seam.verdict.verdict}</span></td></tr>`,
    );
  }
  out.push('</tbody></table></section>');
  return out.join('');
}

/** With many engines: per seam, how many copies sit in each cluster around the canonical copy. */
function clusterMap(report: SeamReport, out: string[]): string {
  out.push(
    `<p class="quiet">${plural(report.engines.length, 'engine')}: each cell counts the copies in that cluster around the seam's canonical copy.</p>`,
  );
  const columns = ['identical', 'equivalent', 'renamed', 'near', 'outliers'] as const;
  out.push(
    `<table class="heat"><thead><tr><th>seam</th><th>canonical</th>${columns.map((c) => `<th>${c}</th>`).join('')}<th>classification</th><th>verdict</th></tr></thead><tbody>`,
  );
  const shade: Record<(typeof columns)[number], number> = {
    identical: 1,
    equivalent: 1,
    renamed: 0.95,
    near: 0.85,
    outliers: 0.4,
  };
  for (const seam of report.seams) {
    out.push(
      `<tr><th><a href="#${anchor(seam.name)}"><code>${esc(seam.name)}</code></a></th><td>${esc(seam.comparison.reference)}</td>`,
    );
    for (const column of columns) {
      const count = seam.comparison.clusters[column];
      out.push(
        count === 0
          ? '<td class="none">—</td>'
          : `<td class="cell" style="background:${heat(shade[column])}">${count}</td>`,
      );
    }
    out.push(
      `<td><span class="badge c-${seam.comparison.classification}">${seam.comparison.classification}</span></td><td><span class="badge v-${seam.verdict.verdict}">${seam.verdict.verdict}</span></td></tr>`,
    );
  }
  out.push('</tbody></table></section>');
  return out.join('');
}

function triggerCell(trigger: TriggerResult): string {
  const text = !trigger.applicable ? 'n/a' : trigger.fired ? 'fired' : 'no';
  const cls = !trigger.applicable ? 'quiet' : trigger.fired ? 'fired' : 'quiet';
  return `<td class="${cls}" title="${esc(trigger.summary)}">${text}<br><small>${esc(trigger.summary)}</small></td>`;
}

function triggerTable(report: SeamReport): string {
  const out: string[] = [
    '<section id="triggers"><h2>Extraction triggers</h2><table><thead><tr><th>seam</th>',
  ];
  for (const name of TRIGGERS) out.push(`<th>${name}</th>`);
  out.push('</tr></thead><tbody>');
  for (const seam of report.seams) {
    out.push(`<tr><th><code>${esc(seam.name)}</code></th>`);
    for (const name of TRIGGERS)
      out.push(triggerCell(seam.triggers.find((t) => t.trigger === name)!));
    out.push('</tr>');
  }
  out.push('</tbody></table></section>');
  return out.join('');
}

function driftSection(report: SeamReport): string {
  const drift = report.drift!;
  const out = [
    `<section id="drift"><h2>Drift against <code>${shortHash(drift.base.hash)}</code></h2>`,
  ];
  if (drift.findings.length === 0) {
    out.push('<p>No seam drifted: every change reached all copies or none.</p>');
  } else {
    out.push('<ul>');
    for (const finding of drift.findings) {
      out.push(
        `<li><strong>${esc(finding.seam)}</strong>: ${esc(finding.message)}${
          finding.outliers.length > 0
            ? ` <span class="quiet">(left out, not in step at the base: ${esc(listNames(finding.outliers))})</span>`
            : ''
        }<ul>${finding.drifted
          .slice(0, HTML_LIST_LIMIT)
          .map(
            (copy) => `<li><code>${esc(copy.path)}:${copy.line}</code> ${esc(copy.message)}</li>`,
          )
          .join('')}</ul>${moreNote(finding.drifted.length)}</li>`,
      );
    }
    out.push('</ul>');
  }
  out.push('</section>');
  return out.join('');
}

function seamSection(seam: SeamResult, similarThreshold: number): string {
  const { comparison } = seam;
  const out: string[] = [`<section class="seam" id="${anchor(seam.name)}">`];
  out.push(
    `<h2><code>${esc(seam.name)}</code> <span class="badge c-${comparison.classification}">${comparison.classification}</span><span class="badge v-${seam.verdict.verdict}">${seam.verdict.verdict}</span></h2>`,
  );
  out.push(
    `<p>${esc(seam.verdict.reasons.join('; '))}. Canonical copy: <code>${esc(comparison.reference)}</code>.</p>`,
  );
  if (seam.extracted) {
    out.push(
      `<p>Extracted to <code>${esc(seam.extracted.to)}</code> in <code>${shortHash(seam.extracted.commit.hash)}</code> ${esc(day(seam.extracted.commit.date))}; the history below is the adapters' since.</p>`,
    );
  }
  if (seam.verdict.reconcile.length > 0) {
    out.push(
      `<h3>Reconcile first</h3><ul>${seam.verdict.reconcile
        .slice(0, HTML_LIST_LIMIT)
        .map((item) => `<li>${esc(item)}</li>`)
        .join('')}</ul>${moreNote(seam.verdict.reconcile.length)}`,
    );
  }

  out.push(
    `<p>Clusters around the canonical copy <code>${esc(comparison.reference)}</code>: ${esc(clusterSummary(seam))}.</p>`,
  );
  out.push(
    '<table><thead><tr><th>engine</th><th>path</th><th>lines</th><th>tokens</th><th>since</th><th>against the canonical copy</th></tr></thead><tbody>',
  );
  const shown = copiesByInterest(seam);
  const rows = shown.length > HTML_COPY_ROWS ? shown.slice(0, HTML_COPY_ROWS) : shown;
  for (const copy of rows) {
    out.push(
      `<tr><td>${esc(copy.engine)}</td><td><code>${esc(copy.path)}</code></td><td class="num">${copy.lines}</td><td class="num">${copy.tokens}</td><td>${
        copy.appeared
          ? `<code>${shortHash(copy.appeared.hash)}</code> ${esc(day(copy.appeared.date))}`
          : esc(copyOrigin(seam, copy))
      }</td><td style="background:${heat(copy.similarity)}">${esc(clusterLabel(copy))}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  if (shown.length > rows.length) {
    const rest = shown.slice(rows.length);
    out.push(
      `<p class="quiet">… and ${rest.length} more copies (${esc(
        listNames(
          rest.map((copy) => `${copy.engine} ${copy.cluster}`),
          12,
        ),
      )}); all of them are in the JSON report.</p>`,
    );
  }
  const outliers = outliersOf(seam);
  if (outliers.length > 0) {
    out.push(
      `<h3>Outliers</h3><p class="quiet">Copies below the <code>similar</code> threshold from the canonical copy: left out of the seam's classification and verdict.</p><ul>${outliers
        .slice(0, HTML_LIST_LIMIT)
        .map((engine) => `<li>${esc(outlierLine(seam, engine, 12))}</li>`)
        .join('')}</ul>${moreNote(outliers.length)}`,
    );
  }
  if (comparison.pairs.length > seam.copies.length - 1) {
    out.push(
      '<details><summary>Every pair of copies</summary><table><thead><tr><th>pair</th><th>classification</th><th>similarity</th></tr></thead><tbody>',
    );
    for (const pair of comparison.pairs.slice(0, HTML_PAIR_ROWS)) {
      out.push(
        `<tr><td>${esc(pair.a)} ↔ ${esc(pair.b)}</td><td>${pair.classification}</td><td class="num" style="background:${heat(pair.similarity)}">${ratio(pair.similarity)}</td></tr>`,
      );
    }
    out.push(
      `</tbody></table>${comparison.pairs.length > HTML_PAIR_ROWS ? `<p class="quiet">… and ${comparison.pairs.length - HTML_PAIR_ROWS} more pairs (all of them are in the JSON report).</p>` : ''}</details>`,
    );
  }

  out.push('<h3>Triggers</h3><table><tbody>');
  for (const trigger of seam.triggers) {
    const evidence = trigger.evidence
      .slice(0, 12)
      .map((commit) => `<code>${shortHash(commit.hash)}</code> ${esc(commit.subject)}`)
      .join('<br>');
    out.push(
      `<tr><th>${trigger.trigger}</th><td class="${trigger.fired ? 'fired' : 'quiet'}">${!trigger.applicable ? 'n/a' : trigger.fired ? 'fired' : 'no'}</td><td>${esc(trigger.summary)}${evidence ? `<br>${evidence}` : ''}${trigger.evidence.length > 12 ? `<br>… ${trigger.evidence.length - 12} more` : ''}</td></tr>`,
    );
  }
  out.push('</tbody></table>');

  const declarations = comparison.declarations;
  out.push(
    `<h3>Declarations</h3><p>${declarations.same} of ${declarations.total} the same in every copy.</p>`,
  );
  if (declarations.differing.length > 0) {
    out.push(
      `<table><thead><tr><th>declaration</th><th>kind</th><th>status</th><th>line in ${esc(comparison.reference)}</th><th>against the canonical copy</th></tr></thead><tbody>`,
    );
    for (const d of declarations.differing.slice(0, HTML_LIST_LIMIT * 5)) {
      out.push(
        `<tr><td><code>${esc(d.name)}</code></td><td>${d.kind}</td><td>${d.status}</td><td class="num">${d.line ?? '—'}</td><td>${esc(declarationPhrase(seam, d) ?? '')}</td></tr>`,
      );
    }
    out.push('</tbody></table>', moreNote(declarations.differing.length, HTML_LIST_LIMIT * 5));
  }
  if (comparison.literalDifferences.length > 0) {
    out.push(
      `<h3>Literals that differ</h3><table><thead><tr><th>in</th><th>${esc(comparison.reference)} (canonical)</th><th>other values</th></tr></thead><tbody>`,
    );
    for (const literal of comparison.literalDifferences.slice(0, HTML_LIST_LIMIT)) {
      const [canonical, ...others] = literal.values;
      const groups = new Map<string, string[]>();
      for (const value of others)
        groups.set(value.text, [...(groups.get(value.text) ?? []), value.engine]);
      out.push(
        `<tr><td><code>${esc(literal.declaration ?? 'top level')}</code></td><td><code>${esc(canonical!.text)}</code> <span class="quiet">line ${canonical!.line}</span></td><td>${[
          ...groups,
        ]
          .slice(0, HTML_VALUES)
          .map(([text, engines]) => `<code>${esc(text)}</code> in ${esc(listNames(engines))}`)
          .join(
            '<br>',
          )}${groups.size > HTML_VALUES ? `<br>… and ${groups.size - HTML_VALUES} more values` : ''}</td></tr>`,
      );
    }
    out.push('</tbody></table>', moreNote(comparison.literalDifferences.length));
  }
  if (comparison.nameDifferences.length > 0) {
    out.push(
      `<h3>Names that differ</h3><ul>${comparison.nameDifferences
        .slice(0, HTML_LIST_LIMIT)
        .map(
          (name) =>
            `<li><code>${esc(name.reference)}</code> → ${name.renamed
              .slice(0, HTML_VALUES)
              .map((r) => `${esc(r.engine)}: <code>${esc(r.name)}</code>`)
              .join(
                ', ',
              )}${name.renamed.length > HTML_VALUES ? ` and ${name.renamed.length - HTML_VALUES} more` : ''} <span class="quiet">(${name.occurrences}×)</span></li>`,
        )
        .join('')}</ul>`,
      moreNote(comparison.nameDifferences.length),
    );
  }

  if (seam.history) out.push(historyBlock(seam, similarThreshold));

  const diffs = comparison.diffs.slice(0, HTML_DIFFS);
  for (const diff of diffs) {
    const lines = diff.hunks.reduce((sum, hunk) => sum + hunk.lines.length, 0);
    const other =
      diff.alsoIn.length === 0
        ? diff.other
        : `${diff.other} (and ${plural(diff.alsoIn.length, 'copy', 'copies')} with the same text: ${listNames(diff.alsoIn)})`;
    out.push(
      `<details${lines > 0 && lines <= 200 && diffs.length <= 3 ? ' open' : ''}><summary>Diff ${esc(diff.reference)} → ${esc(other)}: ${
        diff.hunks.length === 0 ? 'no line differences' : plural(diff.hunks.length, 'hunk')
      }</summary>`,
    );
    if (diff.hunks.length > 0) out.push(sideBySide(diff.reference, diff.other, diff.hunks));
    out.push('</details>');
  }
  if (comparison.diffs.length > diffs.length)
    out.push(
      `<p class="quiet">… and ${comparison.diffs.length - diffs.length} more distinct texts differ from the canonical copy (all of them are in the JSON report).</p>`,
    );
  out.push('</section>');
  return out.join('\n');
}

function historyBlock(seam: SeamResult, similarThreshold: number): string {
  const history = seam.history!;
  const out: string[] = ['<h3>History</h3>'];
  out.push(`<p>While the seam had two or more copies: ${esc(historyCounts(history))}.</p>`);
  out.push(timelineSvg(seam, similarThreshold));
  out.push(
    `<p class="legend"><span><i class="dot" style="background:${MARK_COLORS.copy}"></i>copy appeared</span><span><i class="dot" style="background:${MARK_COLORS.mirrored}"></i>mirrored change</span><span><i class="dot" style="background:${MARK_COLORS.late}"></i>late propagation</span><span><i class="dot" style="background:${MARK_COLORS.oneSided}"></i>one-sided change</span></p>`,
  );
  const items: string[] = [];
  for (const change of history.mirroredChanges) {
    items.push(
      `<li>${change.kind.replace('_', ' ')}: <code>${shortHash(change.origin.commit.hash)}</code> ${esc(day(change.origin.commit.date))} ${esc(change.origin.commit.subject)} [${esc(change.origin.engine)}] → ${change.followers
        .slice(0, HTML_VALUES)
        .map(
          (f) =>
            `${esc(f.engine)} ${f.delaySeconds === 0 ? 'same commit' : `${duration(f.delaySeconds)} later`} (<code>${shortHash(f.commit.hash)}</code>)`,
        )
        .join(
          ', ',
        )}${change.followers.length > HTML_VALUES ? ` and ${change.followers.length - HTML_VALUES} more` : ''}</li>`,
    );
  }
  for (const change of history.oneSidedChanges) {
    items.push(
      `<li>one-sided: ${esc(commitLine(change.commit))} [${esc(change.engine)}], ${plural(change.lines, 'line')}</li>`,
    );
  }
  for (const line of [
    ...history.reverts.map(revertLine),
    ...history.convergences.map(convergenceLine),
    ...history.moves.map(moveLine),
  ]) {
    items.push(`<li>${esc(line)}</li>`);
  }
  if (items.length > 0) {
    out.push(
      `<details><summary>${plural(items.length, 'change')} in detail</summary><ul>${items
        .slice(0, HTML_LIST_LIMIT * 5)
        .join('')}</ul>${moreNote(items.length, HTML_LIST_LIMIT * 5)}</details>`,
    );
  }
  return out.join('\n');
}

/**
 * Similarity over time as a line (the `similar` threshold dashed), with change markers in lanes
 * below it. The y axis starts at 0.5 unless a point is lower, so that small drifts show.
 */
function timelineSvg(seam: SeamResult, similarThreshold: number): string {
  const history = seam.history!;
  const width = 760;
  const left = 120;
  const right = 16;
  const chartTop = 10;
  const chartHeight = 110;
  const laneHeight = 16;
  const lanes = [
    {
      label: 'copy appeared',
      color: MARK_COLORS.copy,
      dates: history.copyEvents.map((e) => e.commit),
    },
    {
      label: 'mirrored',
      color: MARK_COLORS.mirrored,
      dates: history.mirroredChanges
        .filter((c) => c.kind !== 'late_propagation')
        .map((c) => c.origin.commit),
    },
    {
      label: 'late propagation',
      color: MARK_COLORS.late,
      dates: history.mirroredChanges
        .filter((c) => c.kind === 'late_propagation')
        .flatMap((c) => c.followers.map((f) => f.commit)),
    },
    {
      label: 'one-sided',
      color: MARK_COLORS.oneSided,
      dates: history.oneSidedChanges.map((c) => c.commit),
    },
  ];
  const height = chartTop + chartHeight + 24 + lanes.length * laneHeight + 6;
  const times = [
    ...history.timeline.map((p) => Date.parse(p.date)),
    ...lanes.flatMap((lane) => lane.dates.map((c) => Date.parse(c.date))),
  ];
  if (times.length === 0) return '<p class="quiet">No history for this seam.</p>';
  let start = Math.min(...times);
  let end = Math.max(...times);
  if (end - start < 86_400_000) {
    start -= 43_200_000;
    end += 43_200_000;
  }
  const x = (time: number) => left + ((time - start) / (end - start)) * (width - left - right);
  const lowest = Math.min(1, ...history.timeline.map((p) => p.similarity ?? 1), similarThreshold);
  const floor = lowest < 0.5 ? 0 : 0.5;
  const y = (similarity: number) => chartTop + ((1 - similarity) / (1 - floor)) * chartHeight;
  const parts: string[] = [];
  parts.push(
    `<svg class="timeline" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(`Similarity of ${seam.name} over time`)}" xmlns="http://www.w3.org/2000/svg">`,
  );
  for (const level of [floor, (floor + 1) / 2, 1]) {
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(level)}" y2="${y(level)}" stroke="#e3e6ec"/>`,
      `<text x="${left - 6}" y="${y(level) + 4}" text-anchor="end">${level.toFixed(2)}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${y(similarThreshold)}" y2="${y(similarThreshold)}" stroke="#e0b44c" stroke-dasharray="4 3"><title>similar threshold ${ratio(similarThreshold)}</title></line>`,
  );
  parts.push(`<text x="8" y="${chartTop + 12}">similarity</text>`);
  const points = history.timeline.filter((p) => p.similarity !== null);
  if (points.length > 0) {
    const path = points
      .map((p) => `${x(Date.parse(p.date)).toFixed(1)},${y(p.similarity!).toFixed(1)}`)
      .join(' ');
    parts.push(`<polyline fill="none" stroke="#2f6fb3" stroke-width="2" points="${path}"/>`);
    for (const p of points) {
      parts.push(
        `<circle cx="${x(Date.parse(p.date)).toFixed(1)}" cy="${y(p.similarity!).toFixed(1)}" r="2.5" fill="#2f6fb3"><title>${esc(`${shortHash(p.commit)} ${day(p.date)}: ${ratio(p.similarity!)} (${p.copies} copies)`)}</title></circle>`,
      );
    }
  }
  const axisY = chartTop + chartHeight + 14;
  parts.push(
    `<text x="${left}" y="${axisY}">${esc(day(new Date(start).toISOString()))}</text>`,
    `<text x="${width - right}" y="${axisY}" text-anchor="end">${esc(day(new Date(end).toISOString()))}</text>`,
  );
  lanes.forEach((lane, i) => {
    const laneY = axisY + 12 + i * laneHeight;
    parts.push(`<text x="8" y="${laneY + 4}">${esc(lane.label)}</text>`);
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${laneY}" y2="${laneY}" stroke="#eef0f4"/>`,
    );
    for (const commit of lane.dates) {
      parts.push(
        `<circle cx="${x(Date.parse(commit.date)).toFixed(1)}" cy="${laneY}" r="4" fill="${lane.color}" fill-opacity="0.8"><title>${esc(commitLine(commit))}</title></circle>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

/** A side-by-side table from unified hunks: deletions and additions paired row by row. */
function sideBySide(reference: string, other: string, hunks: readonly Hunk[]): string {
  const rows: string[] = [
    `<table class="sbs"><colgroup><col style="width:44px"><col><col style="width:44px"><col></colgroup><thead><tr><th></th><th>${esc(reference)}</th><th></th><th>${esc(other)}</th></tr></thead><tbody>`,
  ];
  for (const hunk of hunks) {
    rows.push(
      `<tr class="hunk"><td colspan="4">@@ −${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@</td></tr>`,
    );
    let oldLine = hunk.oldStart;
    let newLine = hunk.newStart;
    let i = 0;
    while (i < hunk.lines.length) {
      const line = hunk.lines[i]!;
      if (line.startsWith(' ')) {
        const text = esc(line.slice(1));
        rows.push(
          `<tr><td class="ln">${oldLine++}</td><td class="code">${text}</td><td class="ln">${newLine++}</td><td class="code">${text}</td></tr>`,
        );
        i++;
        continue;
      }
      const removed: string[] = [];
      const added: string[] = [];
      while (i < hunk.lines.length && hunk.lines[i]!.startsWith('-'))
        removed.push(hunk.lines[i++]!.slice(1));
      while (i < hunk.lines.length && hunk.lines[i]!.startsWith('+'))
        added.push(hunk.lines[i++]!.slice(1));
      for (let k = 0; k < Math.max(removed.length, added.length); k++) {
        const oldText = removed[k];
        const newText = added[k];
        rows.push(
          `<tr>${oldText === undefined ? '<td class="ln"></td><td class="code empty"></td>' : `<td class="ln">${oldLine++}</td><td class="code del">${esc(oldText)}</td>`}${
            newText === undefined
              ? '<td class="ln"></td><td class="code empty"></td>'
              : `<td class="ln">${newLine++}</td><td class="code add">${esc(newText)}</td>`
          }</tr>`,
        );
      }
    }
  }
  rows.push('</tbody></table>');
  return rows.join('');
}

function unwatchedSection(report: SeamReport): string {
  const out: string[] = [
    '<section id="unwatched"><h2>Unwatched copies</h2><p class="quiet">Files outside every seam whose contents are copies of one another across engines.</p><ul>',
  ];
  for (const group of report.unwatchedCopies.slice(0, HTML_LIST_LIMIT)) {
    const files = group.files.map((file) => file.path);
    out.push(
      `<li><code>${esc(group.name)}</code>: ${plural(group.files.length, 'file')}, ${group.classification} (similarity ${ratio(group.similarity)}): <code>${esc(listNames(files, 4))}</code>${
        group.local !== null
          ? `<br><span class="badge v-keep_local">kept local</span>${esc(group.local.reason)}`
          : `<br>To watch them: ${(() => {
              const entry = pastableGroup(group);
              return entry === undefined
                ? esc(groupInJson(group))
                : `<code>${esc(`"seams": [${JSON.stringify(entry)}]`)}</code>`;
            })()}${group.suggestion?.seamPath ? `, or add <code>${esc(`"${group.suggestion.seamPath}"`)}</code> to <code>seamPaths</code>` : ''}`
      }</li>`,
    );
  }
  out.push('</ul>', moreNote(report.unwatchedCopies.length), '</section>');
  return out.join('');
}
