/**
 * Small formatting helpers shared by the renderers, so that every format words things alike.
 */
import type {
  ChangeRef,
  CommitRef,
  ConvergenceRef,
  MirroredChange,
  RevertRef,
  SeamResult,
  TriggerResult,
} from '../report.js';
import { formatRatio } from '../similarity.js';

export function shortHash(hash: string): string {
  return hash.slice(0, 10);
}

/** `2024-05-01` from an ISO date. */
export function day(iso: string): string {
  return iso.slice(0, 10);
}

export function ratio(value: number): string {
  return formatRatio(value);
}

/** A delay in seconds as `3d 4h`, `5h 10m`, `42s`. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function commitLine(commit: CommitRef): string {
  return `${shortHash(commit.hash)} ${day(commit.date)} ${commit.subject}`;
}

export function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${count} ${count === 1 ? word : pluralWord}`;
}

/** At most `limit` items, with the number left out. */
export function limited<T>(
  items: readonly T[],
  limit: number,
): { shown: readonly T[]; more: number } {
  return { shown: items.slice(0, limit), more: Math.max(0, items.length - limit) };
}

/** How many items each list shows in text and markdown (HTML and JSON show everything). */
export const LIST_LIMIT = 8;

export function firedTriggers(seam: SeamResult): TriggerResult[] {
  return seam.triggers.filter((trigger) => trigger.fired);
}

export function mirrorLine(change: MirroredChange): string {
  const followers = change.followers
    .map(
      (f) =>
        `${
          f.delaySeconds === 0 && f.commit.hash === change.origin.commit.hash
            ? `${f.engine} (same commit`
            : `${f.engine} ${duration(f.delaySeconds)} later in ${shortHash(f.commit.hash)} (`
        }${f.commit.hash === change.origin.commit.hash ? ', ' : ''}${howText(f)})`,
    )
    .join(', ');
  const kind =
    change.kind === 'late_propagation'
      ? 'late propagation'
      : change.kind === 'within_window'
        ? 'mirrored later'
        : 'mirrored';
  return `${kind}: ${commitLine(change.origin.commit)} [${change.origin.engine}] → ${followers}`;
}

/** How a follower matched, for people: "exact", "exact in context", "similar 0.86". */
export function howText(follower: MirroredChange['followers'][number]): string {
  if (follower.how === 'similar') return `similar ${ratio(follower.match)}`;
  return follower.how.replaceAll('_', ' ');
}

export function revertLine(change: RevertRef): string {
  return `revert: ${commitLine(change.commit)} [${change.engine}] undid ${change.reverted
    .map((commit) => shortHash(commit.hash))
    .join(', ')}`;
}

export function convergenceLine(change: ConvergenceRef): string {
  return `convergence: ${commitLine(change.commit)} [${change.engine}] now identical to ${change.with.join(', ')}`;
}

/** "4 changes, 2 mirrored (1 late), 1 one-sided, 1 revert, 1 convergence" */
export function historyCounts(history: NonNullable<SeamResult['history']>): string {
  const late = history.mirroredChanges.filter((c) => c.kind === 'late_propagation').length;
  const parts = [
    plural(history.changes, 'change'),
    `${history.mirroredChanges.length} mirrored (${late} late)`,
    `${history.oneSidedChanges.length} one-sided`,
  ];
  if (history.reverts.length > 0) parts.push(plural(history.reverts.length, 'revert'));
  if (history.convergences.length > 0)
    parts.push(plural(history.convergences.length, 'convergence'));
  if (history.moves.length > 0) parts.push(plural(history.moves.length, 'move'));
  return parts.join(', ');
}

export function moveLine(move: NonNullable<SeamResult['history']>['moves'][number]): string {
  return `moved: ${move.from} → ${move.to} in ${commitLine(move.commit)} [${move.engine}]`;
}

export function oneSidedLine(change: ChangeRef): string {
  return `one-sided: ${commitLine(change.commit)} [${change.engine}], ${plural(change.lines, 'line')}`;
}

export function declarationLine(seam: SeamResult): string[] {
  const lines: string[] = [];
  for (const declaration of seam.comparison.declarations.differing) {
    if (declaration.status === 'partial') {
      lines.push(`${declaration.name}: only in ${declaration.presentIn.join(', ')}`);
    } else if (declaration.status === 'renamed') {
      lines.push(`${declaration.name}: same shape, names or literals differ`);
    } else {
      lines.push(`${declaration.name}: differs (${ratio(declaration.similarity)})`);
    }
  }
  return lines;
}

export function literalLine(seam: SeamResult, index: number): string {
  const literal = seam.comparison.literalDifferences[index]!;
  const values = literal.values
    .map(
      (value) => `${value.engine} ${value.text ?? '—'}${value.line ? ` (line ${value.line})` : ''}`,
    )
    .join(' | ');
  return `${literal.declaration ?? 'top level'}: ${values}`;
}

export function nameLine(seam: SeamResult, index: number): string {
  const name = seam.comparison.nameDifferences[index]!;
  const renamed = name.renamed.map((r) => `${r.engine}: ${r.name}`).join(', ');
  return `${name.reference} → ${renamed} (${name.occurrences}×)`;
}

/** Mean similarity of one engine's copy to the seam's other copies (the heat map cell). */
export function engineSimilarity(seam: SeamResult, engine: string): number | undefined {
  const pairs = seam.comparison.pairs.filter((pair) => pair.a === engine || pair.b === engine);
  if (pairs.length === 0) return undefined;
  return pairs.reduce((sum, pair) => sum + pair.similarity, 0) / pairs.length;
}

/** Where a copy came from: its first commit, or why there is none. */
export function copyOrigin(seam: SeamResult, copy: SeamResult['copies'][number]): string {
  if (copy.appeared) return `since ${commitLine(copy.appeared)}`;
  if (!copy.committed) return 'not committed';
  return seam.history === null ? 'committed (history not read)' : 'committed';
}
