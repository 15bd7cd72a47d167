/**
 * The allocator's side of recovery: how to build, restore, decode and apply. The orchestration
 * (snapshot, scan, replay checks, torn-tail cut) is the runtime's `recoverDirectory`; the live
 * engine and replay both apply through `AllocDb.applyValidatedClient` / `applyValidatedInternal`.
 */
import { decodeClientRequest, decodeInternalCommand } from '../codec/command-codec.js';
import type { AllocDbConfig } from '../config.js';
import type { RecoveryHooks } from '../runtime/recovery.js';
import { RecordType, type WalFrame } from '../runtime/wal.js';
import { AllocDb } from '../state-machine/alloc-db.js';
import type { ClientRequest, Command, Outcome } from '../types.js';

/** A logged command, decoded. */
export type DecodedFrame =
  | { readonly kind: 'client'; readonly request: ClientRequest }
  | { readonly kind: 'internal'; readonly command: Command };

/** Decodes a client or internal frame's payload (CodecError on bad bytes). */
export function decodeFramePayload(frame: WalFrame): DecodedFrame {
  return frame.recordType === RecordType.client
    ? { kind: 'client', request: decodeClientRequest(frame.payload) }
    : { kind: 'internal', command: decodeInternalCommand(frame.payload) };
}

/** Applies a logged command to the state machine: the single apply path of live and replay. */
export function applyDecoded(
  db: AllocDb,
  lsn: bigint,
  requestSlot: bigint,
  decoded: DecodedFrame,
): Outcome {
  // Decoded frames are valid by construction (the decoder reads every field at its width), so
  // replay takes the validated path the live engine takes after validating at submission.
  return decoded.kind === 'client'
    ? db.applyValidatedClient(lsn, requestSlot, decoded.request)
    : db.applyValidatedInternal(lsn, requestSlot, decoded.command);
}

export function allocDbRecoveryHooks(config: AllocDbConfig): RecoveryHooks<AllocDb, DecodedFrame> {
  return {
    fresh: () => new AllocDb(config),
    restore: (body) => AllocDb.fromSnapshotBody(config, body),
    // The snapshot file header stores 0 for "no command applied yet".
    watermarks: (db) => ({ lsn: db.lastAppliedLsn ?? 0n, slot: db.lastRequestSlot ?? 0n }),
    decode: decodeFramePayload,
    apply: (db, frame, decoded) =>
      applyDecoded(db, frame.lsn, frame.requestSlot, decoded).resultCode === 'slot_overflow'
        ? 'slot_overflow'
        : 'applied',
  };
}
