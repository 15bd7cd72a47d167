/**
 * `allocdb-core/codec`: the canonical binary encodings the log and the snapshots hold (layouts
 * in docs/format.md), for tools that read a data directory's bytes.
 */
export {
  CLIENT_REQUEST_COMMAND_OFFSET,
  decodeClientRequest,
  decodeCommand,
  decodeInternalCommand,
  encodeClientRequest,
  encodeCommand,
  encodeInternalCommand,
  INTERNAL_COMMAND_OFFSET,
} from '../codec/command-codec.js';
export { COMMAND_CODEC_VERSION, SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
export { decodeSnapshotBody, encodeSnapshotBody } from '../snapshot/body-codec.js';
