// Regenerates the README's screenshots (docs/report-html.png, docs/pr-comment.png) in headless
// Chromium: `pnpm --filter seam-report screenshots` (after `pnpm build`; needs /usr/bin/chromium,
// see scripts/ensure-chromium.sh at the repository root).
//
// It builds a small demonstration repository with fixed dates and names (six engines; a retire
// queue identical in all of them, a WAL copied into all of them with one engine's rewritten; a
// pull request that fixes the WAL in one engine only), analyses the pull request against its
// base, and photographs the HTML report and the pull-request comment the GitHub Action writes
// (the markdown report rendered with GitHub-like styles).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { marked } from 'marked';
import { chromium } from 'playwright-core';
import { analyze, render } from '../dist/index.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(PACKAGE, 'docs');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const MARKER = '<!-- seam-report:pull-request-comment -->';

const QUEUE = `/** A bounded FIFO of retirement deadlines. */
export class RetireQueue<K> {
  readonly capacity: number;
  private readonly keys: (K | undefined)[];
  private head = 0;
  private count = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
    this.keys = new Array<K | undefined>(this.capacity).fill(undefined);
  }

  push(key: K): 'ok' | 'full' {
    if (this.count === this.capacity) return 'full';
    let tail = this.head + this.count;
    if (tail >= this.capacity) tail -= this.capacity;
    this.keys[tail] = key;
    this.count++;
    return 'ok';
  }

  popFront(): K | undefined {
    if (this.count === 0) return undefined;
    const key = this.keys[this.head];
    this.keys[this.head] = undefined;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    return key;
  }
}
`;

const WAL = `import { crc32c } from './crc32c.js';

/** Frame header: magic, version, length, checksum. */
export const FRAME_MAGIC = 0x57414c31;
export const HEADER_BYTES = 16;

export interface Frame {
  readonly lsn: bigint;
  readonly payload: Uint8Array;
}

export function encodeFrame(frame: Frame): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + frame.payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint32(4, frame.payload.length, true);
  view.setBigUint64(8, frame.lsn, true);
  out.set(frame.payload, HEADER_BYTES);
  return out;
}

export function decodeFrame(bytes: Uint8Array, offset: number): Frame | undefined {
  if (bytes.length - offset < HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  if (view.getUint32(0, true) !== FRAME_MAGIC) throw new Error('bad magic at ' + offset);
  const length = view.getUint32(4, true);
  if (bytes.length - offset - HEADER_BYTES < length) return undefined;
  const payload = bytes.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
  return { lsn: view.getBigUint64(8, true), payload };
}

export function scan(bytes: Uint8Array): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  for (;;) {
    const frame = decodeFrame(bytes, offset);
    if (frame === undefined) return frames;
    frames.push(frame);
    offset += HEADER_BYTES + frame.payload.length;
  }
}
`;

const REWRITTEN = `/** A log of frames kept in memory. */
export class MemoryLog {
  private readonly entries: Uint8Array[] = [];
  append(bytes: Uint8Array): number {
    this.entries.push(bytes.slice());
    return this.entries.length;
  }
  read(index: number): Uint8Array | undefined {
    return this.entries[index]?.slice();
  }
}
`;

/** The demonstration repository: a base on `main` and a pull request checked out. */
function demoRepository() {
  // a fixed path, so that the screenshots show the same directory name on every run
  const root = join(tmpdir(), 'seam-report-screenshots', 'engines');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  let clock = Date.UTC(2026, 0, 5) / 1000;
  const git = (...args) =>
    execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Demo',
        GIT_AUTHOR_EMAIL: 'demo@example.com',
        GIT_COMMITTER_NAME: 'Demo',
        GIT_COMMITTER_EMAIL: 'demo@example.com',
        GIT_AUTHOR_DATE: `${clock} +0000`,
        GIT_COMMITTER_DATE: `${clock} +0000`,
      },
    });
  const write = (files) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
  };
  const commit = (subject, files) => {
    write(files);
    git('add', '-A');
    git('commit', '-q', '-m', subject);
    clock += 86_400;
  };
  git('init', '-q', '-b', 'main');
  const engines = ['billing', 'inventory', 'ledger', 'quota', 'sessions', 'tickets'];
  const runtime = (engine, name) => `packages/${engine}/src/runtime/${name}.ts`;
  commit('ledger engine', {
    [runtime('ledger', 'wal')]: WAL,
    [runtime('ledger', 'retire-queue')]: QUEUE,
  });
  for (const engine of engines.filter((e) => e !== 'ledger')) {
    commit(`${engine} engine, runtime copied from ledger`, {
      [runtime(engine, 'wal')]: WAL,
      [runtime(engine, 'retire-queue')]: QUEUE,
    });
  }
  commit('tickets: keep the log in memory', { [runtime('tickets', 'wal')]: REWRITTEN });
  const base = git('rev-parse', 'HEAD').trim();
  git('checkout', '-q', '-b', 'fix-negative-offsets');
  commit('billing: refuse negative offsets', {
    [runtime('billing', 'wal')]: WAL.replace(
      'if (bytes.length - offset < HEADER_BYTES) return undefined;',
      'if (offset < 0 || bytes.length - offset < HEADER_BYTES) return undefined;',
    ),
  });
  return { root, base };
}

/** The markdown report as GitHub shows a pull-request comment (approximately: its styles). */
function commentPage(markdown) {
  const css = `
body { margin: 0; background: #f6f8fa; font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; }
.comment { margin: 24px; border: 1px solid #d1d9e0; border-radius: 6px; background: #fff; }
.header { padding: 8px 16px; background: #f6f8fa; border-bottom: 1px solid #d1d9e0; border-radius: 6px 6px 0 0; color: #59636e; }
.header b { color: #1f2328; }
.body { padding: 16px; }
h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin-top: 0; }
h3 { font-size: 1.25em; }
table { border-collapse: collapse; margin: 0 0 16px; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
tr:nth-child(2n) { background: #f6f8fa; }
code { background: #eff1f3; border-radius: 6px; padding: .2em .4em; font: 85% ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; }
pre code { background: none; padding: 0; }
details { margin: 0 0 8px; }
summary { cursor: pointer; }
`;
  const body = marked.parse(markdown.replace(MARKER, ''));
  return `<!doctype html><html><head><meta charset="utf-8"><style>${css}</style></head><body><div class="comment"><div class="header"><b>github-actions</b> bot commented · edited</div><div class="body">${body}</div></div></body></html>`;
}

const { root, base } = demoRepository();
try {
  const report = await analyze({ root, base });
  const work = mkdtempSync(join(tmpdir(), 'seam-report-shots-'));
  const htmlFile = join(work, 'report.html');
  const commentFile = join(work, 'comment.html');
  writeFileSync(htmlFile, render(report, 'html'));
  writeFileSync(commentFile, commentPage(`${MARKER}\n${render(report, 'markdown')}`));
  mkdirSync(OUT, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--font-render-hinting=none'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(pathToFileURL(htmlFile).href);
    await page.screenshot({ path: join(OUT, 'report-html.png'), fullPage: false });
    await page.setViewportSize({ width: 900, height: 1000 });
    await page.goto(pathToFileURL(commentFile).href);
    // open the first seam's details, as a reader would
    await page
      .locator('details')
      .nth(1)
      .evaluate((element) => {
        element.open = true;
      });
    await page.screenshot({ path: join(OUT, 'pr-comment.png'), fullPage: false });
  } finally {
    await browser.close();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`screenshots written to ${OUT}: report-html.png, pr-comment.png`);
  console.log(report.decision.summary);
} finally {
  rmSync(root, { recursive: true, force: true });
}
