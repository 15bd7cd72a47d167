/**
 * `allocdb-core/state-machine`: the allocator's pure, synchronous, deterministic state machine,
 * for simulations and tests. It reads no clock; every command carries its LSN and slot. The
 * durable engine (the root export) logs each command before applying it here.
 */
export { COMMAND_CODEC_VERSION, SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
export { decodeSnapshotBody, encodeSnapshotBody } from '../snapshot/body-codec.js';
export { AllocDb } from '../state-machine/alloc-db.js';
export type * from '../types.js';
export {
  isClientSubmittable,
  validateApplyContext,
  validateClientRequest,
  validateCommand,
  validateSubmission,
} from '../validate.js';
