/**
 * Access to the few engine internals the suites need and the packages do not export: each
 * engine's copy of `runtime/wal.ts` (frame scanner and encoder) and `runtime/snapshot-file.ts`
 * (snapshot file loader), loaded from the package's built `dist/` by file path (the packages'
 * `exports` map only exposes the index), and the `simulateCrash` symbol, found on the engine
 * class itself. Everything else goes through the public index.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** Imports `dist/<relative>` of a workspace package by file URL. */
export async function importDist<T>(packageName: string, relative: string): Promise<T> {
  const root = dirname(require.resolve(`${packageName}/package.json`));
  return (await import(pathToFileURL(join(root, 'dist', relative)).href)) as T;
}

/** The `simulateCrash` symbol an engine class carries as a method key. */
export function findSimulateCrash(engineClass: { prototype: object }): symbol {
  const symbol = Object.getOwnPropertySymbols(engineClass.prototype).find((s) =>
    s.description?.includes('simulateCrash'),
  );
  if (symbol === undefined) throw new Error('the engine class has no simulateCrash method');
  return symbol;
}

/** The engine's private state machine (`engine.db`), which the suites read snapshots from. */
export function stateMachineOf<T>(engine: object): T {
  const db = (engine as { db?: T }).db;
  if (db === undefined) throw new Error('the engine no longer keeps its state machine in `db`');
  return db;
}

export interface WalModule {
  scanLog(
    bytes: Uint8Array,
    options: { magic?: string; maxPayloadBytes: number },
  ): {
    frames: {
      recordType: number;
      lsn: bigint;
      requestSlot: bigint;
      payload: Uint8Array;
    }[];
    validUpTo: number;
    stop:
      | { kind: 'clean' }
      | { kind: 'torn_tail'; offset: number }
      | { kind: 'corruption'; offset: number; reason: string };
  };
  encodeFrames(
    frames: readonly {
      recordType: number;
      lsn: bigint;
      requestSlot: bigint;
      payload: Uint8Array;
    }[],
    options: { magic?: string; maxPayloadBytes: number },
  ): Uint8Array;
  FrameScanner: new (
    options: { magic?: string; maxPayloadBytes: number },
    onFrame: (
      frame: { recordType: number; lsn: bigint; requestSlot: bigint; payload: Uint8Array },
      offset: number,
    ) => void,
  ) => {
    push(chunk: Uint8Array): void;
    readonly decided: boolean;
    finish(): {
      frameCount: number;
      validUpTo: number;
      stop:
        | { kind: 'clean' }
        | { kind: 'torn_tail'; offset: number }
        | { kind: 'corruption'; offset: number; reason: string };
    };
  };
}

export interface SnapshotFileModule {
  loadSnapshotFile(
    path: string,
    supportedSchemaVersion: number,
    options: { maxSnapshotBytes: number; fileSystem?: unknown },
  ): { header: unknown; body: Uint8Array; fileBytes: number } | undefined;
  encodeSnapshotFile(
    header: { schemaVersion: number; lastAppliedLsn: bigint; lastRequestSlot: bigint },
    body: Uint8Array,
  ): Uint8Array;
  SnapshotFileError: new (...args: never[]) => Error;
}
