// One analysis in a fresh process, for the benchmark's peak-memory and side-by-side figures:
//   node bench/analyze-once.mjs <package directory> <repository> [config JSON | -] [--render]
// imports `analyze` and `render` from <package directory>/dist (this package's, or a previous
// release built elsewhere), analyses <repository> with history (with the inline configuration
// when given), and prints one JSON line: the analysis time in milliseconds, the process's peak
// resident set (MiB), and with --render the size in characters of each format's output.
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [packageDir, root, configArg] = process.argv.slice(2);
const { analyze, render } = await import(
  pathToFileURL(join(resolve(packageDir), 'dist', 'index.js')).href
);
const config = configArg !== undefined && configArg !== '-' ? JSON.parse(configArg) : undefined;
const start = performance.now();
const report = await analyze({ root, ...(config === undefined ? {} : { config }) });
const ms = performance.now() - start;
const sizes = {};
if (process.argv.includes('--render')) {
  for (const format of ['text', 'markdown', 'json', 'html']) {
    sizes[format] = render(report, format).length;
  }
}
const copies = report.seams.reduce((sum, seam) => sum + seam.copies.length, 0);
console.log(
  JSON.stringify({
    ms,
    rssMiB: process.resourceUsage().maxRSS / 1024,
    sizes,
    copies,
    commits: report.history?.commitsWalked ?? 0,
    decision: report.decision.summary,
  }),
);
