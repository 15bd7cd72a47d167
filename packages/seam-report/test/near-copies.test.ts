/**
 * Copies nobody watches (issue 24, item 10). Two engines' shells outside the copied runtime are
 * the same files but for the engines' names (`recovery.ts` differs in 17 type names), and two
 * files of one engine share a framing block; declaring them all "local" hid them, and a fix to one
 * engine's recovery was never flagged for the other. With the engines' names normalised
 * (`normalizeNames`) the report finds them as near copies and, with `discover.watch`, watches
 * them as seams: history, triggers, drift. Blocks shared by two files of one engine are listed
 * (`sharedBlocks`). Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { render } from '../src/render/index.js';
import { DAY, TestRepo } from './support/git-repo.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

/** An engine's recovery, written with its own names. */
const recovery = (
  name: string,
  lower: string,
) => `import { ${name}Db } from '../state-machine/${lower}-db.js';
import type { ${name}Config } from '../config.js';
import { ${name}Error } from '../errors.js';

export interface Recovered {
  readonly config: ${name}Config;
  readonly db: ${name}Db;
  readonly lastLsn: bigint;
}

export function recover(config: ${name}Config, frames: readonly Uint8Array[]): Recovered {
  const db = new ${name}Db(config);
  let lastLsn = 0n;
  for (const frame of frames) {
    if (frame.length < 16) throw new ${name}Error('torn_tail', '${lower}-core: a frame is cut short');
    const lsn = new DataView(frame.buffer, frame.byteOffset).getBigUint64(0, true);
    if (lsn <= lastLsn) throw new ${name}Error('lsn_order', '${lower}-core: LSNs go backwards');
    db.apply(frame.subarray(8));
    lastLsn = lsn;
  }
  return { config, db, lastLsn };
}
`;

/** The framing both file kinds of one engine repeat (the header check), named for each kind. */
const framing = (
  kind: string,
) => `export function check${kind}Header(bytes: Uint8Array, path: string): number {
  if (bytes.length < ${kind.toUpperCase()}_HEADER_BYTES + TRAILER_BYTES) {
    throw new ${kind}FileError(path, 'short', 0, \`\${bytes.length} bytes is too short\`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (magic !== ${kind.toUpperCase()}_MAGIC) throw new ${kind}FileError(path, 'magic', 0, magic);
  const version = view.getUint16(4, true);
  if (version !== FORMAT_VERSION) throw new ${kind}FileError(path, 'version', 4, String(version));
  const length = view.getUint32(8, true);
  if (length !== bytes.length - ${kind.toUpperCase()}_HEADER_BYTES - TRAILER_BYTES) {
    throw new ${kind}FileError(path, 'length', 8, \`\${length} against \${bytes.length}\`);
  }
  const crc = view.getUint32(bytes.length - TRAILER_BYTES, true);
  if (crc !== crc32c(bytes.subarray(0, bytes.length - TRAILER_BYTES))) {
    throw new ${kind}FileError(path, 'crc', bytes.length - TRAILER_BYTES, 'checksum mismatch');
  }
  return length;
}
`;
const CONFIG_FILE = `export const CONFIG_MAGIC = 'ADBC';\nexport const CONFIG_HEADER_BYTES = 12;\n\n${framing('Config')}\nexport function configBody(bytes: Uint8Array): Uint8Array {\n  return bytes.subarray(CONFIG_HEADER_BYTES);\n}\n`;
const SNAPSHOT_FILE = `export const SNAPSHOT_MAGIC = 'ADBS';\nexport const SNAPSHOT_HEADER_BYTES = 32;\n\n${framing('Snapshot')}\nexport function snapshotLsn(bytes: Uint8Array): bigint {\n  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(16, true);\n}\n`;

const CONFIG = {
  normalizeNames: [
    { pattern: 'AllocDb|Quota', as: 'Engine' },
    { pattern: 'allocdb|quota', as: 'engine' },
    { pattern: 'alloc-db|quota-db', as: 'engine-db' },
  ],
  discover: { watch: true },
};

