/**
 * The damage sweep: every bit of every frame header, a seeded sample of payload and checksum bits
 * and of snapshot bits is flipped, and structured damage that keeps every checksum valid is
 * applied (frames dropped, duplicated, swapped, renumbered; slots rewound; markers moved; another
 * engine's magic; bad version, type, flags, lengths; garbage payloads; the snapshot cut, empty or
 * missing; stale temporary files). Recovery must refuse with a typed RecoveryError naming its
 * code, the file and the offset, leaving the files untouched; it may succeed only where the
 * classification table says the final write is torn; a recovered state is never different from
 * the state of some prefix of the history.
 *
 * Bit flips run through the engine's file-system seam on in-memory copies of the files (many
 * thousand opens, the same recovery code); the structured cases on real directories.
 */
import { join } from 'node:path';
import type { EngineAdapter } from '../adapter.js';
import { deriveSeed, Rng } from '../random.js';
import { classify, encodeRaw, parseFrames, type RawFrame } from './oracle.js';
import { type RecoverFiles, type RecoveryReport, recoverFrom } from './recover.js';
import { lsnAt, type Scenario } from './scenarios.js';

export interface DamageFigures {
  headerBitsFlipped: number;
  payloadBitsFlipped: number;
  snapshotBitsFlipped: number;
  structuredCases: number;
  refused: number;
  recoveredAsPrefix: number;
  codes: Record<string, number>;
}

export interface DamageOptions {
  readonly seed: number;
  readonly payloadFlips: number;
  readonly snapshotFlips: number;
}

const flip = (bytes: Uint8Array, bit: number) => {
  const out = new Uint8Array(bytes);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
};

