/**
 * The torn-tail sweep: the log of each recorded scenario is cut at every byte offset inside its
 * last frames, as is and followed by zeros (a seeded random number of them, and as many as the
 * cut removed, as when a file's size reached the disk but its last sectors did not). Each cut
 * is recovered on a real directory and compared with an independent reading of the
 * specification's classification table (`oracle.ts`):
 *
 * - a plain cut is always a torn tail: recovery keeps exactly the complete frames, reports the
 *   cut bytes, truncates the file to them, and the state equals the state of that prefix;
 * - with zeros after it, recovery does what the table says: cut (as above), or refuse with a
 *   typed RecoveryError naming the log and the offset of the damaged frame, leaving it untouched.
 */
import { join } from 'node:path';
import type { EngineAdapter } from '../adapter.js';
import { deriveSeed, Rng } from '../random.js';
import { classify } from './oracle.js';
import { recoverFrom } from './recover.js';
import { lsnAt, type Scenario } from './scenarios.js';

export interface TornFigures {
  cuts: number;
  zeroExtended: number;
  keptCompleteFrames: number;
  refusedPerTable: number;
  sectorAlignedRefused: number;
  wholeFramesCutAsTornWrites: number;
  bytesCut: number;
}

export async function runTornSweep(
  adapter: EngineAdapter,
  scenarios: readonly Scenario[],
  caseDir: string,
  seed: number,
  lastFrames: number,
): Promise<TornFigures> {
  const rng = new Rng(deriveSeed(seed, 99));
  const figures: TornFigures = {
    cuts: 0,
    zeroExtended: 0,
    keptCompleteFrames: 0,
    refusedPerTable: 0,
    sectorAlignedRefused: 0,
    wholeFramesCutAsTornWrites: 0,
    bytesCut: 0,
  };
  for (const { name: scenario, history } of scenarios) {
    const { wal } = history;
    const first = history.frames[Math.max(0, history.frames.length - lastFrames)]!.offset;
    for (let cut = first; cut <= wal.length; cut++) {
      const zeros = rng.range(1, 1600);
      const variants: { label: string; bytes: Uint8Array }[] = [
        { label: 'cut', bytes: wal.subarray(0, cut) },
        {
          label: `cut + ${zeros} zero bytes`,
          bytes: Buffer.concat([wal.subarray(0, cut), new Uint8Array(zeros)]),
        },
      ];
      if (cut < wal.length) {
        variants.push({
          label: 'cut, zero-filled to the original length',
          bytes: Buffer.concat([wal.subarray(0, cut), new Uint8Array(wal.length - cut)]),
        });
      }
      for (const { label, bytes } of variants) {
        const where = `${adapter.name}, ${scenario}: ${label} at byte ${cut} of ${wal.length}`;
        const fail: (message: string) => never = (message) => {
          throw new Error(`${where}: ${message}`);
        };
        const verdict = classify(bytes, adapter.walMagic, adapter.maxPayloadBytes);
        const report = await recoverFrom(adapter, caseDir, {
          wal: bytes,
          snapshot: history.snapshot,
        });
        if (label === 'cut') {
          figures.cuts++;
          if (verdict.kind === 'corruption') fail('the table itself calls a plain cut corruption');
        } else figures.zeroExtended++;
        if (verdict.kind === 'corruption') {
          if (report.ok)
            fail(
              `recovered (LSN ${report.lsn}) although the table says ${verdict.reason} at ${verdict.validUpTo}`,
            );
          if (!report.typed) fail(`refused with an untyped error: ${String(report.error)}`);
          if (report.code !== 'wal_corruption')
            fail(`refused with ${report.code}, not wal_corruption`);
          if (report.path !== join(caseDir, 'wal')) fail(`the error names ${report.path}`);
          if (report.offset !== verdict.validUpTo)
            fail(`the error names offset ${report.offset}, not ${verdict.validUpTo}`);
          if (!report.untouched) fail('refused, but changed the files');
          figures.refusedPerTable++;
          if (cut % 512 === 0) figures.sectorAlignedRefused++;
          continue;
        }
        if (!report.ok) fail(`recovery refused (${String(report.error)}) a ${verdict.kind}`);
        const lsn = lsnAt(history, verdict.validUpTo);
        if (report.lsn !== lsn) fail(`recovered LSN ${report.lsn}, expected ${lsn}`);
        if (report.truncated !== bytes.length - verdict.validUpTo) {
          fail(
            `reported ${report.truncated} bytes cut, expected ${bytes.length - verdict.validUpTo}`,
          );
        }
        if (report.walLength !== verdict.validUpTo)
          fail(
            `the log is ${report.walLength} bytes after recovery, expected ${verdict.validUpTo}`,
          );
        if (report.state !== history.prefixStates.get(lsn))
          fail(`the state differs from the state of the prefix at LSN ${lsn}`);
        if (report.problems.length > 0) fail(report.problems.join('; '));
        figures.keptCompleteFrames++;
        figures.bytesCut += report.truncated;
        const frame = history.frames.find((f) => f.offset === verdict.validUpTo);
        if (frame !== undefined && bytes.length >= frame.end) figures.wholeFramesCutAsTornWrites++;
      }
    }
  }
  return figures;
}
