/**
 * The write-ahead log's frame codec and scanner (format version 1).
 *
 * | offset | size | field                                                        |
 * |--------|------|--------------------------------------------------------------|
 * | 0      | 4    | magic, 4 ASCII bytes per engine (WAL_MAGIC below)            |
 * | 4      | 2    | format version u16 = 1                                       |
 * | 6      | 1    | record type u8: 1 client, 2 internal, 3 snapshot marker      |
 * | 7      | 1    | flags u8, must be 0                                          |
 * | 8      | 8    | lsn u64                                                      |
 * | 16     | 8    | requestSlot u64                                              |
 * | 24     | 4    | payloadLength u32                                            |
 * | 28     | 4    | header CRC32C of bytes 0..28                                 |
 * | 32     | n    | payload                                                      |
 * | 32+n   | 4    | frame CRC32C of bytes 0..32+n                                |
 *
 * All integers little-endian. Frames follow each other with no padding and no file header.
 * The header CRC lets the scanner trust `payloadLength` before reading the payload, so a damaged
 * length in the middle of the log is reported as corruption, not mistaken for a torn tail.
 *
 * The scanner classifies whatever follows the last good frame (docs/format.md): `clean`,
 * `torn_tail` (an incomplete final write that recovery may cut off) or `corruption` (anything
 * else; recovery must stop). `decodeFrame`/`scanLog` work on bytes in memory; `FrameScanner` does
 * the same classification on a stream of chunks in bounded memory (one frame plus one chunk).
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */
import { assert } from './assert.js';
import { crc32c, crc32cUpdate } from './crc32c.js';
import { PackageError } from './package-error.js';

// ---------------------------------------------------------------------------------------------
// Engine-specific values. This is the only block that differs between the engines' copies.
/** Magic bytes of this engine's WAL frames: "ADBW" (allocdb-core). */
export const WAL_MAGIC = 'ADBW';
// ---------------------------------------------------------------------------------------------

export const WAL_FORMAT_VERSION = 1;

/**
 * The frame header, field by field: where each field starts and how many bytes it takes. The
 * encoder, the header check and the reader all use these names (through the `*_AT` constants
 * below), and the layout is checked once when this module loads.
 */
export const FRAME_HEADER_LAYOUT = [
  { field: 'magic', offset: 0, size: 4 },
  { field: 'formatVersion', offset: 4, size: 2 },
  { field: 'recordType', offset: 6, size: 1 },
  { field: 'flags', offset: 7, size: 1 },
  { field: 'lsn', offset: 8, size: 8 },
  { field: 'requestSlot', offset: 16, size: 8 },
  { field: 'payloadLength', offset: 24, size: 4 },
  { field: 'headerCrc', offset: 28, size: 4 },
] as const;
export const FRAME_HEADER_BYTES = 32;
export const FRAME_TRAILER_BYTES = 4;

/** Offset of a header field, from the layout (the only place the numbers are written). */
function headerOffset(field: (typeof FRAME_HEADER_LAYOUT)[number]['field']): number {
  const entry = FRAME_HEADER_LAYOUT.find((candidate) => candidate.field === field);
  assert(entry !== undefined, 'every WAL header field is in the layout');
  return entry.offset;
}

// Checked once at load: the fields are contiguous and end exactly at FRAME_HEADER_BYTES.
assert(
  FRAME_HEADER_LAYOUT.reduce((at, { offset, size }) => (offset === at ? at + size : -1), 0) ===
    FRAME_HEADER_BYTES,
  'the WAL frame header layout is contiguous and FRAME_HEADER_BYTES long',
);

const MAGIC_AT = headerOffset('magic');
const VERSION_AT = headerOffset('formatVersion');
const RECORD_TYPE_AT = headerOffset('recordType');
const FLAGS_AT = headerOffset('flags');
const LSN_AT = headerOffset('lsn');
const REQUEST_SLOT_AT = headerOffset('requestSlot');
const PAYLOAD_LENGTH_AT = headerOffset('payloadLength');
/** The header CRC covers every header byte before it. */
const HEADER_CRC_AT = headerOffset('headerCrc');
/** Bytes a frame adds around its payload. */
export const FRAME_OVERHEAD_BYTES = FRAME_HEADER_BYTES + FRAME_TRAILER_BYTES;
/** The largest payload length the u32 field can express. */
export const MAX_ENCODABLE_PAYLOAD_BYTES = 0xffff_ffff;
/**
 * The CRC32C state after any header followed by its own (matching) header CRC: a constant, since
 * the CRC of a message followed by its CRC does not depend on the message (docs/format.md,
 * "Why two checksums"). Continuing from it over the payload gives the frame CRC without reading
 * the 32 header bytes a second time. Computed and checked once at load.
 */
