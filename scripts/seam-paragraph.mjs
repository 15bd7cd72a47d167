// The seam report in one short paragraph for a newcomer (the demo's last words), built from
// seam-report's JSON report (`seam-report --format json`): the decision's `extract` and
// `reconcileFirst` lists, and each seam's verdict and fired triggers.

/** What each extraction trigger means, in plain words (the names are seam-report's). */
const TRIGGER_WORDS = {
  repeated_fix: 'the same fix had to be made in each copy more than once',
  maintenance_cost: 'keeping the copies in step costs too much',
  third_engine: 'a third engine has copied them',
  stable_across_slices: 'they have not changed in several units of work',
};

const list = (names) =>
  names.length <= 1
    ? names.join('')
    : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;

/** At most `max` names, then "and N more" (the paragraph stays short with forty seams). */
const capped = (names, max = 5) =>
  names.length <= max
    ? list(names)
    : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;

/** One paragraph (a single line of text) saying what the report means and how to see it all. */
export function seamParagraph(report) {
  const seams = report.seams;
  const verdictOf = new Map(seams.map((seam) => [seam.name, seam.verdict.verdict]));
  const withVerdict = (verdict) => seams.filter((seam) => seam.verdict.verdict === verdict);
  const sentences = [
    `${list(report.engines.map((engine) => engine.name))} each keep their own copy of the same ` +
      `${seams.length} modules ("seams": runtime and near-copied shells) instead of sharing a package.`,
  ];

  const extract = report.decision.extract.filter((name) => verdictOf.get(name) === 'extract');
  if (extract.length > 0) {
    const fired = new Set(
      seams
        .filter((seam) => extract.includes(seam.name))
        .flatMap((seam) => seam.triggers.filter((t) => t.fired).map((t) => t.trigger)),
    );
    const why = list([...fired].map((trigger) => TRIGGER_WORDS[trigger] ?? trigger));
    sentences.push(
      `seam-report advises moving ${extract.length === 1 ? 'one' : extract.length} of them ` +
        `(${capped(extract)}) into a shared package now, because ${why}; their copies still ` +
        'match: a mechanical move.',
    );
  }
  const reconcile = report.decision.reconcileFirst;
  if (reconcile.length > 0) {
    sentences.push(
      `${capped(reconcile)} should be shared too, but ${reconcile.length === 1 ? 'its' : 'their'} ` +
        'copies have drifted apart and must be made the same first.',
    );
  }
  const never = withVerdict('never').map((seam) => seam.name);
  if (never.length > 0) {
    sentences.push(`${list(never)} ${never.length === 1 ? 'is' : 'are'} never to be shared.`);
  }
  const keep = withVerdict('keep_local').length;
  if (keep === seams.length) {
    sentences.push('None needs sharing yet: no extraction trigger has fired.');
  } else if (keep > 0) {
    sentences.push(
      keep === 1
        ? 'The other one stays copied: nothing calls for sharing it yet.'
        : `The other ${keep} stay copied: nothing calls for sharing them yet.`,
    );
  }
  sentences.push('Full report, with the evidence: `pnpm seam-report`.');
  return sentences.join(' ');
}
