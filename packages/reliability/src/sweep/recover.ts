/**
 * Opens a directory laid out from given bytes and reports what recovery did, for the sweeps:
 * success (recovered LSN, truncated bytes, canonical state, the log's length afterwards) or the
 * error (with its code, path and offset), and whether the files were left untouched.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineAdapter } from '../adapter.js';
import { canon } from '../canon.js';
import { MemoryFs } from '../memory-fs.js';

export type RecoveryReport =
  | {
      readonly ok: true;
      readonly lsn: bigint;
      readonly truncated: number;
      readonly state: string;
      readonly walLength: number;
      readonly problems: string[];
    }
  | {
      readonly ok: false;
      readonly error: unknown;
      readonly typed: boolean;
      readonly code: string | undefined;
      readonly path: string | undefined;
      readonly offset: number | undefined;
      readonly untouched: boolean;
    };

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a === undefined || b === undefined ? a === b : Buffer.compare(a, b) === 0;

export interface RecoverFiles {
  readonly wal: Uint8Array | undefined;
  readonly snapshot: Uint8Array | undefined;
  /** Other files to lay out (a stale `wal.tmp`, …). */
  readonly extra?: Readonly<Record<string, Uint8Array>>;
}

/**
 * Lays the files out in `dir` and opens it. With `inMemory`, the files live in a MemoryFs passed
 * through the engine's file-system seam (the lock still lives in `dir`): the same recovery code,
 * without the disk's latency, for sweeps of many thousand opens.
 */
export async function recoverFrom(
  adapter: EngineAdapter,
  dir: string,
  files: RecoverFiles,
  inMemory = false,
): Promise<RecoveryReport> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const walPath = join(dir, 'wal');
  const snapshotPath = join(dir, 'snapshot');
  const memory = inMemory ? new MemoryFs(dir) : undefined;
  const write = (name: string, bytes: Uint8Array) =>
    memory === undefined ? writeFileSync(join(dir, name), bytes) : memory.put(name, bytes);
  if (files.wal !== undefined) write('wal', files.wal);
  if (files.snapshot !== undefined) write('snapshot', files.snapshot);
  for (const [name, bytes] of Object.entries(files.extra ?? {})) write(name, bytes);
  const read = (path: string) =>
    memory !== undefined
      ? memory.read(path.slice(dir.length + 1))
      : existsSync(path)
        ? readFileSync(path)
        : undefined;
  let engine: Awaited<ReturnType<EngineAdapter['open']>>;
  try {
    engine = await adapter.open(memory === undefined ? { dir } : { dir, fileSystem: memory });
  } catch (error) {
    const e = error as { code?: unknown; path?: unknown; offset?: unknown };
    return {
      ok: false,
      error,
      typed: adapter.isRecoveryError(error),
      code: typeof e.code === 'string' ? e.code : undefined,
      path: typeof e.path === 'string' ? e.path : undefined,
      offset: typeof e.offset === 'number' ? e.offset : undefined,
      untouched: same(read(walPath), files.wal) && same(read(snapshotPath), files.snapshot),
    };
  }
  try {
    const state = engine.state();
    return {
      ok: true,
      lsn: engine.lastAppliedLsn,
      truncated: engine.recoveryStatus.tornTailBytesTruncated,
      state: canon(state),
      walLength: read(walPath)?.length ?? 0,
      problems: adapter.checkState(state),
    };
  } finally {
    await engine.close();
  }
}
