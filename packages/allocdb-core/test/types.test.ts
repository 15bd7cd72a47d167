/**
 * The outcome types narrow: outcomes are discriminated unions on `resultCode`, per command kind,
 * so a successful reserve has `reservationId: bigint` (the README's example typechecks). The
 * type assertions are checked by `pnpm typecheck` (tsc over test/); the same code runs here.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { AllocDbEngine, type SubmitResult } from '../src/engine/engine.js';
import { AllocDb } from '../src/state-machine/alloc-db.js';
import {
  type ClientRequest,
  type Command,
  type CommandKind,
  type Outcome,
  type OutcomeOf,
  RESULT_CODES,
  RESULT_CODES_BY_KIND,
  type ReservedOutcome,
  type ResultCode,
  type ResultCodeOf,
} from '../src/types.js';
import { SMALL_CONFIG } from './engine/engine-fixtures.js';
import { C0 } from './support/alloc.js';
import { useTempDirs } from './support/temp-dir.js';

const tempDir = useTempDirs();

describe('outcome types', () => {
  it('the README flow typechecks: a successful reserve carries a bigint reservationId', async () => {
    const engine = await AllocDbEngine.open({ dir: tempDir(), config: SMALL_CONFIG });
    const sync = engine.submitSync({
      operationId: 9n,
      clientId: 1n,
      command: { kind: 'reserve_bundle', resourceIds: [43n], holderId: 1n, ttlSlots: 3n },
    });
    expectTypeOf(sync.outcome).toEqualTypeOf<OutcomeOf<'reserve_bundle'>>();
    expect(sync.outcome.resultCode).toBe('resource_not_found');
    await engine.submit({
      operationId: 1n,
      clientId: 1n,
      command: { kind: 'create_resource', resourceId: 42n },
    });
    const alice = await engine.submit({
      operationId: 2n,
      clientId: 1n,
      command: { kind: 'reserve', resourceId: 42n, holderId: 1n, ttlSlots: 10n },
    });
    expectTypeOf(alice.outcome).toEqualTypeOf<OutcomeOf<'reserve'>>();
    if (alice.outcome.resultCode !== 'ok') throw new Error(alice.outcome.resultCode);
    expectTypeOf(alice.outcome).toEqualTypeOf<ReservedOutcome>();
    const { reservationId, leaseEpoch, deadlineSlot } = alice.outcome;
    expectTypeOf(reservationId).toEqualTypeOf<bigint>();
    expectTypeOf(leaseEpoch).toEqualTypeOf<bigint>();
    expectTypeOf(deadlineSlot).toEqualTypeOf<bigint>();
    const confirmed = await engine.submit({
      operationId: 3n,
      clientId: 1n,
      command: { kind: 'confirm', reservationId, holderId: 1n, leaseEpoch },
    });
    expect(confirmed.outcome.resultCode).toBe('ok');
    expectTypeOf(confirmed).toEqualTypeOf<SubmitResult<OutcomeOf<'confirm'>>>();
    // A confirm never carries reservation fields.
    expectTypeOf(confirmed.outcome.reservationId).toEqualTypeOf<undefined>();
    await engine.close();
  });

  it('each kind answers only its own result codes; the union of them is every code', () => {
    expectTypeOf<ResultCodeOf<'create_resource'>>().toEqualTypeOf<
      | 'ok'
      | 'already_exists'
      | 'resource_table_full'
      | 'operation_conflict'
      | 'operation_table_full'
      | 'slot_overflow'
    >();
    expectTypeOf<ResultCodeOf<'expire'>>().toEqualTypeOf<
      | 'ok'
      | 'noop'
      | 'reservation_not_found'
      | 'operation_conflict'
      | 'operation_table_full'
      | 'slot_overflow'
    >();
    expectTypeOf<ResultCodeOf<CommandKind>>().toEqualTypeOf<ResultCode>();
    expectTypeOf<OutcomeOf<CommandKind>>().toEqualTypeOf<Outcome>();
    const listed = new Set(Object.values(RESULT_CODES_BY_KIND).flat());
    expect([...listed].sort()).toEqual([...RESULT_CODES].sort());
  });

  it('the state machine narrows the same way, and the general Outcome by its fields', () => {
    const db = new AllocDb(C0);
    db.applyClient(
      { lsn: 1n, requestSlot: 1n },
      { operationId: 1n, clientId: 1n, command: { kind: 'create_resource', resourceId: 11n } },
    );
    const reserved = db.applyClient(
      { lsn: 2n, requestSlot: 1n },
      {
        operationId: 2n,
        clientId: 1n,
        command: { kind: 'reserve', resourceId: 11n, holderId: 1n, ttlSlots: 3n },
      },
    );
    expectTypeOf(reserved).toEqualTypeOf<OutcomeOf<'reserve'>>();
    if (reserved.resultCode === 'ok') {
      expectTypeOf(reserved.reservationId).toEqualTypeOf<bigint>();
    } else {
      expectTypeOf(reserved.reservationId).toEqualTypeOf<undefined>();
    }
    expect(reserved).toEqual({
      resultCode: 'ok',
      reservationId: 2n,
      leaseEpoch: 1n,
      deadlineSlot: 4n,
    });

    // A command typed only as Command gives the general Outcome, which narrows by its fields.
    const command: Command = { kind: 'revoke', reservationId: 2n };
    const request: ClientRequest = { operationId: 3n, clientId: 1n, command };
    const general = db.applyClient({ lsn: 3n, requestSlot: 1n }, request);
    expectTypeOf(general).toEqualTypeOf<Outcome>();
    if (general.reservationId !== undefined) expectTypeOf(general).toEqualTypeOf<ReservedOutcome>();
    expect(general.resultCode).toBe('invalid_state');
    const internal = db.applyInternal(
      { lsn: 4n, requestSlot: 1n },
      { kind: 'expire', reservationId: 2n, deadlineSlot: 5n },
    );
    expectTypeOf(internal).toEqualTypeOf<OutcomeOf<'expire'>>();
    expect(internal.resultCode).toBe('noop');
  });

  it('fields a command kind does not have are compile errors too', async () => {
    const engine = await AllocDbEngine.open({ dir: tempDir(), config: SMALL_CONFIG });
    await expect(
      engine.submit({
        operationId: 1n,
        clientId: 1n,
        // @ts-expect-error `ttl` is not a field of reserve (and the engine refuses it)
        command: { kind: 'reserve', resourceId: 1n, holderId: 1n, ttlSlots: 3n, ttl: 3n },
      }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await engine.close();
  });
});
