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
