/**
 * Fresh idempotency keys, so that users never invent their own. Not used by the state machine
 * (which must stay deterministic): callers draw ids and put them in requests.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { getRandomValues } from 'node:crypto';

// Random words drawn 512 at a time: one `getRandomValues` per id cost the typed client a sixth
// of its CPU under load (a profile of 64 concurrent callers, issue 22).
const RANDOM_WORDS = 512;
const randomWords = new BigUint64Array(RANDOM_WORDS);
let nextWord = RANDOM_WORDS;
let lastIssued = 0n;

/**
 * A new u128 operation id: milliseconds since the Unix epoch in the high 64 bits, random low 64
 * bits, and strictly greater than every id this process issued before (if the clock stalls or
 * steps back, the previous id plus one).
 */
export function newOperationId(): bigint {
  if (nextWord === RANDOM_WORDS) {
    getRandomValues(randomWords);
    nextWord = 0;
  }
  let id = (BigInt(Date.now()) << 64n) | randomWords[nextWord++]!;
  if (id <= lastIssued) id = lastIssued + 1n;
  lastIssued = id;
  return id;
}
