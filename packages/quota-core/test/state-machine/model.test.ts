/**
 * Model-based test: random sequences of 50–300 client and internal commands, with slots moving
 * forward (mostly by little, sometimes by huge jumps, late in a run to the edge of u64), amounts
 * and limits from tiny to 2^64−1, reused operation ids and small capacities, so that full
 * tables, retirement, retries, conflicts, refill caps and slot overflow all occur. After every
 * step the state machine and the reference model (test/model/quota-model.ts) must agree on the
 * outcome, the disposition and every read, and the whole-state invariant check must pass.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeCommand } from '../../src/codec/command-codec.js';
import type { QuotaConfig } from '../../src/config.js';
import { U64_MAX } from '../../src/constants.js';
import { QuotaDb } from '../../src/state-machine/quota-db.js';
import {
  type ClientDisposition,
  type Command,
  type CommandKind,
  type Outcome,
  RESULT_CODES_BY_KIND,
  type ResultCode,
} from '../../src/types.js';
import { type ModelCommand, QuotaModel } from '../model/quota-model.js';
import { runs, SEED, THOROUGH } from '../support/thorough.js';

/** Operation ids 1..OPERATION_POOL are reused on purpose (retries and conflicts). */
const OPERATION_POOL = 10;
const HUGE = U64_MAX - 3n;

interface Context {
  model: QuotaModel;
  lsn: bigint;
  slot: bigint;
  history: { operationId: bigint; command: Command }[];
  freshOperationIds: bigint[];
}

const seenCodes = new Set<ResultCode>();
const seenDispositions = new Set<ClientDisposition>();
let cappedRefills = 0;
let stepsRun = 0;

const clamp = (slot: bigint) => (slot > U64_MAX ? U64_MAX : slot);

/** The model's plain command for a real one (a copy: the model never sees our objects). */
function toModel(command: Command): ModelCommand {
  return command.kind === 'debit'
    ? { kind: 'debit', bucketId: command.bucketId, amount: command.amount }
    : {
        kind: 'create_bucket',
        bucketId: command.bucketId,
        limit: command.limit,
        initialBalance: command.initialBalance,
        refillRatePerSlot: command.refillRatePerSlot,
      };
}

function plainOutcome(outcome: Outcome): { resultCode: string; bucketId?: bigint } {
  return outcome.bucketId === undefined
    ? { resultCode: outcome.resultCode }
    : { resultCode: outcome.resultCode, bucketId: outcome.bucketId };
}

/** Every read of the state machine against the model. */
function compareReads(ctx: Context, real: QuotaDb): void {
  const { model, slot } = ctx;
  for (let id = 1n; id <= BigInt(model.config.maxBuckets + 2); id++) {
    const stored = model.getBucket(id);
    expect(real.getBucket(id)).toEqual(stored);
    for (const ahead of [0n, 1n, 7n, 1n << 40n, U64_MAX]) {
      const at = clamp(slot + ahead);
      const expected = model.getBucketAt(id, at);
      expect(real.getBucketAt(id, at)).toEqual(expected);
      if (expected !== undefined && stored !== undefined && expected.balance === expected.limit) {
        if (stored.balance !== stored.limit) cappedRefills++;
      }
    }
  }
  const operationIds = [
    ...Array.from({ length: OPERATION_POOL }, (_, i) => BigInt(i + 1)),
    ...ctx.freshOperationIds.slice(-6),
  ];
  for (const id of operationIds) {
    const expected = model.getOperation(id, slot);
    const actual = real.getOperation(id, slot);
    if (expected === undefined) {
      expect(actual).toBeUndefined();
    } else {
      expect(actual).toBeDefined();
      expect(plainOutcome(actual!.outcome)).toEqual(expected.outcome);
      expect(actual!.appliedLsn).toBe(expected.appliedLsn);
      expect(actual!.retireAfterSlot).toBe(expected.retireAfterSlot);
      expect(actual!.command).toEqual(encodeCommand(expected.command as Command));
    }
  }
  const metrics = real.metrics();
  expect(metrics.buckets.used).toBe(model.buckets.length);
  expect(metrics.operations.used).toBe(model.records.length);
  expect(real.lastAppliedLsn).toBe(model.lastLsn);
  expect(real.lastRequestSlot).toBe(model.lastSlot);
  real.checkInvariants();
}

function record(outcome: Outcome, kind: CommandKind): void {
  // The outcome types' promise: a kind answers only its own codes, a bucket id exactly on ok.
  expect(RESULT_CODES_BY_KIND[kind] as readonly string[]).toContain(outcome.resultCode);
  expect(outcome.bucketId !== undefined).toBe(outcome.resultCode === 'ok');
  seenCodes.add(outcome.resultCode);
  stepsRun++;
}

