/**
 * Source texts for synthetic engines: small runtime modules in TypeScript and Rust, written so
 * that a test can derive each classification from a base text by a precise edit.
 */

export const RETIRE_QUEUE_TS = `/** A bounded FIFO of retirement deadlines. */
export class RetireQueue<K> {
  readonly capacity: number;
  private readonly keys: (K | undefined)[];
  private head = 0;
  private count = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
    this.keys = new Array<K | undefined>(this.capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  push(key: K): 'ok' | 'full' {
    if (this.count === this.capacity) return 'full';
    let tail = this.head + this.count;
    if (tail >= this.capacity) tail -= this.capacity;
    this.keys[tail] = key;
    this.count++;
    return 'ok';
  }

  popFront(): K | undefined {
    if (this.count === 0) return undefined;
    const key = this.keys[this.head];
    this.keys[this.head] = undefined;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    return key;
  }
}
`;

export const WAL_TS = `import { crc32c } from './crc32c.js';

/** Frame header: magic, version, length, checksum. */
export const FRAME_MAGIC = 0x57414c31;
export const HEADER_BYTES = 16;
export const CHECKSUM_OFFSET = 12;

export interface Frame {
  readonly lsn: bigint;
  readonly payload: Uint8Array;
}

export function encodeFrame(frame: Frame): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + frame.payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint32(4, frame.payload.length, true);
  view.setBigUint64(8, frame.lsn, true);
  out.set(frame.payload, HEADER_BYTES);
  view.setUint32(CHECKSUM_OFFSET, crc32c(out.subarray(HEADER_BYTES)), true);
  return out;
}

export function decodeFrame(bytes: Uint8Array, offset: number): Frame | undefined {
  if (bytes.length - offset < HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  if (view.getUint32(0, true) !== FRAME_MAGIC) throw new Error('bad magic at ' + offset);
  const length = view.getUint32(4, true);
  if (bytes.length - offset - HEADER_BYTES < length) return undefined;
  const payload = bytes.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
  return { lsn: view.getBigUint64(8, true), payload };
}

export function scan(bytes: Uint8Array): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  for (;;) {
    const frame = decodeFrame(bytes, offset);
    if (frame === undefined) return frames;
    frames.push(frame);
    offset += HEADER_BYTES + frame.payload.length;
  }
}
`;

export const WAL_RS = `//! Write-ahead log frames.

pub const FRAME_MAGIC: u32 = 0x5741_4c31;
pub const HEADER_BYTES: usize = 16;

pub struct Frame {
    pub lsn: u64,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + self.payload.len());
        out.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.lsn.to_le_bytes());
        out.extend_from_slice(&self.payload);
        out
    }
}

pub fn scan(bytes: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut offset = 0;
    while bytes.len() - offset >= HEADER_BYTES {
        let length = u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().unwrap()) as usize;
        let lsn = u64::from_le_bytes(bytes[offset + 8..offset + 16].try_into().unwrap());
        let start = offset + HEADER_BYTES;
        frames.push(Frame { lsn, payload: bytes[start..start + length].to_vec() });
        offset = start + length;
    }
    frames
}
`;

/** A Rust test module to append to a Rust copy. */
export function rustTests(name: string, body: string): string {
  return `
#[cfg(test)]
mod ${name} {
    use super::*;

    #[test]
    fn round_trip() {
        ${body}
    }
}
`;
}
