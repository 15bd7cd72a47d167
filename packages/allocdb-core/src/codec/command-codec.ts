/**
 * The canonical binary encoding of commands and of the two WAL payload kinds (layout in
 * docs/format.md). Canonical means one byte string per value: decoding rejects trailing bytes,
 * and `decode(encode(x))` re-encodes to the same bytes, so operation records can compare a retry
 * with the original byte for byte.
 *
 * - command:          u8 tag (1..8, `COMMAND_KINDS` order), then the kind's fields
 * - client request:   u8 codec version, u128 operationId, u128 clientId, command
 * - internal command: u8 codec version, command
 *
 * The WAL frame header already carries the record type (client or internal), the LSN and the
 * request slot, so payloads do not repeat them.
 */
import { COMMAND_CODEC_VERSION } from '../constants.js';
import { CodecError } from '../errors.js';
import { Reader, Writer } from '../runtime/binary.js';
import { type ClientRequest, COMMAND_KINDS, type Command } from '../types.js';
import { validateClientRequest, validateCommand } from '../validate.js';

/** Offset of the command inside a client request payload (version + two u128 ids). */
export const CLIENT_REQUEST_COMMAND_OFFSET = 1 + 16 + 16;

/** Offset of the command inside an internal command payload (version). */
export const INTERNAL_COMMAND_OFFSET = 1;

/** Size of one encoded bundle element. */
const BUNDLE_ELEMENT_BYTES = 16;

