/**
 * The in-memory state of one quota state machine: the bucket table and the operation table
 * (both allocated at open, on the copied runtime's FixedMap), the operation retire queue and
 * the watermarks. Entries are mutable internally; reads hand out copies.
 */
import { type QuotaConfig, validateConfig } from '../config.js';
import { U64_MAX } from '../constants.js';
import { FixedMap } from '../runtime/fixed-map.js';
import { RetireQueue } from '../runtime/retire-queue.js';
import type { BucketEntry } from './bucket.js';
import { OperationTable } from './operation-table.js';

export interface QuotaState {
  readonly config: QuotaConfig;
  /**
   * `2^64 − 1 − maxClientRetryWindowSlots`: the last request slot at which a client command's
   * `retireAfterSlot` still fits in u64 (step 1 of the client path), computed once.
   */
  readonly lastClientSlot: bigint;
  readonly buckets: FixedMap<BucketEntry>;
  readonly operations: OperationTable;
  /**
   * `(operation table slot, retireAfterSlot)` in apply order. A record is queued once, when it
   * is made, so the queue never holds more live entries than the table has records.
   */
  readonly operationRetireQueue: RetireQueue<number>;
  /** Both undefined until the first command is applied, then both set. */
  lastAppliedLsn: bigint | undefined;
  lastRequestSlot: bigint | undefined;
}

/** Validates the config (ConfigError) and allocates every table at its full capacity. */
export function createState(config: QuotaConfig): QuotaState {
  validateConfig(config);
  return {
    config,
    lastClientSlot: U64_MAX - config.maxClientRetryWindowSlots,
    buckets: new FixedMap<BucketEntry>(config.maxBuckets),
    operations: new OperationTable(config.maxOperations),
    operationRetireQueue: new RetireQueue<number>(config.maxOperations),
    lastAppliedLsn: undefined,
    lastRequestSlot: undefined,
  };
}
