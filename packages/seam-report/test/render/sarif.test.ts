/**
 * SARIF 2.1.0 output, validated against the OASIS schema (test/fixtures/sarif-schema-2.1.0.json,
 * the standard's own file: draft-04, hence ajv-draft-04).
 */
import { readFileSync } from 'node:fs';
import ajvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze.js';
import { render } from '../../src/render/index.js';
import { TestRepo } from '../support/git-repo.js';
import { manyCopies, walOf } from '../support/many-copies.js';
import { type RenderFixtures, renderFixtures } from '../support/reports.js';

const schema = JSON.parse(
  readFileSync(new URL('../fixtures/sarif-schema-2.1.0.json', import.meta.url), 'utf8'),
);
// the standard's schema uses keywords (and one pattern) a strict validator refuses: not ours
// a CommonJS module whose class is also its `default` export
const AjvDraft04 = ajvDraft04.default;
const ajv = new AjvDraft04({ allErrors: true, strict: false });
(addFormats as unknown as (ajv: InstanceType<typeof AjvDraft04>) => void)(ajv);
const validate = ajv.compile(schema);
const errorsOf = (value: unknown) =>
  validate(value) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });

let fixtures: RenderFixtures;
beforeAll(async () => {
  fixtures = await renderFixtures();
});
afterAll(() => fixtures.dispose());

describe('SARIF output', () => {
  it('is valid SARIF 2.1.0 for every report the format tests make', () => {
    for (const report of [fixtures.full, ...Object.values(fixtures.edgeCases)]) {
      const sarif = JSON.parse(render(report, 'sarif'));
      expect(errorsOf(sarif)).toBe('');
      expect(sarif.version).toBe('2.1.0');
    }
  });

  it('has a schema check that catches a broken log', () => {
    const sarif = JSON.parse(render(fixtures.full, 'sarif'));
    sarif.runs[0].results[0].level = 'loud';
    expect(errorsOf(sarif)).toMatch(/level/);
    delete sarif.runs[0].tool;
    expect(errorsOf(sarif)).toMatch(/tool/);
  });

  it('has one result per drifted copy, at its file and line', () => {
    const sarif = JSON.parse(render(fixtures.full, 'sarif'));
    const drift = sarif.runs[0].results.filter((r: { ruleId: string }) => r.ruleId === 'drift');
    const drifted = fixtures.full.drift!.findings.flatMap((finding) => finding.drifted);
    expect(drifted.length).toBeGreaterThan(0);
    expect(drift).toHaveLength(drifted.length);
    for (const [i, copy] of drifted.entries()) {
      expect(drift[i].level).toBe('warning');
      expect(drift[i].locations[0].physicalLocation).toEqual({
        artifactLocation: { uri: copy.path, uriBaseId: 'SRCROOT' },
        region: { startLine: copy.line },
      });
      expect(drift[i].message.text).toContain(copy.message);
    }
  });

  it('has one result per fired trigger, at the canonical copy, the others related', () => {
    const sarif = JSON.parse(render(fixtures.full, 'sarif'));
    const triggered = sarif.runs[0].results.filter((r: { ruleId: string }) => r.ruleId !== 'drift');
    const fired = fixtures.full.seams.flatMap((seam) =>
      seam.triggers.filter((t) => t.fired).map((t) => `${seam.name}/${t.trigger}`),
    );
    expect(
      triggered.map(
        (r: { partialFingerprints: { seamReport: string } }) => r.partialFingerprints.seamReport,
      ),
    ).toEqual(fired);
    const wal = triggered.find(
      (r: { ruleId: string; properties: { seam: string } }) => r.properties.seam === 'wal',
    );
    expect(wal.level).toBe('warning'); // reconcile_first asks for work
    expect(wal.locations[0].physicalLocation.artifactLocation.uri).toBe(
      'packages/alpha/src/runtime/wal.ts',
    );
    expect(wal.relatedLocations).toHaveLength(2);
    expect(sarif.runs[0].tool.driver.rules.map((rule: { id: string }) => rule.id)).toEqual([
      'drift',
      'repeated_fix',
      'stable_across_slices',
      'third_engine',
      'maintenance_cost',
    ]);
  });

  it('stays valid with thirty copies and an outlier', async () => {
    const repo = TestRepo.create();
    try {
      repo.commit(
        'thirty engines',
        Object.fromEntries([...manyCopies().texts].map(([engine, text]) => [walOf(engine), text])),
      );
      const sarif = JSON.parse(render(await analyze({ root: repo.root }), 'sarif'));
      expect(errorsOf(sarif)).toBe('');
      expect(sarif.runs[0].results).toHaveLength(1); // third_engine
      expect(sarif.runs[0].results[0].relatedLocations).toHaveLength(29);
    } finally {
      repo.dispose();
    }
  });
});
