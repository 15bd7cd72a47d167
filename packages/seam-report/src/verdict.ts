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
  VerdictDecidedBy,
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
  sharedLines: number | null = null,
): Savings {
  // the main cluster is what moves; outliers are "not part of the move" (all copies when every
  // other copy is an outlier: there is no main cluster to speak of)
  const main = copies.filter((copy) => copy.cluster !== 'outlier');
  const moving = main.length >= 2 ? main : copies;
  const engines = new Set(moving.map((copy) => copy.engine));
  const lines = moving.map((copy) => copy.lines);
  const duplicatedLines = lines.reduce((sum, n) => sum + n, 0) - Math.max(0, ...lines);
  let changedSlices: number | null = null;
  if (history !== null && now !== null) {
    const since = now - config.savings.windowDays * 86_400;
    const changes = [
      ...history.mirroredChanges.flatMap((change) => [change.origin, ...change.followers]),
      ...history.oneSidedChanges,
      ...history.reverts,
      ...history.convergences,
    ].filter(
      (change) =>
        Date.parse(change.commit.date) / 1000 >= since &&
        (copies.length === 0 || engines.has(change.engine)),
    );
    changedSlices = new Set(changes.map((change) => change.slice ?? change.commit.hash)).size;
  }
  const worthIt =
    (sharedLines === null || sharedLines >= config.savings.minSharedLines) &&
    (duplicatedLines >= config.savings.minDuplicatedLines ||
      (changedSlices !== null && changedSlices >= config.savings.minChangedSlices));
  return { duplicatedLines, sharedLines, changedSlices, worthIt };
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
  savings: Savings = { duplicatedLines: 0, sharedLines: null, changedSlices: null, worthIt: true },
  copies: readonly SeamCopy[] = [],
  history: SeamHistory | null = null,
  facts: {
    /** Whether two of today's copies were made from one another (see `SeamWalk.linked`). */
    readonly linked?: boolean;
    /** Whether the main cluster's copies hold only constants whose names or values differ. */
    readonly perPackageConstants?: boolean;
  } = {},
): SeamVerdict {
  const { linked } = facts;
  const outliers = outlierReason(copies);
  const main = new Set(
    copies.filter((copy) => copy.cluster !== 'outlier').map((copy) => copy.engine),
  );
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
    return { verdict: 'extracted', decidedBy: 'extracted', reasons, reconcile: [] };
  }
  if (config.never.includes(seam)) {
    return {
      verdict: 'never',
      decidedBy: 'never',
      reasons: [
        `listed in "never": stays engine-local${fired.length > 0 ? ` (although ${fired.map((t) => t.trigger).join(', ')} fired)` : ''}`,
      ],
      reconcile: [],
    };
  }
  if (fired.length === 0) {
    return {
      verdict: 'keep_local',
      decidedBy: 'no_trigger',
      reasons: ['no extraction trigger fired'],
      reconcile: [],
    };
  }
  const firedNames = fired.map((t) => t.trigger).join(', ');
  // files that share a name but were never copies of one another: nothing to reconcile. Only
  // today's copies count: a copy made from one of them and deleted since links nothing (history
  // explains today's copies, it does not add to them)
  if (
    history !== null &&
    comparison.classification === 'diverged' &&
    history.copyEvents.length > 0 &&
    !(linked ?? history.copyEvents.some((event) => event.copied))
  ) {
    return {
      verdict: 'keep_local',
      decidedBy: 'name_only',
      reasons: [
        `${firedNames} fired`,
        `but these files share a name, not code: ${
          history.copyEvents.some((event) => event.copied)
            ? "none of today's copies was copied from another (a copy made from one of them and deleted since links nothing)"
            : 'none was copied from another (each appeared beside the others)'
        } and they are diverged (similarity ${formatRatio(comparison.similarity)})`,
      ],
      reconcile: [],
    };
  }
  if (facts.perPackageConstants === true) {
    return {
      verdict: 'keep_local',
      decidedBy: 'per_package_constants',
      reasons: [
        `${firedNames} fired`,
        `but the copies hold only constant declarations whose names or values differ (copies are ${comparison.classification}): per-package data, not code to share`,
      ],
      reconcile: [],
    };
  }
  if (savings.sharedLines !== null && savings.sharedLines < config.savings.minSharedLines) {
    return {
      verdict: 'keep_local',
      decidedBy: 'small_shared_part',
      reasons: [
        `${firedNames} fired`,
        `but the shared part is ${savings.sharedLines === 1 ? '1 line' : `${savings.sharedLines} lines`}: a handful of lines is not worth a package (savings.minSharedLines: ${config.savings.minSharedLines})`,
      ],
      reconcile: [],
    };
  }
  if (!savings.worthIt) {
    return {
      verdict: 'keep_local',
      decidedBy: 'little_to_save',
      reasons: [`${firedNames} fired`, littleToSave(copies.length || 2, savings, config)],
      reconcile: [],
    };
  }
  if (isMechanical(comparison.classification)) {
    return {
      verdict: 'extract',
      decidedBy: 'mechanical',
      reasons: [
        `${firedNames} fired`,
        `copies are ${comparison.classification}: a mechanical move${
          comparison.classification === 'renamed' ? ' with type or constant parameters' : ''
        }`,
        ...(outliers === undefined ? [] : [outliers]),
      ],
      reconcile: [],
    };
  }
  return {
    verdict: 'reconcile_first',
    decidedBy: 'behaviour_differs',
    reasons: [
      `${firedNames} fired`,
      `copies are ${comparison.classification} (similarity ${formatRatio(comparison.similarity)}): their behaviour differs`,
      ...(outliers === undefined || comparison.classification === 'diverged' ? [] : [outliers]),
    ],
    reconcile: reconcileList(
      comparison,
      comparison.classification === 'diverged' || main.size === 0
        ? new Set(copies.length > 0 ? copies.map((copy) => copy.engine) : allEngines(comparison))
        : main,
    ),
  };
}

