/**
 * The in-memory state of one allocator shard: the tables (all FixedMaps from the copied
 * runtime, allocated at open), the two retire queues, the expiration wheel and the watermarks.
 * Entries are mutable internally; reads hand out copies.
 */
import { type AllocDbConfig, type DerivedConfig, validateConfig } from '../config.js';
import { RESERVATION_ID_SHARD_SHIFT, U64_MAX } from '../constants.js';
import { FixedMap } from '../runtime/fixed-map.js';
import { RetireQueue } from '../runtime/retire-queue.js';
import type { ReservationState, ResourceState } from '../types.js';
import { ExpirationWheel, type WheelEntry } from './expiration-wheel.js';
import { OperationTable } from './operation-table.js';

export interface ResourceEntry {
  readonly resourceId: bigint;
  state: ResourceState;
  currentReservationId: bigint | undefined;
  /**
   * The version: a number while it is a safe integer (every real history: it grows by one per
   * command), a bigint beyond that (a restored snapshot may carry any u64). Numbers make the
   * per-member `+1` of every command allocation-free; `versionOf` reads it as a bigint.
   */
  version: number | bigint;
  /** Stamp of the last reserve that checked this resource: detects repeats within a bundle. */
  bundleMark: number;
}

export interface ReservationEntry extends WheelEntry {
  readonly reservationId: bigint;
  readonly resourceId: bigint;
  readonly holderId: bigint;
  leaseEpoch: bigint;
  state: ReservationState;
  readonly createdLsn: bigint;
  readonly deadlineSlot: bigint;
  releasedLsn: bigint | undefined;
  retireAfterSlot: bigint | undefined;
  readonly memberCount: number;
  /**
   * The member resources in member order: the reservation's rows of the spec's member table
   * (reservationId, memberIndex) → resourceId, kept with the reservation itself, so that no
   * command needs a lookup per member. The snapshot's member list is written from it; the
   * invariant check verifies it against the resource table.
   */
  readonly memberResources: readonly ResourceEntry[];
}

export interface AllocDbState {
  readonly config: AllocDbConfig;
  readonly derived: DerivedConfig;
  /** `shardId << 64`: OR-ed with an LSN it is a reservation id. */
  readonly reservationIdBase: bigint;
  readonly resources: FixedMap<ResourceEntry>;
  readonly reservations: FixedMap<ReservationEntry>;
  /**
   * Rows of the member table (the members of every reservation in the table), and its capacity
   * (`maxReservations × maxBundleSize`): the rows themselves live with each reservation
   * (`memberResources`), so a reserve or a retirement costs no member-table lookups.
   */
  memberRows: number;
  readonly memberCapacity: number;
  readonly operations: OperationTable;
  readonly wheel: ExpirationWheel<ReservationEntry>;
  readonly reservationRetireQueue: RetireQueue<bigint>;
  /** Keyed by the record's slot in the operation table (see `OperationTable.isLiveEntry`). */
  readonly operationRetireQueue: RetireQueue<number>;
  /**
   * The watermarks: absent (undefined) until first set. `lastAppliedLsn` and `lastRequestSlot`
   * are set together by the first apply; `maxRetiredReservationId` by the first retirement.
   */
  lastAppliedLsn: bigint | undefined;
  lastRequestSlot: bigint | undefined;
  maxRetiredReservationId: bigint | undefined;
  /** Number of reservations in a terminal state (the reservation retire queue's length). */
  terminalReservations: number;
  /** Source of `ResourceEntry.bundleMark` stamps; not persisted (stamps only compare equal). */
  bundleMarkCounter: number;
  /** Scratch for the resources of the bundle being reserved (length maxBundleSize). */
  readonly bundleScratch: (ResourceEntry | undefined)[];
  /**
   * What the last executed command looked up or created (its reservation; for
   * `create_resource`, its resource), so that the invariant check after it needs no second
   * lookup. Scratch, not persisted.
   */
  touchedReservation: ReservationEntry | undefined;
  touchedResource: ResourceEntry | undefined;
  /**
   * `windowSlot + W` (the operation window) and `windowSlot + reservationHistoryWindowSlots`,
   * for the request slot `windowSlot` (see `setWindowSlot`): every command of a slot shares
   * these two bigints instead of allocating its own sums. Scratch, not persisted.
   */
  windowSlot: bigint | undefined;
  operationWindowEnd: bigint;
  historyWindowEnd: bigint;
  /**
   * `U64_MAX − x` for the windows the slot check adds to a request slot (`slotOverflows`):
   * maxTtlSlots, the history window and W (validateConfig keeps each of them within u64).
   */
  readonly slotLimits: {
    readonly maxTtl: bigint;
    readonly history: bigint;
    readonly operationWindow: bigint;
  };
}

/** Makes `operationWindowEnd` and `historyWindowEnd` those of request slot `slot`. */
export function setWindowSlot(state: AllocDbState, slot: bigint): void {
  if (slot === state.windowSlot) return;
  state.windowSlot = slot;
  state.operationWindowEnd = slot + state.derived.operationWindowSlots;
  state.historyWindowEnd = slot + state.config.reservationHistoryWindowSlots;
}

/** Adds one to a resource's version, exactly, in whichever representation it has. */
export function bumpVersion(resource: ResourceEntry): void {
  const version = resource.version;
  resource.version =
    typeof version === 'number' && version < Number.MAX_SAFE_INTEGER
      ? version + 1
      : BigInt(version) + 1n;
}

/** A resource's version as the u64 bigint of the public records. */
export function versionOf(resource: ResourceEntry): bigint {
  return BigInt(resource.version);
}

/** The internal representation of a version read from a snapshot. */
export function versionFrom(version: bigint): number | bigint {
  return version <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(version) : version;
}

export function isTerminal(state: ReservationState): boolean {
  return state === 'released' || state === 'expired' || state === 'revoked';
}

/** Validates the config (ConfigError) and allocates every table at its full capacity. */
export function createState(config: AllocDbConfig): AllocDbState {
  const derived = validateConfig(config);
  return {
    config,
    derived,
    reservationIdBase: config.shardId << RESERVATION_ID_SHARD_SHIFT,
    resources: new FixedMap<ResourceEntry>(config.maxResources),
    reservations: new FixedMap<ReservationEntry>(config.maxReservations),
    memberRows: 0,
    memberCapacity: derived.memberCapacity,
    operations: new OperationTable(config.maxOperations),
    wheel: new ExpirationWheel<ReservationEntry>(
      config.maxTtlSlots,
      config.maxExpirationBucketLen,
      config.maxReservations,
    ),
    // A record is queued once, when it becomes retirable, and leaves the queue when it is
    // deleted, so each queue never holds more entries than its table.
    reservationRetireQueue: new RetireQueue<bigint>(config.maxReservations),
    operationRetireQueue: new RetireQueue<number>(config.maxOperations),
    lastAppliedLsn: undefined,
    lastRequestSlot: undefined,
    maxRetiredReservationId: undefined,
    terminalReservations: 0,
    bundleMarkCounter: 0,
    bundleScratch: new Array<ResourceEntry | undefined>(config.maxBundleSize).fill(undefined),
    touchedReservation: undefined,
    touchedResource: undefined,
    windowSlot: undefined,
    operationWindowEnd: 0n,
    historyWindowEnd: 0n,
    slotLimits: {
      maxTtl: U64_MAX - config.maxTtlSlots,
      history: U64_MAX - config.reservationHistoryWindowSlots,
      operationWindow: U64_MAX - derived.operationWindowSlots,
    },
  };
}
