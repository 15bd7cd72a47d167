/**
 * The outcome types narrow: outcomes are discriminated unions on `resultCode`, per command kind,
 * so `ok` has `bucketId: bigint` and each kind lists only its own codes. The type assertions are
 * checked by `pnpm typecheck` (tsc over test/); the same code runs here.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { QuotaEngine, type SubmitResult } from '../src/engine/engine.js';
import { QuotaDb } from '../src/state-machine/quota-db.js';
import {
  type ClientRequest,
  type Command,
  type CommandKind,
  type OkOutcome,
  type Outcome,
  type OutcomeOf,
  RESULT_CODES,
  RESULT_CODES_BY_KIND,
  type ResultCode,
  type ResultCodeOf,
} from '../src/types.js';
import { SMALL_CONFIG } from './engine/engine-fixtures.js';
import { A0 } from './support/quota.js';
import { useTempDirs } from './support/temp-dir.js';

const tempDir = useTempDirs();

describe('outcome types', () => {
  it('the README flow typechecks: ok carries a bigint bucketId, and each kind its own codes', async () => {
    const engine = await QuotaEngine.open({
      dir: tempDir(),
      config: SMALL_CONFIG,
      clock: () => 1n,
    });
    const created = engine.submitSync({
      operationId: 1n,
      clientId: 1n,
      command: {
        kind: 'create_bucket',
        bucketId: 42n,
        limit: 10n,
        initialBalance: 10n,
        refillRatePerSlot: 2n,
      },
    });
    expectTypeOf(created).toEqualTypeOf<SubmitResult<OutcomeOf<'create_bucket'>>>();
    const call = await engine.submit({
      operationId: 2n,
      clientId: 1n,
      command: { kind: 'debit', bucketId: 42n, amount: 7n },
    });
    expectTypeOf(call.outcome).toEqualTypeOf<OutcomeOf<'debit'>>();
    if (call.outcome.resultCode !== 'ok') throw new Error(call.outcome.resultCode);
    const bucketId: bigint = call.outcome.bucketId;
    expect(bucketId).toBe(42n);
    const tooMany = await engine.submit({
      operationId: 3n,
      clientId: 1n,
      command: { kind: 'debit', bucketId: 42n, amount: 7n },
    });
    switch (tooMany.outcome.resultCode) {
      case 'insufficient_funds':
        expectTypeOf(tooMany.outcome.bucketId).toEqualTypeOf<undefined>();
        break;
      case 'ok':
      case 'bucket_not_found':
      case 'operation_conflict':
      case 'operation_table_full':
      case 'slot_overflow':
        throw new Error(tooMany.outcome.resultCode);
      default: {
        // Exhaustive: a debit never answers already_exists or bucket_table_full.
        const never: never = tooMany.outcome;
        throw new Error(String(never));
      }
    }
    await engine.close();
  });

  it('each kind answers only its own result codes; the union of them is every code', () => {
    expectTypeOf<ResultCodeOf<'debit'>>().toEqualTypeOf<
      | 'ok'
      | 'bucket_not_found'
      | 'insufficient_funds'
      | 'operation_conflict'
      | 'operation_table_full'
      | 'slot_overflow'
    >();
    expectTypeOf<ResultCodeOf<CommandKind>>().toEqualTypeOf<ResultCode>();
    expectTypeOf<OutcomeOf<CommandKind>>().toEqualTypeOf<Outcome>();
    const listed = new Set(Object.values(RESULT_CODES_BY_KIND).flat());
    expect([...listed].sort()).toEqual([...RESULT_CODES].sort());
  });

  it('the state machine narrows the same way; the general Outcome narrows on ok', () => {
    const db = new QuotaDb(A0);
    const created = db.applyClient(
      { lsn: 1n, requestSlot: 1n },
      {
        operationId: 1n,
        clientId: 1n,
        command: {
          kind: 'create_bucket',
          bucketId: 7n,
          limit: 5n,
          initialBalance: 5n,
          refillRatePerSlot: 0n,
        },
      },
    );
    expectTypeOf(created).toEqualTypeOf<OutcomeOf<'create_bucket'>>();
    const command: Command = { kind: 'debit', bucketId: 7n, amount: 1n };
    const request: ClientRequest = { operationId: 2n, clientId: 1n, command };
    const general = db.applyClient({ lsn: 2n, requestSlot: 1n }, request);
    expectTypeOf(general).toEqualTypeOf<Outcome>();
    if (general.resultCode === 'ok') expectTypeOf(general).toEqualTypeOf<OkOutcome>();
    expect(general).toEqual({ resultCode: 'ok', bucketId: 7n });
  });
});
