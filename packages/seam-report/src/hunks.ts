/**
 * Line hunks between two copies, for people: what a side-by-side view shows. Computed with the
 * `diff` package (Myers over lines) on the compared texts, three lines of context.
 */
import { structuredPatch } from 'diff';

export interface Hunk {
  readonly oldStart: number;
  readonly oldLines: number;
  readonly newStart: number;
  readonly newLines: number;
  /** Unified-diff lines: a leading ' ' (context), '-' (only in the old copy) or '+'. */
  readonly lines: readonly string[];
}

export const HUNK_CONTEXT_LINES = 3;

export function lineHunks(oldText: string, newText: string): Hunk[] {
  if (oldText === newText) return [];
  const patch = structuredPatch('a', 'b', oldText, newText, '', '', {
    context: HUNK_CONTEXT_LINES,
  });
  return patch.hunks.map((hunk) => ({
    oldStart: hunk.oldStart,
    oldLines: hunk.oldLines,
    newStart: hunk.newStart,
    newLines: hunk.newLines,
    // "\ No newline at end of file" markers are noise for a side-by-side view
    lines: hunk.lines.filter((line) => !line.startsWith('\\')),
  }));
}

/**
 * The first line of `newText` where it differs from `oldText` (for a deletion, the line after
 * which the lines were removed; 1 when the texts are the same), for annotations.
 */
export function firstChangedLine(oldText: string, newText: string): number {
  if (oldText === newText) return 1;
  const hunk = lineHunks(oldText, newText)[0];
  if (hunk === undefined) return 1;
  let line = hunk.newStart;
  for (const text of hunk.lines) {
    if (text.startsWith('+')) return Math.max(1, line);
    if (text.startsWith('-')) return Math.max(1, line);
    line++;
  }
  return Math.max(1, hunk.newStart);
}
