import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from '../../src/render/index.js';
import { SCHEMA_VERSION } from '../../src/report.js';
import { type RenderFixtures, renderFixtures } from '../support/reports.js';

const schema = JSON.parse(
  readFileSync(new URL('../../schema/seam-report.schema.json', import.meta.url), 'utf8'),
);
const ajv = new Ajv2020({ allErrors: true, strict: true });
(addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
const validate = ajv.compile(schema);

let fixtures: RenderFixtures;
beforeAll(async () => {
  fixtures = await renderFixtures();
});
afterAll(() => fixtures.dispose());

function errorsOf(value: unknown): string {
  return validate(value) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });
}

describe('JSON output', () => {
  it('validates against the shipped schema for a full report with history and drift', () => {
    const json = JSON.parse(render(fixtures.full, 'json'));
    expect(errorsOf(json)).toBe('');
    expect(json.schemaVersion).toBe(SCHEMA_VERSION);
    expect(json.seams.length).toBe(2);
    expect(json.drift.findings.length).toBeGreaterThan(0);
    expect(json.seams[1].history.mirroredChanges.length).toBe(3);
  });

  for (const name of ['noCommits', 'oneEngine', 'rust', 'lifecycle']) {
    it(`validates against the schema: ${name}`, () => {
      expect(errorsOf(JSON.parse(render(fixtures.edgeCases[name]!, 'json')))).toBe('');
    });
  }

  it('holds the lifecycle records the schema describes', () => {
    const report = fixtures.edgeCases.lifecycle!;
    const codec = report.seams.find((seam) => seam.name === 'codec')!;
    expect(codec.extracted?.to).toBe('@acme/codec');
    expect(codec.verdict.verdict).toBe('extracted');
    const queue = report.seams.find((seam) => seam.name === 'retire_queue')!;
    expect(queue.history!.convergences).toHaveLength(1);
    expect(queue.history!.reverts).toHaveLength(1);
    expect(queue.history!.moves).toHaveLength(1);
    expect(report.seams.map((seam) => seam.name)).toEqual(['codec', 'loop', 'retire_queue']);
    expect(report.excludedFiles).toHaveLength(2);
    expect(report.warnings).toHaveLength(1);
  });

  it('is the report itself, so it round-trips', () => {
    expect(JSON.parse(render(fixtures.full, 'json'))).toEqual(
      JSON.parse(JSON.stringify(fixtures.full)),
    );
  });

  it('has a schema strict enough to catch a wrong field', () => {
    const json = JSON.parse(render(fixtures.full, 'json'));
    json.seams[0].comparison.classification = 'close';
    expect(errorsOf(json)).toMatch(/classification/);
    const extra = JSON.parse(render(fixtures.full, 'json'));
    extra.seams[0].surprise = true;
    expect(errorsOf(extra)).toMatch(/additional properties/);
    const missing = JSON.parse(render(fixtures.full, 'json'));
    delete missing.decision.summary;
    expect(errorsOf(missing)).toMatch(/summary/);
  });
});