function engines(config: object = CONFIG): TestRepo {
  const r = TestRepo.create();
  repos.push(r);
  const files: Record<string, string> = { 'seam-report.config.json': JSON.stringify(config) };
  for (const [engine, name, lower] of [
    ['allocdb-core', 'AllocDb', 'allocdb'],
    ['quota-core', 'Quota', 'quota'],
  ] as const) {
    files[`packages/${engine}/src/runtime/wal.ts`] = WAL_TS;
    files[`packages/${engine}/src/runtime/config-file.ts`] = CONFIG_FILE;
    files[`packages/${engine}/src/runtime/snapshot-file.ts`] = SNAPSHOT_FILE;
    files[`packages/${engine}/src/engine/recovery.ts`] = recovery(name, lower);
    // the engines' own code, nothing alike
    files[`packages/${engine}/src/state-machine/db.ts`] =
      engine === 'allocdb-core' ? RETIRE_QUEUE_TS : WAL_TS.replaceAll('Frame', 'Bucket');
  }
  r.commit('two engines', files);
  return r;
}

describe('near copies with the engines names normalised', () => {
  it('are found outside the seams, and watched as seams', async () => {
    const r = engines();
    r.advance(8 * DAY);
    const fixed = recovery('AllocDb', 'allocdb').replace('frame.length < 16', 'frame.length < 24');
    r.commit('allocdb-core: a frame header is 24 bytes', {
      'packages/allocdb-core/src/engine/recovery.ts': fixed,
    });
    const report = await analyze({ root: r.root, base: 'HEAD~1' });
    const seam = report.seams.find((s) => s.name === 'recovery')!;
    expect(seam.copies.map((copy) => [copy.engine, copy.path])).toEqual([
      ['allocdb-core', 'packages/allocdb-core/src/engine/recovery.ts'],
      ['quota-core', 'packages/quota-core/src/engine/recovery.ts'],
    ]);
    // the engines' names read as one: the only difference left is the fix
    expect(seam.comparison.nameDifferences).toEqual([]);
    expect(seam.comparison.literalDifferences.map((l) => l.values.map((v) => v.text))).toEqual([
      ['24', '16'],
    ]);
    // the fix is a one-sided change, and the drift check flags the other engine
    expect(seam.history!.oneSidedChanges.map((change) => change.engine)).toEqual(['allocdb-core']);
    expect(report.drift!.findings.map((finding) => finding.seam)).toEqual(['recovery']);
    expect(report.unwatchedCopies.filter((group) => group.name === 'recovery')).toEqual([]);
    expect(report.settings.normalizeNames).toEqual(CONFIG.normalizeNames);
  });

  it('without the names normalised, the engines differ in every type name', async () => {
    const r = engines({ discover: { watch: true } });
    const report = await analyze({ root: r.root, history: false });
    const seam = report.seams.find((s) => s.name === 'recovery')!;
    expect(seam.comparison.classification).toBe('renamed');
    expect(seam.comparison.nameDifferences.map((n) => n.reference)).toContain('AllocDbError');
  });

  it('watching is off by default: they are listed as unwatched copies', async () => {
    const r = engines({ normalizeNames: CONFIG.normalizeNames });
    const report = await analyze({ root: r.root, history: false });
    expect(report.seams.map((s) => s.name)).not.toContain('recovery');
    expect(report.unwatchedCopies.map((group) => group.name)).toContain('recovery');
  });
});

describe('blocks shared by two files of one engine', () => {
  it('are listed once for the engines that share them, with where they are', async () => {
    const r = engines();
    const report = await analyze({ root: r.root, history: false });
    expect(report.sharedBlocks).toEqual([
      {
        files: ['config_file', 'snapshot_file'],
        engines: ['allocdb-core', 'quota-core'],
        tokens: expect.any(Number),
        similarity: expect.any(Number),
        at: [
          // the constants before the framing have one shape too
          { path: 'packages/allocdb-core/src/runtime/config-file.ts', start: 1, end: 25 },
          { path: 'packages/allocdb-core/src/runtime/snapshot-file.ts', start: 1, end: 25 },
        ],
      },
    ]);
    expect(report.sharedBlocks[0]!.tokens).toBeGreaterThanOrEqual(80);
    expect(render(report, 'text')).toContain(
      'Blocks shared inside an engine: config_file and snapshot_file share',
    );
  });
});