const HEADER_RESIDUE = (() => {
  const probe = (fill: number): number => {
    const bytes = new Uint8Array(FRAME_HEADER_BYTES).fill(fill);
    const crc = crc32c(bytes, 0, HEADER_CRC_AT);
    new DataView(bytes.buffer).setUint32(HEADER_CRC_AT, crc, true);
    return crc32c(bytes);
  };
  const residue = probe(0);
  assert(residue === probe(0xa5), 'a header followed by its CRC leaves a constant CRC state');
  return residue;
})();

/** Sector size used to recognise a write that never fully reached the disk. */
export const SECTOR_BYTES = 512;

const U64_MAX = 0xffff_ffff_ffff_ffffn;

export const RecordType = {
  client: 1,
  internal: 2,
  snapshotMarker: 3,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export interface WalFrame {
  readonly recordType: RecordType;
  readonly lsn: bigint;
  readonly requestSlot: bigint;
  readonly payload: Uint8Array;
}

export interface WalCodecOptions {
  /** 4 ASCII bytes; defaults to this engine's WAL_MAGIC. */
  readonly magic?: string;
  /** Largest payload accepted when encoding and trusted when decoding. */
  readonly maxPayloadBytes: number;
}

export type CorruptionReason =
  | 'header_checksum'
  | 'bad_magic'
  | 'bad_version'
  | 'bad_record_type'
  | 'bad_flags'
  | 'payload_too_large'
  | 'frame_checksum';

export type ScanStop =
  | { readonly kind: 'clean' }
  | { readonly kind: 'torn_tail'; readonly offset: number }
  | { readonly kind: 'corruption'; readonly offset: number; readonly reason: CorruptionReason };

export interface ScanResult {
  readonly frames: WalFrame[];
  /** Offset just past the last whole, valid frame. */
  readonly validUpTo: number;
  readonly stop: ScanStop;
}

/** A frame that cannot be encoded (bad field value or payload too large); nothing was written. */
export class WalEncodeError extends PackageError {
  declare readonly code: 'wal_encode';
  constructor(message: string) {
    super('wal_encode', message);
  }
}

function magicBytes(magic: string): Uint8Array {
  const bytes = new TextEncoder().encode(magic);
  if (bytes.length !== 4 || magic.length !== 4) {
    throw new WalEncodeError(`WAL magic must be 4 ASCII characters, got ${JSON.stringify(magic)}`);
  }
  return bytes;
}

const defaultMagicBytes = magicBytes(WAL_MAGIC);

function resolveMagic(options: WalCodecOptions): Uint8Array {
  return options.magic === undefined || options.magic === WAL_MAGIC
    ? defaultMagicBytes
    : magicBytes(options.magic);
}

/** Length on disk of a frame carrying `payloadLength` bytes. */
export function encodedFrameLength(payloadLength: number): number {
  return FRAME_OVERHEAD_BYTES + payloadLength;
}

function assertEncodable(frame: WalFrame, maxPayloadBytes: number): void {
  if (frame.recordType !== 1 && frame.recordType !== 2 && frame.recordType !== 3) {
    throw new WalEncodeError(`unknown WAL record type ${String(frame.recordType)}`);
  }
  if (typeof frame.lsn !== 'bigint' || frame.lsn < 0n || frame.lsn > U64_MAX) {
    throw new WalEncodeError(`WAL frame lsn ${String(frame.lsn)} is not a u64`);
  }
  if (
    typeof frame.requestSlot !== 'bigint' ||
    frame.requestSlot < 0n ||
    frame.requestSlot > U64_MAX
  ) {
    throw new WalEncodeError(`WAL frame requestSlot ${String(frame.requestSlot)} is not a u64`);
  }
  const limit = Math.min(maxPayloadBytes, MAX_ENCODABLE_PAYLOAD_BYTES);
  if (frame.payload.length > limit) {
    throw new WalEncodeError(
      `WAL frame payload of ${frame.payload.length} bytes exceeds maxPayloadBytes ${limit}`,
    );
  }
}

function writeFrame(
  target: Uint8Array,
  view: DataView,
  at: number,
  frame: WalFrame,
  magic: Uint8Array,
): number {
  const n = frame.payload.length;
  target.set(magic, at + MAGIC_AT);
  view.setUint16(at + VERSION_AT, WAL_FORMAT_VERSION, true);
  view.setUint8(at + RECORD_TYPE_AT, frame.recordType);
  view.setUint8(at + FLAGS_AT, 0);
  view.setBigUint64(at + LSN_AT, frame.lsn, true);
  view.setBigUint64(at + REQUEST_SLOT_AT, frame.requestSlot, true);
  view.setUint32(at + PAYLOAD_LENGTH_AT, n, true);
  view.setUint32(at + HEADER_CRC_AT, crc32c(target, at, at + HEADER_CRC_AT), true);
  const payloadStart = at + FRAME_HEADER_BYTES;
  target.set(frame.payload, payloadStart);
  const payloadEnd = payloadStart + n;
  // The frame CRC covers bytes at..payloadEnd; the header part of it is the constant residue.
  view.setUint32(payloadEnd, crc32cUpdate(HEADER_RESIDUE, target, payloadStart, payloadEnd), true);
  return payloadEnd + FRAME_TRAILER_BYTES;
}

/**
 * Encodes frames back to back into one buffer (one write call for a whole group-commit batch).
 * Every frame is validated before anything is encoded. With `scratch` large enough, the frames
 * are encoded into it and a view of it is returned (the caller owns the reuse); otherwise into a
 * new buffer.
 */
export function encodeFrames(
  frames: readonly WalFrame[],
  options: WalCodecOptions,
  scratch?: Uint8Array,
): Uint8Array {
  const magic = resolveMagic(options);
  let total = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    assertEncodable(frame, options.maxPayloadBytes);
    total += encodedFrameLength(frame.payload.length);
  }
  const buffer =
    scratch !== undefined && scratch.byteLength >= total
      ? scratch.subarray(0, total)
      : new Uint8Array(total);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let at = 0;
  for (let i = 0; i < frames.length; i++) at = writeFrame(buffer, view, at, frames[i]!, magic);
  return buffer;
}

