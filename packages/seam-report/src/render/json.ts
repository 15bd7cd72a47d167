/**
 * The JSON report: the `SeamReport` object as is, under `schema/seam-report.schema.json`
 * (its `schemaVersion` says which version of that schema it follows).
 */
import type { SeamReport } from '../report.js';

export function renderJson(report: SeamReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
