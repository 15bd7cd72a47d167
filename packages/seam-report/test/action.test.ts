/**
 * The GitHub Action's entry script (action/entry.mjs), run as GitHub runs it, in a simulated
 * environment: GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, a pull_request event payload, and a fake REST
 * API on localhost holding the pull request's comments. It runs the CLI this package builds
 * (dist/bin.js), as the action runs the published one through npx.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineRepo } from './support/scenarios.js';
import { RETIRE_QUEUE_TS, WAL_TS } from './support/sources.js';

const ENTRY = fileURLToPath(new URL('../action/entry.mjs', import.meta.url));
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const MARKER = '<!-- seam-report:pull-request-comment -->';

interface Comment {
  id: number;
  body: string;
}

/** The part of GitHub's REST API the action uses: a pull request's issue comments. */
class FakeGitHub {
  readonly comments: Comment[] = [];
  readonly requests: { method: string; url: string; authorization: string | undefined }[] = [];
  private nextId = 1000;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      void this.handle(request).then(({ status, body }) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((done) => this.server?.close(done));
  }

  add(body: string): void {
    this.comments.push({ id: this.nextId++, body });
  }

  private async handle(request: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const url = new URL(request.url!, 'http://localhost');
    this.requests.push({
      method: request.method!,
      url: `${url.pathname}${url.search}`,
      authorization: request.headers.authorization,
    });
    let raw = '';
    for await (const chunk of request) raw += chunk;
    const list = /^\/repos\/acme\/engines\/issues\/7\/comments$/.exec(url.pathname);
    const one = /^\/repos\/acme\/engines\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (list && request.method === 'GET') {
      const perPage = Number(url.searchParams.get('per_page') ?? 30);
      const page = Number(url.searchParams.get('page') ?? 1);
      return { status: 200, body: this.comments.slice((page - 1) * perPage, page * perPage) };
    }
    if (list && request.method === 'POST') {
      const comment = { id: this.nextId++, body: JSON.parse(raw).body as string };
      this.comments.push(comment);
      return { status: 201, body: comment };
    }
    if (one && request.method === 'PATCH') {
      const comment = this.comments.find((c) => c.id === Number(one[1]));
      if (comment === undefined) return { status: 404, body: { message: 'Not Found' } };
      comment.body = JSON.parse(raw).body;
      return { status: 200, body: comment };
    }
    return { status: 404, body: { message: `no route for ${request.method} ${url.pathname}` } };
  }
}

interface ActionRun {
  readonly code: number;
  readonly stdout: string;
  readonly summary: string;
  readonly outputs: Record<string, string>;
}

