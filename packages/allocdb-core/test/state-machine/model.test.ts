/**
 * Model-based test: random sequences of every command, client and internal, with slots moving
 * forward (sometimes by large jumps, once in a while to the edge of u64), random holders and
 * epochs and small capacities, so that full tables, retirement, dedupe windows, conflicts and
 * full expiration buckets all occur. After every step the engine and the reference model
 * (test/model/alloc-model.ts) must agree on the outcome and on every read, and the engine's
 * whole-state invariant check must pass.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCommand } from '../../src/codec/command-codec.js';
import type { AllocDbConfig } from '../../src/config.js';
import { U64_MAX } from '../../src/constants.js';
import { AllocDb } from '../../src/state-machine/alloc-db.js';
import {
  type ClientDisposition,
  type Command,
  type CommandKind,
  type Outcome,
  RESULT_CODES_BY_KIND,
  type ResultCode,
} from '../../src/types.js';
import { AllocModel, commandSignature } from '../model/alloc-model.js';
import { runs, SEED, THOROUGH } from '../support/thorough.js';

/** Operation ids 1..OPERATION_POOL are reused on purpose (retries and conflicts). */
const OPERATION_POOL = 12;

interface Context {
  model: AllocModel;
  lsn: bigint;
  slot: bigint;
  /** Client requests sent so far, for exact retries. */
  history: { operationId: bigint; command: Command }[];
  freshOperationIds: bigint[];
}

type Pick = number;

type CommandSpec =
  | { kind: 'create'; resource: Pick }
  | { kind: 'reserve'; resource: Pick; holder: Pick; ttl: Pick }
  | { kind: 'bundle'; resources: Pick[]; holder: Pick; ttl: Pick }
  | { kind: 'confirm' | 'release'; reservation: Pick; holder: Pick; epoch: Pick }
  | { kind: 'revoke' | 'reclaim'; reservation: Pick }
  | { kind: 'expire'; reservation: Pick; deadline: Pick };

const seenCodes = new Set<ResultCode>();
const seenDispositions = new Set<ClientDisposition>();
let maxWatermarkSeen = 0n;
let stepsRun = 0;

function resolveReservation(ctx: Context, pick: Pick): bigint {
  const known = ctx.model.createdIds;
  const shard = ctx.model.config.shardId;
  const choice = pick % 10;
  if (known.length > 0 && choice < 8) {
    return known[known.length - 1 - (pick % Math.min(6, known.length))]!;
  }
  if (choice === 8) return (shard << 64n) | BigInt(pick % 400);
  return ((shard + 1n) << 64n) | 1n;
}

function resolveTtl(pick: Pick): bigint {
  return pick < 0 ? U64_MAX : BigInt(pick);
}

function resolveCommand(ctx: Context, spec: CommandSpec): Command {
  const model = ctx.model;
  const resourceId = (pick: Pick) => BigInt(pick + 1);
  switch (spec.kind) {
    case 'create':
      return { kind: 'create_resource', resourceId: resourceId(spec.resource) };
    case 'reserve':
      return {
        kind: 'reserve',
        resourceId: resourceId(spec.resource),
        holderId: BigInt(spec.holder),
        ttlSlots: resolveTtl(spec.ttl),
      };
    case 'bundle':
      return {
        kind: 'reserve_bundle',
        resourceIds: spec.resources.map(resourceId),
        holderId: BigInt(spec.holder),
        ttlSlots: resolveTtl(spec.ttl),
      };
    case 'confirm':
    case 'release': {
      const reservationId = resolveReservation(ctx, spec.reservation);
      const target = model.reservations.find((r) => r.reservationId === reservationId);
      return {
        kind: spec.kind,
        reservationId,
        holderId: spec.holder === 0 ? (target?.holderId ?? 1n) : BigInt(spec.holder),
        leaseEpoch: spec.epoch === 0 ? (target?.leaseEpoch ?? 1n) : BigInt(spec.epoch),
      };
    }
    case 'revoke':
    case 'reclaim':
      return { kind: spec.kind, reservationId: resolveReservation(ctx, spec.reservation) };
    case 'expire': {
      const reservationId = resolveReservation(ctx, spec.reservation);
      const target = model.reservations.find((r) => r.reservationId === reservationId);
      const deadline = target?.deadlineSlot ?? ctx.slot;
      return {
        kind: 'expire',
        reservationId,
        deadlineSlot: spec.deadline === 0 || deadline === U64_MAX ? deadline : deadline + 1n,
      };
    }
  }
}