export function encodeFrame(frame: WalFrame, options: WalCodecOptions): Uint8Array {
  return encodeFrames([frame], options);
}

// ---------------------------------------------------------------------------------------------
// Decoding primitives shared by the in-memory decoder and the streaming scanner, so that both
// classify every byte sequence the same way.

type HeaderCheck =
  | { readonly ok: true; readonly payloadLength: number; readonly frameLength: number }
  | { readonly ok: false; readonly reason: CorruptionReason };

/** The failures of `headerPayloadLength`, in the order it checks them. */
const HEADER_FAILURES: readonly CorruptionReason[] = [
  'header_checksum',
  'bad_magic',
  'bad_version',
  'bad_record_type',
  'bad_flags',
  'payload_too_large',
];

/**
 * `checkHeader` without a result object (the streaming scanner checks a header per frame): the
 * payload length, or −1 − the index of the failure in `HEADER_FAILURES`.
 */
function headerPayloadLength(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  magic: Uint8Array,
  maxPayloadBytes: number,
): number {
  const stored = view.getUint32(at + HEADER_CRC_AT, true);
  if (crc32c(bytes, at, at + HEADER_CRC_AT) !== stored) return -1;
  const m = at + MAGIC_AT;
  if (
    bytes[m] !== magic[0] ||
    bytes[m + 1] !== magic[1] ||
    bytes[m + 2] !== magic[2] ||
    bytes[m + 3] !== magic[3]
  ) {
    return -2;
  }
  if (view.getUint16(at + VERSION_AT, true) !== WAL_FORMAT_VERSION) return -3;
  const recordType = bytes[at + RECORD_TYPE_AT]!;
  if (recordType < 1 || recordType > 3) return -4;
  if (bytes[at + FLAGS_AT] !== 0) return -5;
  const payloadLength = view.getUint32(at + PAYLOAD_LENGTH_AT, true);
  if (payloadLength > maxPayloadBytes) return -6;
  return payloadLength;
}

/** Checks the 32 header bytes at `at`. `header_checksum` means the header cannot be trusted. */
function checkHeader(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  magic: Uint8Array,
  maxPayloadBytes: number,
): HeaderCheck {
  const payloadLength = headerPayloadLength(bytes, view, at, magic, maxPayloadBytes);
  if (payloadLength < 0) return { ok: false, reason: HEADER_FAILURES[-1 - payloadLength]! };
  return { ok: true, payloadLength, frameLength: encodedFrameLength(payloadLength) };
}

