/**
 * Deterministic ordering helpers. Reports must not depend on the machine's locale, so strings
 * are compared by code unit, never with `localeCompare`.
 */

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedStrings(values: Iterable<string>): string[] {
  return [...values].sort(compareStrings);
}