/** Writes a command's canonical encoding. The command must already be valid. */
export function writeCommand(writer: Writer, command: Command): void {
  switch (command.kind) {
    case 'create_resource':
      writer.u8(1);
      writer.u128(command.resourceId);
      return;
    case 'reserve':
      writer.u8(2);
      writer.u128(command.resourceId);
      writer.u128(command.holderId);
      writer.u64(command.ttlSlots);
      return;
    case 'reserve_bundle': {
      writer.u8(3);
      writer.u128(command.holderId);
      writer.u64(command.ttlSlots);
      const ids = command.resourceIds;
      writer.u32(ids.length);
      for (let i = 0; i < ids.length; i++) writer.u128(ids[i]!);
      return;
    }
    case 'confirm':
    case 'release':
      writer.u8(command.kind === 'confirm' ? 4 : 5);
      writer.u128(command.reservationId);
      writer.u128(command.holderId);
      writer.u64(command.leaseEpoch);
      return;
    case 'revoke':
    case 'reclaim':
      writer.u8(command.kind === 'revoke' ? 6 : 7);
      writer.u128(command.reservationId);
      return;
    case 'expire':
      writer.u8(8);
      writer.u128(command.reservationId);
      writer.u64(command.deadlineSlot);
      return;
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** A u128 as two little-endian u64 words, low word first, at `at` (no width check). */
function setU128(view: DataView, at: number, value: bigint): void {
  // setBigUint64 keeps the low 64 bits of its argument: the low word needs no masking.
  view.setBigUint64(at, value, true);
  view.setBigUint64(at + 8, value <= U64_MAX ? 0n : value >> 64n, true);
}

/**
 * `writeCommand` into `view` from byte 0, answering the length, or −1 for a `reserve_bundle`
 * (its length varies: the caller uses `writeCommand`). The same bytes, written straight into a
 * buffer the caller keeps (at least `INLINE_COMMAND_BYTES` long) without the Writer's growth and
 * width checks, which a validated command cannot fail. The state machine encodes every applied
 * command's dedupe bytes this way.
 */
export function encodeCommandInto(view: DataView, command: Command): number {
  switch (command.kind) {
    case 'create_resource':
      view.setUint8(0, 1);
      setU128(view, 1, command.resourceId);
      return 17;
    case 'reserve':
      view.setUint8(0, 2);
      setU128(view, 1, command.resourceId);
      setU128(view, 17, command.holderId);
      view.setBigUint64(33, command.ttlSlots, true);
      return 41;
    case 'reserve_bundle':
      return -1;
    case 'confirm':
    case 'release':
      view.setUint8(0, command.kind === 'confirm' ? 4 : 5);
      setU128(view, 1, command.reservationId);
      setU128(view, 17, command.holderId);
      view.setBigUint64(33, command.leaseEpoch, true);
      return 41;
    case 'revoke':
    case 'reclaim':
      view.setUint8(0, command.kind === 'revoke' ? 6 : 7);
      setU128(view, 1, command.reservationId);
      return 17;
    case 'expire':
      view.setUint8(0, 8);
      setU128(view, 1, command.reservationId);
      view.setBigUint64(17, command.deadlineSlot, true);
      return 25;
  }
}

/** Reads one command; throws CodecError on an unknown tag or missing bytes. */
export function readCommand(reader: Reader): Command {
  const tagOffset = reader.offset;
  const tag = reader.u8('command tag');
  const kind = COMMAND_KINDS[tag - 1];
  switch (kind) {
    case 'create_resource':
      return { kind, resourceId: reader.u128('resourceId') };
    case 'reserve':
      return {
        kind,
        resourceId: reader.u128('resourceId'),
        holderId: reader.u128('holderId'),
        ttlSlots: reader.u64('ttlSlots'),
      };
    case 'reserve_bundle': {
      const holderId = reader.u128('holderId');
      const ttlSlots = reader.u64('ttlSlots');
      const count = reader.u32('bundle length');
      reader.expectItems(count, BUNDLE_ELEMENT_BYTES, 'bundle elements');
      const resourceIds = new Array<bigint>(count);
      for (let i = 0; i < count; i++) resourceIds[i] = reader.u128('resourceId');
      return { kind, resourceIds, holderId, ttlSlots };
    }
    case 'confirm':
    case 'release':
      return {
        kind,
        reservationId: reader.u128('reservationId'),
        holderId: reader.u128('holderId'),
        leaseEpoch: reader.u64('leaseEpoch'),
      };
    case 'revoke':
    case 'reclaim':
      return { kind, reservationId: reader.u128('reservationId') };
    case 'expire':
      return {
        kind,
        reservationId: reader.u128('reservationId'),
        deadlineSlot: reader.u64('deadlineSlot'),
      };
    default:
      throw new CodecError('unknown_command_kind', tagOffset, `command tag ${tag}`);
  }
}

function readVersion(reader: Reader): void {
  const version = reader.u8('codec version');
  if (version !== COMMAND_CODEC_VERSION) {
    throw new CodecError(
      'unsupported_version',
      0,
      `codec version ${version}, expected ${COMMAND_CODEC_VERSION}`,
    );
  }
}

/**
 * One Writer reused by every encoder below (each finishes with a copy of exactly its bytes), so
 * that encoding a request allocates its result and nothing else. Encoders never nest.
 */
const sharedWriter = new Writer();
function scratchWriter(): Writer {
  sharedWriter.reset();
  return sharedWriter;
}

/** The canonical bytes of one command (what operation records store). Validates first. */
export function encodeCommand(command: Command): Uint8Array {
  validateCommand(command);
  const writer = scratchWriter();
  writeCommand(writer, command);
  return writer.finish();
}

/** Decodes bytes produced by `encodeCommand`; throws CodecError. */
export function decodeCommand(bytes: Uint8Array): Command {
  const reader = new Reader(bytes);
  const command = readCommand(reader);
  reader.expectEnd('command');
  return command;
}

/**
 * The WAL payload of a client request. Validates first (InvalidRequestError). The command's
 * canonical bytes are `payload.subarray(CLIENT_REQUEST_COMMAND_OFFSET)`.
 */
export function encodeClientRequest(request: ClientRequest): Uint8Array {
  validateClientRequest(request);
  const writer = scratchWriter();
  writeClientRequest(writer, request);
  return writer.finish();
}

/** Writes a validated client request's payload (what `encodeClientRequest` returns). */
export function writeClientRequest(writer: Writer, request: ClientRequest): void {
  writeClientRequestParts(writer, request.operationId, request.clientId, request.command);
}

/** `writeClientRequest` from the request's parts (no request object needed). */
export function writeClientRequestParts(
  writer: Writer,
  operationId: bigint,
  clientId: bigint,
  command: Command,
): void {
  writer.u8(COMMAND_CODEC_VERSION);
  writer.u128(operationId);
  writer.u128(clientId);
  writeCommand(writer, command);
}

/** Decodes a client request payload; throws CodecError. */
export function decodeClientRequest(bytes: Uint8Array): ClientRequest {
  const reader = new Reader(bytes);
  readVersion(reader);
  const operationId = reader.u128('operationId');
  const clientId = reader.u128('clientId');
  const command = readCommand(reader);
  reader.expectEnd('client request');
  return { operationId, clientId, command };
}

/** The WAL payload of an internal command. Validates first (InvalidRequestError). */
export function encodeInternalCommand(command: Command): Uint8Array {
  validateCommand(command);
  const writer = scratchWriter();
  writer.u8(COMMAND_CODEC_VERSION);
  writeCommand(writer, command);
  return writer.finish();
}

/** Decodes an internal command payload; throws CodecError. */
export function decodeInternalCommand(bytes: Uint8Array): Command {
  const reader = new Reader(bytes);
  readVersion(reader);
  const command = readCommand(reader);
  reader.expectEnd('internal command');
  return command;
}

/** Byte-for-byte equality of two encodings. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  const length = a.byteLength;
  if (length !== b.byteLength) return false;
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}