/** Whether the frame CRC stored after the payload matches. `at..at+frameLength` must be present. */
function frameChecksumMatches(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  frameLength: number,
): boolean {
  // Called only after the header CRC matched: the header's part of the frame CRC is the residue.
  const crcAt = at + frameLength - FRAME_TRAILER_BYTES;
  return (
    crc32cUpdate(HEADER_RESIDUE, bytes, at + FRAME_HEADER_BYTES, crcAt) ===
    view.getUint32(crcAt, true)
  );
}

/**
 * Reads a verified frame. With `copy`, the payload is a copy the caller may keep; without, it is
 * a view of `bytes` (the streaming scanner's frames, valid only while its callback runs), which
 * spares replay an allocation and a copy per frame.
 */
function readFrame(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  payloadLength: number,
  copy: boolean,
): WalFrame {
  const start = at + FRAME_HEADER_BYTES;
  return {
    recordType: bytes[at + RECORD_TYPE_AT] as RecordType,
    lsn: view.getBigUint64(at + LSN_AT, true),
    requestSlot: view.getBigUint64(at + REQUEST_SLOT_AT, true),
    // A copy is a plain Uint8Array (Buffer#slice would be a view of the caller's bytes).
    payload: copy
      ? new Uint8Array(bytes.subarray(start, start + payloadLength))
      : bytes.subarray(start, start + payloadLength),
  };
}

function isAllZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Whether the frame `bytes[at, at+length)` (at file offset `fileOffset`) shows the mark of a
 * write whose later sectors never reached the disk: one of the 512-byte-aligned sectors it covers
 * holds only zeros of it. That is a whole sector inside the frame, or the frame's final stretch
 * past its last sector boundary (which holds the frame CRC, so it is all zero only when torn).
 * A frame inside a single sector cannot be torn: a sector is written whole or not at all.
 */
