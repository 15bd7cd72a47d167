/**
 * Refusing unknown keys in request, command, config and option objects, with a "did you mean"
 * for the likely typo (`ttl` → `ttlSlots`, `maxResource` → `maxResources`).
 *
 * Built for the submission hot path: the caller counts the object's keys with `countKeys` (a
 * `for…in` count, no allocation) against the number it expects, and only on a mismatch asks
 * `findUnknownKey` which key is foreign and `unknownKeyHint` what to say about it. The
 * functions return facts and words; the caller throws its own typed error.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */

/** Keys longer than this are not compared for suggestions (the distance is quadratic). */
const MAX_SUGGESTION_KEY_LENGTH = 64;

/** The shortest key that may be suggested because one name contains the other (`ttl`). */
const MIN_CONTAINED_LENGTH = 3;

/**
 * How many keys `for…in` visits on `value`: its enumerable string keys, own and inherited
 * (symbols are not counted). Allocation-free.
 */
export function countKeys(value: object): number {
  let count = 0;
  for (const _ in value) count++;
  return count;
}

/** The first key `for…in` visits on `value` that `known` does not list, or undefined. */
export function findUnknownKey(value: object, known: readonly string[]): string | undefined {
  for (const key in value) {
    if (!known.includes(key)) return key;
  }
  return undefined;
}

/** The keys of `required` that `value` lacks (reads as `undefined`), in `required`'s order. */
export function missingKeys(
  value: Readonly<Record<string, unknown>>,
  required: readonly string[],
): string[] {
  return required.filter((key) => value[key] === undefined);
}

/** Lower case without `_` and `-`: `resource_id`, `ResourceID` and `resourceId` compare equal. */
function normalize(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/**
 * The optimal-string-alignment distance between `a` and `b`: insertions, deletions,
 * substitutions and transpositions of adjacent characters each cost 1.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * The entry of `candidates` that `key` most likely meant, or undefined when none is close.
 * Names are compared ignoring case, `_` and `-`. A candidate qualifies when its edit distance
 * is at most a third of the longer name (at least 1), or when one name contains the other and
 * the shorter has at least three characters (`ttl` in `ttlSlots`, `resourceIds` for
 * `resourceId`); among those the nearest wins, the earlier on a tie.
 */
export function suggestKey(key: string, candidates: readonly string[]): string | undefined {
  if (key.length > MAX_SUGGESTION_KEY_LENGTH) return undefined;
  const wanted = normalize(key);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === key) continue;
    const name = normalize(candidate);
    const distance = editDistance(wanted, name);
    const shorter = Math.min(wanted.length, name.length);
    const contains =
      shorter >= MIN_CONTAINED_LENGTH && (name.includes(wanted) || wanted.includes(name));
    const close = distance <= Math.max(1, Math.floor(Math.max(wanted.length, name.length) / 3));
    if ((contains || close) && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `key` as it appears in a message: quoted, and cut short if it is very long. */
export function quoteKey(key: string): string {
  const shown =
    key.length > MAX_SUGGESTION_KEY_LENGTH ? `${key.slice(0, MAX_SUGGESTION_KEY_LENGTH)}…` : key;
  return JSON.stringify(shown);
}

/**
 * What to tell the caller about an unknown `key` among `known` ones: `did you mean "ttlSlots"?`
 * when one is close, otherwise the list of known keys.
 */
export function unknownKeyHint(key: string, known: readonly string[]): string {
  const suggestion = suggestKey(key, known);
  if (suggestion !== undefined) return `did you mean ${quoteKey(suggestion)}?`;
  return `the known ones are ${known.map((name) => quoteKey(name)).join(', ')}`;
}
