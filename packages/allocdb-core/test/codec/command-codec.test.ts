import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_REQUEST_COMMAND_OFFSET,
  decodeClientRequest,
  decodeCommand,
  decodeInternalCommand,
  encodeClientRequest,
  encodeCommand,
  encodeCommandInto,
  encodeInternalCommand,
  INTERNAL_COMMAND_OFFSET,
  newCommandScratch,
  SCRATCH_COMMAND_START,
} from '../../src/codec/command-codec.js';
import { COMMAND_CODEC_VERSION, INLINE_COMMAND_BYTES } from '../../src/constants.js';
import { CodecError, InvalidRequestError } from '../../src/errors.js';
import type { Command } from '../../src/types.js';
import { clientRequestArbitrary, commandArbitrary } from '../support/arbitraries.js';
import { runs, SEED } from '../support/thorough.js';

const decoders: [string, (bytes: Uint8Array) => unknown, (value: never) => Uint8Array][] = [
  ['command', decodeCommand, encodeCommand],
  ['client request', decodeClientRequest, encodeClientRequest],
  ['internal command', decodeInternalCommand, encodeInternalCommand],
];

/**
 * Decoding arbitrary bytes either fails with a CodecError or yields a value whose canonical
 * encoding is exactly those bytes. Any other exception fails the test.
 */
function decodeIsTypedAndCanonical(
  decode: (bytes: Uint8Array) => unknown,
  encode: (value: never) => Uint8Array,
  bytes: Uint8Array,
): void {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    expect(error.offset).toBeGreaterThanOrEqual(0);
    expect(error.offset).toBeLessThanOrEqual(bytes.length);
    return;
  }
  expect(encode(value as never)).toEqual(bytes);
}

