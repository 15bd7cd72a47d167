/**
 * The lifecycle of a seam: extraction (issue 11). On a repository that extracted its WAL frame
 * codec into a shared package in one commit (each copy shrank to a thin adapter importing the
 * new package), the extraction commit was counted as a mirrored fix and the seam was recommended
 * for extraction again. Generated repositories with fixed dates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { render } from '../src/render/index.js';
import type { SeamReport, SeamResult } from '../src/report.js';
import { DAY, TestRepo } from './support/git-repo.js';
import { FIXES } from './support/scenarios.js';
import { RETIRE_QUEUE_TS, WAL_RS, WAL_TS } from './support/sources.js';

const repos: TestRepo[] = [];
function repo(): TestRepo {
  const created = TestRepo.create();
  repos.push(created);
  return created;
}
afterEach(() => {
  for (const created of repos.splice(0)) created.dispose();
});

const seamOf = (report: SeamReport, name: string): SeamResult =>
  report.seams.find((seam) => seam.name === name)!;
const fixed = (text: string, ...fixes: (keyof typeof FIXES)[]) =>
  fixes.reduce((out, fix) => out.replace(FIXES[fix][0], FIXES[fix][1]), text);
const codec = (engine: string) => `packages/${engine}/src/runtime/wal-codec.ts`;

const ADAPTER = `import { decodeFrame, encodeFrame, scan } from '@acme/wal-codec';

/** The engine's WAL frames: the shared codec. */
export { decodeFrame, encodeFrame, scan };
export const FRAME_HEADER_BYTES = 16;
`;

/** Two engines copy a frame codec, fix it in both twice, then extract it into a package. */
function extractedCodec(r: TestRepo): void {
  r.commit('two engines', {
    'seam-report.config.json': JSON.stringify({ slices: { by: 'first-parent' } }),
    [codec('alloc')]: WAL_TS,
    [codec('quota')]: WAL_TS,
    'packages/alloc/src/runtime/retire-queue.ts': RETIRE_QUEUE_TS,
    'packages/quota/src/runtime/retire-queue.ts': RETIRE_QUEUE_TS,
  });
  r.advance(10 * DAY);
  r.commit('both: bounds', {
    [codec('alloc')]: fixed(WAL_TS, 'bounds'),
    [codec('quota')]: fixed(WAL_TS, 'bounds'),
  });
  r.advance(10 * DAY);
  const shared = fixed(WAL_TS, 'bounds', 'freeze');
  r.commit('both: freeze', { [codec('alloc')]: shared, [codec('quota')]: shared });
  r.advance(10 * DAY);
  r.commit('Extract the WAL frame codec into @acme/wal-codec', {
    'packages/wal-codec/package.json': `${JSON.stringify({ name: '@acme/wal-codec', type: 'module' })}\n`,
    'packages/wal-codec/src/index.ts': shared,
    [codec('alloc')]: ADAPTER,
    [codec('quota')]: ADAPTER,
  });
}

describe('a seam extracted into a shared package', () => {
  it('is reported as extracted, when and where to, and never recommended again', async () => {
    const r = repo();
    extractedCodec(r);
    const report = await analyze({ root: r.root });
    const seam = seamOf(report, 'wal_codec');
    expect(report.decision.extract).toEqual([]);
    expect(seam.extracted).toMatchObject({
      commit: { subject: 'Extract the WAL frame codec into @acme/wal-codec' },
      to: '@acme/wal-codec',
      files: ['packages/wal-codec/src/index.ts'],
      copies: ['alloc', 'quota'],
      stillLocal: [],
    });
    expect(seam.verdict.verdict).toBe('extracted');
    expect(report.decision.extract).toEqual([]);
    expect(report.decision.extracted).toEqual(['wal_codec']);
    expect(report.decision.order).not.toContain('wal_codec');
    expect(report.decision.summary).toBe(
      'Do not extract a shared runtime yet: no extraction trigger has fired (already extracted: wal_codec)',
    );
    // what remains of the copies (the adapters) is compared as usual
    expect(seam.comparison.classification).toBe('identical');
    expect(render(report, 'text')).toMatch(/extracted: to @acme\/wal-codec in [0-9a-f]{10} /);
  });

  it("never counts the extraction commit as a fix; the history is the adapters' since", async () => {
    const r = repo();
    extractedCodec(r);
    r.advance(DAY);
    r.commit('alloc: adapter constant', {
      [codec('alloc')]: ADAPTER.replace('FRAME_HEADER_BYTES = 16', 'FRAME_HEADER_BYTES = 24'),
    });
    const seam = seamOf(await analyze({ root: r.root }), 'wal_codec');
    const subjects = [
      ...seam.history!.mirroredChanges.flatMap((m) => [
        m.origin.commit.subject,
        ...m.followers.map((f) => f.commit.subject),
      ]),
      ...seam.history!.oneSidedChanges.map((c) => c.commit.subject),
    ];
    expect(subjects).not.toContain('Extract the WAL frame codec into @acme/wal-codec');
    expect(seam.history!.oneSidedChanges.map((c) => c.commit.subject)).toEqual([
      'alloc: adapter constant',
    ]);
    expect(seam.triggers.find((t) => t.trigger === 'repeated_fix')!.fired).toBe(false);
  });

  it('a copy that still carries its own code is named, and told to switch', async () => {
    const r = repo();
    r.commit('three engines', {
      [codec('alloc')]: WAL_TS,
      [codec('quota')]: WAL_TS,
      [codec('fence')]: WAL_TS,
    });
    r.advance(DAY);
    r.commit('extract the codec (alloc, quota)', {
      'packages/wal-codec/package.json': `${JSON.stringify({ name: '@acme/wal-codec' })}\n`,
      'packages/wal-codec/src/index.ts': WAL_TS,
      [codec('alloc')]: ADAPTER,
      [codec('quota')]: ADAPTER,
    });
    const seam = seamOf(await analyze({ root: r.root }), 'wal_codec');
    expect(seam.extracted).toMatchObject({ copies: ['alloc', 'quota'], stillLocal: ['fence'] });
    expect(seam.verdict.reasons.join(' ')).toMatch(
      /fence still carries its own code: switch it to @acme\/wal-codec/,
    );
  });
});

describe('a Rust seam extracted into a workspace crate', () => {
  it('is found through the crate name the adapters use', async () => {
    const r = repo();
    r.commit('two crates', {
      'crates/alloc/src/codec.rs': WAL_RS,
      'crates/quota/src/codec.rs': WAL_RS,
    });
    r.advance(DAY);
    const adapter =
      'pub use frame_codec::{scan, Frame};\n\npub const ENGINE_FRAMES: bool = true;\n';
    r.commit('extract frame-codec', {
      'crates/frame-codec/Cargo.toml': '[package]\nname = "frame-codec"\nversion = "0.1.0"\n',
      'crates/frame-codec/src/lib.rs': WAL_RS,
      'crates/alloc/src/codec.rs': adapter,
      'crates/quota/src/codec.rs': adapter,
    });
    const report = await analyze({ root: r.root });
    expect(seamOf(report, 'codec').extracted).toMatchObject({
      to: 'frame_codec',
      files: ['crates/frame-codec/src/lib.rs'],
    });
    expect(report.decision.summary).toBe(
      'Nothing left to extract: every seam is already extracted',
    );
  });

  // issue 23, item 3: the name was read with a pattern that stopped at the first `[`, so an
  // array before `name` hid the crate and a real extraction was reported as a mirrored change
  const manifests = {
    'authors before name':
      '[package]\nauthors = ["Ada <ada@example.com>", "Bob"]\nname = "frame-codec"\nversion = "0.1.0"\n',
    'keywords and an inline table before name':
      '# the shared frame codec\n[package]\nkeywords = [\n  "wal",\n  "codec",\n]\nmetadata = { docs = ["a"] }\nname = \'frame-codec\'\nedition.workspace = true\n\n[dependencies]\nname = "not-this"\n',
    'dotted keys': 'package.name = "frame-codec"\npackage.version = "0.1.0"\n',
  };
  for (const [shape, manifest] of Object.entries(manifests)) {
    it(`is found whatever the manifest lists before the crate name (${shape})`, async () => {
      const r = repo();
      r.commit('two crates', {
        'crates/alloc/src/codec.rs': WAL_RS,
        'crates/quota/src/codec.rs': WAL_RS,
      });
      r.advance(DAY);
      const adapter = 'pub use frame_codec::{scan, Frame};\n';
      r.commit('extract frame-codec', {
        'crates/frame-codec/Cargo.toml': manifest,
        'crates/frame-codec/src/lib.rs': WAL_RS,
        'crates/alloc/src/codec.rs': adapter,
        'crates/quota/src/codec.rs': adapter,
      });
      const report = await analyze({ root: r.root });
      const codec = seamOf(report, 'codec');
      expect(codec.extracted).toMatchObject({ to: 'frame_codec' });
      expect(codec.verdict.verdict).toBe('extracted');
      expect(codec.history!.mirroredChanges).toEqual([]);
    });
  }

  it('a manifest that is not valid TOML is skipped, not an error', async () => {
    const r = repo();
    r.commit('two crates and a broken manifest', {
      'crates/alloc/src/codec.rs': WAL_RS,
      'crates/quota/src/codec.rs': WAL_RS,
      'crates/broken/Cargo.toml': '[package\nname = "broken"\n',
    });
    const report = await analyze({ root: r.root });
    expect(seamOf(report, 'codec').extracted).toBeNull();
  });

  it('two copies that merely shrink are not an extraction', async () => {
    const r = repo();
    r.commit('two crates', {
      'crates/alloc/src/codec.rs': WAL_RS,
      'crates/quota/src/codec.rs': WAL_RS,
    });
    r.advance(DAY);
    const smaller = WAL_RS.slice(0, WAL_RS.indexOf('pub fn scan'));
    r.commit('drop scan from both', {
      'crates/alloc/src/codec.rs': `use std::io;\n${smaller}`,
      'crates/quota/src/codec.rs': `use std::io;\n${smaller}`,
    });
    const report = await analyze({ root: r.root });
    expect(seamOf(report, 'codec').extracted).toBeNull();
  });
});