export async function runDamageSweep(
  adapter: EngineAdapter,
  scenarios: readonly Scenario[],
  caseDir: string,
  options: DamageOptions,
): Promise<DamageFigures> {
  const rng = new Rng(deriveSeed(options.seed, 7));
  const figures: DamageFigures = {
    headerBitsFlipped: 0,
    payloadBitsFlipped: 0,
    snapshotBitsFlipped: 0,
    structuredCases: 0,
    refused: 0,
    recoveredAsPrefix: 0,
    codes: {},
  };
  const walPath = join(caseDir, 'wal');
  const snapshotPath = join(caseDir, 'snapshot');
  const otherMagic = adapter.walMagic === 'ADBW' ? 'QTAW' : 'ADBW';

  for (const { name: scenario, history } of scenarios) {
    const prefixes = new Set(history.prefixStates.values());
    /** Recovers one damaged directory; checks what every outcome must satisfy. */
    const check = async (
      label: string,
      files: RecoverFiles,
      inMemory: boolean,
      mustRefuse: boolean,
    ) => {
      const fail: (message: string) => never = (message) => {
        throw new Error(`${adapter.name}, ${scenario}: ${label}: ${message}`);
      };
      const report: RecoveryReport = await recoverFrom(adapter, caseDir, files, inMemory);
      if (report.ok) {
        if (mustRefuse) fail(`recovered (LSN ${report.lsn}) instead of refusing`);
        if (!prefixes.has(report.state)) fail('the recovered state is no prefix of the history');
        if (report.problems.length > 0) fail(report.problems.join('; '));
        figures.recoveredAsPrefix++;
        return { report, fail };
      }
      if (!report.typed) fail(`refused with an untyped error: ${String(report.error)}`);
      if (report.code === undefined) fail('the error has no code');
      if (report.path !== walPath && report.path !== snapshotPath)
        fail(`the error names ${report.path}`);
      if (!report.untouched) fail('refused, but changed the files');
      figures.codes[report.code] = (figures.codes[report.code] ?? 0) + 1;
      figures.refused++;
      return { report, fail };
    };
    /** A damaged log: the classification table decides what recovery must do. */
    const checkLog = async (label: string, wal: Uint8Array) => {
      const verdict = classify(wal, adapter.walMagic, adapter.maxPayloadBytes);
      const { report, fail } = await check(
        label,
        { wal, snapshot: history.snapshot },
        true,
        verdict.kind === 'corruption',
      );
      if (!report.ok) {
        if (report.code !== 'wal_corruption')
          fail(`refused with ${report.code}, not wal_corruption`);
        if (report.path !== walPath) fail(`the error names ${report.path}`);
        if (report.offset !== verdict.validUpTo)
          fail(`the error names offset ${report.offset}, not ${verdict.validUpTo}`);
      } else {
        // Only the final, incomplete write may go, and only as the table says.
        if (report.lsn !== lsnAt(history, verdict.validUpTo)) fail(`recovered LSN ${report.lsn}`);
        if (verdict.validUpTo < history.frames.at(-1)!.offset)
          fail('cut more than the final write');
      }
    };

    // 1. Every bit of every frame header.
    for (const frame of history.frames) {
      for (let bit = frame.offset * 8; bit < (frame.offset + 32) * 8; bit++) {
        await checkLog(
          `header bit ${bit - frame.offset * 8} of LSN ${frame.lsn}`,
          flip(history.wal, bit),
        );
        figures.headerBitsFlipped++;
      }
    }
    // 2. A sample of payload and frame-checksum bits.
    const ranges = history.frames.map((f) => [(f.offset + 32) * 8, f.end * 8] as const);
    const total = ranges.reduce((n, [a, b]) => n + (b - a), 0);
    for (let i = 0; i < options.payloadFlips / scenarios.length; i++) {
      let pick = rng.int(total);
      let bit = 0;
      for (const [a, b] of ranges) {
        if (pick < b - a) {
          bit = a + pick;
          break;
        }
        pick -= b - a;
      }
      await checkLog(`payload/checksum bit ${bit}`, flip(history.wal, bit));
      figures.payloadBitsFlipped++;
    }
    // 3. Snapshot bits: every header bit, then a sample of the rest.
    const snapshot = history.snapshot;
    if (snapshot !== undefined) {
      const bits = [
        ...Array.from({ length: 32 * 8 }, (_, i) => i),
        ...Array.from({ length: Math.ceil(options.snapshotFlips / 2) }, () =>
          rng.int(snapshot.length * 8),
        ),
      ];
      for (const bit of bits) {
        const { report, fail } = await check(
          `snapshot bit ${bit}`,
          { wal: history.wal, snapshot: flip(snapshot, bit) },
          true,
          true,
        );
        if (!report.ok) {
          if (report.code !== 'snapshot_invalid')
            fail(`refused with ${report.code}, not snapshot_invalid`);
          if (report.path !== snapshotPath) fail(`the error names ${report.path}`);
          if (typeof report.offset !== 'number') fail('the error names no offset');
        }
        figures.snapshotBitsFlipped++;
      }
    }

    // 4. Structured damage with valid checksums.
    const raw = parseFrames(history.wal);
    const data = raw.map((f, i) => ({ f, i })).filter(({ f }) => f.recordType !== 3);
    if (data.length >= 2) {
      const mid = data[Math.max(1, Math.floor(data.length / 2))]!.i;
      // Two neighbouring data frames (swapping a marker with a frame leaves a harmless log).
      const pair = Math.max(
        0,
        raw.findIndex(
          (f, i) =>
            i >= mid - 1 &&
            f.recordType !== 3 &&
            raw[i + 1] !== undefined &&
            raw[i + 1]!.recordType !== 3,
        ),
      );
      const edit = (change: (frames: RawFrame[]) => void) => {
        const frames = raw.map((f) => ({ ...f }));
        change(frames);
        return encodeRaw(frames);
      };
      const cases: [string, Uint8Array, string][] = [
        ['a middle frame dropped', edit((fs) => fs.splice(mid, 1)), 'lsn_not_contiguous'],
        [
          'a middle frame duplicated',
          edit((fs) => fs.splice(mid, 0, { ...fs[mid]! })),
          'lsn_not_contiguous',
        ],
        [
          'two data frames swapped',
          edit((fs) => fs.splice(pair, 2, fs[pair + 1]!, fs[pair]!)),
          'lsn_not_contiguous',
        ],
        ['an LSN renumbered', edit((fs) => (fs[mid]!.lsn += 1n)), 'lsn_not_contiguous'],
        [
          'a frame with the magic of another engine',
          edit((fs) => (fs[mid]!.magic = otherMagic)),
          'wal_corruption',
        ],
        ['format version 2', edit((fs) => (fs[mid]!.version = 2)), 'wal_corruption'],
        ['record type 9', edit((fs) => (fs[mid]!.recordType = 9)), 'wal_corruption'],
        ['flags set', edit((fs) => (fs[mid]!.flags = 1)), 'wal_corruption'],
        [
          'a payload length over the limit',
          edit((fs) => (fs[mid]!.declaredLength = adapter.maxPayloadBytes + 1)),
          'wal_corruption',
        ],
        [
          'a payload of garbage',
          edit((fs) => (fs[mid]!.payload = rng.bytes(fs[mid]!.payload.length))),
          'undecodable_frame',
        ],
        [
          'a payload cut short',
          edit((fs) => (fs[mid]!.payload = fs[mid]!.payload.subarray(0, 5))),
          'undecodable_frame',
        ],
        [
          'the whole log from another engine',
          edit((fs) => fs.forEach((f) => (f.magic = otherMagic))),
          'wrong_engine',
        ],
      ];
      const last = data.at(-1)!.i;
      const before = raw
        .slice(0, last)
        .filter((f) => f.recordType !== 3)
        .at(-1);
      if (before !== undefined && before.requestSlot > 0n) {
        cases.push([
          'a request slot rewound',
          edit((fs) => (fs[last]!.requestSlot = before.requestSlot - 1n)),
          'slot_rewind',
        ]);
      }
      const marker = raw.findIndex((f) => f.recordType === 3);
      if (marker >= 0 && marker < raw.length - 1) {
        cases.push([
          'a marker naming a later LSN',
          edit((fs) => (fs[marker]!.lsn += 5n)),
          'marker_mismatch',
        ]);
      }
      for (const [label, wal, code] of cases) {
        // A garbage payload could, in principle, decode: then it must still be a prefix state.
        const { report, fail } = await check(
          label,
          { wal, snapshot: history.snapshot },
          false,
          code !== 'undecodable_frame',
        );
        if (!report.ok) {
          if (report.code !== code) fail(`refused with ${report.code}, not ${code}`);
          if (code !== 'wrong_engine' && typeof report.offset !== 'number')
            fail('the error names no offset');
        }
        figures.structuredCases++;
      }
    }
    if (snapshot !== undefined) {
      const cases: [string, RecoverFiles, boolean][] = [
        [
          'the snapshot cut short',
          { wal: history.wal, snapshot: snapshot.subarray(0, snapshot.length - 9) },
          true,
        ],
        [
          'the snapshot missing',
          { wal: history.wal, snapshot: undefined },
          raw[0] !== undefined && raw[0].lsn !== 1n,
        ],
        ['an empty snapshot file', { wal: history.wal, snapshot: new Uint8Array(0) }, true],
        [
          'a stale wal.tmp beside the log',
          { wal: history.wal, snapshot, extra: { 'wal.tmp': rng.bytes(300) } },
          false,
        ],
        [
          'a stale snapshot.tmp beside it',
          { wal: history.wal, snapshot, extra: { 'snapshot.tmp': rng.bytes(300) } },
          false,
        ],
      ];
      for (const [label, files, mustRefuse] of cases) {
        const { report, fail } = await check(label, files, false, mustRefuse);
        if (report.ok && report.state !== history.prefixStates.get(history.lastLsn))
          fail('recovered less than everything');
        figures.structuredCases++;
      }
    }
  }
  return figures;
}