type Amount = { pick: 'small'; value: number } | { pick: 'huge' | 'max' };

interface CommandSpec {
  readonly kind: 'create' | 'debit';
  readonly bucket: number;
  readonly limit: Amount;
  /** Fraction of the limit, in 1/8ths. */
  readonly initialEighths: number;
  readonly rate: Amount;
  readonly amount: Amount;
}

function resolveAmount(amount: Amount): bigint {
  if (amount.pick === 'small') return BigInt(amount.value);
  return amount.pick === 'huge' ? HUGE : U64_MAX;
}

function resolveCommand(spec: CommandSpec): Command {
  const bucketId = BigInt(spec.bucket + 1);
  if (spec.kind === 'debit') {
    const amount = resolveAmount(spec.amount);
    return { kind: 'debit', bucketId, amount: amount === 0n ? 1n : amount };
  }
  const limit = resolveAmount(spec.limit);
  return {
    kind: 'create_bucket',
    bucketId,
    limit,
    initialBalance: (limit * BigInt(spec.initialEighths)) / 8n,
    refillRatePerSlot: resolveAmount(spec.rate),
  };
}

/** Applies a client request after checking the state machine's pre-checks against the model. */
function applyClientChecked(
  ctx: Context,
  real: QuotaDb,
  operationId: bigint,
  command: Command,
): void {
  const request = { operationId, clientId: 7n, command };
  expect(real.wouldSlotOverflow(ctx.slot, command, 'client')).toBe(
    ctx.slot + ctx.model.config.maxClientRetryWindowSlots > U64_MAX,
  );
  expect(real.wouldSlotOverflow(ctx.slot, command, 'internal')).toBe(false);
  expect(real.lookupRetryRequest(request, ctx.slot).status).toBe(
    ctx.model.retryAnswer(operationId, toModel(command), ctx.slot),
  );
  ctx.history.push({ operationId, command });
  const actual = real.applyClient({ lsn: ctx.lsn, requestSlot: ctx.slot }, request);
  const expected = ctx.model.applyClient(ctx.lsn, ctx.slot, operationId, toModel(command));
  expect(plainOutcome(actual)).toEqual(expected);
  expect(real.lastClientDisposition).toBe(ctx.model.disposition);
  seenDispositions.add(real.lastClientDisposition);
  if (real.lastClientDisposition === 'slot_overflow') ctx.lsn--; // nothing was applied
  record(actual, command.kind);
}

class ApplyStep implements fc.Command<Context, QuotaDb> {
  constructor(
    readonly spec: CommandSpec,
    readonly slotStep: bigint,
    readonly internal: boolean,
    readonly operationPick: number,
  ) {}

  check = () => true;

  run(ctx: Context, real: QuotaDb): void {
    ctx.slot = clamp(ctx.slot + this.slotStep);
    ctx.lsn++;
    const command = resolveCommand(this.spec);
    if (this.internal) {
      const actual = real.applyInternal({ lsn: ctx.lsn, requestSlot: ctx.slot }, command);
      const expected = ctx.model.applyInternal(ctx.lsn, ctx.slot, toModel(command));
      expect(plainOutcome(actual)).toEqual(expected);
      record(actual, command.kind);
    } else {
      let operationId: bigint;
      if (this.operationPick < OPERATION_POOL) {
        operationId = BigInt(this.operationPick + 1);
      } else {
        operationId = 1_000_000n + ctx.lsn;
        ctx.freshOperationIds.push(operationId);
      }
      applyClientChecked(ctx, real, operationId, command);
    }
    compareReads(ctx, real);
  }

  toString = () =>
    `${this.internal ? 'internal' : `client(op ${this.operationPick})`} +${this.slotStep} ${JSON.stringify(
      this.spec,
    )}`;
}

class RetryStep implements fc.Command<Context, QuotaDb> {
  constructor(
    readonly pick: number,
    readonly slotStep: bigint,
  ) {}

  check = (ctx: Readonly<Context>) => ctx.history.length > 0;

  run(ctx: Context, real: QuotaDb): void {
    ctx.slot = clamp(ctx.slot + this.slotStep);
    ctx.lsn++;
    const previous =
      ctx.history[ctx.history.length - 1 - (this.pick % Math.min(8, ctx.history.length))]!;
    applyClientChecked(ctx, real, previous.operationId, previous.command);
    compareReads(ctx, real);
  }

  toString = () => `retry(${this.pick}) +${this.slotStep}`;
}

