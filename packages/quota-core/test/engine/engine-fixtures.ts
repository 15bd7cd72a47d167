import { join } from 'node:path';
import type { QuotaConfig } from '../../src/config.js';
import {
  type EngineSeams,
  QuotaEngine,
  type QuotaEngineOpenOptions,
} from '../../src/engine/engine.js';
import type { FileSystem } from '../../src/runtime/file-system.js';
import { nodeFileSystem } from '../../src/runtime/file-system.js';
import { encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import type { ClientRequest, Command } from '../../src/types.js';

/** A small config where both tables and the retry window are easy to reach. */
export const SMALL_CONFIG: QuotaConfig = {
  maxBuckets: 64,
  maxOperations: 256,
  maxClientRetryWindowSlots: 8n,
};

export function openEngine(
  dir: string,
  extra: Partial<QuotaEngineOpenOptions> = {},
  seams: EngineSeams = {},
): Promise<QuotaEngine> {
  return QuotaEngine.openWithSeams({ dir, config: SMALL_CONFIG, clock: () => 0n, ...extra }, seams);
}

let nextOperationId = 1n;
export function request(
  command: Command,
  operationId: bigint = nextOperationId++,
  clientId = 7n,
): ClientRequest {
  return { operationId, clientId, command };
}

export const createBucket = (
  bucketId: bigint,
  limit: bigint,
  initialBalance: bigint = limit,
  refillRatePerSlot = 0n,
): Command => ({ kind: 'create_bucket', bucketId, limit, initialBalance, refillRatePerSlot });

export const debit = (bucketId: bigint, amount: bigint): Command => ({
  kind: 'debit',
  bucketId,
  amount,
});

export const walPath = (dir: string) => join(dir, 'wal');
export const snapshotPath = (dir: string) => join(dir, 'snapshot');

/** The engine's state machine, as the snapshot body it would write. */
export function stateBytes(engine: QuotaEngine): Uint8Array {
  return encodeSnapshotBody((engine as unknown as { db: { snapshot(): never } }).db.snapshot());
}

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
