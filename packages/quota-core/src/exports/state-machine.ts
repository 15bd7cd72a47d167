/**
 * `quota-core/state-machine`: the quota engine's pure, synchronous, deterministic state machine,
 * for simulations and tests. It reads no clock; every command carries its LSN and slot. The
 * durable engine (the root export) logs each command before applying it here.
 */
export { COMMAND_CODEC_VERSION, MAX_COMMAND_BYTES, SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
export { decodeSnapshotBody, encodeSnapshotBody } from '../snapshot/body-codec.js';
export { QuotaDb } from '../state-machine/quota-db.js';
export { refilledBalance } from '../state-machine/refill.js';
export type * from '../types.js';
export { validateApplyContext, validateClientRequest, validateCommand } from '../validate.js';
