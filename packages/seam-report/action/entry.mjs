// The seam-report GitHub Action (action.yml beside this folder runs it): on a pull request it
// runs the seam-report CLI once against the pull request's base, then
//
// - appends the markdown report to the job summary ($GITHUB_STEP_SUMMARY);
// - creates or updates ONE pull-request comment, found by a hidden marker (never a second one);
// - prints a `::warning file=…,line=…::` annotation for every drifted copy;
// - writes outputs ($GITHUB_OUTPUT): decision, drift (number of drifted copies), report (the JSON
//   report's path), sarif (the SARIF log's path), comment-id;
// - exits 1 only when a requested --fail-on condition holds (after reporting), with the CLI's
//   status (2, 3, 4) when it could not produce a report.
//
// Plain Node (≥ 20), no dependencies: it reads its inputs from the environment the composite
// action sets (INPUT_*), the GitHub environment (GITHUB_*), and the command to run from
// SEAM_REPORT_CLI (the action sets `npx --yes --package=<package> -- seam-report`).
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The hidden marker that identifies the action's comment on a pull request. */
const MARKER = '<!-- seam-report:pull-request-comment -->';

const env = process.env;
const input = (name) => (env[`INPUT_${name.toUpperCase().replace(/-/g, '_')}`] ?? '').trim();

/** `::command key=value::message` with GitHub's escaping. */
function command(name, properties, message) {
  const escapeData = (text) =>
    String(text).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const escapeProperty = (text) => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const props = Object.entries(properties)
    .map(([key, value]) => `${key}=${escapeProperty(value)}`)
    .join(',');
  return `::${name}${props === '' ? '' : ` ${props}`}::${escapeData(message)}`;
}

function setOutput(name, value) {
  if (!env.GITHUB_OUTPUT) return;
  const delimiter = `seam_report_${Math.random().toString(36).slice(2)}`;
  appendFileSync(env.GITHUB_OUTPUT, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
}

function readEvent() {
  if (!env.GITHUB_EVENT_PATH) return {};
  try {
    return JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
  } catch {
    return {};
  }
}

/** Makes sure `revision` is a commit in the clone (fetching it when the checkout was shallow). */
function ensureCommit(cwd, revision) {
  const has = spawnSync('git', ['cat-file', '-e', `${revision}^{commit}`], { cwd });
  if (has.status === 0) return;
  spawnSync('git', ['fetch', '--no-tags', '--quiet', 'origin', revision], {
    cwd,
    stdio: 'inherit',
  });
}

/** The GitHub REST API, with the token; `fetch` is Node's. */
async function github(method, path, body) {
  const api = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/$/, '');
  const response = await fetch(`${api}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${input('token') || env.GITHUB_TOKEN}`,
      'content-type': 'application/json',
      'user-agent': 'seam-report-action',
      'x-github-api-version': '2022-11-28',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  }
  return response.json();
}

/** Creates the action's comment, or updates the one that carries the marker. Returns its id. */
async function upsertComment(repository, number, body) {
  const perPage = 100;
  let existing;
  for (let page = 1; existing === undefined; page++) {
    const comments = await github(
      'GET',
      `/repos/${repository}/issues/${number}/comments?per_page=${perPage}&page=${page}`,
    );
    existing = comments.find((comment) => String(comment.body ?? '').includes(MARKER));
    if (comments.length < perPage) break;
  }
  if (existing !== undefined) {
    await github('PATCH', `/repos/${repository}/issues/comments/${existing.id}`, { body });
    return existing.id;
  }
  const created = await github('POST', `/repos/${repository}/issues/${number}/comments`, { body });
  return created.id;
}

async function main() {
  const cwd = resolve(input('working-directory') || '.');
  const event = readEvent();
  const pull = event.pull_request;
  const base = input('base') || pull?.base?.sha || '';
  const failOn = input('fail-on');
  const comment = input('comment') !== 'false';
  const cli = (env.SEAM_REPORT_CLI || 'npx --yes seam-report').split(/\s+/).filter(Boolean);

  const out = mkdtempSync(join(env.RUNNER_TEMP || tmpdir(), 'seam-report-'));
  const files = {
    markdown: join(out, 'seam-report.md'),
    json: join(out, 'seam-report.json'),
    sarif: join(out, 'seam-report.sarif'),
  };
  const args = [
    '--format',
    'markdown',
    '--output',
    files.markdown,
    '--also',
    `json=${files.json}`,
    '--also',
    `sarif=${files.sarif}`,
    '--quiet',
  ];
  if (input('config')) args.push('--config', input('config'));
  if (base) {
    ensureCommit(cwd, base);
    args.push('--base', base);
  } else if (failOn.split(',').some((c) => c.trim() === 'drift')) {
    console.log(
      command(
        'warning',
        {},
        'seam-report: no base revision (not a pull request, no "base" input): the drift check is skipped',
      ),
    );
  }
  const conditions = failOn
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && (base !== '' || c !== 'drift'));
  if (conditions.length > 0) args.push('--fail-on', conditions.join(','));

  console.log(`seam-report: ${cli.join(' ')} ${args.join(' ')}`);
  const run = spawnSync(cli[0], [...cli.slice(1), ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  if (run.stderr) process.stderr.write(run.stderr);
  const status = run.status ?? 4;
  if (status !== 0 && status !== 1) {
    console.log(
      command(
        'error',
        {},
        `seam-report could not produce a report (exit ${status}): ${run.stderr.trim() || run.error?.message || ''}`,
      ),
    );
    return status;
  }

  const markdown = readFileSync(files.markdown, 'utf8');
  const report = JSON.parse(readFileSync(files.json, 'utf8'));
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `${markdown}\n`);

  let drifted = 0;
  for (const finding of report.drift?.findings ?? []) {
    for (const copy of finding.drifted) {
      drifted++;
      console.log(
        command(
          'warning',
          { file: copy.path, line: copy.line, title: `seam-report: ${finding.seam} drifted` },
          copy.message,
        ),
      );
    }
  }

  let commentId = '';
  if (comment && pull?.number !== undefined && env.GITHUB_REPOSITORY) {
    try {
      commentId = String(
        await upsertComment(env.GITHUB_REPOSITORY, pull.number, `${MARKER}\n${markdown}`),
      );
    } catch (error) {
      // a fork's pull request has a read-only token: the summary and annotations still stand
      console.log(
        command(
          'warning',
          {},
          `seam-report: could not comment on the pull request: ${error.message}`,
        ),
      );
    }
  } else if (comment && pull === undefined) {
    console.log('seam-report: not a pull request: no comment (the job summary has the report)');
  }

  setOutput('decision', report.decision.summary);
  setOutput('drift', String(drifted));
  setOutput('report', files.json);
  setOutput('sarif', files.sarif);
  setOutput('comment-id', commentId);
  if (status === 1) {
    console.log(
      command(
        'error',
        {},
        `seam-report: --fail-on ${conditions.join(',')}: ${run.stderr.trim().replace(/^seam-report: /gm, '')}`,
      ),
    );
  }
  return status;
}

process.exitCode = await main().catch((error) => {
  console.log(command('error', {}, `seam-report action failed: ${error.stack ?? error}`));
  return 4;
});
