// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, and per file.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const repoRoot = new URL('../../../../', import.meta.url).pathname;

function where(frame) {
  const url = frame.url.replace(/^file:\/\//, '');
  if (url === '') return '';
  const path = url.includes('/node_modules/.pnpm/')
    ? url.replace(/.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
    : url.startsWith(repoRoot)
      ? relative(repoRoot, url)
      : url;
  return `${path}:${frame.lineNumber + 1}`;
}

/**
 * Reads a profile and returns `{ totalMs, functions: [{ name, where, selfMs, percent }],
 * files: [{ file, selfMs, percent }] }`, both sorted by self time.
 */
export function summariseProfile(path) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const delta = timeDeltas[i + 1] ?? 0;
    selfMicros.set(samples[i], (selfMicros.get(samples[i]) ?? 0) + delta);
  }
  const functions = new Map();
  const files = new Map();
  let total = 0;
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id).callFrame;
    if (frame.functionName === '(idle)') continue;
    total += micros;
    const name = frame.functionName || '(anonymous)';
    const at = where(frame);
    const key = `${name} ${at}`;
    const entry = functions.get(key) ?? { name, where: at, selfMs: 0 };
    entry.selfMs += micros / 1000;
    functions.set(key, entry);
    const file = at === '' ? name : at.replace(/:\d+$/, '');
    files.set(file, (files.get(file) ?? 0) + micros / 1000);
  }
  const totalMs = total / 1000;
  const withPercent = (list) =>
    list
      .sort((a, b) => b.selfMs - a.selfMs)
      .map((e) => ({ ...e, percent: (e.selfMs / totalMs) * 100 }));
  return {
    totalMs,
    functions: withPercent([...functions.values()]),
    files: withPercent([...files].map(([file, selfMs]) => ({ file, selfMs }))),
  };
}

/** Markdown tables of the top entries. */
export function formatSummary(title, summary, top = 15) {
  const lines = [
    `\n#### ${title}: ${summary.totalMs.toFixed(0)} ms of CPU samples (idle excluded)\n`,
  ];
  lines.push('| self % | self ms | function | where |', '|---:|---:|---|---|');
  for (const f of summary.functions.slice(0, top)) {
    lines.push(`| ${f.percent.toFixed(1)} | ${f.selfMs.toFixed(0)} | \`${f.name}\` | ${f.where} |`);
  }
  lines.push('', '| self % | by file |', '|---:|---|');
  for (const f of summary.files.slice(0, 10)) lines.push(`| ${f.percent.toFixed(1)} | ${f.file} |`);
  return lines.join('\n');
}
