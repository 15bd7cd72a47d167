/**
 * The SARIF 2.1.0 report, for code-scanning tools (GitHub code scanning, IDE viewers): one run of
 * the `seam-report` driver with five rules, `drift` and one per extraction trigger, and
 *
 * - one result per drifted copy (rule `drift`, level `warning`), located at the copy's file and
 *   the line to look at (the first line the change touched, or where the copy differs from its
 *   cluster's canonical copy);
 * - one result per fired trigger of a seam (rule: the trigger), located at the seam's canonical
 *   copy, with the other copies as related locations; level `warning` when the seam's verdict asks
 *   for work (`extract`, `reconcile_first`), `note` otherwise.
 *
 * Paths are relative to the repository root (`uriBaseId` `SRCROOT`). Each result carries a
 * partial fingerprint (seam, rule and engine) so that a result keeps its identity across runs.
 */
import type {
  DriftFinding,
  SeamReport,
  SeamResult,
  TriggerName,
  TriggerResult,
} from '../report.js';
import { TRIGGERS } from '../report.js';

const SCHEMA =
  'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

/** What each rule reports, for the tool's rule list. */
const RULES: Readonly<Record<'drift' | TriggerName, { name: string; text: string }>> = {
  drift: {
    name: 'SeamDrift',
    text: 'A change reached some copies of a seam that were in step with its canonical copy, but not the others.',
  },
  repeated_fix: {
    name: 'RepeatedFix',
    text: 'The same fix landed in more than one copy of a seam, in more than one unit of work.',
  },
  stable_across_slices: {
    name: 'StableAcrossSlices',
    text: 'No copy of the seam changed in the last slices that changed engine code.',
  },
  third_engine: {
    name: 'ThirdEngine',
    text: 'A third engine carries a copy of the seam.',
  },
  maintenance_cost: {
    name: 'MaintenanceCost',
    text: 'Keeping the copies of the seam in step costs repeated or one-sided changes.',
  },
};

const RULE_IDS = ['drift', ...TRIGGERS] as const;

interface Location {
  physicalLocation: {
    artifactLocation: { uri: string; uriBaseId: 'SRCROOT' };
    region: { startLine: number };
  };
}

function location(path: string, line: number): Location {
  return {
    physicalLocation: {
      artifactLocation: { uri: encodeURI(path), uriBaseId: 'SRCROOT' },
      region: { startLine: Math.max(1, line) },
    },
  };
}

function rootUri(root: string): string {
  const withSlash = root.endsWith('/') ? root : `${root}/`;
  return `file://${encodeURI(withSlash.startsWith('/') ? withSlash : `/${withSlash}`)}`;
}

function driftResults(finding: DriftFinding) {
  return finding.drifted.map((copy) => ({
    ruleId: 'drift',
    ruleIndex: RULE_IDS.indexOf('drift'),
    level: 'warning',
    message: { text: `${finding.seam}: ${copy.message}` },
    locations: [location(copy.path, copy.line)],
    partialFingerprints: { seamReport: `${finding.seam}/drift/${copy.engine}` },
    properties: {
      seam: finding.seam,
      engine: copy.engine,
      changed: copy.changed,
      canonical: finding.canonical,
    },
  }));
}

function triggerResult(seam: SeamResult, trigger: TriggerResult) {
  const canonical =
    seam.copies.find((copy) => copy.engine === seam.comparison.reference) ?? seam.copies[0]!;
  const actionable =
    seam.verdict.verdict === 'extract' || seam.verdict.verdict === 'reconcile_first';
  return {
    ruleId: trigger.trigger,
    ruleIndex: RULE_IDS.indexOf(trigger.trigger),
    level: actionable ? 'warning' : 'note',
    message: {
      text: `${seam.name}: ${trigger.summary}. Verdict ${seam.verdict.verdict}: ${seam.verdict.reasons.join('; ')}.`,
    },
    locations: [location(canonical.path, 1)],
    relatedLocations: seam.copies
      .filter((copy) => copy !== canonical)
      .map((copy, id) => ({
        id,
        ...location(copy.path, 1),
        message: { text: `${copy.engine}'s copy (${copy.cluster}, similarity ${copy.similarity})` },
      })),
    partialFingerprints: { seamReport: `${seam.name}/${trigger.trigger}` },
    properties: {
      seam: seam.name,
      verdict: seam.verdict.verdict,
      classification: seam.comparison.classification,
      copies: seam.copies.length,
    },
  };
}

export function renderSarif(report: SeamReport): string {
  const results = [
    ...(report.drift?.findings ?? []).flatMap(driftResults),
    ...report.seams.flatMap((seam) =>
      seam.triggers.filter((trigger) => trigger.fired).map((t) => triggerResult(seam, t)),
    ),
  ];
  const sarif = {
    $schema: SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: report.tool.name,
            version: report.tool.version,
            informationUri: 'https://www.npmjs.com/package/seam-report',
            rules: RULE_IDS.map((id) => ({
              id,
              name: RULES[id].name,
              shortDescription: { text: RULES[id].text },
              defaultConfiguration: { level: id === 'drift' ? 'warning' : 'note' },
            })),
          },
        },
        originalUriBaseIds: { SRCROOT: { uri: rootUri(report.repository.root) } },
        results,
        properties: {
          decision: report.decision.summary,
          ...(report.repository.head === null ? {} : { head: report.repository.head.hash }),
          ...(report.drift === null ? {} : { base: report.drift.base.hash }),
        },
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
