/**
 * JSON on the wire with u64 and u128 values as decimal strings (JSON numbers lose precision above
 * 2^53), for the engine's HTTP server and its client: writing any value with bigints as strings
 * and byte arrays as hex, parsing a body into a typed error when it is not JSON, and reading
 * decimal strings back into bigints field by field.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { PackageError } from './package-error.js';

/** What is wrong with a JSON body: not JSON at all, or JSON of the wrong shape. */
export type WireErrorCode = 'bad_json' | 'invalid_request';

/**
 * A body that cannot be read as the request (or response) it should be. `field` is the path of
 * the offending value (`command.resourceId`, `requests[2]`), when there is one.
 */
export class WireError extends PackageError {
  declare readonly code: WireErrorCode;
  readonly field: string | undefined;
  constructor(code: WireErrorCode, message: string, field?: string) {
    super(code, field === undefined ? message : `at ${field}: ${message}`);
    this.field = field;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) text += HEX[bytes[i]!];
  return text;
}

/** The bytes of a lower- or upper-case hex string of even length; throws `WireError` otherwise. */
export function fromHex(text: unknown, field: string): Uint8Array {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new WireError('invalid_request', 'must be a hex string of whole bytes', field);
  }
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function wireValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return toHex(value);
  return value;
}

/** JSON text of `value` with every bigint as a decimal string and every byte array as hex. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, wireValue);
}

/** Parses a JSON text; `bad_json` (with the parser's reason) when it is not JSON. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WireError('bad_json', `the body is not valid JSON (${(error as Error).message})`);
  }
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` as a JSON object, or `invalid_request` at `field`. */
export function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (!isJsonObject(value)) {
    throw new WireError(
      'invalid_request',
      `must be a JSON object, got ${describeJson(value)}`,
      field,
    );
  }
  return value;
}

/** A short description of a JSON value's type, for error messages. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 24 ? 'a string' : JSON.stringify(value);
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** At most this many digits: u128's maximum has 39. Longer strings are refused before BigInt. */
const MAX_DECIMAL_DIGITS = 40;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** The largest u64 and u128: the ranges a wire value is checked against (`decimalAt`'s `max`). */
export const WIRE_U64_MAX = 0xffff_ffff_ffff_ffffn;
export const WIRE_U128_MAX = (1n << 128n) - 1n;

/**
 * The bigint a wire value holds: a decimal string of a non-negative integer (no sign, no leading
 * zeros, no exponent), at most `max` when given (a read's ids and query values, which the
 * engine's reads do not check for the wire). Anything else is `invalid_request` at `field`; JSON
 * numbers are refused too, since above 2^53 they have already lost precision. Without `max` the
 * range (u64, u128) is the engine's to check, with its own error (a submission's fields).
 */
export function decimalAt(value: unknown, field: string, max?: bigint): bigint {
  if (typeof value === 'string' && value.length <= MAX_DECIMAL_DIGITS && DECIMAL.test(value)) {
    const parsed = BigInt(value);
    if (max === undefined || parsed <= max) return parsed;
    throw new WireError(
      'invalid_request',
      `must be at most ${max} (${max === WIRE_U64_MAX ? 'a u64' : max === WIRE_U128_MAX ? 'a u128' : 'its limit'}), got ${value}`,
      field,
    );
  }
  const hint =
    typeof value === 'number'
      ? ' (u64 and u128 values travel as decimal strings, such as "42": JSON numbers lose precision above 2^53)'
      : '';
  throw new WireError(
    'invalid_request',
    `must be a decimal string of a non-negative integer, got ${describeJson(value)}${hint}`,
    field,
  );
}

/** `decimalAt` for an optional value: undefined stays undefined. */
export function optionalDecimalAt(value: unknown, field: string): bigint | undefined {
  return value === undefined ? undefined : decimalAt(value, field);
}

/** The path of `name` inside the object at `prefix` ('' for the top level). */
export function fieldPath(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

/**
 * A copy of `object` with each of `names` that is present converted by `decimalAt` (an array
 * value element by element); other keys are copied unchanged, for the engine's own validation
 * to judge (an unknown key is refused there, with a "did you mean"). `prefix` is the object's
 * path, for error messages.
 */
export function withDecimals(
  object: Record<string, unknown>,
  names: readonly string[],
  prefix: string,
): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...object };
  for (const name of names) {
    const value = object[name];
    if (value === undefined) continue;
    const path = fieldPath(prefix, name);
    copy[name] = Array.isArray(value)
      ? value.map((entry, index) => decimalAt(entry, `${path}[${index}]`))
      : decimalAt(value, path);
  }
  return copy;
}
