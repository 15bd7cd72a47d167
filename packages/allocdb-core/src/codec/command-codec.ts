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
import { COMMAND_CODEC_VERSION, INLINE_COMMAND_BYTES } from '../constants.js';
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

/** Whether this platform stores a BigUint64Array's words little-endian (the codec's order). */
const LITTLE_ENDIAN = new Uint8Array(new BigUint64Array([1n]).buffer)[0] === 1;

/**
 * Where `encodeCommandInto` starts a command in its scratch buffer: the tag byte at 7 puts every
 * following u64 on an 8-byte boundary, so the words are stored through a BigUint64Array, several
 * times cheaper than DataView.setBigUint64.
 */
export const SCRATCH_COMMAND_START = 7;

/** A scratch buffer for `encodeCommandInto`: its bytes, and its words (the same memory). */
export interface CommandScratch {
  readonly bytes: Uint8Array;
  readonly words: BigUint64Array;
  readonly view: DataView;
}

/** Room for every command but a bundle (at most `INLINE_COMMAND_BYTES`) after the start. */
export function newCommandScratch(): CommandScratch {
  const words = new BigUint64Array(Math.ceil((SCRATCH_COMMAND_START + INLINE_COMMAND_BYTES) / 8));
  return { bytes: new Uint8Array(words.buffer), words, view: new DataView(words.buffer) };
}

/** Stores word `index` of the scratch (bytes 8·index…): low 64 bits, little-endian. */
function setWord(scratch: CommandScratch, index: number, value: bigint): void {
  // A BigUint64Array store, like setBigUint64, keeps the low 64 bits of its argument.
  if (LITTLE_ENDIAN) scratch.words[index] = value;
  else scratch.view.setBigUint64(index * 8, value, true);
}

/** A u128 as words `index` and `index + 1`, low word first. */
function setU128(scratch: CommandScratch, index: number, value: bigint): void {
  setWord(scratch, index, value);
  setWord(scratch, index + 1, value <= U64_MAX ? 0n : value >> 64n);
}

/**
 * `writeCommand` into `scratch.bytes` from `SCRATCH_COMMAND_START`, answering the end offset, or
 * −1 for a `reserve_bundle` (its length varies: the caller uses `writeCommand`). The same bytes,
 * without the Writer's growth and width checks, which a validated command cannot fail. The state
 * machine encodes every applied command's dedupe bytes this way.
 */
export function encodeCommandInto(scratch: CommandScratch, command: Command): number {
  const bytes = scratch.bytes;
  switch (command.kind) {
    case 'create_resource':
      bytes[SCRATCH_COMMAND_START] = 1;
      setU128(scratch, 1, command.resourceId);
      return SCRATCH_COMMAND_START + 17;
    case 'reserve':
      bytes[SCRATCH_COMMAND_START] = 2;
      setU128(scratch, 1, command.resourceId);
      setU128(scratch, 3, command.holderId);
      setWord(scratch, 5, command.ttlSlots);
      return SCRATCH_COMMAND_START + 41;
    case 'reserve_bundle':
      return -1;
    case 'confirm':
    case 'release':
      bytes[SCRATCH_COMMAND_START] = command.kind === 'confirm' ? 4 : 5;
      setU128(scratch, 1, command.reservationId);
      setU128(scratch, 3, command.holderId);
      setWord(scratch, 5, command.leaseEpoch);
      return SCRATCH_COMMAND_START + 41;
    case 'revoke':
    case 'reclaim':
      bytes[SCRATCH_COMMAND_START] = command.kind === 'revoke' ? 6 : 7;
      setU128(scratch, 1, command.reservationId);
      return SCRATCH_COMMAND_START + 17;
    case 'expire':
      bytes[SCRATCH_COMMAND_START] = 8;
      setU128(scratch, 1, command.reservationId);
      setWord(scratch, 3, command.deadlineSlot);
      return SCRATCH_COMMAND_START + 25;
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
