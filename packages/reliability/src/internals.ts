/**
 * The shapes of the engine internals the suites use, which both engines expose through their
 * explicit testing entry points (`allocdb-core/testing`, `quota-core/testing`): the runtime's
 * frame scanner and encoder (its copy of `runtime/wal.ts`) and its snapshot file codec. The suites
 * are written against these shapes so that one differential check serves both engines.
 */
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
