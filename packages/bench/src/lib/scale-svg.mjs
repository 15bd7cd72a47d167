// The scale chart of docs/benchmarks.md: for each engine, against the number of entries (log
// scale), the durable throughput at batch 256 (left) and the submission latency p99 without and
// during a checkpoint (right); medians with min–max whiskers.
const WIDTH = 900;
const HEIGHT = 460;
const PANEL_W = 330;
const PAD = { left: 70, top: 70, bottom: 60, gap: 90 };
const PLOT_H = HEIGHT - PAD.top - PAD.bottom;
const COLORS = { allocdb: '#1f6fd1', quota: '#d1571f' };
const NAMES = { allocdb: 'allocdb-core', quota: 'quota-core' };

const label = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

function panel(out, left, title, unit, series, sizes, logY) {
  const values = series.flatMap((s) => s.points.flatMap((p) => [p.min, p.max]));
  const lowRaw = Math.min(...values);
  const highRaw = Math.max(...values);
  const low = logY ? 10 ** Math.floor(Math.log10(lowRaw)) : 0;
  const high = logY ? 10 ** Math.ceil(Math.log10(highRaw)) : highRaw * 1.15;
  const x = (n) =>
    left +
    ((Math.log10(n) - Math.log10(sizes[0])) /
      Math.max(1e-9, Math.log10(sizes.at(-1)) - Math.log10(sizes[0]))) *
      PANEL_W;
  const y = (v) =>
    PAD.top +
    PLOT_H -
    (logY ? (Math.log10(v) - Math.log10(low)) / Math.log10(high / low) : (v - low) / (high - low)) *
      PLOT_H;
  out.push(
    `<text x="${left + PANEL_W / 2}" y="${PAD.top - 14}" text-anchor="middle" font-weight="bold">${title}</text>`,
    `<rect x="${left}" y="${PAD.top}" width="${PANEL_W}" height="${PLOT_H}" fill="none" stroke="#999"/>`,
  );
  const ticks = logY
    ? Array.from({ length: Math.round(Math.log10(high / low)) + 1 }, (_, i) => low * 10 ** i)
    : Array.from({ length: 5 }, (_, i) => (high / 4) * i);
  for (const t of ticks) {
    out.push(
      `<line x1="${left}" x2="${left + PANEL_W}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${logY ? label(t) : t.toFixed(0)}</text>`,
    );
  }
  for (const n of sizes) {
    out.push(
      `<text x="${x(n)}" y="${PAD.top + PLOT_H + 18}" text-anchor="middle">${label(n)}</text>`,
    );
  }
  out.push(
    `<text x="${left + PANEL_W / 2}" y="${PAD.top + PLOT_H + 40}" text-anchor="middle">entries (resources or buckets)</text>`,
    `<text transform="translate(${left - 52} ${PAD.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${unit}</text>`,
  );
  for (const s of series) {
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.n)},${y(p.median)}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`,
    );
    for (const p of s.points) {
      out.push(
        `<line x1="${x(p.n)}" x2="${x(p.n)}" y1="${y(p.min)}" y2="${y(p.max)}" stroke="${s.color}"/>`,
        `<circle cx="${x(p.n)}" cy="${y(p.median)}" r="3" fill="${s.color}"/>`,
      );
    }
  }
}

/** The SVG document from the scale suite's results. */
export function scaleChart(results) {
  const sizes = [...new Set(results.map((r) => r.entries))].sort((a, b) => a - b);
  const series = (get, dash, suffix) =>
    ['allocdb', 'quota'].map((kind) => ({
      name: `${NAMES[kind]}${suffix}`,
      color: COLORS[kind],
      dash,
      points: results
        .filter((r) => r.kind === kind)
        .map((r) => {
          const values = r.runs.map(get);
          return {
            n: r.entries,
            median: median(values),
            min: Math.min(...values),
            max: Math.max(...values),
          };
        }),
    }));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    '<title>Durable engines against the number of entries</title>',
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">Durable engines against the number of entries (medians, min–max whiskers)</text>`,
  ];
  panel(
    out,
    PAD.left,
    'Throughput at batch 256',
    'commands per second',
    series((r) => r.throughput, '', ''),
    sizes,
    true,
  );
  const latency = [
    ...series((r) => r.latency.baseline.p99, '', ', p99 without a checkpoint'),
    ...series((r) => r.latency.duringCheckpoint.p99, '6 4', ', p99 during a checkpoint'),
  ];
  const right = PAD.left + PANEL_W + PAD.gap;
  panel(out, right, 'Submission latency p99', 'milliseconds', latency, sizes, false);
  let ly = PAD.top + PLOT_H + 56;
  let lx = PAD.left;
  for (const s of latency) {
    out.push(
      `<line x1="${lx}" x2="${lx + 26}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`,
      `<text x="${lx + 32}" y="${ly}">${s.name}</text>`,
    );
    lx += 205;
    if (lx > WIDTH - 200) {
      lx = PAD.left;
      ly += 16;
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