/**
 * What differs in behaviour between the canonical copy and the rest of its main cluster, most
 * specific first, each difference stated once (outliers are listed apart: see `outlierReason`).
 */
function reconcileList(comparison: SeamComparison, main: ReadonlySet<string>): string[] {
  const items: string[] = [];
  const named = (engines: readonly string[]) =>
    engines.length === 1 ? engines[0]! : `${engines.length} copies (${shortList(engines)})`;
  for (const declaration of comparison.declarations.differing) {
    const copies = declaration.copies.filter((copy) => main.has(copy.engine));
    if (copies.length === 0) continue;
    const missing = copies.filter((c) => c.status === 'missing').map((c) => c.engine);
    const extra = copies.filter((c) => c.status === 'extra').map((c) => c.engine);
    const differs = copies.filter((c) => c.status === 'differs');
    if (missing.length > 0 && missing.length === main.size - 1)
      items.push(
        `${declaration.name} exists only in ${comparison.reference} (missing in ${named(missing)})`,
      );
    else if (missing.length > 0) items.push(`${declaration.name} is missing in ${named(missing)}`);
    if (extra.length > 0) items.push(`${declaration.name} exists only in ${named(extra)}`);
    if (differs.length > 0) {
      // a declaration renamed in the copies is named as each calls it
      const names = [...new Set(differs.flatMap((c) => (c.name === undefined ? [] : [c.name])))];
      const where =
        main.size > 2 || names.length > 0 ? ` in ${named(differs.map((c) => c.engine))}` : '';
      items.push(
        `${declaration.name} differs${where} (${names.length > 0 ? `named ${shortList(names)}; ` : ''}similarity ${formatRatio(Math.min(...differs.map((c) => c.similarity ?? 0)))})`,
      );
    }
  }
  for (const literal of comparison.literalDifferences) {
    const values = literal.values.filter((value, index) => index === 0 || main.has(value.engine));
    if (values.length < 2) continue;
    const groups = new Map<string, string[]>();
    for (const value of values)
      groups.set(value.text, [...(groups.get(value.text) ?? []), value.engine]);
    items.push(
      `literal in ${literal.declaration ?? 'top level'}: ${[...groups]
        .map(([text, engines]) => `${shortList(engines)}: ${text}`)
        .join(', ')}`,
    );
  }
  if (items.length === 0)
    items.push('the code differs outside any recognised declaration; see the diff');
  return items;
}

function shortList(items: readonly string[]): string {
  return items.length > 5
    ? `${items.slice(0, 5).join(', ')} and ${items.length - 5} more`
    : items.join(', ');
}

/** "2 outliers left out (x 0.47, y 0.31): not part of the move; reconcile them or keep them local" */
function outlierReason(copies: readonly SeamCopy[]): string | undefined {
  const outliers = copies.filter((copy) => copy.cluster === 'outlier');
  if (outliers.length === 0) return undefined;
  return `${outliers.length === 1 ? '1 outlier' : `${outliers.length} outliers`} outside the main cluster (${shortList(
    outliers.map((copy) => `${copy.engine} ${formatRatio(copy.similarity)}`),
  )}): not part of the move; reconcile ${outliers.length === 1 ? 'it' : 'them'} first or keep ${outliers.length === 1 ? 'it' : 'them'} local`;
}

/** Seams named in the one-line decision before "and N more". */
const SUMMARY_NAMES = 6;

