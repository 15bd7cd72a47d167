/**
 * The seed document's four extraction triggers, measured per seam, each with its evidence:
 *
 * - `repeated_fix`: the same fix landed in two or more copies in more than one unit of work
 *   (mirrored changes, late propagations included, in at least the threshold's number of slices:
 *   lockstep edits inside one slice are one occurrence);
 * - `stable_across_slices`: for the listed seams, no copy changed in the last N slices that
 *   changed engine code;
 * - `third_engine`: the seam has a third copy; evidence is the commit where it appeared;
 * - `maintenance_cost`: within the window, slices with mirrored changes, slices with one-sided
 *   changes (drift someone must reconcile) or lines changed again in other copies (per slice)
 *   reach their threshold.
 *
 * Changes made in the slice in which one of their copies appeared are part of writing the copy
 * and count toward neither.
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

function uniqueCommits(commits: readonly CommitRef[]): CommitRef[] {
  const seen = new Set<string>();
  return commits.filter((commit) => !seen.has(commit.hash) && seen.add(commit.hash));
}

function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${count} ${count === 1 ? word : pluralWord}`;
}

/** Mirrored changes with a counted follower (not made while a copy was being written). */
function countedMirrors(history: SeamHistory): MirroredChange[] {
  return history.mirroredChanges.filter((change) => change.followers.some((f) => !f.whileCopying));
}

/** The commits of counted mirrored changes: origins and the followers that count. */
function mirrorEvidence(changes: readonly MirroredChange[]): CommitRef[] {
  return uniqueCommits(
    changes.flatMap((change) => [
      change.origin.commit,
      ...change.followers.filter((f) => !f.whileCopying).map((f) => f.commit),
    ]),
  );
}

function repeatedFix({ history, config }: TriggerInputs): TriggerResult {
  const threshold = config.triggers.repeated_fix.mirroredChanges;
  const thresholds = { slices: threshold };
  if (history === null) return noHistory('repeated_fix', thresholds);
  const counted = countedMirrors(history);
  const slices = history.occurrences.filter((o) => o.mirroredChanges > 0).length;
  const late = counted.filter((change) => change.kind === 'late_propagation').length;
  const whileCopying = history.mirroredChanges.length - counted.length;
  const fired = slices >= threshold;
  return {
    trigger: 'repeated_fix',
    applicable: true,
    fired,
    summary: `changes landed in more than one copy in ${plural(slices, 'slice')} (${plural(counted.length, 'mirrored change')}, ${late} late${
      whileCopying > 0
        ? `; ${whileCopying} more made while a copy was being written, not counted`
        : ''
    }); threshold ${plural(threshold, 'slice')}`,
    observed: {
      slices,
      mirroredChanges: counted.length,
      latePropagations: late,
      whileCopying,
    },
    thresholds,
    evidence: mirrorEvidence(counted),
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
    multiCopySlices: limits.multiCopyChanges,
    oneSidedSlices: limits.oneSidedChanges,
    repeatedLines: limits.repeatedLines,
  };
  if (history === null || now === null) return noHistory('maintenance_cost', thresholds);
  const since =
    limits.windowDays === null ? Number.NEGATIVE_INFINITY : now - limits.windowDays * 86_400;
  const inWindow = (commit: CommitRef) => Date.parse(commit.date) / 1000 >= since;
  const occurrences = history.occurrences.filter((o) => inWindow(o.commit));
  const multiCopy = occurrences.filter((o) => o.mirroredChanges > 0).length;
  const oneSided = occurrences.filter((o) => o.oneSidedChanges > 0).length;
  const repeatedLines = occurrences.reduce((sum, o) => sum + o.repeatedLines, 0);
  const reached: string[] = [];
  if (multiCopy >= limits.multiCopyChanges) reached.push('multi-copy changes');
  if (oneSided >= limits.oneSidedChanges) reached.push('one-sided changes');
  if (repeatedLines >= limits.repeatedLines) reached.push('repeated lines');
  const window =
    limits.windowDays === null ? 'in the whole history' : `in the last ${limits.windowDays} days`;
  const mirrored = countedMirrors(history).filter((change) =>
    change.followers.some((f) => !f.whileCopying && inWindow(f.commit)),
  );
  const debts = history.oneSidedChanges.filter(
    (change) => !change.whileCopying && inWindow(change.commit),
  );
  return {
    trigger: 'maintenance_cost',
    applicable: true,
    fired: reached.length > 0,
    summary: `multi-copy changes in ${plural(multiCopy, 'slice')}, one-sided changes in ${plural(oneSided, 'slice')}, ${plural(repeatedLines, 'repeated line')} ${window}${
      reached.length > 0 ? ` (reached: ${reached.join(', ')})` : ''
    }`,
    observed: {
      multiCopySlices: multiCopy,
      oneSidedSlices: oneSided,
      repeatedLines,
    },
    thresholds,
    evidence: uniqueCommits([...mirrorEvidence(mirrored), ...debts.map((change) => change.commit)]),
  };
}
