/**
 * The engine's one binary Reader and Writer (command payloads and snapshot bodies), and the
 * `CodecError` every decoder throws. Little-endian throughout; u128 values are written as two
 * u64 words, low word first.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { PackageError } from './package-error.js';

const U64_MAX = (1n << 64n) - 1n;
const U128_MAX = (1n << 128n) - 1n;

/**
 * Initial size of a Writer's buffer: every fixed-shape client request (version, two u128 ids and
 * the largest fixed command) fits, so the common case never grows; bundles and snapshots double
 * it as needed.
 */
export const WRITER_INITIAL_BYTES = 128;

export type CodecErrorCode =
  | 'truncated'
  | 'trailing_bytes'
  | 'unsupported_version'
  | 'unknown_command_kind'
  | 'invalid_value';

/** Bytes that do not decode; `offset` is where decoding failed. */
export class CodecError extends PackageError {
  declare readonly code: CodecErrorCode;
  readonly offset: number;

  constructor(code: CodecErrorCode, offset: number, message: string) {
    super(code, `cannot decode (${code}) at byte ${offset}: ${message}`);
    this.offset = offset;
  }
}

/**
 * Buffers up to this size share one DataView across Readers (see `viewOf`); larger ones (a
 * snapshot body) get their own, so that the shared view never keeps a large buffer alive.
 */
const SHARED_VIEW_MAX_BYTES = 1024 * 1024;
let sharedViewBuffer: ArrayBufferLike | undefined;
let sharedView: DataView | undefined;

/**
 * A DataView over the whole of `buffer`. Replay decodes a Reader per logged frame, each over a
 * payload inside the same scan chunk: making a DataView per frame was a tenth of the decoding,
 * so consecutive Readers over one small buffer share the last view made.
 */
function viewOf(buffer: ArrayBufferLike): DataView {
  if (buffer === sharedViewBuffer) return sharedView!;
  const view = new DataView(buffer);
  if (buffer.byteLength <= SHARED_VIEW_MAX_BYTES) {
    sharedViewBuffer = buffer;
    sharedView = view;
  }
  return view;
}

/**
 * Reads values from the caller's bytes through one DataView and one cursor. Every read goes
 * through `take`, the single bounds check, so an overrun is always a `truncated` CodecError at
 * the offset where the missing value starts. The view covers the bytes' whole buffer (shared,
 * see `viewOf`); `base` is where the bytes start in it.
 */
export class Reader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly base: number;
  private cursor = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = viewOf(bytes.buffer);
    this.base = bytes.byteOffset;
  }

  /** Offset of the next byte to read. */
  get offset(): number {
    return this.cursor;
  }

  /** Bytes left after the cursor. */
  get remaining(): number {
    return this.bytes.byteLength - this.cursor;
  }

  /**
   * Reserves `n` bytes and returns their start in the view (`base` + offset); throws `truncated`
   * (at the offset in the bytes) if they are not there.
   */
  private take(n: number, what: string): number {
    const at = this.cursor;
    if (n > this.bytes.byteLength - at) {
      throw new CodecError('truncated', at, `${what} needs ${n} bytes, ${this.remaining} left`);
    }
    this.cursor = at + n;
    return this.base + at;
  }

  /** Reads a u8. */
  u8(what = 'u8'): number {
    return this.view.getUint8(this.take(1, what));
  }

  /** Reads a little-endian u16. */
  u16(what = 'u16'): number {
    return this.view.getUint16(this.take(2, what), true);
  }

  /** Reads a little-endian u32. */
  u32(what = 'u32'): number {
    return this.view.getUint32(this.take(4, what), true);
  }

  /** Reads a little-endian u64. */
  u64(what = 'u64'): bigint {
    return this.view.getBigUint64(this.take(8, what), true);
  }

  /** Reads a u128 stored as two little-endian u64 words, low word first. */
  u128(what = 'u128'): bigint {
    const at = this.take(16, what);
    const low = this.view.getBigUint64(at, true);
    const high = this.view.getBigUint64(at + 8, true);
    return high === 0n ? low : (high << 64n) | low;
  }

  /** Reads `n` raw bytes and returns a copy (the caller's buffer may be reused). */
  bytesCopy(n: number, what = 'bytes'): Uint8Array {
    const at = this.take(n, what) - this.base;
    return this.bytes.slice(at, at + n);
  }

  /**
   * Checks that `count` items of at least `minItemBytes` each can still follow, before the
   * caller allocates anything for them: a corrupted count fails here as `truncated` instead of
   * allocating from an untrusted number.
   */
  expectItems(count: number, minItemBytes: number, what: string): void {
    if (count * minItemBytes > this.remaining) {
      throw new CodecError(
        'truncated',
        this.cursor,
        `${count} ${what} need at least ${count * minItemBytes} bytes, ${this.remaining} left`,
      );
    }
  }

  /** Throws `trailing_bytes` unless every byte has been read (encodings are canonical). */
  expectEnd(what: string): void {
    if (this.remaining !== 0) {
      throw new CodecError('trailing_bytes', this.cursor, `${this.remaining} bytes after ${what}`);
    }
  }
}

