import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeFrame,
  encodeFrames,
  FrameScanner,
  type ScanResult,
  scanLog,
  WalEncodeError,
  type WalFrame,
} from '../../src/runtime/wal.js';
import { runs, SEED } from '../support/thorough.js';
import {
  busyPayload,
  concat,
  flipBit,
  frame,
  log,
  OPTIONS,
  rawFrame,
  rawHeader,
} from './wal-fixtures.js';

/** Runs the streaming scanner over `bytes` delivered in chunks of `chunkSize`. */
function streamScan(
  bytes: Uint8Array,
  chunkSize: number,
  maxPayloadBytes = OPTIONS.maxPayloadBytes,
): ScanResult {
  const frames: WalFrame[] = [];
  const scanner = new FrameScanner({ maxPayloadBytes }, (f) =>
    frames.push({ ...f, payload: f.payload.slice() }),
  );
  for (let at = 0; at < bytes.length && !scanner.decided; at += chunkSize) {
    scanner.push(bytes.slice(at, at + chunkSize));
  }
  const { validUpTo, stop, frameCount } = scanner.finish();
  expect(frameCount).toBe(frames.length);
  return { frames, validUpTo, stop };
}

const threeFrames = [frame(1, [1, 2, 3]), frame(2, [4, 5, 6, 7, 8]), frame(3, [9])];

describe('WAL frame codec', () => {
  it('encodes the golden frame of docs/format.md byte for byte', () => {
    const golden = encodeFrame(
      {
        recordType: 1,
        lsn: 1n,
        requestSlot: 5n,
        payload: Uint8Array.from([0xde, 0xad, 0xbe, 0xef]),
      },
      OPTIONS,
    );
    const hex = Buffer.from(golden).toString('hex').replace(/(..)/g, '$1 ').trim();
    expect(hex).toBe(
      '41 44 42 57 01 00 01 00 01 00 00 00 00 00 00 00 05 00 00 00 00 00 00 00 04 00 00 00 b8 f7 fa 36 de ad be ef c3 8e 93 35',
    );
    const decoded = decodeFrame(golden, 0, OPTIONS);
    expect(decoded).toEqual({
      kind: 'frame',
      frame: {
        recordType: 1,
        lsn: 1n,
        requestSlot: 5n,
        payload: Uint8Array.from([0xde, 0xad, 0xbe, 0xef]),
      },
      nextOffset: 40,
    });
  });

  it('round-trips any sequence of frames', () => {
    const frameArb = fc.record({
      recordType: fc.constantFrom(1 as const, 2 as const, 3 as const),
      lsn: fc.bigInt(0n, 2n ** 64n - 1n),
      requestSlot: fc.bigInt(0n, 2n ** 64n - 1n),
      payload: fc.uint8Array({ maxLength: 600, size: 'max' }),
    });
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), (frames) => {
        const bytes = encodeFrames(frames, OPTIONS);
        expect(scanLog(bytes, OPTIONS)).toEqual({
          frames,
          validUpTo: bytes.length,
          stop: { kind: 'clean' },
        });
      }),
      { seed: SEED, numRuns: runs(200) },
    );
  });

  it('rejects a payload over maxPayloadBytes, and fields out of range, before encoding anything', () => {
    expect(() =>
      encodeFrames([frame(1, [1]), frame(2, busyPayload(9))], { maxPayloadBytes: 8 }),
    ).toThrow(WalEncodeError);
    expect(() => encodeFrame({ ...frame(1, []), lsn: 2n ** 64n }, OPTIONS)).toThrow(WalEncodeError);
    expect(() => encodeFrame({ ...frame(1, []), requestSlot: -1n }, OPTIONS)).toThrow(
      WalEncodeError,
    );
    expect(() => encodeFrame({ ...frame(1, []), recordType: 4 as never }, OPTIONS)).toThrow(
      WalEncodeError,
    );
    expect(() => encodeFrame(frame(1, []), { ...OPTIONS, magic: 'TOOLONG' })).toThrow(
      WalEncodeError,
    );
  });
});

