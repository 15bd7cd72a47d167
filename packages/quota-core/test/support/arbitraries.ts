import fc from 'fast-check';
import { U64_MAX, U128_MAX } from '../../src/constants.js';
import type { ClientRequest, Command } from '../../src/types.js';

/** u64 values biased to the edges. */
export const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, 2n ** 32n, 2n ** 53n, U64_MAX - 1n, U64_MAX),
  fc.bigInt(0n, U64_MAX),
);

/** u128 values biased to the edges (including ids that only differ in the high word). */
export const u128 = fc.oneof(
  fc.constantFrom(0n, 1n, U64_MAX, U64_MAX + 1n, (3n << 64n) | 2n, U128_MAX),
  fc.bigInt(0n, U128_MAX),
);

/** Any valid command: a debit of at least 1, a bucket whose initial balance is within its limit. */
export const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  fc
    .record({ bucketId: u128, limit: u64, fraction: fc.bigInt(0n, 1000n), refillRatePerSlot: u64 })
    .map(({ bucketId, limit, fraction, refillRatePerSlot }) => ({
      kind: 'create_bucket' as const,
      bucketId,
      limit,
      initialBalance: (limit * fraction) / 1000n,
      refillRatePerSlot,
    })),
  fc.record({ bucketId: u128, amount: u64 }).map(({ bucketId, amount }) => ({
    kind: 'debit' as const,
    bucketId,
    amount: amount === 0n ? 1n : amount,
  })),
);

export const clientRequestArbitrary: fc.Arbitrary<ClientRequest> = fc.record({
  operationId: u128,
  clientId: u128,
  command: commandArbitrary,
});
