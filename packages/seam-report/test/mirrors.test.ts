import { describe, expect, it } from 'vitest';
import type { ChangeEvent, CopyIdentity } from '../src/history.js';
import { matchChanges, matchEdits } from '../src/mirrors.js';
import { DAY, EPOCH, HOUR } from './support/git-repo.js';

/** One identity per engine name, as the history walk gives one per copy. */
const identities = new Map<string, CopyIdentity>();
function copy(engine: string): CopyIdentity {
  let identity = identities.get(engine);
  if (identity === undefined) {
    identity = {
      id: identities.size,
      seam: 'wal',
      engine,
      appeared: { hash: '0'.repeat(40), date: '2024-01-01T00:00:00Z', subject: 'root' },
      appearedSlice: undefined,
    };
    identities.set(engine, identity);
  }
  return identity;
}

function event(
  order: number,
  engine: string,
  hours: number,
  signature: number[],
  lines = 1,
): ChangeEvent {
  const time = EPOCH + hours * HOUR;
  const packed = Int32Array.from(signature);
  return {
    order,
    commit: {
      hash: `${order}`.padStart(40, '0'),
      date: new Date(time * 1000).toISOString(),
      subject: `commit ${order}`,
    },
    time,
    slice: undefined,
    sliceLines: lines,
    copy: copy(engine),
    path: `packages/${engine}/src/runtime/wal.ts`,
    language: 'typescript',
    previousOid: '1'.repeat(40),
    oid: '2'.repeat(40),
    sizeBefore: 100,
    sizeAfter: 100,
    signature: packed,
    sortedSignature: packed.slice().sort(),
    named: packed,
    context: new Int32Array(0),
    lines,
  };
}

const FIX = [2, 5, 7, 9, 11];
const OTHER_FIX = [20, 23, 40, 41];
const options = { threshold: 0.7, windowSeconds: 2 * DAY, minTokens: 4 };

describe('matchEdits', () => {
  it('is the LCS ratio of the edits, undefined when the length bound rules a match out', () => {
    expect(matchEdits(event(0, 'a', 0, FIX), event(1, 'b', 0, FIX), options)).toEqual({
      score: 1,
      how: 'exact',
    });
    expect(matchEdits(event(0, 'a', 0, FIX), event(1, 'b', 0, [...FIX, 99]), options)).toEqual({
      score: 10 / 11,
      how: 'similar',
    });
    expect(
      matchEdits(
        event(0, 'a', 0, [1, 2, 3, 4]),
        event(1, 'b', 0, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
        options,
      ),
    ).toBeUndefined();
    expect(matchEdits(event(0, 'a', 0, FIX), event(1, 'b', 0, OTHER_FIX), options)).toBeUndefined();
  });

  it('matches an edit under the minimum size only exactly, at the same place or in one commit', () => {
    const small = (order: number, context: number[]) => ({
      ...event(order, order === 0 ? 'a' : 'b', order, [4, 7]),
      context: Int32Array.from(context),
    });
    expect(matchEdits(small(0, [1, 2]), small(1, [1, 2]), options)?.how).toBe('exact_in_context');
    expect(matchEdits(small(0, [1, 2]), small(1, [1, 3]), options)).toBeUndefined();
    expect(
      matchEdits(small(0, [1, 2]), { ...small(0, [1, 3]), copy: copy('b') }, options)?.how,
    ).toBe('exact');
  });
});

describe('matchChanges', () => {
  it('leaves unrelated changes one-sided', () => {
    const result = matchChanges([event(0, 'a', 0, FIX), event(1, 'b', 1, OTHER_FIX)], options);
    expect(result.mirrored).toEqual([]);
    expect(result.oneSided.map((c) => c.engine)).toEqual(['a', 'b']);
  });

  it('lets each change follow one origin only', () => {
    const result = matchChanges(
      [event(0, 'a', 0, FIX), event(1, 'a', 1, FIX), event(2, 'b', 2, FIX)],
      options,
    );
    expect(result.mirrored).toHaveLength(1);
    expect(result.mirrored[0]!.origin.commit.subject).toBe('commit 0');
    expect(result.oneSided.map((c) => c.commit.subject)).toEqual(['commit 1']);
  });

  it('calls a match late when other changes to either copy landed in between, even within the window', () => {
    const result = matchChanges(
      [event(0, 'a', 0, FIX), event(1, 'b', 1, OTHER_FIX), event(2, 'b', 2, FIX)],
      options,
    );
    expect(result.mirrored.map((m) => [m.kind, m.followers[0]!.delaySeconds])).toEqual([
      ['late_propagation', 2 * HOUR],
    ]);
    expect(result.oneSided.map((c) => c.commit.subject)).toEqual(['commit 1']);
  });

  it('groups followers in several engines, the slowest deciding the kind', () => {
    const result = matchChanges(
      [event(0, 'b', 0, FIX, 3), event(0, 'a', 0, FIX, 4), event(1, 'c', 24 * 5, FIX, 5)],
      options,
    );
    expect(result.mirrored).toHaveLength(1);
    const [group] = result.mirrored;
    expect(group!.origin.engine).toBe('b');
    expect(group!.followers.map((f) => [f.engine, f.delaySeconds])).toEqual([
      ['a', 0],
      ['c', 5 * DAY],
    ]);
    expect(group!.kind).toBe('late_propagation');
    expect(group!.repeatedLines).toBe(9);
  });

  it('looks for followers only at or after the origin; earlier changes do not count as drift', () => {
    const result = matchChanges(
      [
        event(0, 'b', 0, FIX),
        event(1, 'b', 1, OTHER_FIX),
        event(2, 'a', 2, OTHER_FIX),
        event(3, 'a', 3, FIX),
      ],
      options,
    );
    // b's FIX (order 0) comes first and is matched by a's FIX later, with a's OTHER_FIX in between
    expect(result.mirrored.map((m) => [m.origin.engine, m.origin.commit.subject, m.kind])).toEqual([
      ['b', 'commit 0', 'late_propagation'],
      ['b', 'commit 1', 'within_window'],
    ]);
    expect(result.oneSided).toEqual([]);
  });
});
