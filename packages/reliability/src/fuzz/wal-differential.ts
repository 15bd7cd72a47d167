/**
 * Differential checks for WAL bytes: the engine's in-memory `scanLog`, its streaming
 * `FrameScanner` (fed in chunks of varying size) and this package's independent reading of the
 * classification table must give the same verdict, offset and frames. Any disagreement throws a
 * plain Error, which the fuzzer reports as a failure.
 */
import type { WalModule } from '../internals.js';
import type { Rng } from '../random.js';
import { classify, crc32c } from '../sweep/oracle.js';

export function scanThreeWays(
  wal: WalModule,
  bytes: Uint8Array,
  options: { maxPayloadBytes: number },
  magic: string,
): unknown {
  const whole = wal.scanLog(bytes, options);
  const streamed: bigint[] = [];
  const scanner = new wal.FrameScanner(options, (frame) => streamed.push(frame.lsn));
  let seed = (bytes.length * 2654435761) >>> 0;
  for (let at = 0; at < bytes.length && !scanner.decided; ) {
    seed = (Math.imul(seed ^ (seed >>> 13), 0x5bd1e995) + (bytes[at] ?? 0)) >>> 0;
    const size = 1 + (seed % 97);
    scanner.push(bytes.subarray(at, at + size));
    at += size;
  }
  const summary = scanner.finish();
  const describe = (kind: string, validUpTo: number, frames: number, reason?: string) =>
    `${kind}${reason === undefined ? '' : `(${reason})`} at ${validUpTo} after ${frames} frames`;
  const a = describe(
    whole.stop.kind,
    whole.validUpTo,
    whole.frames.length,
    whole.stop.kind === 'corruption' ? whole.stop.reason : undefined,
  );
  const b = describe(
    summary.stop.kind,
    summary.validUpTo,
    summary.frameCount,
    summary.stop.kind === 'corruption' ? summary.stop.reason : undefined,
  );
  const verdict = classify(bytes, magic, options.maxPayloadBytes);
  const c = describe(
    verdict.kind,
    verdict.validUpTo,
    verdict.frames,
    verdict.kind === 'corruption' ? verdict.reason : undefined,
  );
  if (a !== b || a !== c || streamed.some((lsn, i) => lsn !== whole.frames[i]!.lsn)) {
    throw new Error(`WAL verdicts disagree: scanLog ${a}; FrameScanner ${b}; specification ${c}`);
  }
  if (
    whole.stop.kind !== 'clean' &&
    'offset' in whole.stop &&
    whole.stop.offset !== whole.validUpTo
  ) {
    throw new Error(`scanLog stops at ${whole.stop.offset} but keeps ${whole.validUpTo} bytes`);
  }
  return whole;
}

/** Recomputes header (and sometimes frame) checksums of mutated frames, walking declared lengths. */
export function repairWal(bytes: Uint8Array, rng: Rng): Uint8Array {
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  for (let at = 0; at + 32 <= out.length; ) {
    if (rng.chance(0.85)) view.setUint32(at + 28, crc32c(out, at, at + 28), true);
    const n = view.getUint32(at + 24, true);
    const end = at + 32 + n;
    if (end + 4 > out.length) break;
    if (rng.chance(0.7)) view.setUint32(end, crc32c(out, at, end), true);
    at = end + 4;
  }
  return out;
}

/** Recomputes a snapshot file's trailing CRC (and sometimes its body length field). */
export function repairSnapshotFile(bytes: Uint8Array, rng: Rng): Uint8Array {
  const out = new Uint8Array(bytes);
  if (out.length < 36) return out;
  const view = new DataView(out.buffer);
  if (rng.chance(0.5)) view.setBigUint64(24, BigInt(out.length - 36), true);
  view.setUint32(out.length - 4, crc32c(out, 0, out.length - 4), true);
  return out;
}