const clamp = (slot: bigint) => (slot > U64_MAX ? U64_MAX : slot);

/** Every read of the engine against the model. */
function compareReads(ctx: Context, real: AllocDb): void {
  const { model, slot } = ctx;
  for (let id = 1n; id <= BigInt(model.config.maxResources + 2); id++) {
    expect(real.getResource(id)).toEqual(model.getResource(id));
  }
  const shard = model.config.shardId;
  const ids = [
    ...model.createdIds,
    shard << 64n,
    (shard << 64n) | (ctx.lsn + 5n),
    ((shard + 1n) << 64n) | 1n,
    // An id of a lower shard is below the watermark of shard 3: it must still be not_found.
    1n << 64n,
  ];
  for (const id of ids) {
    for (const ahead of [0n, 2n, 7n]) {
      const at = clamp(slot + ahead);
      expect(real.getReservation(id, at)).toEqual(model.getReservation(id, at));
    }
    expect(real.getReservationMembers(id)).toEqual(model.getMembers(id));
  }
  const operationIds = [
    ...Array.from({ length: OPERATION_POOL }, (_, i) => BigInt(i + 1)),
    ...ctx.freshOperationIds.slice(-8),
  ];
  for (const id of operationIds) {
    const expected = model.getOperation(id, slot);
    const actual = real.getOperation(id, slot);
    if (expected === undefined) {
      expect(actual).toBeUndefined();
    } else {
      expect(actual).toBeDefined();
      expect(actual!.outcome).toEqual(expected.outcome);
      expect(actual!.appliedLsn).toBe(expected.appliedLsn);
      expect(actual!.retireAfterSlot).toBe(expected.retireAfterSlot);
      expect(decodeCommand(actual!.command)).toEqual(expected.command);
    }
  }
  for (const [ahead, limit] of [
    [0n, 100],
    [3n, 2],
    [20n, 1],
  ] as const) {
    expect(real.dueExpirations(clamp(slot + ahead), limit)).toEqual(
      model.due(clamp(slot + ahead), limit),
    );
  }
  expect(real.expirationBacklog(slot)).toBe(model.backlog(slot));
  expect(real.expirationBacklog(clamp(slot + 5n))).toBe(model.backlog(clamp(slot + 5n)));
  const metrics = real.metrics();
  expect(metrics.resources.used).toBe(model.resources.length);
  expect(metrics.reservations.used).toBe(model.reservations.length);
  expect(metrics.reservationMembers.used).toBe(model.memberCount());
  expect(metrics.operations.used).toBe(model.operations.length);
  expect(metrics.scheduledExpirations.used).toBe(model.scheduledCount());
  expect(real.lastAppliedLsn).toBe(model.lastLsn);
  expect(real.lastRequestSlot).toBe(model.lastSlot);
  expect(real.maxRetiredReservationId).toBe(model.watermark);
  if (model.watermark !== undefined && model.watermark > maxWatermarkSeen) {
    maxWatermarkSeen = model.watermark;
  }
  real.checkInvariants();
}

function record(outcome: Outcome, kind: CommandKind): void {
  // The outcome types' promise: a kind answers only its own codes, fields only on a reserve's ok.
  expect(RESULT_CODES_BY_KIND[kind] as readonly string[]).toContain(outcome.resultCode);
  expect(outcome.reservationId !== undefined).toBe(
    outcome.resultCode === 'ok' && (kind === 'reserve' || kind === 'reserve_bundle'),
  );
  seenCodes.add(outcome.resultCode);
  stepsRun++;
}

class ApplyStep implements fc.Command<Context, AllocDb> {
  constructor(
    readonly spec: CommandSpec,
    readonly slotStep: number,
    readonly internal: boolean,
    readonly operationPick: number,
  ) {}

  check = () => true;

  run(ctx: Context, real: AllocDb): void {
    ctx.slot = clamp(ctx.slot + BigInt(this.slotStep));
    ctx.lsn++;
    const command = resolveCommand(ctx, this.spec);
    const context = { lsn: ctx.lsn, requestSlot: ctx.slot };
    let actual: Outcome;
    let expected: Outcome;
    if (this.internal) {
      expect(real.wouldSlotOverflow(ctx.slot, command, 'internal')).toBe(
        ctx.model.overflows(ctx.slot, command, false),
      );
      actual = real.applyInternal(context, command);
      expected = ctx.model.applyInternal(ctx.lsn, ctx.slot, command);
    } else {
      let operationId: bigint;
      if (this.operationPick < OPERATION_POOL) {
        operationId = BigInt(this.operationPick + 1);
      } else {
        operationId = 1_000_000n + ctx.lsn;
        ctx.freshOperationIds.push(operationId);
      }
      actual = applyClientChecked(ctx, real, operationId, command);
      expected = ctx.model.applyClient(ctx.lsn, ctx.slot, operationId, command);
    }
    expect(actual).toEqual(expected);
    record(actual, command.kind);
    compareReads(ctx, real);
  }