describe('command codec', () => {
  it('pins the layout: create_resource 11 is tag 1 then a u128 little-endian', () => {
    const bytes = encodeCommand({ kind: 'create_resource', resourceId: 11n });
    expect([...bytes]).toEqual([1, 11, ...new Array(15).fill(0)]);
    const payload = encodeClientRequest({
      operationId: 2n,
      clientId: 3n,
      command: { kind: 'revoke', reservationId: (1n << 64n) | 5n },
    });
    expect(payload.length).toBe(CLIENT_REQUEST_COMMAND_OFFSET + 17);
    expect(payload[0]).toBe(COMMAND_CODEC_VERSION);
    expect(payload[1]).toBe(2);
    expect(payload[17]).toBe(3);
    expect(payload[33]).toBe(6);
    expect(payload[34]).toBe(5);
    expect(payload[42]).toBe(1);
  });

  it('round-trips every command, client request and internal command', () => {
    fc.assert(
      fc.property(clientRequestArbitrary, (request) => {
        const payload = encodeClientRequest(request);
        expect(decodeClientRequest(payload)).toEqual(request);
        const commandBytes = encodeCommand(request.command);
        expect(payload.subarray(CLIENT_REQUEST_COMMAND_OFFSET)).toEqual(commandBytes);
        expect(decodeCommand(commandBytes)).toEqual(request.command);
        const internal = encodeInternalCommand(request.command);
        expect(internal.subarray(INTERNAL_COMMAND_OFFSET)).toEqual(commandBytes);
        expect(decodeInternalCommand(internal)).toEqual(request.command);
      }),
      { seed: SEED, numRuns: runs(1000) },
    );
  });

  it('distinct commands have distinct encodings (reserve differs from a one-element bundle)', () => {
    const single: Command = { kind: 'reserve', resourceId: 1n, holderId: 2n, ttlSlots: 3n };
    const bundle: Command = {
      kind: 'reserve_bundle',
      resourceIds: [1n],
      holderId: 2n,
      ttlSlots: 3n,
    };
    expect(encodeCommand(single)).not.toEqual(encodeCommand(bundle));
    fc.assert(
      fc.property(commandArbitrary, commandArbitrary, (a, b) => {
        const same =
          JSON.stringify(a, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)) ===
          JSON.stringify(b, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
        expect(Buffer.from(encodeCommand(a)).equals(encodeCommand(b))).toBe(same);
      }),
      { seed: SEED, numRuns: runs(500) },
    );
  });

  it('encodeCommandInto writes the bytes of encodeCommand (the state machine dedupes on them)', () => {
    const scratch = newCommandScratch();
    fc.assert(
      fc.property(commandArbitrary, (command) => {
        scratch.bytes.fill(0xa5);
        const end = encodeCommandInto(scratch, command);
        if (command.kind === 'reserve_bundle') expect(end).toBe(-1);
        else {
          expect(end - SCRATCH_COMMAND_START).toBeLessThanOrEqual(INLINE_COMMAND_BYTES);
          expect(scratch.bytes.subarray(SCRATCH_COMMAND_START, end)).toEqual(
            encodeCommand(command),
          );
        }
      }),
      { seed: SEED, numRuns: runs(500) },
    );
  });

  it('every truncation is a truncated CodecError', () => {
    const payload = encodeClientRequest({
      operationId: 1n,
      clientId: 2n,
      command: { kind: 'reserve_bundle', resourceIds: [1n, 2n, 3n], holderId: 4n, ttlSlots: 5n },
    });
    for (let cut = 0; cut < payload.length; cut++) {
      expect(() => decodeClientRequest(payload.subarray(0, cut))).toThrow(
        expect.objectContaining({ code: 'truncated' }),
      );
    }
  });

  it('rejects trailing bytes, unknown versions and unknown tags', () => {
    const command = encodeCommand({ kind: 'revoke', reservationId: 1n });
    const extended = new Uint8Array([...command, 0]);
    expect(() => decodeCommand(extended)).toThrow(
      expect.objectContaining({ code: 'trailing_bytes', offset: command.length }),
    );
    const internal = encodeInternalCommand({ kind: 'revoke', reservationId: 1n });
    internal[0] = 99;
    expect(() => decodeInternalCommand(internal)).toThrow(
      expect.objectContaining({ code: 'unsupported_version', offset: 0 }),
    );
    for (const tag of [0, 9, 255]) {
      expect(() => decodeCommand(new Uint8Array([tag, ...new Array(40).fill(0)]))).toThrow(
        expect.objectContaining({ code: 'unknown_command_kind', offset: 0 }),
      );
    }
  });

  it('a huge bundle count fails before allocating anything for it', () => {
    const header = encodeCommand({
      kind: 'reserve_bundle',
      resourceIds: [],
      holderId: 1n,
      ttlSlots: 1n,
    });
    const lying = header.slice();
    new DataView(lying.buffer).setUint32(lying.length - 4, 0xffff_ffff, true);
    expect(() => decodeCommand(lying)).toThrow(expect.objectContaining({ code: 'truncated' }));
  });

  for (const [name, decode, encode] of decoders) {
    it(`${name}: random bytes give only typed errors or canonical values`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
          decodeIsTypedAndCanonical(decode, encode, bytes);
        }),
        { seed: SEED, numRuns: runs(2000) },
      );
    });
  }

  it('mutated valid payloads give only typed errors or canonical values', () => {
    const mutation = fc.record({
      request: clientRequestArbitrary,
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat()),
      extra: fc.uint8Array({ maxLength: 3 }),
    });
    fc.assert(
      fc.property(mutation, ({ request, flips, cut, extra }) => {
        let bytes = encodeClientRequest(request);
        for (const [at, xor] of flips) bytes[at % bytes.length]! ^= xor;
        if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.length + 1));
        bytes = new Uint8Array([...bytes, ...extra]);
        decodeIsTypedAndCanonical(decodeClientRequest, encodeClientRequest, bytes);
        const commandBytes = bytes.subarray(Math.min(CLIENT_REQUEST_COMMAND_OFFSET, bytes.length));
        decodeIsTypedAndCanonical(decodeCommand, encodeCommand, commandBytes);
      }),
      { seed: SEED, numRuns: runs(2000) },
    );
  });

  it('encoders validate their input', () => {
    expect(() => encodeCommand({ kind: 'revoke', reservationId: -1n })).toThrow(
      InvalidRequestError,
    );
    expect(() =>
      encodeClientRequest({ operationId: 1n, clientId: 1n, command: { kind: 'bogus' } as never }),
    ).toThrow(InvalidRequestError);
    expect(() => encodeInternalCommand({ kind: 'expire', reservationId: 1n } as never)).toThrow(
      InvalidRequestError,
    );
  });
});
