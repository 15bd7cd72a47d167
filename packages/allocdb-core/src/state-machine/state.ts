/**
 * The in-memory state of one allocator shard: the tables (all FixedMaps from the copied
 * runtime, allocated at open), the two retire queues, the expiration wheel and the watermarks.
 * Entries are mutable internally; reads hand out copies.
 */
import { type AllocDbConfig, type DerivedConfig, validateConfig } from '../config.js';
import { RESERVATION_ID_SHARD_SHIFT } from '../constants.js';
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
  /** `reservationId << memberIndexBits`: member keys are this OR-ed with the index. */
  readonly memberKeyBase: bigint;
  /**
   * The member resources in member order: the same entries the member table leads to, kept here
   * so that confirm, release, revoke, reclaim and expire touch them without two hash lookups per
   * member. The invariant check verifies it against the member table.
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
   * The member table: key `memberKey(reservationId, memberIndex)`, value the member's resource
   * (resources are never deleted, so the reference stays valid; the key carries the rest).
   */
  readonly members: FixedMap<ResourceEntry>;
  /** Bits of a member key that hold the member index: enough for `maxBundleSize − 1`. */
  readonly memberIndexBits: bigint;
  /** `BigInt(i)` for every member index, so building a member key allocates one bigint less. */
  readonly memberIndexes: readonly bigint[];
  readonly operations: OperationTable;
  readonly wheel: ExpirationWheel<ReservationEntry>;
  readonly reservationRetireQueue: RetireQueue<bigint>;
  readonly operationRetireQueue: RetireQueue<bigint>;
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
}

/**
 * Key of member `memberIndex` of `reservationId` in the member table:
 * `(reservationId << memberIndexBits) | memberIndex`. Using only as many index bits as the
 * bundle size needs keeps the keys of shard 0 below 2^53 for LSNs up to 2^(53 − bits), where
 * FixedMap hashes them without allocating.
 */
export function memberKey(state: AllocDbState, reservationId: bigint, memberIndex: number): bigint {
  return memberKeyAt(state, reservationId << state.memberIndexBits, memberIndex);
}

/** `memberKey` from a precomputed `memberKeyBase` (member 0's key is the base itself). */
export function memberKeyAt(
  state: AllocDbState,
  memberKeyBase: bigint,
  memberIndex: number,
): bigint {
  return memberIndex === 0 ? memberKeyBase : memberKeyBase | state.memberIndexes[memberIndex]!;
}

/** The reservation id and member index packed in a member key. */
export function splitMemberKey(
  state: AllocDbState,
  key: bigint,
): { reservationId: bigint; memberIndex: number } {
  return {
    reservationId: key >> state.memberIndexBits,
    memberIndex: Number(key & ((1n << state.memberIndexBits) - 1n)),
  };
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
    members: new FixedMap<ResourceEntry>(derived.memberCapacity),
    memberIndexBits: BigInt(
      config.maxBundleSize <= 1 ? 0 : (config.maxBundleSize - 1).toString(2).length,
    ),
    memberIndexes: Array.from({ length: config.maxBundleSize }, (_, i) => BigInt(i)),
    operations: new OperationTable(config.maxOperations),
    wheel: new ExpirationWheel<ReservationEntry>(
      config.maxTtlSlots,
      config.maxExpirationBucketLen,
      config.maxReservations,
    ),
    // A record is queued once, when it becomes retirable, and leaves the queue when it is
    // deleted, so each queue never holds more entries than its table.
    reservationRetireQueue: new RetireQueue<bigint>(config.maxReservations),
    operationRetireQueue: new RetireQueue<bigint>(config.maxOperations),
    lastAppliedLsn: undefined,
    lastRequestSlot: undefined,
    maxRetiredReservationId: undefined,
    terminalReservations: 0,
    bundleMarkCounter: 0,
    bundleScratch: new Array<ResourceEntry | undefined>(config.maxBundleSize).fill(undefined),
    touchedReservation: undefined,
    touchedResource: undefined,
  };
}
