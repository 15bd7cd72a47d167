import { crc32c } from '../../src/runtime/crc32c.js';
import { encodeFrames, type RecordType, type WalFrame } from '../../src/runtime/wal.js';

export const MAX_PAYLOAD = 64 * 1024;
export const OPTIONS = { maxPayloadBytes: MAX_PAYLOAD } as const;

export function frame(
  lsn: number,
  payload: number[] | Uint8Array,
  recordType: RecordType = 1,
): WalFrame {
  return {
    recordType,
    lsn: BigInt(lsn),
    requestSlot: BigInt(lsn) * 10n,
    payload: Uint8Array.from(payload),
  };
}

/** A payload of `length` non-zero bytes (so that no sector of it is all zero). */
export function busyPayload(length: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => ((i * 31 + seed) % 255) + 1);
}

export function log(frames: WalFrame[]): Uint8Array {
  return encodeFrames(frames, OPTIONS);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export interface RawHeaderFields {
  magic?: string;
  version?: number;
  recordType?: number;
  flags?: number;
  lsn?: bigint;
  requestSlot?: bigint;
  payloadLength: number;
}

/** A 32-byte frame header with any field values and a correct header CRC. */
export function rawHeader(fields: RawHeaderFields): Uint8Array {
  const header = new Uint8Array(32);
  const view = new DataView(header.buffer);
  header.set(new TextEncoder().encode(fields.magic ?? 'QTAW'), 0);
  view.setUint16(4, fields.version ?? 1, true);
  view.setUint8(6, fields.recordType ?? 1);
  view.setUint8(7, fields.flags ?? 0);
  view.setBigUint64(8, fields.lsn ?? 1n, true);
  view.setBigUint64(16, fields.requestSlot ?? 0n, true);
  view.setUint32(24, fields.payloadLength, true);
  view.setUint32(28, crc32c(header, 0, 28), true);
  return header;
}

/** A whole frame built from `rawHeader` fields and a payload, with a correct frame CRC. */
export function rawFrame(
  fields: Omit<RawHeaderFields, 'payloadLength'>,
  payload: Uint8Array,
): Uint8Array {
  const bytes = concat(
    rawHeader({ ...fields, payloadLength: payload.length }),
    payload,
    new Uint8Array(4),
  );
  new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32c(bytes, 0, bytes.length - 4), true);
  return bytes;
}

export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}
