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
import { MAX_COMMAND_BYTES } from '../../src/constants.js';
import { CodecError, InvalidRequestError } from '../../src/errors.js';
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
): boolean {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    expect(error.offset).toBeGreaterThanOrEqual(0);
    expect(error.offset).toBeLessThanOrEqual(bytes.length);
    return false;
  }
  expect(encode(value as never)).toEqual(bytes);
  return true;
}

const hex = (bytes: Uint8Array) =>
  Buffer.from(bytes).toString('hex').replace(/(..)/g, '$1 ').trim();

describe('command codec', () => {
  it('encodes the worked example of docs/format.md byte for byte', () => {
    // Operation 2 of client 3 debits 7 units from bucket (1 << 64) | 5.
    const payload = encodeClientRequest({
      operationId: 2n,
      clientId: 3n,
      command: { kind: 'debit', bucketId: (1n << 64n) | 5n, amount: 7n },
    });
    expect(hex(payload)).toBe(
      [
        '01',
        '02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
        '03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
        '02',
        '05 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00',
        '07 00 00 00 00 00 00 00',
      ].join(' '),
    );
    expect(payload.length).toBe(CLIENT_REQUEST_COMMAND_OFFSET + 25);
  });

  it('pins create_bucket: tag 1, u128 id, then limit, initialBalance and rate as u64', () => {
    const bytes = encodeCommand({
      kind: 'create_bucket',
      bucketId: 11n,
      limit: 10n,
      initialBalance: 7n,
      refillRatePerSlot: 3n,
    });
    expect(bytes.length).toBe(MAX_COMMAND_BYTES);
    expect(hex(bytes)).toBe(
      [
        '01',
        '0b 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
        '0a 00 00 00 00 00 00 00',
        '07 00 00 00 00 00 00 00',
        '03 00 00 00 00 00 00 00',
      ].join(' '),
    );
  });

  it('round-trips every command, client request and internal command', () => {
    fc.assert(
      fc.property(clientRequestArbitrary, (request) => {
        const payload = encodeClientRequest(request);
        expect(decodeClientRequest(payload)).toEqual(request);
        const commandBytes = encodeCommand(request.command);
        expect(commandBytes.length).toBeLessThanOrEqual(MAX_COMMAND_BYTES);
        expect(payload.subarray(CLIENT_REQUEST_COMMAND_OFFSET)).toEqual(commandBytes);
        expect(decodeCommand(commandBytes)).toEqual(request.command);
        const internal = encodeInternalCommand(request.command);
        expect(internal.subarray(INTERNAL_COMMAND_OFFSET)).toEqual(commandBytes);
        expect(decodeInternalCommand(internal)).toEqual(request.command);
      }),
      { seed: SEED, numRuns: runs(1000) },
    );
  });

  it('encodeCommandInto writes the bytes of encodeCommand (the state machine dedupes on them)', () => {
    const scratch = newCommandScratch();
    fc.assert(
      fc.property(commandArbitrary, (command) => {
        scratch.bytes.fill(0xa5);
        const end = encodeCommandInto(scratch, command);
        expect(end - SCRATCH_COMMAND_START).toBeLessThanOrEqual(MAX_COMMAND_BYTES);
        expect(scratch.bytes.subarray(SCRATCH_COMMAND_START, end)).toEqual(encodeCommand(command));
      }),
      { seed: SEED, numRuns: runs(500) },
    );
  });

  it('distinct commands have distinct encodings', () => {
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

  it('every truncation is a truncated CodecError', () => {
    const payload = encodeClientRequest({
      operationId: 1n,
      clientId: 2n,
      command: {
        kind: 'create_bucket',
        bucketId: 4n,
        limit: 9n,
        initialBalance: 1n,
        refillRatePerSlot: 2n,
      },
    });
    for (let cut = 0; cut < payload.length; cut++) {
      expect(() => decodeClientRequest(payload.subarray(0, cut))).toThrow(
        expect.objectContaining({ code: 'truncated' }),
      );
    }
  });

  it('rejects trailing bytes, unknown versions and unknown tags', () => {
    const command = encodeCommand({ kind: 'debit', bucketId: 1n, amount: 1n });
    expect(() => decodeCommand(new Uint8Array([...command, 0]))).toThrow(
      expect.objectContaining({ code: 'trailing_bytes', offset: command.length }),
    );
    const internal = encodeInternalCommand({ kind: 'debit', bucketId: 1n, amount: 1n });
    internal[0] = 99;
    expect(() => decodeInternalCommand(internal)).toThrow(
      expect.objectContaining({ code: 'unsupported_version', offset: 0 }),
    );
    for (const tag of [0, 3, 255]) {
      expect(() => decodeCommand(new Uint8Array([tag, ...new Array(40).fill(0)]))).toThrow(
        expect.objectContaining({ code: 'unknown_command_kind', offset: 0 }),
      );
    }
  });

  it('bytes that break a boundary rule are invalid_value: they could never have been logged', () => {
    const zeroDebit = new Uint8Array(25);
    zeroDebit[0] = 2;
    expect(() => decodeCommand(zeroDebit)).toThrow(
      expect.objectContaining({ code: 'invalid_value', offset: 17 }),
    );
    const overfull = encodeCommand({
      kind: 'create_bucket',
      bucketId: 1n,
      limit: 5n,
      initialBalance: 5n,
      refillRatePerSlot: 0n,
    });
    overfull[25] = 6; // initialBalance 6 > limit 5
    expect(() => decodeCommand(overfull)).toThrow(
      expect.objectContaining({ code: 'invalid_value', offset: 25 }),
    );
  });

  for (const [name, decode, encode] of decoders) {
    it(`${name}: random bytes give only typed errors or canonical values`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
          decodeIsTypedAndCanonical(decode, encode, bytes);
        }),
        { seed: SEED, numRuns: runs(2000) },
      );
    });
  }

  it('mutated valid payloads give only typed errors or canonical values (and some decode)', () => {
    let decoded = 0;
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
        if (decodeIsTypedAndCanonical(decodeClientRequest, encodeClientRequest, bytes)) decoded++;
        const commandBytes = bytes.subarray(Math.min(CLIENT_REQUEST_COMMAND_OFFSET, bytes.length));
        decodeIsTypedAndCanonical(decodeCommand, encodeCommand, commandBytes);
      }),
      { seed: SEED, numRuns: runs(2000) },
    );
    expect(decoded).toBeGreaterThan(0);
  });

  it('encoders validate their input', () => {
    expect(() => encodeCommand({ kind: 'debit', bucketId: -1n, amount: 1n })).toThrow(
      InvalidRequestError,
    );
    expect(() => encodeCommand({ kind: 'debit', bucketId: 1n, amount: 0n })).toThrow(
      InvalidRequestError,
    );
    expect(() =>
      encodeClientRequest({ operationId: 1n, clientId: 1n, command: { kind: 'bogus' } as never }),
    ).toThrow(InvalidRequestError);
    expect(() =>
      encodeInternalCommand({
        kind: 'create_bucket',
        bucketId: 1n,
        limit: 1n,
        initialBalance: 2n,
        refillRatePerSlot: 0n,
      }),
    ).toThrow(InvalidRequestError);
  });
});