/** A value that does not fit its field is a programmer error: DataView would silently wrap it. */
function assertWidth(value: bigint, max: bigint, bits: number): void {
  if (value < 0n || value > max) throw new RangeError(`${value} does not fit in u${bits}`);
}

function assertSmallWidth(value: number, max: number, bits: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${value} does not fit in u${bits}`);
  }
}

/**
 * Writes values into one growing buffer. A Writer is reusable (`reset`): the state machine keeps
 * one to encode every command's dedupe bytes without allocating a buffer per command. The buffer
 * doubles when full, so the bytes are copied O(log n) times, the same as collecting chunks and
 * concatenating once, without a chunk list.
 */
export class Writer {
  private buffer: Uint8Array;
  private view: DataView;
  private cursor = 0;

  constructor(initialBytes = WRITER_INITIAL_BYTES) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.cursor;
  }

  /** Forgets what was written, keeping the buffer. */
  reset(): void {
    this.cursor = 0;
  }

  /**
   * Makes room for `n` more bytes and returns where they start. Callers must call it before
   * reading `this.view` or `this.buffer`, which it may replace.
   */
  private grow(n: number): number {
    const at = this.cursor;
    if (at + n > this.buffer.byteLength) {
      let size = this.buffer.byteLength * 2;
      while (size < at + n) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.buffer.subarray(0, at));
      this.buffer = bigger;
      this.view = new DataView(bigger.buffer);
    }
    this.cursor = at + n;
    return at;
  }

  /** Writes a u8. */
  u8(value: number): void {
    assertSmallWidth(value, 0xff, 8);
    const at = this.grow(1);
    this.view.setUint8(at, value);
  }

  /** Writes a little-endian u16. */
  u16(value: number): void {
    assertSmallWidth(value, 0xffff, 16);
    const at = this.grow(2);
    this.view.setUint16(at, value, true);
  }

  /** Writes a little-endian u32. */
  u32(value: number): void {
    assertSmallWidth(value, 0xffff_ffff, 32);
    const at = this.grow(4);
    this.view.setUint32(at, value, true);
  }

  /** Writes a little-endian u64; a value out of range is a programmer error (RangeError). */
  u64(value: bigint): void {
    assertWidth(value, U64_MAX, 64);
    const at = this.grow(8);
    this.view.setBigUint64(at, value, true);
  }

  /** Writes a u128 as two little-endian u64 words, low word first. */
  u128(value: bigint): void {
    assertWidth(value, U128_MAX, 128);
    const at = this.grow(16);
    // setBigUint64 keeps the low 64 bits of its argument, so no masking is needed; most ids fit
    // in 64 bits, and skipping the shift for them saves a bigint allocation per id.
    this.view.setBigUint64(at, value, true);
    this.view.setBigUint64(at + 8, value <= U64_MAX ? 0n : value >> 64n, true);
  }

  /** Writes raw bytes. */
  bytes(value: Uint8Array): void {
    const at = this.grow(value.byteLength);
    this.buffer.set(value, at);
  }

  /** The bytes written so far, without copying; valid until the next write or reset. */
  written(): Uint8Array {
    return this.buffer.subarray(0, this.cursor);
  }

  /**
   * The buffer written into, without a view: its first `length` bytes are what was written, until
   * the next write (which may replace it). For a hot path that would otherwise allocate a view
   * per call (`written()`).
   */
  get storage(): Uint8Array {
    return this.buffer;
  }

  /** Whether the bytes written so far equal `other[start, start + length)`. */
  matches(other: Uint8Array, start: number, length: number): boolean {
    if (length !== this.cursor) return false;
    const buffer = this.buffer;
    for (let i = 0; i < length; i++) if (buffer[i] !== other[start + i]) return false;
    return true;
  }

  /** Copies the bytes written so far into `target` at `offset` (the caller made room). */
  copyTo(target: Uint8Array, offset: number): void {
    const length = this.cursor;
    const buffer = this.buffer;
    for (let i = 0; i < length; i++) target[offset + i] = buffer[i]!;
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.cursor);
  }
}
