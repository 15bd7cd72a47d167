import fc from 'fast-check';
import { U64_MAX, U128_MAX } from '../../src/constants.js';
import type { ClientRequest, Command } from '../../src/types.js';

/** u64 values biased to the edges. */
export const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, 2n ** 32n, 2n ** 53n, U64_MAX),
  fc.bigInt(0n, U64_MAX),
);

/** u128 values biased to the edges (including ids that only differ in the high word). */
export const u128 = fc.oneof(
  fc.constantFrom(0n, 1n, U64_MAX, U64_MAX + 1n, (3n << 64n) | 2n, U128_MAX),
  fc.bigInt(0n, U128_MAX),
);

/** Any valid command of the eight kinds. */
export const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('create_resource' as const), resourceId: u128 }),
  fc.record({
    kind: fc.constant('reserve' as const),
    resourceId: u128,
    holderId: u128,
    ttlSlots: u64,
  }),
  fc.record({
    kind: fc.constant('reserve_bundle' as const),
    resourceIds: fc.array(u128, { maxLength: 12 }),
    holderId: u128,
    ttlSlots: u64,
  }),
  fc.record({
    kind: fc.constantFrom('confirm' as const, 'release' as const),
    reservationId: u128,
    holderId: u128,
    leaseEpoch: u64,
  }),
  fc.record({ kind: fc.constantFrom('revoke' as const, 'reclaim' as const), reservationId: u128 }),
  fc.record({ kind: fc.constant('expire' as const), reservationId: u128, deadlineSlot: u64 }),
);

export const clientRequestArbitrary: fc.Arbitrary<ClientRequest> = fc.record({
  operationId: u128,
  clientId: u128,
  command: commandArbitrary,
});