describe('WAL scanner classification (docs/format.md, section 1: one test per row)', () => {
  const good = log(threeFrames);

  it('row 1: nothing after the last whole frame → clean', () => {
    expect(scanLog(new Uint8Array(0), OPTIONS)).toEqual({
      frames: [],
      validUpTo: 0,
      stop: { kind: 'clean' },
    });
    expect(scanLog(good, OPTIONS)).toEqual({
      frames: threeFrames,
      validUpTo: good.length,
      stop: { kind: 'clean' },
    });
  });

  it('row 2: fewer than 32 bytes, whatever they hold → torn_tail', () => {
    for (const tail of [Uint8Array.of(0), new Uint8Array(31).fill(0xab), busyPayload(31)]) {
      const result = scanLog(concat(good, tail), OPTIONS);
      expect(result.stop).toEqual({ kind: 'torn_tail', offset: good.length });
      expect(result.frames).toEqual(threeFrames);
    }
  });

  it('row 3: 32+ bytes, header CRC fails, every remaining byte zero → torn_tail', () => {
    for (const zeros of [32, 33, 4096]) {
      const result = scanLog(concat(good, new Uint8Array(zeros)), OPTIONS);
      expect(result).toEqual({
        frames: threeFrames,
        validUpTo: good.length,
        stop: { kind: 'torn_tail', offset: good.length },
      });
    }
  });

  it('row 4: 32+ bytes, header CRC fails, some remaining byte non-zero → corruption (header_checksum)', () => {
    const damaged = flipBit(log([frame(4, [1, 2])]), 8 * 9); // a bit of the LSN
    expect(scanLog(concat(good, damaged), OPTIONS).stop).toEqual({
      kind: 'corruption',
      offset: good.length,
      reason: 'header_checksum',
    });
    const zeroHeaderThenGarbage = concat(new Uint8Array(40), Uint8Array.of(7));
    expect(scanLog(concat(good, zeroHeaderThenGarbage), OPTIONS).stop).toMatchObject({
      reason: 'header_checksum',
    });
  });

  it('row 5: header CRC passes but magic, version, record type or flags are wrong → corruption', () => {
    const cases = [
      { fields: { magic: 'QTAW' }, reason: 'bad_magic' },
      { fields: { version: 2 }, reason: 'bad_version' },
      { fields: { recordType: 0 }, reason: 'bad_record_type' },
      { fields: { recordType: 4 }, reason: 'bad_record_type' },
      { fields: { flags: 1 }, reason: 'bad_flags' },
    ] as const;
    for (const { fields, reason } of cases) {
      const result = scanLog(concat(good, rawFrame(fields, busyPayload(5))), OPTIONS);
      expect(result.stop).toEqual({ kind: 'corruption', offset: good.length, reason });
      expect(result.frames).toEqual(threeFrames);
    }
  });

  it('row 5: a quota-core log opened by allocdb-core is bad_magic at offset 0', () => {
    const quotaLog = encodeFrames(threeFrames, { ...OPTIONS, magic: 'QTAW' });
    expect(scanLog(quotaLog, OPTIONS)).toEqual({
      frames: [],
      validUpTo: 0,
      stop: { kind: 'corruption', offset: 0, reason: 'bad_magic' },
    });
  });

  it('row 6: header CRC passes, payloadLength > maxPayloadBytes → corruption (payload_too_large)', () => {
    const big = rawFrame({}, busyPayload(100));
    expect(scanLog(concat(good, big), { maxPayloadBytes: 99 }).stop).toEqual({
      kind: 'corruption',
      offset: good.length,
      reason: 'payload_too_large',
    });
  });

  it('row 7: header CRC passes, the file ends before the frame does → torn_tail', () => {
    const next = rawFrame({ lsn: 4n }, busyPayload(100));
    for (const keep of [32, 33, 100, next.length - 1]) {
      expect(scanLog(concat(good, next.subarray(0, keep)), OPTIONS).stop).toEqual({
        kind: 'torn_tail',
        offset: good.length,
      });
    }
  });

  it('row 8: last frame, frame CRC fails, a 512-byte-aligned sector of it all zero → torn_tail', () => {
    // The good prefix is small, so a 2 KiB last frame covers at least two whole aligned sectors.
    const last = log([frame(4, busyPayload(2048))]);
    const start = good.length;
    const sector = Math.ceil((start + 32) / 512) * 512; // first aligned sector inside the payload
    const torn = concat(good, last);
    torn.fill(0, sector, sector + 512);
    expect(scanLog(torn, OPTIONS)).toEqual({
      frames: threeFrames,
      validUpTo: start,
      stop: { kind: 'torn_tail', offset: start },
    });
    // …also when zero bytes (a file extended but never written) follow it.
    expect(scanLog(concat(torn, new Uint8Array(700)), OPTIONS).stop).toEqual({
      kind: 'torn_tail',
      offset: start,
    });
  });

  it('row 8: a small last frame torn at a sector boundary (its stretch past the boundary zero) → torn_tail', () => {
    // A frame that starts before a 512-byte boundary and ends after it; the write reached the
    // disk up to the boundary only, and the file's length made the rest read back as zeros.
    const padding = log([frame(1, busyPayload(470 - 36))]); // the next frame's header ends at 502
    const crossing = log([frame(2, busyPayload(40))]);
    const bytes = concat(padding, crossing);
    bytes.fill(0, 512);
    expect(scanLog(bytes, OPTIONS)).toEqual({
      frames: [frame(1, busyPayload(470 - 36))],
      validUpTo: 470,
      stop: { kind: 'torn_tail', offset: 470 },
    });
    // The same damage to a frame that lies inside one sector is corruption: a sector is written
    // whole or not at all, so a frame within one cannot be torn.
    const inside = concat(log([frame(1, busyPayload(10))]), log([frame(2, busyPayload(40))]));
    inside.fill(0, inside.length - 8);
    expect(scanLog(inside, OPTIONS).stop).toMatchObject({
      kind: 'corruption',
      reason: 'frame_checksum',
    });
  });

  it('row 9: frame CRC fails otherwise → corruption (frame_checksum)', () => {
    // A last frame whose payload bit flipped: no zero sector.
    const flipped = flipBit(
      log([...threeFrames, frame(4, busyPayload(2048))]),
      8 * (good.length + 40),
    );
    expect(scanLog(flipped, OPTIONS).stop).toEqual({
      kind: 'corruption',
      offset: good.length,
      reason: 'frame_checksum',
    });
    // A frame with a zeroed sector that is not the last one.
    const notLast = concat(good, log([frame(4, busyPayload(2048)), frame(5, [1])]));
    const sector = Math.ceil((good.length + 32) / 512) * 512;
    notLast.fill(0, sector, sector + 512);
    expect(scanLog(notLast, OPTIONS).stop).toEqual({
      kind: 'corruption',
      offset: good.length,
      reason: 'frame_checksum',
    });
    // A last frame with a zeroed sector followed by a non-zero byte.
    const trailing = concat(good, log([frame(4, busyPayload(2048))]), Uint8Array.of(1));
    trailing.fill(0, sector, sector + 512);
    expect(scanLog(trailing, OPTIONS).stop).toEqual({
      kind: 'corruption',
      offset: good.length,
      reason: 'frame_checksum',
    });
    // A small frame cannot hold an aligned zero sector: a damaged payload byte is corruption.
    const smallFlip = flipBit(good, 8 * (good.length - 5));
    expect(scanLog(smallFlip, OPTIONS).stop).toMatchObject({
      kind: 'corruption',
      reason: 'frame_checksum',
    });
  });
});

