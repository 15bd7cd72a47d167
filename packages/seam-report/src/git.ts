/**
 * Reading a repository through the `git` executable: short commands, a streamed log walk, and
 * one long-running `git cat-file --batch` for object contents. A whole analysis starts a handful
 * of git processes, never one per commit.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { RepositoryError } from './errors.js';

/** Environment for every git call: no pager, no prompts, no locale-dependent output. */
function gitEnvironment(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LC_ALL: 'C',
    GIT_PAGER: 'cat',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
  };
}

/** Options that keep user configuration from changing git's output format. */
const NEUTRAL_CONFIG = [
  '-c',
  'core.quotepath=off',
  '-c',
  'log.showSignature=false',
  '-c',
  'color.ui=false',
];

function spawnFailure(error: NodeJS.ErrnoException): RepositoryError {
  if (error.code === 'ENOENT') {
    return new RepositoryError(
      'git_not_found',
      'git is not installed or not on PATH',
      'Install git (for example apt-get install git) or add it to PATH.',
      { cause: error },
    );
  }
  return new RepositoryError(
    'git_failed',
    `could not run git: ${error.message}`,
    'Check that git runs in this shell.',
    {
      cause: error,
    },
  );
}

function commandFailure(args: readonly string[], stderr: string, cause?: unknown): RepositoryError {
  const detail = stderr.trim().split('\n').slice(0, 3).join(' / ') || 'no message';
  if (/not a git repository/i.test(stderr)) {
    return new RepositoryError(
      'not_a_repository',
      `not a git repository (git said: ${detail})`,
      'Run seam-report inside a git work tree or pass the work tree as the directory argument (seam-report [directory]; `root` in the library); `git init` makes one.',
      { cause },
    );
  }
  if (/dubious ownership/i.test(stderr)) {
    return new RepositoryError(
      'git_failed',
      `git refuses to read this repository: ${detail}`,
      'Mark it safe with `git config --global --add safe.directory <path>`, or run as its owner.',
      { cause },
    );
  }
  return new RepositoryError(
    'git_failed',
    `git ${args.join(' ')} failed: ${detail}`,
    'Check that the repository is intact (`git fsck`) and readable by this user.',
    { cause },
  );
}

/** Runs a short git command and returns its stdout. */
export function git(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...NEUTRAL_CONFIG, ...args],
      { cwd, env: gitEnvironment(), maxBuffer: 1 << 30, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) resolve(stdout);
        else if (typeof error.code === 'string')
          reject(spawnFailure(error as NodeJS.ErrnoException));
        else reject(commandFailure(args, stderr, error));
      },
    );
  });
}

/** Like `git`, but a non-zero exit (e.g. an unknown revision) yields undefined. */
export async function gitMaybe(cwd: string, args: readonly string[]): Promise<string | undefined> {
  try {
    return await git(cwd, args);
  } catch (error) {
    if (error instanceof RepositoryError && error.code === 'git_failed') return undefined;
    throw error;
  }
}

/**
 * The top-level directory of the repository containing `dir`. Fails with `not_found` when the
 * directory does not exist and `not_a_repository` when it is not inside a work tree.
 */
export async function repositoryRoot(dir: string): Promise<string> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new Error('not a directory');
  } catch (error) {
    throw new RepositoryError(
      'not_found',
      `${dir} is not a directory`,
      'Pass an existing git work tree as the directory argument (seam-report [directory]; `root` in the library), or run seam-report inside one.',
      { cause: error },
    );
  }
  const output = await git(dir, ['rev-parse', '--show-toplevel']);
  return output.trim();
}

/**
 * Streams a git command's NUL-separated output field by field (fields decoded as UTF-8).
 * Stops the process when the consumer stops early.
 */
export async function* gitFields(cwd: string, args: readonly string[]): AsyncGenerator<string> {
  const child = spawn('git', [...NEUTRAL_CONFIG, ...args], {
    cwd,
    env: gitEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) => reject(spawnFailure(error)));
    child.once('close', (code) => resolve(code));
  });
  let carry: Buffer | undefined;
  let finished = false;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const data = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
      let start = 0;
      for (let nul = data.indexOf(0, start); nul !== -1; nul = data.indexOf(0, start)) {
        yield data.toString('utf8', start, nul);
        start = nul + 1;
      }
      carry = start < data.length ? data.subarray(start) : undefined;
    }
    if (carry !== undefined && carry.length > 0) yield carry.toString('utf8');
    finished = true;
  } finally {
    if (!finished) child.kill();
  }
  const code = await exited;
  if (code !== 0) throw commandFailure(args, stderr);
}