  toString = () =>
    `${this.internal ? 'internal' : `client(op ${this.operationPick})`} +${this.slotStep} ${JSON.stringify(this.spec)}`;
}

/** Applies a client request after checking the engine's pre-checks against the model. */
function applyClientChecked(
  ctx: Context,
  real: AllocDb,
  operationId: bigint,
  command: Command,
): Outcome {
  const request = { operationId, clientId: 7n, command };
  expect(real.wouldSlotOverflow(ctx.slot, command, 'client')).toBe(
    ctx.model.overflows(ctx.slot, command, true),
  );
  expect(real.lookupRetryRequest(request, ctx.slot).status).toBe(
    ctx.model.retryAnswer(operationId, command, ctx.slot),
  );
  ctx.history.push({ operationId, command });
  const outcome = real.applyClient({ lsn: ctx.lsn, requestSlot: ctx.slot }, request);
  seenDispositions.add(real.lastClientDisposition);
  return outcome;
}

class RetryStep implements fc.Command<Context, AllocDb> {
  constructor(
    readonly pick: number,
    readonly slotStep: number,
  ) {}

  check = (ctx: Readonly<Context>) => ctx.history.length > 0;

  run(ctx: Context, real: AllocDb): void {
    ctx.slot = clamp(ctx.slot + BigInt(this.slotStep));
    ctx.lsn++;
    const previous =
      ctx.history[ctx.history.length - 1 - (this.pick % Math.min(8, ctx.history.length))]!;
    const actual = applyClientChecked(ctx, real, previous.operationId, previous.command);
    const expected = ctx.model.applyClient(
      ctx.lsn,
      ctx.slot,
      previous.operationId,
      previous.command,
    );
    expect(commandSignature(previous.command)).toBeTruthy();
    expect(actual).toEqual(expected);
    record(actual, previous.command.kind);
    compareReads(ctx, real);
  }

  toString = () => `retry(${this.pick}) +${this.slotStep}`;
}

/** Moves the clock to just below 2^64, where client commands start to overflow. */
class JumpNearMaxStep implements fc.Command<Context, AllocDb> {
  constructor(readonly back: number) {}
  /** Only late in long runs: after the jump most client commands answer slot_overflow. */
  check = (ctx: Readonly<Context>) => ctx.lsn >= 200n;
  run(ctx: Context): void {
    const target = U64_MAX - BigInt(this.back);
    if (target > ctx.slot) ctx.slot = target;
  }
  toString = () => `jump(2^64-1-${this.back})`;
}

function configArbitrary(): fc.Arbitrary<AllocDbConfig> {
  return fc
    .record({
      shardId: fc.constantFrom(0n, 3n),
      maxResources: fc.integer({ min: 2, max: 6 }),
      maxReservations: fc.integer({ min: 2, max: 6 }),
      bundle: fc.integer({ min: 1, max: 3 }),
      maxOperations: fc.integer({ min: 3, max: 16 }),
      maxTtlSlots: fc.bigInt(2n, 10n),
      history: fc.bigInt(0n, 10n),
      maxClientRetryWindowSlots: fc.bigInt(0n, 8n),
      bucket: fc.constantFrom(1, 1, 1, 2, 3),
    })
    .map((c) => ({
      shardId: c.shardId,
      maxResources: c.maxResources,
      maxReservations: c.maxReservations,
      maxBundleSize: Math.min(c.bundle, c.maxResources),
      maxOperations: c.maxOperations,
      maxTtlSlots: c.maxTtlSlots,
      maxClientRetryWindowSlots: c.maxClientRetryWindowSlots,
      // Rule 8: the history window may not exceed the longest TTL.
      reservationHistoryWindowSlots: c.history % (c.maxTtlSlots + 1n),
      maxExpirationBucketLen: Math.min(c.bucket, c.maxReservations),
    }));
}

