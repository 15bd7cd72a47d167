import { join } from 'node:path';
import type { AllocDbConfig } from '../../src/config.js';
import {
  AllocDbEngine,
  type AllocDbEngineOpenOptions,
  type EngineSeams,
} from '../../src/engine/engine.js';
import type { FileSystem } from '../../src/runtime/file-system.js';
import { nodeFileSystem } from '../../src/runtime/file-system.js';
import type { ClientRequest, Command } from '../../src/types.js';

/** A small config where every table, window and bucket limit is easy to reach. */
export const SMALL_CONFIG: AllocDbConfig = {
  shardId: 0n,
  maxResources: 64,
  maxReservations: 64,
  maxBundleSize: 4,
  maxOperations: 256,
  maxTtlSlots: 16n,
  maxClientRetryWindowSlots: 8n,
  reservationHistoryWindowSlots: 4n,
  maxExpirationBucketLen: 16,
};

export function openEngine(
  dir: string,
  extra: Partial<AllocDbEngineOpenOptions> = {},
  seams: EngineSeams = {},
): Promise<AllocDbEngine> {
  return AllocDbEngine.openWithSeams(
    { dir, config: SMALL_CONFIG, clock: () => 0n, ...extra },
    seams,
  );
}

let nextOperationId = 1n;
export function request(
  command: Command,
  operationId: bigint = nextOperationId++,
  clientId = 7n,
): ClientRequest {
  return { operationId, clientId, command };
}

export const walPath = (dir: string) => join(dir, 'wal');
export const snapshotPath = (dir: string) => join(dir, 'snapshot');

/** node:fs that counts fdatasync calls on the WAL. */
export function countingFileSystem(): { fileSystem: FileSystem; syncs: () => number } {
  let syncs = 0;
  return {
    syncs: () => syncs,
    fileSystem: {
      ...nodeFileSystem,
      fdatasync: (fd) => {
        syncs++;
        return nodeFileSystem.fdatasync(fd);
      },
      fdatasyncSync: (fd) => {
        syncs++;
        nodeFileSystem.fdatasyncSync(fd);
      },
    },
  };
}