/** One object read by `ObjectReader`. */
export interface GitObject {
  readonly oid: string;
  readonly type: string;
  readonly content: Buffer;
}

interface PendingRead {
  readonly resolve: (object: GitObject | null) => void;
  readonly reject: (error: Error) => void;
}

/**
 * A `git cat-file --batch` process: `read(spec)` accepts anything git names an object with
 * (an oid, `rev:path`, `rev^{tree}`) and resolves to the object, or null when it does not exist.
 * Reads may be issued without awaiting earlier ones; git answers them in order.
 */
export class ObjectReader {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: PendingRead[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Header of the object whose content is still arriving. */
  private header: { oid: string; type: string; size: number } | undefined;
  private failure: Error | undefined;
  private stderr = '';

  constructor(cwd: string) {
    this.child = spawn('git', [...NEUTRAL_CONFIG, 'cat-file', '--batch'], {
      cwd,
      env: gitEnvironment(),
    });
    this.child.stdout.on('data', (chunk: Buffer) => this.receive(chunk));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      if (this.stderr.length < 4096) this.stderr += chunk;
    });
    this.child.on('error', (error) => this.fail(spawnFailure(error)));
    this.child.on('close', (code) => {
      if (this.pending.length > 0)
        this.fail(commandFailure(['cat-file', '--batch'], this.stderr || `exit ${code}`));
    });
    // a closed pipe surfaces through 'close' above; do not let it crash the process
    this.child.stdin.on('error', () => {});
  }

  read(spec: string): Promise<GitObject | null> {
    if (this.failure) return Promise.reject(this.failure);
    if (spec.includes('\n')) return Promise.resolve(null); // cannot be named on one line
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(`${spec}\n`);
    });
  }

  /** Reads a blob's text, or null when the spec names nothing. */
  async readText(spec: string): Promise<string | null> {
    const object = await this.read(spec);
    return object === null ? null : object.content.toString('utf8');
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const closed = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin.end();
    await closed;
  }

  private fail(error: Error): void {
    this.failure = error;
    for (const read of this.pending.splice(0)) read.reject(error);
  }

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.header === undefined) {
        const data = this.flatten();
        const newline = data.indexOf(10);
        if (newline === -1) return;
        const line = data.toString('utf8', 0, newline);
        this.consume(newline + 1);
        const parts = line.split(' ');
        if (parts.length === 3 && /^\d+$/.test(parts[2]!)) {
          this.header = { oid: parts[0]!, type: parts[1]!, size: Number(parts[2]) };
        } else {
          // "<spec> missing" or "<spec> ambiguous"
          this.pending.shift()?.resolve(null);
        }
        continue;
      }
      const { size } = this.header;
      if (this.buffered < size + 1) return; // content plus its trailing newline
      const data = this.flatten();
      const content = Buffer.from(data.subarray(0, size));
      this.consume(size + 1);
      const { oid, type } = this.header;
      this.header = undefined;
      this.pending.shift()?.resolve({ oid, type, content });
    }
  }

  /** Joins the buffered chunks into one (only when more than one is buffered). */
  private flatten(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private consume(bytes: number): void {
    const data = this.flatten();
    const rest = data.subarray(bytes);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
  }
}

/** A file change as `git log --raw` reports it. */
export interface RawChange {
  /**
   * A (added), M (modified), D (deleted), T (type changed), R (renamed, with `-M`: `oldPath` is
   * where it came from), C (copied, with `-C`).
   */
  readonly status: string;
  /** Blob ids; all zeros on the side where the file does not exist. */
  readonly oldOid: string;
  readonly newOid: string;
  readonly path: string;
  /** For R and C: the path before. */
  readonly oldPath?: string;
}

export interface LogCommit {
  readonly hash: string;
  readonly parents: readonly string[];
  /** Committer time, seconds since the epoch. */
  readonly time: number;
  readonly subject: string;
  readonly changes: readonly RawChange[];
}

