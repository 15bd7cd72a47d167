/**
 * An independent reading of the WAL classification table (docs/format.md, section 1): what
 * recovery must do with a log, computed without the engines' code. The sweeps compare every
 * recovery with it.
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32/Castagnoli, bit-reflected, init and final XOR 0xFFFFFFFF. */
export function crc32c(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = from; i < to; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const u32 = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

const allZero = (b: Uint8Array, from: number, to: number) => {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
};

export type Verdict =
  | { readonly kind: 'clean'; readonly validUpTo: number; readonly frames: number }
  | { readonly kind: 'torn_tail'; readonly validUpTo: number; readonly frames: number }
  | {
      readonly kind: 'corruption';
      readonly validUpTo: number;
      readonly frames: number;
      readonly reason: string;
    };

/** Classifies a whole log the way the specification's table says. */
export function classify(bytes: Uint8Array, magic: string, maxPayloadBytes: number): Verdict {
  const magicBytes = new TextEncoder().encode(magic);
  let at = 0;
  let frames = 0;
  for (;;) {
    const rest = bytes.length - at;
    if (rest === 0) return { kind: 'clean', validUpTo: at, frames };
    if (rest < 32) return { kind: 'torn_tail', validUpTo: at, frames };
    const corrupt = (reason: string): Verdict => ({
      kind: 'corruption',
      validUpTo: at,
      frames,
      reason,
    });
    if (crc32c(bytes, at, at + 28) !== u32(bytes, at + 28)) {
      return allZero(bytes, at, bytes.length)
        ? { kind: 'torn_tail', validUpTo: at, frames }
        : corrupt('header_checksum');
    }
    if (!magicBytes.every((b, i) => bytes[at + i] === b)) return corrupt('bad_magic');
    if ((bytes[at + 4]! | (bytes[at + 5]! << 8)) !== 1) return corrupt('bad_version');
    const type = bytes[at + 6]!;
    if (type < 1 || type > 3) return corrupt('bad_record_type');
    if (bytes[at + 7] !== 0) return corrupt('bad_flags');
    const n = u32(bytes, at + 24);
    if (n > maxPayloadBytes) return corrupt('payload_too_large');
    const length = 36 + n;
    if (rest < length) return { kind: 'torn_tail', validUpTo: at, frames };
    if (crc32c(bytes, at, at + 32 + n) !== u32(bytes, at + 32 + n)) {
      const last = allZero(bytes, at + length, bytes.length);
      // docs/format.md: a whole 512-byte-aligned sector inside the frame is zero, or the frame's
      // stretch past its last sector boundary is (a frame inside one sector cannot be torn).
      let zeroSector = false;
      for (let s = Math.ceil(at / 512) * 512; s + 512 <= at + length; s += 512) {
        if (allZero(bytes, s, s + 512)) zeroSector = true;
      }
      const lastBoundary = Math.floor((at + length - 1) / 512) * 512;
      if (lastBoundary > at && allZero(bytes, lastBoundary, at + length)) zeroSector = true;
      return last && zeroSector
        ? { kind: 'torn_tail', validUpTo: at, frames }
        : corrupt('frame_checksum');
    }
    at += length;
    frames++;
  }
}

/** A frame's fields as they sit on disk, for building damaged logs with valid checksums. */
export interface RawFrame {
  magic: string;
  version: number;
  recordType: number;
  flags: number;
  lsn: bigint;
  requestSlot: bigint;
  payload: Uint8Array;
  /** Declared payload length; defaults to the payload's. */
  declaredLength?: number;
}

/** Splits a clean log into raw frames (no checks beyond lengths). */
export function parseFrames(bytes: Uint8Array): RawFrame[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: RawFrame[] = [];
  for (let at = 0; at + 36 <= bytes.length; ) {
    const n = view.getUint32(at + 24, true);
    frames.push({
      magic: new TextDecoder().decode(bytes.subarray(at, at + 4)),
      version: view.getUint16(at + 4, true),
      recordType: bytes[at + 6]!,
      flags: bytes[at + 7]!,
      lsn: view.getBigUint64(at + 8, true),
      requestSlot: view.getBigUint64(at + 16, true),
      payload: new Uint8Array(bytes.subarray(at + 32, at + 32 + n)),
    });
    at += 36 + n;
  }
  return frames;
}

/** Encodes raw frames with correct header and frame checksums, whatever their fields say. */
export function encodeRaw(frames: readonly RawFrame[]): Uint8Array {
  const parts = frames.map((f) => {
    const out = new Uint8Array(36 + f.payload.length);
    const view = new DataView(out.buffer);
    out.set(new TextEncoder().encode(f.magic).subarray(0, 4), 0);
    view.setUint16(4, f.version, true);
    out[6] = f.recordType;
    out[7] = f.flags;
    view.setBigUint64(8, f.lsn, true);
    view.setBigUint64(16, f.requestSlot, true);
    view.setUint32(24, f.declaredLength ?? f.payload.length, true);
    view.setUint32(28, crc32c(out, 0, 28), true);
    out.set(f.payload, 32);
    view.setUint32(32 + f.payload.length, crc32c(out, 0, 32 + f.payload.length), true);
    return out;
  });
  return Buffer.concat(parts);
}