describe('WAL scanner on damaged logs', () => {
  it('cut at every byte offset of the last two frames keeps exactly the complete frames', () => {
    const frames = [
      frame(1, busyPayload(10)),
      frame(2, busyPayload(700)),
      frame(3, busyPayload(3)),
    ];
    const bytes = log(frames);
    const boundaries = [0];
    for (const f of frames) boundaries.push(boundaries.at(-1)! + f.payload.length + 36);
    for (let cut = boundaries[1]!; cut <= bytes.length; cut++) {
      const result = scanLog(bytes.subarray(0, cut), OPTIONS);
      const complete = boundaries.filter((b) => b <= cut).length - 1;
      expect(result.frames).toEqual(frames.slice(0, complete));
      expect(result.validUpTo).toBe(boundaries[complete]);
      expect(result.stop).toEqual(
        cut === boundaries[complete]
          ? { kind: 'clean' }
          : { kind: 'torn_tail', offset: boundaries[complete] },
      );
    }
  });

  it('every single-bit flip of a three-frame log is detected; only the last frame may read as torn', () => {
    const bytes = log(threeFrames);
    const lastStart = bytes.length - (threeFrames[2]!.payload.length + 36);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const result = scanLog(flipBit(bytes, bit), OPTIONS);
      const byte = bit >> 3;
      // Never a frame with different contents: what was read is a prefix of the original.
      expect(result.frames).toEqual(threeFrames.slice(0, result.frames.length));
      expect(result.stop.kind).not.toBe('clean');
      if (result.stop.kind === 'torn_tail') expect(byte).toBeGreaterThanOrEqual(lastStart);
      if (result.stop.kind === 'corruption') expect(result.stop.offset).toBeLessThanOrEqual(byte);
    }
  });

  it('a declared payload of 4 GiB allocates nothing', () => {
    const header = rawHeader({ payloadLength: 0xffff_ffff });
    const bytes = concat(header, busyPayload(100));
    const before = process.memoryUsage().arrayBuffers;
    expect(decodeFrame(bytes, 0, { maxPayloadBytes: 0xffff_ffff })).toEqual({ kind: 'torn_tail' });
    expect(streamScan(bytes, 7, 0xffff_ffff).stop).toEqual({ kind: 'torn_tail', offset: 0 });
    expect(streamScan(bytes, 64 * 1024, 0xffff_ffff).stop).toEqual({
      kind: 'torn_tail',
      offset: 0,
    });
    expect(decodeFrame(bytes, 0, { maxPayloadBytes: 1 << 20 })).toEqual({
      kind: 'corruption',
      reason: 'payload_too_large',
    });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });
});

