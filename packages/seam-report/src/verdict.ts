/**
 * Verdicts: per seam, and the overall decision with the recommended extraction order.
 *
 * - `never`: listed in `never` (snapshot schemas, command codecs, state machines…), whatever
 *   the numbers say;
 * - `extract`: a trigger fired and the copies are `identical`, `equivalent` or `renamed`, so
 *   the move is mechanical (at most a few type or constant parameters);
 * - `reconcile_first`: a trigger fired but the copies differ in behaviour; the differences to
 *   settle are listed;
 * - `keep_local`: no trigger fired, or extraction would save little (a small copy that hardly
 *   changes: see `savingsOf`), which the reasons say;
 * - `extracted`: the copies were replaced by imports of a shared module (see extraction.ts):
 *   never recommended for extraction again, whatever fired on the adapters since.
 */
import { classificationRank, isMechanical } from './compare.js';
import type { ResolvedConfig } from './config.js';
import { compareStrings } from './order.js';
import type {
  Decision,
  Savings,
  SeamComparison,
  SeamCopy,
  SeamExtraction,
  SeamHistory,
  SeamVerdict,
  TriggerResult,
  Verdict,
} from './report.js';
import { formatRatio } from './similarity.js';

/**
 * What extracting a seam would save: the duplicated lines (every copy's lines but the largest
 * copy's, which the shared module would keep) and the churn (slices that changed a copy within
 * `savings.windowDays` of HEAD). A seam is worth extracting when either reaches its threshold.
 */
export function savingsOf(
  copies: readonly SeamCopy[],
  history: SeamHistory | null,
  now: number | null,
  config: Pick<ResolvedConfig, 'savings'>,
): Savings {
  const lines = copies.map((copy) => copy.lines);
  const duplicatedLines = lines.reduce((sum, n) => sum + n, 0) - Math.max(0, ...lines);
  let changedSlices: number | null = null;
  if (history !== null && now !== null) {
    const since = now - config.savings.windowDays * 86_400;
    const changes = [
      ...history.mirroredChanges.flatMap((change) => [change.origin, ...change.followers]),
      ...history.oneSidedChanges,
      ...history.reverts,
      ...history.convergences,
    ].filter((change) => Date.parse(change.commit.date) / 1000 >= since);
    changedSlices = new Set(changes.map((change) => change.slice ?? change.commit.hash)).size;
  }
  const worthIt =
    duplicatedLines >= config.savings.minDuplicatedLines ||
    (changedSlices !== null && changedSlices >= config.savings.minChangedSlices);
  return { duplicatedLines, changedSlices, worthIt };
}

/** Why extraction would not pay yet, for the verdict. */
function littleToSave(
  copies: number,
  savings: Savings,
  config: Pick<ResolvedConfig, 'savings'>,
): string {
  const limits = config.savings;
  const churn =
    savings.changedSlices === null
      ? 'churn unknown without history'
      : savings.changedSlices === 0
        ? `no change in the last ${limits.windowDays} days`
        : `changes in ${savings.changedSlices} of the last ${limits.windowDays} days' slices`;
  return `but extraction would save little: ${copies} copies with ${savings.duplicatedLines} duplicated lines (${limits.minDuplicatedLines} make it worth it) and ${churn} (${limits.minChangedSlices} slices with changes make it worth it)`;
}

export function seamVerdict(
  seam: string,
  comparison: SeamComparison,
  triggers: readonly TriggerResult[],
  config: Pick<ResolvedConfig, 'never' | 'savings'>,
  extracted: SeamExtraction | null = null,
  savings: Savings = { duplicatedLines: 0, changedSlices: null, worthIt: true },
  copies = 2,
  history: SeamHistory | null = null,
): SeamVerdict {
  const fired = triggers.filter((trigger) => trigger.fired);
  if (extracted !== null) {
    const reasons = [
      `extracted to ${extracted.to} in ${extracted.commit.hash.slice(0, 10)} (${extracted.commit.date.slice(0, 10)}): ${extracted.copies.join(', ')} import it`,
    ];
    if (extracted.stillLocal.length > 0)
      reasons.push(
        `${extracted.stillLocal.join(', ')} still ${extracted.stillLocal.length === 1 ? 'carries its' : 'carry their'} own code: switch ${extracted.stillLocal.length === 1 ? 'it' : 'them'} to ${extracted.to}`,
      );
    if (fired.length > 0)
      reasons.push(
        `${fired.map((t) => t.trigger).join(', ')} fired on the adapters since: consider moving more of them into ${extracted.to}`,
      );
    return { verdict: 'extracted', reasons, reconcile: [] };
  }
  if (config.never.includes(seam)) {
    return {
      verdict: 'never',
      reasons: [
        `listed in "never": stays engine-local${fired.length > 0 ? ` (although ${fired.map((t) => t.trigger).join(', ')} fired)` : ''}`,
      ],
      reconcile: [],
    };
  }
  if (fired.length === 0) {
    return { verdict: 'keep_local', reasons: ['no extraction trigger fired'], reconcile: [] };
  }
  const firedNames = fired.map((t) => t.trigger).join(', ');
  // files that share a name but were never copies of one another: nothing to reconcile
  if (
    history !== null &&
    comparison.classification === 'diverged' &&
    history.copyEvents.length > 0 &&
    !history.copyEvents.some((event) => event.copied)
  ) {
    return {
      verdict: 'keep_local',
      reasons: [
        `${firedNames} fired`,
        `but these files share a name, not code: none was copied from another (each appeared beside the others) and they are diverged (similarity ${formatRatio(comparison.similarity)})`,
      ],
      reconcile: [],
    };
  }
  if (!savings.worthIt) {
    return {
      verdict: 'keep_local',
      reasons: [`${firedNames} fired`, littleToSave(copies, savings, config)],
      reconcile: [],
    };
  }
  if (isMechanical(comparison.classification)) {
    return {
      verdict: 'extract',
      reasons: [
        `${firedNames} fired`,
        `copies are ${comparison.classification}: a mechanical move${
          comparison.classification === 'renamed' ? ' with type or constant parameters' : ''
        }`,
      ],
      reconcile: [],
    };
  }
  return {
    verdict: 'reconcile_first',
    reasons: [
      `${firedNames} fired`,
      `copies are ${comparison.classification} (similarity ${formatRatio(comparison.similarity)}): their behaviour differs`,
    ],
    reconcile: reconcileList(comparison),
  };
}

