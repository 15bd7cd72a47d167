/**
 * Canonical text for states, outcomes and requests: bigints as decimal strings with an `n`,
 * byte arrays as hex, object keys sorted, `undefined` fields dropped. Two values are equal for
 * the suites exactly when their canonical texts are.
 */

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, '0');
  return out;
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A JSON-compatible, canonical form of `value`. */
export function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `0x${toHex(value)}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const field = (value as Record<string, unknown>)[key];
      if (field !== undefined) out[key] = plain(field);
    }
    return out;
  }
  return value;
}

export function canon(value: unknown): string {
  return JSON.stringify(plain(value));
}

/** Revives what `plain` produced (strings `123n` → bigint, `0x…` → bytes). */
export function revive(value: unknown): unknown {
  if (typeof value === 'string') {
    if (/^\d+n$/.test(value)) return BigInt(value.slice(0, -1));
    if (/^0x([0-9a-f]{2})*$/.test(value)) return fromHex(value.slice(2));
    return value;
  }
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = revive(field);
    return out;
  }
  return value;
}

/** The first place where two values differ, as `path: a ≠ b`, or undefined when equal. */
export function firstDifference(a: unknown, b: unknown, path = '$'): string | undefined {
  const pa = plain(a);
  const pb = plain(b);
  return diffPlain(pa, pb, path);
}

function diffPlain(a: unknown, b: unknown, path: string): string | undefined {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length) return `${path}[${i}]: missing ≠ ${JSON.stringify(b[i])}`;
      if (i >= b.length) return `${path}[${i}]: ${JSON.stringify(a[i])} ≠ missing`;
      const d = diffPlain(a[i], b[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      const d = diffPlain(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${path}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`;
}
