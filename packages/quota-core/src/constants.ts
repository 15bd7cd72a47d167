/**
 * Every bound, default and format number of quota-core, in one place. Code and tests refer to
 * these names, never to the literal values.
 */

/** Largest u64: slots, LSNs and every amount (limit, balance, rate, debit) must not exceed it. */
export const U64_MAX = (1n << 64n) - 1n;

/** Largest u128: bucket, operation and client ids must not exceed it. */
export const U128_MAX = (1n << 128n) - 1n;

/**
 * Largest capacity of either table (buckets, operations). Every table is allocated at open:
 * FixedMap takes about 40 bytes per slot plus a two-entry-per-slot index, and the operation
 * table about 70 more (inline command bytes, LSN, slot), so 2^24 entries is roughly 1–2 GiB for
 * the larger table. Beyond that a Node process with the default heap limit would fail at open
 * instead of answering with a clear ConfigError.
 */
export const MAX_TABLE_CAPACITY = 2 ** 24;

/** Version of the command payload encoding (first byte of every WAL payload we write). */
export const COMMAND_CODEC_VERSION = 1;

/** Schema version of the snapshot body (the engine writes it into the snapshot file header too). */
export const SNAPSHOT_SCHEMA_VERSION = 1;

/**
 * Bytes of the longest canonical command: `create_bucket` is a tag, a u128 id and three u64s
 * (1 + 16 + 3 × 8 = 41); `debit` takes 25. The operation table stores every command inline in
 * a slot of this size, so no record owns a buffer of its own.
 */
export const MAX_COMMAND_BYTES = 41;

/**
 * Defaults filled in by `resolveConfig` for fields the caller leaves out. Sized for a service
 * metering API calls with one-second slots: 65,536 buckets (one per API key, say), and a dedupe
 * table that holds every operation of the retry window, so the sustained rate it can remember
 * is `maxOperations / maxClientRetryWindowSlots` ≈ 2,100 commands per slot. Clients retry within
 * seconds; two minutes of memory covers a client that times out, backs off and retries a few
 * times. Both tables together take about 35 MiB at open and 50 MiB when full at these sizes.
 */
export const DEFAULT_CONFIG = Object.freeze({
  maxBuckets: 65_536,
  maxOperations: 262_144,
  maxClientRetryWindowSlots: 120n,
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