const work: string[] = [];
const repos: EngineRepo[] = [];
let api: FakeGitHub;
let apiUrl: string;

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the package first (pnpm build)`);
  api = new FakeGitHub();
  apiUrl = await api.start();
});
afterAll(async () => {
  await api.stop();
  for (const dir of work) rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  for (const repo of repos.splice(0)) repo.dispose();
});

/** main has two engines in step; the pull request's branch is checked out. */
function pullRequest(): { e: EngineRepo; base: string } {
  const e = new EngineRepo();
  repos.push(e);
  for (const engine of ['alloc', 'quota']) {
    e.set(`packages/${engine}/src/runtime/wal.ts`, WAL_TS).set(
      `packages/${engine}/src/runtime/retire-queue.ts`,
      RETIRE_QUEUE_TS,
    );
  }
  const base = e.commit('engines in step');
  e.repo.git('checkout', '-q', '-b', 'change');
  return { e, base };
}

/** Runs the entry script with the GitHub environment a pull_request event gives it. */
async function runAction(
  root: string,
  base: string,
  inputs: Record<string, string>,
): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'seam-report-action-'));
  work.push(dir);
  const event = join(dir, 'event.json');
  writeFileSync(
    event,
    JSON.stringify({
      action: 'synchronize',
      pull_request: { number: 7, base: { sha: base, ref: 'main' } },
    }),
  );
  const summary = join(dir, 'summary.md');
  const output = join(dir, 'output.txt');
  writeFileSync(summary, '');
  writeFileSync(output, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: root,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: event,
    GITHUB_REPOSITORY: 'acme/engines',
    GITHUB_API_URL: apiUrl,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_OUTPUT: output,
    RUNNER_TEMP: dir,
    SEAM_REPORT_CLI: `${process.execPath} ${BIN}`,
    INPUT_TOKEN: 'test-token',
    INPUT_WORKING_DIRECTORY: root,
    ...Object.fromEntries(
      Object.entries(inputs).map(([key, value]) => [
        `INPUT_${key.toUpperCase().replace(/-/g, '_')}`,
        value,
      ]),
    ),
  };
  const child = spawn(process.execPath, [ENTRY], { cwd: root, env });
  let stdout = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', () => {});
  const code = await new Promise<number>((done) =>
    child.on('close', (status) => done(status ?? -1)),
  );
  const outputs: Record<string, string> = {};
  for (const match of readFileSync(output, 'utf8').matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm))
    outputs[match[1]!] = match[3]!;
  return { code, stdout, summary: readFileSync(summary, 'utf8'), outputs };
}

describe('the GitHub Action', () => {
  it('writes the summary, one comment, the annotations, and fails on the requested condition', async () => {
    const { e, base } = pullRequest();
    for (let i = 0; i < 100; i++) api.add(`review comment ${i}`); // the action's lands on page 2
    e.fix('bounds', 'alloc').commit('fix wal in alloc only');

    const first = await runAction(e.repo.root, base, { 'fail-on': 'drift' });
    expect(first.code).toBe(1);
    expect(first.summary.split('\n')[0]).toBe(
      '## Seam report: Do not extract a shared runtime yet: no extraction trigger has fired (the whole history is one open slice: every commit in one 7-day window; a fix made to several copies in it is part of writing them, so no history trigger can fire)',
    );
    expect(first.summary).toContain(
      "- ⚠️ **wal**: `wal.ts` changed in alloc; quota's copy did not change",
    );
    expect(first.stdout).toContain(
      '::warning file=packages/alloc/src/runtime/wal.ts,line=25,title=seam-report%3A wal drifted::`wal.ts` changed in alloc; 1 copy in step (quota) did not change',
    );
    expect(first.stdout).toMatch(/::error::seam-report: --fail-on drift: /);
    const ours = api.comments.filter((c) => c.body.includes(MARKER));
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toBe(`${MARKER}\n${first.summary.slice(0, -1)}`);
    expect(first.outputs).toMatchObject({
      decision:
        'Do not extract a shared runtime yet: no extraction trigger has fired (the whole history is one open slice: every commit in one 7-day window; a fix made to several copies in it is part of writing them, so no history trigger can fire)',
      drift: '1',
      'comment-id': String(ours[0]!.id),
    });
    expect(JSON.parse(readFileSync(first.outputs.sarif!, 'utf8')).runs[0].results).toHaveLength(1);
    expect(api.requests.every((r) => r.authorization === 'Bearer test-token')).toBe(true);

    // a second push: the same comment, updated; never a second one
    e.set(
      'packages/quota/src/runtime/retire-queue.ts',
      RETIRE_QUEUE_TS.replace('Math.max(1, capacity)', 'Math.max(2, capacity)'),
    ).commit('quota: a queue of at least two');
    const second = await runAction(e.repo.root, base, { 'fail-on': 'drift' });
    expect(second.code).toBe(1);
    const after = api.comments.filter((c) => c.body.includes(MARKER));
    expect(after).toHaveLength(1);
    expect(after[0]!.id).toBe(ours[0]!.id);
    expect(after[0]!.body).toContain(
      "- ⚠️ **retire_queue**: `retire-queue.ts` changed in quota; alloc's copy did not change",
    );
    expect(after[0]!.body).toBe(`${MARKER}\n${second.summary.slice(0, -1)}`);
    expect(second.outputs.drift).toBe('2');
    expect(api.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(api.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect(api.comments.filter((c) => c.body.startsWith('review comment'))).toHaveLength(100);
  });

  it('passes when nothing requested holds, and comments only when asked', async () => {
    const { e, base } = pullRequest();
    e.fix('bounds', 'alloc').commit('fix wal in alloc only');
    const requests = api.requests.length;
    const quiet = await runAction(e.repo.root, base, { comment: 'false' });
    expect(quiet.code).toBe(0); // drift found, but not asked to fail on it
    expect(quiet.stdout).toContain('::warning file=packages/alloc/src/runtime/wal.ts,line=25');
    expect(quiet.summary).toContain('### ⚠️ Drift against');
    expect(api.requests.length).toBe(requests);
    const failOnTrigger = await runAction(e.repo.root, base, {
      comment: 'false',
      'fail-on': 'trigger',
    });
    expect(failOnTrigger.code).toBe(0);
  });

  it('reports the CLI failing to produce a report with its status', async () => {
    const { e, base } = pullRequest();
    const bad = await runAction(e.repo.root, base, { config: 'missing.json', comment: 'false' });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/::error::seam-report could not produce a report \(exit 2\)/);
    expect(bad.summary).toBe('');
  });
});
