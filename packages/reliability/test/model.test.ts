/**
 * The reference models must agree with the engines' state machines before the other suites can
 * lean on them: long seeded command streams (client and internal, with reused operation ids,
 * slot jumps and tiny tables) go through both, and every outcome and the whole state after every
 * command must match.
 */
import type { ClientRequest, Command } from 'allocdb-core';
import { AllocDb } from 'allocdb-core/state-machine';
import type { ClientRequest as QuotaRequest } from 'quota-core';
import { QuotaDb } from 'quota-core/state-machine';
import { describe, expect, it } from 'vitest';
import { ALLOC_SMALL_CONFIG, allocdbAdapter } from '../src/allocdb/adapter.js';
import { AllocModel } from '../src/allocdb/model.js';
import { canon, firstDifference } from '../src/canon.js';
import { QUOTA_SMALL_CONFIG, quotaAdapter } from '../src/quota/adapter.js';
import { QuotaModel } from '../src/quota/model.js';
import { deriveSeed, Rng } from '../src/random.js';
import { envSeed, tier } from '../src/tiers.js';

const BASE_SEED = envSeed('MODEL_SEED') ?? 0x6d0de1;

describe('allocdb reference model', () => {
  it('answers and evolves exactly like AllocDb on seeded command streams', () => {
    const seeds = tier(40, 200);
    const length = tier(400, 1000);
    let commands = 0;
    const codes = new Map<string, number>();
    for (let s = 0; s < seeds; s++) {
      const seed = deriveSeed(BASE_SEED, s);
      const rng = new Rng(seed);
      const config = ALLOC_SMALL_CONFIG;
      const db = new AllocDb(config);
      const model = new AllocModel(config);
      const workload = allocdbAdapter(config).createWorkload(rng, 3);
      const issued: ClientRequest[] = [];
      let slot = 0n;
      for (let lsn = 1n; lsn <= BigInt(length); lsn++) {
        if (rng.chance(0.25))
          slot += BigInt(
            rng.weighted([
              [6, 1],
              [2, 3],
              [1, 9],
            ] as const),
          );
        const context = { lsn, requestSlot: slot };
        let outcome: unknown;
        let expected: unknown;
        if (rng.chance(0.12)) {
          const due = db.dueExpirations(slot, 4);
          const command: Command =
            due.length > 0 && rng.chance(0.8)
              ? { kind: 'expire', ...due[0]! }
              : {
                  kind: 'expire',
                  reservationId: (config.shardId << 64n) | BigInt(rng.range(1, Number(lsn))),
                  deadlineSlot: BigInt(rng.range(0, Number(slot) + 8)),
                };
          outcome = db.applyInternal(context, command);
          expected = model.applyInternal(lsn, slot, command);
        } else {
          let request: ClientRequest;
          if (issued.length > 0 && rng.chance(0.15)) {
            const old = rng.pick(issued);
            request = rng.chance(0.8)
              ? old
              : { ...old, command: { kind: 'create_resource', resourceId: 1n } };
          } else {
            request = workload.next({
              rng,
              client: rng.int(3),
              operationId: BigInt(rng.range(1, 400)),
            }) as ClientRequest;
          }
          issued.push(request);
          outcome = db.applyClient(context, request);
          expected = model.applyClient(lsn, slot, request).outcome;
          workload.learn(request, { lsn, requestSlot: slot, outcome, fromRetryCache: false });
        }
        const code = (outcome as { resultCode: string }).resultCode;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        commands++;
        const where = `seed ${seed} (MODEL_SEED=${BASE_SEED}, stream ${s}) lsn ${lsn}`;
        expect(canon(outcome), where).toBe(canon(expected));
        const diff = firstDifference(db.snapshot(), model.state());
        if (diff !== undefined) expect.fail(`${where}: state differs at ${diff}`);
      }
    }
    // The streams reach every result code the small config can produce.
    for (const code of [
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
    ]) {
      expect(codes.get(code) ?? 0, `result code ${code} never came up`).toBeGreaterThan(0);
    }
    expect(commands).toBe(seeds * length);
  });
});

describe('quota reference model', () => {
  it('answers and evolves exactly like QuotaDb on seeded command streams', () => {
    const seeds = tier(40, 200);
    const length = tier(400, 1000);
    const codes = new Map<string, number>();
    for (let s = 0; s < seeds; s++) {
      const seed = deriveSeed(BASE_SEED, 1000 + s);
      const rng = new Rng(seed);
      const config = QUOTA_SMALL_CONFIG;
      const db = new QuotaDb(config);
      const model = new QuotaModel(config);
      const workload = quotaAdapter(config).createWorkload(rng, 3);
      const issued: QuotaRequest[] = [];
      let slot = 0n;
      for (let lsn = 1n; lsn <= BigInt(length); lsn++) {
        if (rng.chance(0.3))
          slot += BigInt(
            rng.weighted([
              [6, 1],
              [2, 5],
              [1, 40],
            ] as const),
          );
        let request: QuotaRequest;
        if (issued.length > 0 && rng.chance(0.15)) {
          const old = rng.pick(issued);
          request = rng.chance(0.8)
            ? old
            : { ...old, command: { kind: 'debit', bucketId: 1n, amount: 1n } };
        } else {
          request = workload.next({
            rng,
            client: rng.int(3),
            operationId: BigInt(rng.range(1, 80)),
          }) as QuotaRequest;
        }
        issued.push(request);
        const context = { lsn, requestSlot: slot };
        const internal = rng.chance(0.05);
        const outcome = internal
          ? db.applyInternal(context, request.command)
          : db.applyClient(context, request);
        const expected = internal
          ? model.applyInternal(lsn, slot, request.command)
          : model.applyClient(lsn, slot, request).outcome;
        codes.set(outcome.resultCode, (codes.get(outcome.resultCode) ?? 0) + 1);
        const where = `seed ${seed} (MODEL_SEED=${BASE_SEED}, quota stream ${s}) lsn ${lsn}`;
        expect(canon(outcome), where).toBe(canon(expected));
        const diff = firstDifference(db.snapshot(), model.state());
        if (diff !== undefined) expect.fail(`${where}: state differs at ${diff}`);
      }
    }
    for (const code of [
      'ok',
      'already_exists',
      'bucket_table_full',
      'bucket_not_found',
      'insufficient_funds',
      'operation_conflict',
      'operation_table_full',
    ]) {
      expect(codes.get(code) ?? 0, `result code ${code} never came up`).toBeGreaterThan(0);
    }
  });
});