/** Start of each commit's header in `logCommits` output (a character no subject contains). */
const RECORD = '\u001e';
const FIELD = '\u001f';
export const LOG_FORMAT = `--format=${RECORD}%H${FIELD}%P${FIELD}%ct${FIELD}%s`;

export function isNullOid(oid: string): boolean {
  return /^0+$/.test(oid);
}

/**
 * Streams commits with their raw file changes from `git log <args> --raw -z` (without `--raw`
 * when `raw` is false: headers only); `args` must include `LOG_FORMAT`. Output, NUL-separated: a header field per commit, then for each change a
 * `:oldmode newmode oldoid newoid status` field followed by a path field.
 */
export async function* logCommits(
  cwd: string,
  args: readonly string[],
  { raw = true }: { raw?: boolean } = {},
): AsyncGenerator<LogCommit> {
  let current: { header: LogCommit; changes: RawChange[] } | undefined;
  let meta: string | undefined;
  /** The first path of a rename or copy, waiting for the second. */
  let firstPath: string | undefined;
  const output = raw ? ['--raw', '-z', '--no-abbrev'] : ['-z'];
  for await (const field of gitFields(cwd, ['log', ...output, ...args])) {
    if (meta !== undefined) {
      const [, , oldOid, newOid, status] = meta.split(' ');
      const kind = status!.charAt(0);
      if ((kind === 'R' || kind === 'C') && firstPath === undefined) {
        firstPath = field;
        continue;
      }
      current?.changes.push({
        status: kind,
        oldOid: oldOid!,
        newOid: newOid!,
        path: field,
        ...(firstPath !== undefined ? { oldPath: firstPath } : {}),
      });
      meta = undefined;
      firstPath = undefined;
      continue;
    }
    const text = field.startsWith('\n') ? field.slice(1) : field;
    if (text.startsWith(RECORD)) {
      if (current) yield { ...current.header, changes: current.changes };
      const [hash, parents, time, ...subject] = text.slice(1).split(FIELD);
      current = {
        header: {
          hash: hash!,
          parents: parents ? parents.split(' ') : [],
          time: Number(time),
          subject: subject.join(FIELD),
          changes: [],
        },
        changes: [],
      };
    } else if (text.startsWith(':')) {
      meta = text.slice(1);
    }
  }
  if (current) yield { ...current.header, changes: current.changes };
}

/**
 * The changes of each given commit against its first parent, with rename detection over the
 * whole tree (`git diff-tree --stdin -r -M`): one process for any number of commits. Used where
 * the path-limited history walk cannot see a rename because its other end lies outside the
 * watched paths. Merge commits are skipped (no changes reported).
 */
export async function commitDiffs(
  cwd: string,
  commits: readonly string[],
): Promise<Map<string, RawChange[]>> {
  const result = new Map<string, RawChange[]>();
  if (commits.length === 0) return result;
  const child = spawn(
    'git',
    [...NEUTRAL_CONFIG, 'diff-tree', '--stdin', '-r', '-M', '--raw', '-z', '--no-abbrev'],
    { cwd, env: gitEnvironment(), stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) => reject(spawnFailure(error)));
    child.once('close', (code) => resolve(code));
  });
  child.stdin.on('error', () => {});
  child.stdin.end(`${commits.join('\n')}\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) chunks.push(chunk);
  const code = await exited;
  if (code !== 0) throw commandFailure(['diff-tree', '--stdin'], stderr);
  const fields = Buffer.concat(chunks).toString('utf8').split('\0');
  let changes: RawChange[] | undefined;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!.replace(/^\n/, '');
    if (field === '') continue;
    if (field.startsWith(':')) {
      const [, , oldOid, newOid, status] = field.slice(1).split(' ');
      const kind = status!.charAt(0);
      const twoPaths = kind === 'R' || kind === 'C';
      const first = fields[++i]!;
      const second = twoPaths ? fields[++i]! : undefined;
      changes?.push({
        status: kind,
        oldOid: oldOid!,
        newOid: newOid!,
        path: second ?? first,
        ...(second !== undefined ? { oldPath: first } : {}),
      });
    } else {
      changes = [];
      result.set(field.trim(), changes);
    }
  }
  return result;
}
