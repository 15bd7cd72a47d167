// The demo's seam paragraph follows the report it is given: its decision and per-seam verdicts.
import { describe, expect, it } from 'vitest';
import { seamParagraph } from '../seam-paragraph.mjs';

const trigger = (name, fired) => ({ trigger: name, applicable: true, fired });
const seam = (name, verdict, fired = []) => ({
  name,
  verdict: { verdict, reasons: [], reconcile: [] },
  triggers: ['repeated_fix', 'stable_across_slices', 'third_engine', 'maintenance_cost'].map((t) =>
    trigger(t, fired.includes(t)),
  ),
});
const report = (seams, decision = {}) => ({
  engines: [{ name: 'alpha' }, { name: 'beta' }, { name: 'gamma' }],
  seams,
  decision: {
    extractNow: false,
    summary: '',
    extract: [],
    reconcileFirst: [],
    order: seams.map((s) => s.name),
    ...decision,
  },
});

describe('seamParagraph', () => {
  it('nothing fired: says so, names the engines and the number of seams, ends with the command', () => {
    const text = seamParagraph(report([seam('wal', 'keep_local'), seam('crc32c', 'keep_local')]));
    expect(text).toMatch(/^alpha, beta and gamma each keep their own copy of the same 2 modules/);
    expect(text).toContain('None needs sharing yet');
    expect(text).not.toContain('advises');
    expect(text).toMatch(/Full report, with the evidence: `pnpm seam-report`\.$/);
  });

  it('extract: names the seams in the decision, with the fired triggers in plain words', () => {
    const text = seamParagraph(
      report(
        [
          seam('wal', 'keep_local'),
          seam('recovery', 'extract', ['third_engine']),
          seam('lock_file', 'extract', ['repeated_fix']),
        ],
        { extractNow: true, extract: ['lock_file', 'recovery'] },
      ),
    );
    expect(text).toContain('advises moving 2 of them (lock_file and recovery) into a shared');
    expect(text).toContain('into a shared package now, because ');
    expect(text).toContain('the same fix had to be made in each copy more than once');
    expect(text).toContain('a third engine has copied them');
    expect(text).not.toContain('costs too much');
    expect(text).toContain('The other one stays copied');
  });

  it('reconcile first and never are said too', () => {
    const text = seamParagraph(
      report(
        [
          seam('wal', 'reconcile_first', ['maintenance_cost']),
          seam('binary', 'never'),
          seam('crc32c', 'keep_local'),
        ],
        { reconcileFirst: ['wal'] },
      ),
    );
    expect(text).toContain('wal should be shared too, but its copies have drifted apart');
    expect(text).toContain('binary is never to be shared');
    expect(text).not.toContain('advises');
  });
});