function stepArbitrary(config: AllocDbConfig): fc.Arbitrary<fc.Command<Context, AllocDb>> {
  const resource = fc.integer({ min: 0, max: config.maxResources + 1 });
  const holder = fc.integer({ min: 1, max: 3 });
  const ttl = fc.oneof(
    // Repeating the same few TTLs makes deadlines collide in one wheel bucket.
    { weight: 8, arbitrary: fc.constantFrom(1, Number(config.maxTtlSlots)) },
    { weight: 4, arbitrary: fc.integer({ min: 0, max: Number(config.maxTtlSlots) + 1 }) },
    { weight: 1, arbitrary: fc.constant(-1) },
  );
  const reservation = fc.nat(1000);
  // 0 picks the target's own holder or epoch; otherwise a fixed one, often wrong, so that both
  // wrong at once (which check comes first) happens regularly.
  const holderPick = fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: holder },
  );
  const epochPick = fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) },
  );
  const spec: fc.Arbitrary<CommandSpec> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), resource }) },
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant('reserve' as const), resource, holder, ttl }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('bundle' as const),
        resources: fc.array(resource, { minLength: 0, maxLength: config.maxBundleSize + 1 }),
        holder,
        ttl,
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constantFrom('confirm' as const, 'release' as const),
        reservation,
        holder: holderPick,
        epoch: epochPick,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constantFrom('revoke' as const, 'reclaim' as const),
        reservation,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('expire' as const),
        reservation,
        deadline: fc.integer({ min: 0, max: 3 }),
      }),
    },
  );
  const slotStep = fc.oneof(
    { weight: 8, arbitrary: fc.constant(0) },
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) },
    { weight: 1, arbitrary: fc.integer({ min: 4, max: 40 }) },
  );
  const operationPick = fc.integer({ min: 0, max: OPERATION_POOL + 4 });
  return fc.oneof(
    {
      weight: 30,
      arbitrary: fc
        .tuple(spec, slotStep, fc.integer({ min: 0, max: 9 }), operationPick)
        .map(
          ([s, step, internalRoll, op]) =>
            new ApplyStep(s, step, s.kind === 'expire' ? internalRoll < 7 : internalRoll < 2, op),
        ),
    },
    {
      weight: 4,
      arbitrary: fc.tuple(fc.nat(20), slotStep).map(([pick, step]) => new RetryStep(pick, step)),
    },
    { weight: 1, arbitrary: fc.nat(40).map((back) => new JumpNearMaxStep(back)) },
  );
}

describe('AllocDb against the reference model', () => {
  it(
    'agrees on every outcome and every read over random command sequences',
    () => {
      const scenario = configArbitrary().chain((config) =>
        fc.tuple(
          fc.constant(config),
          // fc.commands has no minimum length; an explicit array keeps every run 50–300 steps.
          fc.array(stepArbitrary(config), { minLength: 50, maxLength: 300 }),
        ),
      );
      fc.assert(
        fc.property(scenario, ([config, steps]) => {
          fc.modelRun(
            () => ({
              model: {
                model: new AllocModel(config),
                lsn: 0n,
                slot: 0n,
                history: [],
                freshOperationIds: [],
              },
              real: new AllocDb(config),
            }),
            steps,
          );
          return true;
        }),
        { seed: SEED, numRuns: runs(100) },
      );
      // The thorough tier runs 2,000 sequences: a few minutes on a 2-core machine.
    },
    THOROUGH ? 30 * 60_000 : undefined,
  );

  afterAll(() => {
    // The sequences must actually reach every rule; a generator that stopped producing some
    // outcome would make the property above pass vacuously for it. reservation_member_table_full
    // cannot happen: the member table holds maxReservations × maxBundleSize members, and a full
    // reservation table is answered first.
    const expectedCodes: ResultCode[] = [
      'ok',
      'noop',
      'already_exists',
      'resource_table_full',
      'resource_not_found',
      'resource_busy',
      'bundle_too_large',
      'ttl_out_of_range',
      'reservation_table_full',
      'reservation_not_found',
      'reservation_retired',
      'expiration_index_full',
      'operation_table_full',
      'operation_conflict',
      'invalid_state',
      'holder_mismatch',
      'stale_epoch',
      'slot_overflow',
    ];
    for (const code of expectedCodes) expect(seenCodes, code).toContain(code);
    for (const disposition of [
      'executed',
      'retry_cache',
      'operation_conflict',
      'operation_table_full',
      'slot_overflow',
    ] as const) {
      expect(seenDispositions, disposition).toContain(disposition);
    }
    expect(stepsRun).toBeGreaterThan(runs(100) * 40);
    expect(maxWatermarkSeen).toBeGreaterThan(0n);
  });
});