export interface SeamForDecision {
  readonly name: string;
  readonly verdict: Verdict;
  /** What decided the verdict; absent: as if no trigger fired. */
  readonly decidedBy?: VerdictDecidedBy;
  /** Whether an extraction trigger fired for the seam. */
  readonly fired?: boolean;
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
  context: {
    readonly engines: readonly string[];
    /** Seams extracted by deleting their copies (not among `seams`). */
    readonly extracted?: readonly string[];
    /** Why the history is one open slice (`history.slices.oneOpenSlice`), or null. */
    readonly oneOpenSlice?: string | null;
  },
): Decision {
  const rank = (name: string) => {
    const index = config.priority.indexOf(name);
    return index === -1 ? config.priority.length : index;
  };
  const extracted = [
    ...seams.filter((seam) => seam.verdict === 'extracted').map((seam) => seam.name),
    ...(context.extracted ?? []),
  ].sort(compareStrings);
  const removedOnly = context.extracted ?? [];
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
  // the one line names at most a few seams (the lists hold them all)
  const named = (names: readonly string[]) =>
    names.length > SUMMARY_NAMES
      ? `${names.slice(0, SUMMARY_NAMES).join(', ')} and ${names.length - SUMMARY_NAMES} more`
      : names.join(', ');
  let summary: string;
  if (extract.length > 0) {
    summary = `Extract now: ${named(extract)}`;
    if (reconcileFirst.length > 0) summary += ` (then reconcile ${named(reconcileFirst)})`;
  } else if (seams.length === 0 && removedOnly.length > 0) {
    summary = `Nothing left to extract: every seam is already extracted (${named(extracted)})`;
  } else if (seams.length === 0 || seams.length + removedOnly.length === extracted.length) {
    summary =
      seams.length > 0
        ? 'Nothing left to extract: every seam is already extracted'
        : context.engines.length < 2
          ? `Do not extract a shared runtime yet: ${context.engines.length === 0 ? 'no engine has' : `only one engine (${context.engines[0]}) has`} runtime copies, so there are no seams`
          : 'Do not extract a shared runtime yet: the engines share no module';
  } else if (reconcileFirst.length > 0) {
    summary = `Do not extract a shared runtime yet: triggers fired for ${named(reconcileFirst)}, but the copies differ in behaviour; reconcile them first`;
  } else {
    summary = `Do not extract a shared runtime yet: ${keptLocal(seams, named)}`;
  }
  if (extracted.length > 0 && seams.length + removedOnly.length !== extracted.length)
    summary += ` (already extracted: ${named(extracted)})`;
  // a history of one open slice has not been weighed: a "do not extract" says so where it is read
  if (context.oneOpenSlice && extract.length === 0 && seams.length > extracted.length)
    summary += ` (the whole history is one open slice: ${context.oneOpenSlice}; a fix made to several copies in it is part of writing them, so no history trigger can fire)`;
  return { extractNow: extract.length > 0, summary, extract, reconcileFirst, extracted, order };
}

/**
 * Why nothing is extracted when no seam is to be extracted or reconciled: "no extraction trigger
 * has fired", or the triggers that fired and what kept their seams local (the savings, `never`,
 * files that share a name only), so that the line never contradicts the trigger table.
 */
function keptLocal(
  seams: readonly SeamForDecision[],
  named: (names: readonly string[]) => string,
): string {
  const fired = seams.filter((seam) => seam.fired === true && seam.verdict !== 'extracted');
  if (fired.length === 0) return 'no extraction trigger has fired';
  const by = (decidedBy: VerdictDecidedBy) =>
    fired.filter((seam) => seam.decidedBy === decidedBy).map((seam) => seam.name);
  const reasons: string[] = [];
  const little = by('little_to_save');
  if (little.length > 0) reasons.push(`extraction would save little for ${named(little)}`);
  const never = by('never');
  if (never.length > 0)
    reasons.push(`${named(never)} ${never.length === 1 ? 'is' : 'are'} listed in "never"`);
  const constants = by('per_package_constants');
  if (constants.length > 0) reasons.push(`${named(constants)} hold only per-package constants`);
  const small = by('small_shared_part');
  if (small.length > 0) reasons.push(`the shared part of ${named(small)} is a handful of lines`);
  const nameOnly = by('name_only');
  if (nameOnly.length > 0) reasons.push(`the files of ${named(nameOnly)} share a name, not code`);
  return `triggers fired for ${named(fired.map((seam) => seam.name))}, but ${reasons.join('; ')}`;
}

/** Every engine named in a comparison (when the copies themselves are not given). */
function allEngines(comparison: SeamComparison): string[] {
  return [
    ...new Set([comparison.reference, ...comparison.pairs.flatMap((pair) => [pair.a, pair.b])]),
  ];
}
