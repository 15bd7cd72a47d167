/**
 * A seam with thirty copies, as the issue describes it: 21 byte-identical copies, 7 near ones
 * (3 lack `rccAssert`, 4 carry a frame limit of their own) and 2 outliers (a retire queue filed
 * under the same name, and a rewrite). Engines are named so that the outliers and the near copies
 * come first in name order: the canonical copy must be found by agreement, not by name.
 */
import { RETIRE_QUEUE_TS, WAL_TS } from './sources.js';

/** The copy most engines carry: WAL_TS and one more function. */
export const CANONICAL_WAL = `${WAL_TS}
export function rccAssert(frame: Frame): void {
  if (frame.payload.length === 0) throw new RangeError('empty frame');
  if (frame.lsn < 0n) throw new RangeError('negative lsn');
}
`;

/** Without `rccAssert`. */
export const LACKS_ASSERT = WAL_TS;

/** With a frame limit in `scan`. */
export const FRAME_LIMIT = CANONICAL_WAL.replace(
  'offset += HEADER_BYTES + frame.payload.length;',
  'offset += HEADER_BYTES + frame.payload.length;\n    if (frames.length > 1000) throw new RangeError("too many frames");',
);

/** A rewrite that keeps little of the canonical copy. */
export const REWRITTEN = `/** A log of frames kept in memory. */
export class MemoryLog {
  private readonly entries: Uint8Array[] = [];
  append(bytes: Uint8Array): number {
    this.entries.push(bytes.slice());
    return this.entries.length;
  }
  read(index: number): Uint8Array | undefined {
    return this.entries[index]?.slice();
  }
}
`;

export interface ManyCopies {
  /** Engine name → the text of its copy. */
  readonly texts: ReadonlyMap<string, string>;
  readonly identical: readonly string[];
  readonly lacksAssert: readonly string[];
  readonly frameLimit: readonly string[];
  readonly outliers: readonly string[];
}

export function manyCopies(): ManyCopies {
  const outliers = ['a-queue', 'b-rewrite'];
  const lacksAssert = ['c-old-1', 'c-old-2', 'c-old-3'];
  const frameLimit = ['d-limit-1', 'd-limit-2', 'd-limit-3', 'd-limit-4'];
  const identical = Array.from({ length: 21 }, (_, i) => `e-${String(i + 1).padStart(2, '0')}`);
  const texts = new Map<string, string>([
    ['a-queue', RETIRE_QUEUE_TS],
    ['b-rewrite', REWRITTEN],
    ...lacksAssert.map((engine) => [engine, LACKS_ASSERT] as const),
    ...frameLimit.map((engine) => [engine, FRAME_LIMIT] as const),
    ...identical.map((engine) => [engine, CANONICAL_WAL] as const),
  ]);
  return { texts, identical, lacksAssert, frameLimit, outliers };
}

/** The repository path of an engine's wal copy. */
export const walOf = (engine: string) => `packages/${engine}/src/runtime/wal.ts`;
