/**
 * The canonical binary encoding of commands and of the two WAL payload kinds (layout in
 * docs/format.md). Canonical means one byte string per value: decoding rejects trailing bytes,
 * and `decode(encode(x))` re-encodes to the same bytes, so operation records can compare a retry
 * with the original byte for byte.
 *
 * - command:          u8 tag (1 create_bucket, 2 debit), then the kind's fields
 * - client request:   u8 codec version, u128 operationId, u128 clientId, command
 * - internal command: u8 codec version, command
 *
 * The WAL frame header already carries the record type (client or internal), the LSN and the
 * request slot, so payloads do not repeat them. Decoding also enforces the boundary rules (no
 * zero debit, no initial balance above the limit): such bytes could never have been logged, so
 * they are `invalid_value`, not a command.
 */
import { COMMAND_CODEC_VERSION, MAX_COMMAND_BYTES } from '../constants.js';
import { CodecError } from '../errors.js';
import { Reader, Writer } from '../runtime/binary.js';
import type { ClientRequest, Command } from '../types.js';
import { validateClientRequest, validateCommand } from '../validate.js';

/** Offset of the command inside a client request payload (version + two u128 ids). */
export const CLIENT_REQUEST_COMMAND_OFFSET = 1 + 16 + 16;

/** Offset of the command inside an internal command payload (version). */
export const INTERNAL_COMMAND_OFFSET = 1;

const TAG_CREATE_BUCKET = 1;
const TAG_DEBIT = 2;

/** Writes a command's canonical encoding. The command must already be valid. */
export function writeCommand(writer: Writer, command: Command): void {
  if (command.kind === 'debit') {
    writer.u8(TAG_DEBIT);
    writer.u128(command.bucketId);
    writer.u64(command.amount);
    return;
  }
  writer.u8(TAG_CREATE_BUCKET);
  writer.u128(command.bucketId);
  writer.u64(command.limit);
  writer.u64(command.initialBalance);
  writer.u64(command.refillRatePerSlot);
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

export function newCommandScratch(): CommandScratch {
  const words = new BigUint64Array(Math.ceil((SCRATCH_COMMAND_START + MAX_COMMAND_BYTES) / 8));
  return { bytes: new Uint8Array(words.buffer), words, view: new DataView(words.buffer) };
}

/** Stores word `index` of the scratch (bytes 8·index…): low 64 bits, little-endian. */
function setWord(scratch: CommandScratch, index: number, value: bigint): void {
  // A BigUint64Array store, like setBigUint64, keeps the low 64 bits of its argument.
  if (LITTLE_ENDIAN) scratch.words[index] = value;
  else scratch.view.setBigUint64(index * 8, value, true);
}

/**
 * `writeCommand` into `scratch.bytes` from `SCRATCH_COMMAND_START`, answering the end offset:
 * the same bytes, without the Writer's growth and width checks, which a validated command cannot
 * fail. The state machine encodes every applied command's dedupe bytes this way.
 */
export function encodeCommandInto(scratch: CommandScratch, command: Command): number {
  const bucketId = command.bucketId;
  setWord(scratch, 1, bucketId);
  setWord(scratch, 2, bucketId <= U64_MAX ? 0n : bucketId >> 64n);
  if (command.kind === 'debit') {
    scratch.bytes[SCRATCH_COMMAND_START] = TAG_DEBIT;
    setWord(scratch, 3, command.amount);
    return SCRATCH_COMMAND_START + 25;
  }
  scratch.bytes[SCRATCH_COMMAND_START] = TAG_CREATE_BUCKET;
  setWord(scratch, 3, command.limit);
  setWord(scratch, 4, command.initialBalance);
  setWord(scratch, 5, command.refillRatePerSlot);
  return SCRATCH_COMMAND_START + 41;
}

/** Reads one command; throws CodecError on an unknown tag, missing bytes or a boundary rule. */
export function readCommand(reader: Reader): Command {
  const tagOffset = reader.offset;
  const tag = reader.u8('command tag');
  if (tag === TAG_DEBIT) {
    const bucketId = reader.u128('bucketId');
    const amountOffset = reader.offset;
    const amount = reader.u64('amount');
    if (amount === 0n) throw new CodecError('invalid_value', amountOffset, 'a debit of zero');
    return { kind: 'debit', bucketId, amount };
  }
  if (tag === TAG_CREATE_BUCKET) {
    const bucketId = reader.u128('bucketId');
    const limit = reader.u64('limit');
    const balanceOffset = reader.offset;
    const initialBalance = reader.u64('initialBalance');
    const refillRatePerSlot = reader.u64('refillRatePerSlot');
    if (initialBalance > limit) {
      throw new CodecError(
        'invalid_value',
        balanceOffset,
        `initialBalance ${initialBalance} exceeds the limit ${limit}`,
      );
    }
    return { kind: 'create_bucket', bucketId, limit, initialBalance, refillRatePerSlot };
  }
  throw new CodecError('unknown_command_kind', tagOffset, `command tag ${tag}`);
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

/** The canonical bytes of one command (what operation records store). Validates first. */
export function encodeCommand(command: Command): Uint8Array {
  validateCommand(command);
  const writer = new Writer();
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

/** Writes a client request's payload. The request must already be valid. */
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

/**
 * The WAL payload of a client request. Validates first (InvalidRequestError). The command's
 * canonical bytes are `payload.subarray(CLIENT_REQUEST_COMMAND_OFFSET)`.
 */
export function encodeClientRequest(request: ClientRequest): Uint8Array {
  validateClientRequest(request);
  const writer = new Writer();
  writeClientRequest(writer, request);
  return writer.finish();
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
  const writer = new Writer();
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