describe('streaming scan', () => {
  /** Logs of random frames, then damaged in one of several ways (or not at all). */
  const damagedLog = fc
    .tuple(
      fc.array(fc.uint8Array({ maxLength: 1500, size: 'max' }), { minLength: 0, maxLength: 6 }),
      fc.constantFrom('none', 'cut', 'zeros', 'flip', 'garbage', 'zero-sector'),
      fc.nat(),
      fc.nat({ max: 3000 }),
    )
    .map(([payloads, damage, where, extra]) => {
      const bytes = log(payloads.map((p, i) => frame(i + 1, p)));
      const at = bytes.length === 0 ? 0 : where % bytes.length;
      switch (damage) {
        case 'cut':
          return bytes.subarray(0, at);
        case 'zeros':
          return concat(bytes, new Uint8Array(extra));
        case 'flip':
          return bytes.length === 0 ? bytes : flipBit(bytes, where % (bytes.length * 8));
        case 'garbage':
          return concat(bytes, busyPayload(extra % 64, where));
        case 'zero-sector': {
          const copy = concat(bytes, new Uint8Array(extra % 600));
          const sector = Math.floor(at / 512) * 512;
          copy.fill(0, sector, sector + 512);
          return copy;
        }
        default:
          return bytes;
      }
    });

  it('gives results identical to the in-memory scan for chunk sizes 1, 7, 64 and 64 KiB', () => {
    fc.assert(
      fc.property(damagedLog, (bytes) => {
        const expected = scanLog(bytes, OPTIONS);
        for (const chunkSize of [1, 7, 64, 64 * 1024])
          expect(streamScan(bytes, chunkSize)).toEqual(expected);
      }),
      { seed: SEED, numRuns: runs(150) },
    );
  });
});
