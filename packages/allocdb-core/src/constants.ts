/**
 * Every bound, default and format number of allocdb-core, in one place. Code and tests refer to
 * these names, never to the literal values.
 */

/** Largest u64: slots, LSNs, TTLs, epochs, versions and the shard id must not exceed it. */
export const U64_MAX = (1n << 64n) - 1n;

/** Largest u128: resource, reservation, holder, operation and client ids must not exceed it. */
export const U128_MAX = (1n << 128n) - 1n;

/** A reservation id is `(shardId << RESERVATION_ID_SHARD_SHIFT) | lsn`. */
export const RESERVATION_ID_SHARD_SHIFT = 64n;

/**
 * Largest capacity of any single table (resources, reservations, members, operations). Every
 * table is allocated at open: FixedMap takes about 40 bytes per slot plus a two-entry-per-slot
 * index, and the operation table about 90 more (inline command bytes, LSN, slot), so 2^24
 * entries is roughly 1–2 GiB for the largest table. Beyond that a Node process with the default
 * heap limit would fail at open instead of answering with a clear ConfigError.
 */
export const MAX_TABLE_CAPACITY = 2 ** 24;

/** Lease epoch of a fresh reservation; release, expire and revoke add one (so at most 2). */
export const INITIAL_LEASE_EPOCH = 1n;

/** Version of the command payload encoding (first byte of every WAL payload we write). */
export const COMMAND_CODEC_VERSION = 1;

/** Schema version of the snapshot body (the engine writes it into the snapshot file header too). */
export const SNAPSHOT_SCHEMA_VERSION = 1;

/**
 * Bytes of command encoding stored inline per operation-table slot. Every command except a
 * bundle of two or more fits (the largest fixed-shape ones, reserve, confirm and release, take
 * 41 bytes; a one-element bundle 45), so the common records need no buffer of their own. The
 * table reserves this much per slot at open.
 */
export const INLINE_COMMAND_BYTES = 48;

/**
 * Defaults filled in by `resolveConfig` for fields the caller leaves out. Sized for a service
 * that hands out tens of thousands of leases with one-second slots: TTLs up to an hour, client
 * retries honoured for ten minutes past the longest TTL, released leases readable for five
 * minutes. All tables together take a few hundred MiB at these sizes.
 */
export const DEFAULT_CONFIG = Object.freeze({
  shardId: 0n,
  maxResources: 65_536,
  maxReservations: 65_536,
  /** Bundles of a handful of resources are the common case (a GPU node set, a row of seats). */
  maxBundleSize: 16,
  /** Operations outlive reservations (W = TTL + retry window), so the table is larger. */
  maxOperations: 262_144,
  maxTtlSlots: 3_600n,
  maxClientRetryWindowSlots: 600n,
  reservationHistoryWindowSlots: 300n,
  /** Up to 1,024 leases may share one deadline slot before reserves answer expiration_index_full. */
  maxExpirationBucketLen: 1_024,
});

// ---------------------------------------------------------------------------------------------
// The durable engine's limits (`engine: {…}` at open). docs/engine.md says why each has its value.

/** Requests that may wait for a flush before `submit` answers `overloaded`. */
export const DEFAULT_MAX_SUBMISSION_QUEUE = 16_384;
/** Commands per group commit (one write, one fdatasync). */
export const DEFAULT_MAX_BATCH = 4_096;
/** Largest encoded client request, and so the WAL's largest frame payload. */
export const DEFAULT_MAX_COMMAND_BYTES = 64 * 1024;
/** The largest payload a WAL frame's u32 length field can express. */
export const MAX_COMMAND_BYTES_LIMIT = 0xffff_ffff;
/** Largest snapshot file written or read. */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024;
/** Length of a slot of the default wall clock. */
export const DEFAULT_SLOT_DURATION_MS = 1_000;
/** `expire` commands one tick may log. */
export const DEFAULT_MAX_EXPIRATIONS_PER_TICK = 1_024;
