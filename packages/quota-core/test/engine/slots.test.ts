import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SubmissionError } from '../../src/errors.js';
import { useTempDirs } from '../support/temp-dir.js';
import { createBucket, debit, openEngine, request, walPath } from './engine-fixtures.js';

const tempDir = useTempDirs();
const create = (bucketId: bigint) => request(createBucket(bucketId, 100n, 0n, 1n));

describe('request slots below the current slot', () => {
  it('are raised to the current slot by default, and the result reports the slot used', async () => {
    const engine = await openEngine(tempDir());
    await engine.submit(create(1n), { requestSlot: 2_000n });
    await engine.submit(create(2n), { requestSlot: 2_000n });
    // Created empty at slot 2,000 with a refill of one per slot: at slot 1,000 it would hold
    // nothing, at the raised slot 2,000 too; at 2,005 it holds 5.
    const early = await engine.submit(request(debit(2n, 1n)), { requestSlot: 1_000n });
    expect(early.requestSlot).toBe(2_000n);
    expect(early.outcome.resultCode).toBe('insufficient_funds');
    const later = await engine.submit(request(debit(2n, 5n)), { requestSlot: 2_005n });
    expect(later.outcome.resultCode).toBe('ok');
    await engine.close();
  });

  it('strictSlot refuses instead, definitely and before anything is written', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir);
    await engine.submit(create(1n), { requestSlot: 2_000n });
    const wal = readFileSync(walPath(dir));
    const refused = await engine
      .submit(create(2n), { requestSlot: 1_000n, strictSlot: true })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(SubmissionError);
    expect(refused).toMatchObject({ code: 'slot_behind', definite: true });
    expect(refused.message).toContain('requestSlot 1000 is below the engine');
    expect(() => engine.submitSync(create(2n), { requestSlot: 1_999n, strictSlot: true })).toThrow(
      expect.objectContaining({ code: 'slot_behind' }),
    );
    expect(readFileSync(walPath(dir))).toEqual(wal);
    // At or above the current slot, strict submissions run at exactly their slot.
    const exact = await engine.submit(create(2n), { requestSlot: 2_000n, strictSlot: true });
    expect(exact.requestSlot).toBe(2_000n);
    await engine.close();
  });

  it('strictSlot also holds against slots assigned while the request waited in the queue', async () => {
    const engine = await openEngine(tempDir());
    // Both are queued before the flush; the first raises the slot the second then finds behind.
    const ahead = engine.submit(create(1n), { requestSlot: 50n });
    const behind = engine
      .submit(create(2n), { requestSlot: 40n, strictSlot: true })
      .catch((e) => e);
    expect((await ahead).requestSlot).toBe(50n);
    expect(await behind).toMatchObject({ code: 'slot_behind', definite: true });
    expect(engine.getBucket(2n)).toBeUndefined();
    await engine.close();
  });

  it('a synchronous submission while asynchronous ones are in flight is async_in_flight', async () => {
    const engine = await openEngine(tempDir());
    const pending = engine.submit(create(1n));
    expect(() => engine.submitSync(create(2n))).toThrow(
      expect.objectContaining({ code: 'async_in_flight', definite: true }),
    );
    await pending;
    expect(engine.submitSync(create(2n)).outcome.resultCode).toBe('ok');
    await engine.close();
  });
});

describe('request slots ahead of the clock (engine.maxSlotSkew)', () => {
  it('are taken as given by default: an embedder owns its logical time', async () => {
    const engine = await openEngine(tempDir());
    const far = await engine.submit(create(1n), { requestSlot: 1_000_000n });
    expect(far.requestSlot).toBe(1_000_000n);
    await engine.close();
  });

  it('with maxSlotSkew, one further ahead of the clock is slot_ahead: definite, nothing written', async () => {
    const dir = tempDir();
    let now = 100n;
    const engine = await openEngine(dir, { clock: () => now, engine: { maxSlotSkew: 5 } });
    await engine.submit(create(1n));
    const wal = readFileSync(walPath(dir));
    const refused = await engine.submit(create(2n), { requestSlot: 106n }).catch((e) => e);
    expect(refused).toBeInstanceOf(SubmissionError);
    expect(refused).toMatchObject({ code: 'slot_ahead', definite: true });
    expect(refused.message).toContain('requestSlot 106 is 6 slots ahead');
    expect(() => engine.submitSync(create(2n), { requestSlot: 2n ** 64n - 1n })).toThrow(
      expect.objectContaining({ code: 'slot_ahead' }),
    );
    expect(readFileSync(walPath(dir))).toEqual(wal);
    expect(engine.getBucket(2n)).toBeUndefined();
    // At the bound it is taken; slots within the bound never add up: the bound is the clock's
    const edge = await engine.submit(create(2n), { requestSlot: 105n });
    expect(edge.requestSlot).toBe(105n);
    await expect(engine.submit(create(3n), { requestSlot: 110n })).rejects.toMatchObject({
      code: 'slot_ahead',
    });
    now = 105n;
    expect((await engine.submit(create(3n), { requestSlot: 110n })).requestSlot).toBe(110n);
    await engine.close();
  });

  it('refuses a maxSlotSkew that is not an integer of slots from 0', async () => {
    for (const bad of [-1, 1.5, '2', 2n, Number.MAX_SAFE_INTEGER + 1]) {
      await expect(
        openEngine(tempDir(), { engine: { maxSlotSkew: bad as number } }),
      ).rejects.toMatchObject({ code: 'invalid_value', field: 'engine.maxSlotSkew' });
    }
  });
});