/** Moves the clock to just below 2^64, where client commands start to overflow their window. */
class JumpNearMaxStep implements fc.Command<Context, QuotaDb> {
  constructor(readonly back: number) {}
  /** Only late in long runs: after the jump most client commands answer slot_overflow. */
  check = (ctx: Readonly<Context>) => ctx.lsn >= 150n;
  run(ctx: Context): void {
    const target = U64_MAX - BigInt(this.back);
    if (target > ctx.slot) ctx.slot = target;
  }
  toString = () => `jump(2^64-1-${this.back})`;
}

function configArbitrary(): fc.Arbitrary<QuotaConfig> {
  return fc.record({
    maxBuckets: fc.integer({ min: 1, max: 5 }),
    maxOperations: fc.integer({ min: 1, max: 12 }),
    maxClientRetryWindowSlots: fc.oneof(
      { weight: 6, arbitrary: fc.bigInt(1n, 10n) },
      { weight: 1, arbitrary: fc.constant(1n << 62n) },
    ),
  });
}

function stepArbitrary(config: QuotaConfig): fc.Arbitrary<fc.Command<Context, QuotaDb>> {
  const amount = (smallMax: number): fc.Arbitrary<Amount> =>
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({ pick: fc.constant('small' as const), value: fc.nat(smallMax) }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ pick: fc.constantFrom('huge' as const, 'max' as const) }),
      },
    );
  const spec: fc.Arbitrary<CommandSpec> = fc.record({
    kind: fc.constantFrom('create' as const, 'debit' as const, 'debit' as const),
    bucket: fc.integer({ min: 0, max: config.maxBuckets + 1 }),
    limit: amount(20),
    initialEighths: fc.integer({ min: 0, max: 8 }),
    rate: amount(4),
    amount: amount(12),
  });
  const slotStep = fc.oneof(
    { weight: 8, arbitrary: fc.constant(0n) },
    { weight: 5, arbitrary: fc.bigInt(1n, 3n) },
    { weight: 1, arbitrary: fc.bigInt(4n, 40n) },
    { weight: 1, arbitrary: fc.bigInt(1n << 32n, 1n << 60n) },
  );
  const operationPick = fc.integer({ min: 0, max: OPERATION_POOL + 4 });
  return fc.oneof(
    {
      weight: 30,
      arbitrary: fc
        .tuple(spec, slotStep, fc.integer({ min: 0, max: 9 }), operationPick)
        .map(([s, step, internalRoll, op]) => new ApplyStep(s, step, internalRoll < 2, op)),
    },
    {
      weight: 6,
      arbitrary: fc.tuple(fc.nat(20), slotStep).map(([pick, step]) => new RetryStep(pick, step)),
    },
    { weight: 1, arbitrary: fc.nat(40).map((back) => new JumpNearMaxStep(back)) },
  );
}

describe('QuotaDb against the reference model', () => {
  it(
    'agrees on every outcome, disposition and read over random command sequences',
    () => {
      const scenario = configArbitrary().chain((config) =>
        fc.tuple(
          fc.constant(config),
          // fc.commands has no minimum length and, like fc.array, stays near its small default size
          // unless told otherwise: an explicit array with size max spreads runs over 50–300 steps.
          fc.array(stepArbitrary(config), { minLength: 50, maxLength: 300, size: 'max' }),
        ),
      );
      fc.assert(
        fc.property(scenario, ([config, steps]) => {
          fc.modelRun(
            () => ({
              model: {
                model: new QuotaModel(config),
                lsn: 0n,
                slot: 0n,
                history: [],
                freshOperationIds: [],
              },
              real: new QuotaDb(config),
            }),
            steps,
          );
          return true;
        }),
        { seed: SEED, numRuns: runs(40) },
      );
    },
    THOROUGH ? 30 * 60_000 : undefined,
  );

  afterAll(() => {
    // The sequences must reach every rule; a generator that stopped producing some outcome
    // would make the property above pass vacuously for it.
    for (const resultCode of [
      'ok',
      'already_exists',
      'bucket_table_full',
      'bucket_not_found',
      'insufficient_funds',
      'operation_conflict',
      'operation_table_full',
      'slot_overflow',
    ] as const) {
      expect(seenCodes, resultCode).toContain(resultCode);
    }
    for (const disposition of [
      'executed',
      'retry_cache',
      'operation_conflict',
      'operation_table_full',
      'slot_overflow',
    ] as const) {
      expect(seenDispositions, disposition).toContain(disposition);
    }
    expect(cappedRefills).toBeGreaterThan(0);
    expect(stepsRun).toBeGreaterThan(runs(40) * 40);
  });
});
