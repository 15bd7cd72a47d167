// The batch-size chart of docs/benchmarks.md, drawn from the measured rows: durable commands per
// second (log scale) against commands per fsync (1, 16, 256, 4096) for our engines, their SQLite
// peers and the raw write + fdatasync loop; medians with min–max whiskers.
import { BATCHES } from '../suites/group-commit.mjs';

const WIDTH = 760;
const HEIGHT = 470;
const PAD = { left: 78, right: 250, top: 78, bottom: 58 };

const xml = (text) =>
  String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function label(value) {
  if (value >= 1e6) return `${value / 1e6}M`;
  if (value >= 1e3) return `${value / 1e3}k`;
  return String(value);
}

/** The chart's series from the per-command and group-commit results. */
const TITLE = 'Durable commands per second against commands per fsync';

export function batchSeries(results) {
  const perCommand = results.perCommand ?? {};
  const group = results.groupCommit ?? {};
  const series = [];
  const add = (name, style, batchOne, key) => {
    const points = [];
    if (batchOne) points.push({ batch: 1, ...pick(batchOne) });
    for (const batch of BATCHES) {
      const r = group[key(batch)];
      if (r) points.push({ batch, ...pick(r) });
    }
    if (points.length > 0) series.push({ name, ...style, points });
  };
  const pick = (r) => ({ median: r.median, min: r.min, max: r.max });
  add(
    'raw write + fdatasync (disk limit)',
    { color: '#777777', dash: '2 4' },
    perCommand['allocdb-core:raw-async'],
    (b) => `allocdb-core:${b}:raw`,
  );
  add(
    'allocdb-core engine',
    { color: '#1f6fd1', dash: '' },
    perCommand['allocdb-core:async'],
    (b) => `allocdb-core:${b}:engine`,
  );
  add(
    'SQLite, allocdb semantics',
    { color: '#1f6fd1', dash: '7 4' },
    perCommand['allocdb-core:sqlite'],
    (b) => `allocdb-core:${b}:sqlite`,
  );
  add(
    'LMDB, allocdb semantics',
    { color: '#7a3fb8', dash: '3 3' },
    undefined,
    (b) => `allocdb-core:${b}:lmdb`,
  );
  add(
    'quota-core engine',
    { color: '#d1571f', dash: '' },
    perCommand['quota-core:async'],
    (b) => `quota-core:${b}:engine`,
  );
  add(
    'SQLite, quota semantics',
    { color: '#d1571f', dash: '7 4' },
    perCommand['quota-core:sqlite'],
    (b) => `quota-core:${b}:sqlite`,
  );
  add(
    'LMDB, quota semantics',
    { color: '#2a9d4b', dash: '3 3' },
    undefined,
    (b) => `quota-core:${b}:lmdb`,
  );
  return series;
}

/** The SVG document. */
export function batchChart(context) {
  const series = batchSeries(context.results);
  const values = series.flatMap((s) => s.points.flatMap((p) => [p.min, p.max]));
  const low = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const batches = [1, ...BATCHES];
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (batch) => PAD.left + (batches.indexOf(batch) / (batches.length - 1)) * plotW;
  const y = (value) =>
    PAD.top + plotH - ((Math.log10(value) - Math.log10(low)) / Math.log10(high / low)) * plotH;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${TITLE}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${PAD.left}" y="24" font-size="16" font-weight="bold">${TITLE}</text>`,
    `<text x="${PAD.left}" y="44" fill="#555555">${xml(
      `${context.meta.machine}; ${context.meta.sqlite ? `SQLite ${context.meta.sqlite} (WAL, synchronous=FULL)` : 'SQLite not loaded'}`,
    )}</text>`,
    `<text x="${PAD.left}" y="60" fill="#555555">${xml(
      `measured ${context.meta.startedAt.slice(0, 16).replace('T', ' ')} UTC, load average (1 min) ${context.meta.loadBefore.toFixed(2)} at the start, up to ${Math.max(context.meta.loadBefore, ...context.meta.suiteLoads).toFixed(2)} during the run${context.meta.quick ? '; QUICK RUN (smoke-test counts)' : ''}`,
    )}</text>`,
  );
  // Grid and axes.
  for (let decade = low; decade <= high; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const v = decade * m;
      if (v > high) break;
      const yy = y(v).toFixed(1);
      out.push(
        `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${yy}" y2="${yy}" stroke="${m === 1 ? '#cccccc' : '#eeeeee'}"/>`,
        `<text x="${PAD.left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#333333">${label(v)}</text>`,
      );
    }
  }
  for (const batch of batches) {
    const xx = x(batch).toFixed(1);
    out.push(
      `<line x1="${xx}" x2="${xx}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#eeeeee"/>`,
      `<text x="${xx}" y="${PAD.top + plotH + 18}" text-anchor="middle" fill="#333333">${batch}</text>`,
    );
  }
  out.push(
    `<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888888"/>`,
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle">commands per fsync (batch size; 1 = one client, one fsync per command)</text>`,
    `<text transform="translate(18 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">commands/s (log scale; median, min–max)</text>`,
  );
  // Series.
  series.forEach((s, index) => {
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    const path = s.points
      .map((p) => `${x(p.batch).toFixed(1)},${y(p.median).toFixed(1)}`)
      .join(' ');
    out.push(
      `<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`,
    );
    for (const p of s.points) {
      const xx = x(p.batch).toFixed(1);
      out.push(
        `<line x1="${xx}" x2="${xx}" y1="${y(p.min).toFixed(1)}" y2="${y(p.max).toFixed(1)}" stroke="${s.color}" stroke-width="1"/>`,
        `<circle cx="${xx}" cy="${y(p.median).toFixed(1)}" r="3.5" fill="${s.dash ? '#ffffff' : s.color}" stroke="${s.color}" stroke-width="1.5"><title>${xml(
          `${s.name}, batch ${p.batch}: ${Math.round(p.median).toLocaleString('en')}/s (min ${Math.round(p.min).toLocaleString('en')}, max ${Math.round(p.max).toLocaleString('en')})`,
        )}</title></circle>`,
      );
    }
    const ly = PAD.top + 14 + index * 22;
    const lx = PAD.left + plotW + 16;
    out.push(
      `<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 36}" y="${ly}" dominant-baseline="middle">${xml(s.name)}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}
