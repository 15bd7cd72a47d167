/**
 * The seed document's four extraction triggers, measured per seam, each with its evidence:
 *
 * - `repeated_fix`: the same fix landed independently in two or more copies more than once
 *   (mirrored changes, late propagations included, reach the threshold);
 * - `stable_across_slices`: for the listed seams, no copy changed in the last N slices that
 *   changed engine code;
 * - `third_engine`: the seam has a third copy; evidence is the commit where it appeared;
 * - `maintenance_cost`: within the window, mirrored changes, one-sided changes (drift someone
 *   must reconcile) or lines changed again in other copies reach their threshold.
 */
import type { ResolvedConfig } from './config.js';
import { compareStrings } from './order.js';
import type {
  CommitRef,
  MirroredChange,
  SeamCopy,
  SeamHistory,
  SliceSummary,
  TriggerResult,
} from './report.js';

export interface TriggerInputs {
  readonly seam: string;
  readonly copies: readonly SeamCopy[];
  /** Null when history was not read (no commits, or history turned off). */
  readonly history: SeamHistory | null;
  readonly slices: SliceSummary | null;
  /** HEAD's committer time in seconds, the reference point of time windows. */
  readonly now: number | null;
  readonly config: ResolvedConfig;
}

export function evaluateTriggers(inputs: TriggerInputs): TriggerResult[] {
  return [
    repeatedFix(inputs),
    stableAcrossSlices(inputs),
    thirdEngine(inputs),
    maintenanceCost(inputs),
  ];
}

function noHistory(
  trigger: TriggerResult['trigger'],
  thresholds: Record<string, number>,
): TriggerResult {
  return {
    trigger,
    applicable: true,
    fired: false,
    summary: 'no history to measure (no commits, or history was not read)',
    observed: {},
    thresholds,
    evidence: [],
  };
}

function changeCommits(changes: readonly MirroredChange[]): CommitRef[] {
  return uniqueCommits(
    changes.flatMap((change) => [change.origin.commit, ...change.followers.map((f) => f.commit)]),
  );
}

function uniqueCommits(commits: readonly CommitRef[]): CommitRef[] {
  const seen = new Set<string>();
  return commits.filter((commit) => !seen.has(commit.hash) && seen.add(commit.hash));
}

function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${count} ${count === 1 ? word : pluralWord}`;
}

function repeatedFix({ history, config }: TriggerInputs): TriggerResult {
  const threshold = config.triggers.repeated_fix.mirroredChanges;
  const thresholds = { mirroredChanges: threshold };
  if (history === null) return noHistory('repeated_fix', thresholds);
  const mirrored = history.mirroredChanges;
  const late = mirrored.filter((change) => change.kind === 'late_propagation').length;
  const fired = mirrored.length >= threshold;
  return {
    trigger: 'repeated_fix',
    applicable: true,
    fired,
    summary: `${plural(mirrored.length, 'change')} landed in more than one copy (${late} late); threshold ${threshold}`,
    observed: { mirroredChanges: mirrored.length, latePropagations: late },
    thresholds,
    evidence: changeCommits(mirrored),
  };
}

function stableAcrossSlices({ seam, slices, config }: TriggerInputs): TriggerResult {
  const { seams, slices: needed } = config.triggers.stable_across_slices;
  const thresholds = { slices: needed };
  if (!seams.includes(seam)) {
    return {
      trigger: 'stable_across_slices',
      applicable: false,
      fired: false,
      summary: `not measured: ${seam} is not in triggers.stable_across_slices.seams`,
      observed: {},
      thresholds,
      evidence: [],
    };
  }
  if (slices === null) return noHistory('stable_across_slices', thresholds);
  const recent = slices.recent.slice(0, needed);
  const changedIn = recent.filter((slice) => slice.changedSeams.includes(seam));
  const enough = recent.length >= needed;
  const fired = enough && changedIn.length === 0;
  const summary = !enough
    ? `only ${plural(recent.length, 'slice')} changed engine code; ${needed} needed`
    : changedIn.length === 0
      ? `no copy changed in the last ${plural(needed, 'slice')} that changed engine code`
      : `changed in ${changedIn.length} of the last ${plural(needed, 'slice')}`;
  return {
    trigger: 'stable_across_slices',
    applicable: true,
    fired,
    summary,
    observed: { slices: recent.length, slicesChangingSeam: changedIn.length },
    thresholds,
    evidence: (fired ? recent : changedIn).map((slice) => slice.commit),
  };
}

function thirdEngine({ copies, config }: TriggerInputs): TriggerResult {
  const threshold = config.triggers.third_engine.copies;
  const fired = copies.length >= threshold;
  // copies in order of appearance; uncommitted copies count as newest
  const byAppearance = [...copies].sort(
    (x, y) =>
      compareStrings(appearanceKey(x), appearanceKey(y)) || compareStrings(x.engine, y.engine),
  );
  const nth = byAppearance[threshold - 1];
  const summary = fired
    ? `${plural(copies.length, 'copy', 'copies')}: ${nth!.engine} brought copy number ${threshold}${
        nth!.appeared ? ` in ${nth!.appeared.hash.slice(0, 10)}` : ' (not committed yet)'
      }`
    : `${plural(copies.length, 'copy', 'copies')}; threshold ${threshold}`;
  return {
    trigger: 'third_engine',
    applicable: true,
    fired,
    summary,
    observed: { copies: copies.length },
    thresholds: { copies: threshold },
    evidence: fired && nth?.appeared ? [nth.appeared] : [],
  };
}

function appearanceKey(copy: SeamCopy): string {
  return copy.appeared?.date ?? '9999';
}

function maintenanceCost({ history, now, config }: TriggerInputs): TriggerResult {
  const limits = config.triggers.maintenance_cost;
  const thresholds = {
    multiCopyChanges: limits.multiCopyChanges,
    oneSidedChanges: limits.oneSidedChanges,
    repeatedLines: limits.repeatedLines,
  };
  if (history === null || now === null) return noHistory('maintenance_cost', thresholds);
  const since =
    limits.windowDays === null ? Number.NEGATIVE_INFINITY : now - limits.windowDays * 86_400;
  const inWindow = (commit: CommitRef) => Date.parse(commit.date) / 1000 >= since;
  const mirrored = history.mirroredChanges.filter((change) => inWindow(change.origin.commit));
  const oneSided = history.oneSidedChanges.filter((change) => inWindow(change.commit));
  const repeatedLines = mirrored.reduce((sum, change) => sum + change.repeatedLines, 0);
  const reached: string[] = [];
  if (mirrored.length >= limits.multiCopyChanges) reached.push('multi-copy changes');
  if (oneSided.length >= limits.oneSidedChanges) reached.push('one-sided changes');
  if (repeatedLines >= limits.repeatedLines) reached.push('repeated lines');
  const window =
    limits.windowDays === null ? 'in the whole history' : `in the last ${limits.windowDays} days`;
  return {
    trigger: 'maintenance_cost',
    applicable: true,
    fired: reached.length > 0,
    summary: `${plural(mirrored.length, 'multi-copy change')}, ${plural(oneSided.length, 'one-sided change')}, ${plural(repeatedLines, 'repeated line')} ${window}${
      reached.length > 0 ? ` (reached: ${reached.join(', ')})` : ''
    }`,
    observed: {
      multiCopyChanges: mirrored.length,
      oneSidedChanges: oneSided.length,
      repeatedLines,
    },
    thresholds,
    evidence: uniqueCommits([
      ...changeCommits(mirrored),
      ...oneSided.map((change) => change.commit),
    ]),
  };
}