function hasZeroSector(bytes: Uint8Array, at: number, length: number, fileOffset: number): boolean {
  const frameEnd = fileOffset + length;
  const lastBoundary = Math.floor((frameEnd - 1) / SECTOR_BYTES) * SECTOR_BYTES;
  if (lastBoundary <= fileOffset) return false;
  if (isAllZero(bytes, at + (lastBoundary - fileOffset), at + length)) return true;
  for (
    let sector = Math.ceil(fileOffset / SECTOR_BYTES) * SECTOR_BYTES;
    sector + SECTOR_BYTES <= frameEnd;
    sector += SECTOR_BYTES
  ) {
    const from = at + (sector - fileOffset);
    if (isAllZero(bytes, from, from + SECTOR_BYTES)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// In-memory decoding.

export type DecodeResult =
  | { readonly kind: 'frame'; readonly frame: WalFrame; readonly nextOffset: number }
  | { readonly kind: 'end' }
  | { readonly kind: 'torn_tail' }
  | { readonly kind: 'corruption'; readonly reason: CorruptionReason };

/**
 * Decodes the frame at `offset`, treating `bytes` as the whole log (what follows decides between
 * a torn tail and corruption, per the classification table in docs/format.md). Never allocates
 * from the declared payload length before checking it against `maxPayloadBytes` and the bytes
 * present.
 */
export function decodeFrame(
  bytes: Uint8Array,
  offset: number,
  options: WalCodecOptions,
): DecodeResult {
  const magic = resolveMagic(options);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decodeAt(bytes, view, offset, magic, options.maxPayloadBytes);
}

function decodeAt(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  magic: Uint8Array,
  maxPayloadBytes: number,
): DecodeResult {
  const remaining = bytes.length - offset;
  if (remaining === 0) return { kind: 'end' };
  if (remaining < FRAME_HEADER_BYTES) return { kind: 'torn_tail' };
  const header = checkHeader(bytes, view, offset, magic, maxPayloadBytes);
  if (!header.ok) {
    if (header.reason === 'header_checksum' && isAllZero(bytes, offset, bytes.length)) {
      return { kind: 'torn_tail' };
    }
    return { kind: 'corruption', reason: header.reason };
  }
  if (remaining < header.frameLength) return { kind: 'torn_tail' };
  if (!frameChecksumMatches(bytes, view, offset, header.frameLength)) {
    const frameEnd = offset + header.frameLength;
    const isLastWrite = isAllZero(bytes, frameEnd, bytes.length);
    if (isLastWrite && hasZeroSector(bytes, offset, header.frameLength, offset))
      return { kind: 'torn_tail' };
    return { kind: 'corruption', reason: 'frame_checksum' };
  }
  return {
    kind: 'frame',
    frame: readFrame(bytes, view, offset, header.payloadLength, true),
    nextOffset: offset + header.frameLength,
  };
}

/** Scans a whole log held in memory. */
export function scanLog(bytes: Uint8Array, options: WalCodecOptions): ScanResult {
  const magic = resolveMagic(options);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: WalFrame[] = [];
  let offset = 0;
  for (;;) {
    const result = decodeAt(bytes, view, offset, magic, options.maxPayloadBytes);
    switch (result.kind) {
      case 'frame':
        frames.push(result.frame);
        offset = result.nextOffset;
        break;
      case 'end':
        return { frames, validUpTo: offset, stop: { kind: 'clean' } };
      case 'torn_tail':
        return { frames, validUpTo: offset, stop: { kind: 'torn_tail', offset } };
      case 'corruption':
        return {
          frames,
          validUpTo: offset,
          stop: { kind: 'corruption', offset, reason: result.reason },
        };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming scan in bounded memory.

export interface StreamScanSummary {
  readonly frameCount: number;
  readonly validUpTo: number;
  readonly stop: ScanStop;
}

/**
 * Classifies a log delivered as a sequence of chunks, exactly as `scanLog` would, holding at most
 * one frame plus the chunk being processed. Frames are handed to `onFrame` as they are verified;
 * a frame's payload is a view of the scanner's input, valid only while `onFrame` runs (copy it
 * to keep it). Once `decided` is true the rest of the input cannot change the result and the
 * caller may stop reading.
 */
export class FrameScanner {
  private readonly magic: Uint8Array;
  private readonly maxPayloadBytes: number;
  private readonly onFrame: (frame: WalFrame, offset: number) => void;

  /** File offset of the first byte not yet consumed into a verified frame. */
  private frameStart = 0;
  private frameCount = 0;
  /** Bytes of the current (incomplete) frame gathered so far; `pending` holds them. */
  private pending: Uint8Array = new Uint8Array(FRAME_HEADER_BYTES);
  private pendingView = new DataView(this.pending.buffer);
  private pendingFill = 0;
  /** Length of the current frame once its header has been verified, else 0. */
  private pendingFrameLength = 0;

  /**
   * After a damaged header or frame, the verdict depends on whether every later byte is zero:
   * `zeroTailVerdict` holds the answer if some later byte is not.
   */
  private zeroTailVerdict: ScanStop | undefined;
  private final: ScanStop | undefined;

  constructor(options: WalCodecOptions, onFrame: (frame: WalFrame, offset: number) => void) {
    this.magic = resolveMagic(options);
    this.maxPayloadBytes = options.maxPayloadBytes;
    this.onFrame = onFrame;
  }

  /** True once the verdict can no longer change (corruption found). */
  get decided(): boolean {
    return this.final !== undefined;
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && this.final === undefined) {
      if (this.zeroTailVerdict !== undefined) {
        if (!isAllZero(chunk, at, chunk.length)) this.final = this.zeroTailVerdict;
        return;
      }
      if (this.pendingFill === 0) {
        at = this.consumeWholeFrames(chunk, at);
        if (at >= chunk.length || this.final !== undefined || this.zeroTailVerdict !== undefined)
          continue;
      }
      at = this.gather(chunk, at);
    }
  }

  /** Verifies frames lying wholly inside `chunk` without copying them; returns where it stopped. */
  private consumeWholeFrames(chunk: Uint8Array, at: number): number {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (chunk.length - at >= FRAME_HEADER_BYTES) {
      const payloadLength = headerPayloadLength(chunk, view, at, this.magic, this.maxPayloadBytes);
      if (payloadLength < 0) {
        this.badHeader(HEADER_FAILURES[-1 - payloadLength]!, chunk, at);
        return chunk.length;
      }
      const frameLength = encodedFrameLength(payloadLength);
      if (chunk.length - at < frameLength) return at;
      if (!frameChecksumMatches(chunk, view, at, frameLength)) {
        this.badFrame(chunk, at, frameLength);
        return at + frameLength;
      }
      this.emit(readFrame(chunk, view, at, payloadLength, false), frameLength);
      at += frameLength;
    }
    return at;
  }

  /** Copies bytes of a frame that straddles chunks into `pending`; returns the new position. */
  private gather(chunk: Uint8Array, at: number): number {
    const target = this.pendingFrameLength === 0 ? FRAME_HEADER_BYTES : this.pendingFrameLength;
    const take = Math.min(target - this.pendingFill, chunk.length - at);
    this.reservePending(this.pendingFill + take, target);
    this.pending.set(chunk.subarray(at, at + take), this.pendingFill);
    this.pendingFill += take;
    at += take;
    assert(this.pendingFill <= target, 'the scanner never gathers past the frame it is reading');
    if (this.pendingFill < target) return at;

    if (this.pendingFrameLength === 0) {
      const header = checkHeader(
        this.pending,
        this.pendingView,
        0,
        this.magic,
        this.maxPayloadBytes,
      );
      if (!header.ok) {
        this.badHeader(header.reason, this.pending, 0);
        return at;
      }
      // The header CRC passed and the length is within maxPayloadBytes, but the bytes may never
      // come (a torn tail): the buffer grows with the bytes that actually arrive.
      this.pendingFrameLength = header.frameLength;
      return at;
    }

    const frameLength = this.pendingFrameLength;
    const bytes = this.pending;
    this.resetPending();
    if (!frameChecksumMatches(bytes, new DataView(bytes.buffer), 0, frameLength)) {
      this.badFrame(bytes, 0, frameLength);
      return at;
    }
    const view = new DataView(bytes.buffer);
    this.emit(readFrame(bytes, view, 0, frameLength - FRAME_OVERHEAD_BYTES, false), frameLength);
    return at;
  }

  /** Grows `pending` to hold `needed` bytes: at most double, never past the frame's length. */
  private reservePending(needed: number, frameLength: number): void {
    if (needed <= this.pending.length) return;
    const grown = new Uint8Array(Math.min(frameLength, Math.max(needed, this.pending.length * 2)));
    grown.set(this.pending.subarray(0, this.pendingFill));
    this.pending = grown;
    this.pendingView = new DataView(grown.buffer);
  }

  private resetPending(): void {
    this.pending = new Uint8Array(FRAME_HEADER_BYTES);
    this.pendingView = new DataView(this.pending.buffer);
    this.pendingFill = 0;
    this.pendingFrameLength = 0;
  }

  private emit(frame: WalFrame, frameLength: number): void {
    assert(
      frameLength === FRAME_OVERHEAD_BYTES + frame.payload.length,
      'a verified frame is its payload plus the overhead',
    );
    assert(this.final === undefined, 'no frame is emitted once the verdict is final');
    this.onFrame(frame, this.frameStart);
    this.frameStart += frameLength;
    this.frameCount++;
  }

  /** A header that failed: a zero-filled tail is torn; anything else is corruption. */
  private badHeader(reason: CorruptionReason, bytes: Uint8Array, at: number): void {
    const corruption: ScanStop = { kind: 'corruption', offset: this.frameStart, reason };
    if (reason !== 'header_checksum' || !isAllZero(bytes, at, bytes.length)) {
      this.final = corruption;
      return;
    }
    this.zeroTailVerdict = corruption;
    this.resetPending();
  }

  /** A whole frame whose CRC failed: torn only if it is the last write and has a zero sector. */
  private badFrame(bytes: Uint8Array, at: number, frameLength: number): void {
    const corruption: ScanStop = {
      kind: 'corruption',
      offset: this.frameStart,
      reason: 'frame_checksum',
    };
    if (!hasZeroSector(bytes, at, frameLength, this.frameStart)) {
      this.final = corruption;
      return;
    }
    // The bytes after the frame are judged by `push` like any zero-tail check.
    this.zeroTailVerdict = corruption;
  }

  /** The verdict once every chunk has been pushed. */
  finish(): StreamScanSummary {
    const validUpTo = this.frameStart;
    let stop: ScanStop;
    if (this.final !== undefined) stop = this.final;
    else if (this.zeroTailVerdict !== undefined || this.pendingFill > 0)
      stop = { kind: 'torn_tail', offset: validUpTo };
    else stop = { kind: 'clean' };
    return { frameCount: this.frameCount, validUpTo, stop };
  }
}