/** What differs in behaviour between the copies, most specific first. */
function reconcileList(comparison: SeamComparison): string[] {
  const items: string[] = [];
  for (const declaration of comparison.declarations.differing) {
    if (declaration.status === 'partial') {
      items.push(
        `${declaration.name} exists only in ${declaration.presentIn.join(', ')} (missing in ${declaration.missingIn.join(', ')})`,
      );
    } else if (declaration.status === 'differs') {
      items.push(`${declaration.name} differs (similarity ${formatRatio(declaration.similarity)})`);
    }
  }
  for (const literal of comparison.literalDifferences) {
    const values = literal.values
      .map((value) => `${value.engine}: ${value.text ?? '—'}`)
      .join(', ');
    items.push(`literal in ${literal.declaration ?? 'top level'}: ${values}`);
  }
  if (items.length === 0)
    items.push('the code differs outside any recognised declaration; see the diff');
  return items;
}

export interface SeamForDecision {
  readonly name: string;
  readonly verdict: Verdict;
  readonly classification: SeamComparison['classification'];
  readonly tokens: number;
}

/**
 * The one-line decision and the extraction order: seams in `priority` order first, then the
 * rest from the most mechanical (strongest classification) and smallest; `never` seams are left
 * out. With no seam to extract now the decision is the seed's "Do not extract … yet".
 */
export function decide(
  seams: readonly SeamForDecision[],
  config: Pick<ResolvedConfig, 'priority'>,
  context: { readonly engines: readonly string[] },
): Decision {
  const rank = (name: string) => {
    const index = config.priority.indexOf(name);
    return index === -1 ? config.priority.length : index;
  };
  const extracted = seams
    .filter((seam) => seam.verdict === 'extracted')
    .map((seam) => seam.name)
    .sort(compareStrings);
  const order = seams
    .filter((seam) => seam.verdict !== 'never' && seam.verdict !== 'extracted')
    .sort(
      (x, y) =>
        rank(x.name) - rank(y.name) ||
        classificationRank(x.classification) - classificationRank(y.classification) ||
        x.tokens - y.tokens ||
        compareStrings(x.name, y.name),
    )
    .map((seam) => seam.name);
  const extract = order.filter((name) => seams.find((s) => s.name === name)!.verdict === 'extract');
  const reconcileFirst = order.filter(
    (name) => seams.find((s) => s.name === name)!.verdict === 'reconcile_first',
  );
  let summary: string;
  if (extract.length > 0) {
    summary = `Extract now: ${extract.join(', ')}`;
    if (reconcileFirst.length > 0) summary += ` (then reconcile ${reconcileFirst.join(', ')})`;
  } else if (seams.length === 0 || seams.length === extracted.length) {
    summary =
      context.engines.length < 2
        ? `Do not extract a shared runtime yet: ${context.engines.length === 0 ? 'no engine has' : `only one engine (${context.engines[0]}) has`} runtime copies, so there are no seams`
        : seams.length === 0
          ? 'Do not extract a shared runtime yet: the engines share no module'
          : 'Nothing left to extract: every seam is already extracted';
  } else if (reconcileFirst.length > 0) {
    summary = `Do not extract a shared runtime yet: triggers fired for ${reconcileFirst.join(', ')}, but the copies differ in behaviour; reconcile them first`;
  } else {
    summary = 'Do not extract a shared runtime yet: no extraction trigger has fired';
  }
  if (extracted.length > 0 && seams.length !== extracted.length)
    summary += ` (already extracted: ${extracted.join(', ')})`;
  return { extractNow: extract.length > 0, summary, extract, reconcileFirst, extracted, order };
}
