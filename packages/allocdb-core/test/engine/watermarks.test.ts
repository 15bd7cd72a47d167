/**
 * Before anything is applied or retired the engine has no watermarks: a fresh engine does not
 * lag its clock, and no reservation id reads as retired.
 */
import { describe, expect, it } from 'vitest';
import { useTempDirs } from '../support/temp-dir.js';
import { openEngine, request } from './engine-fixtures.js';

const tempDir = useTempDirs();

/** About now, in one-second slots: what the default clock would say. */
const WALL_SLOT = 1_800_000_000n;

describe('AllocDbEngine watermarks before the first command', () => {
  it('a fresh engine reports no lag, no watermarks, and nothing retired', async () => {
    const dir = tempDir();
    let now = WALL_SLOT;
    const engine = await openEngine(dir, { clock: () => now });
    const { core } = engine.metrics();
    expect(core.logicalSlotLag).toBe(0n);
    expect(core.lastAppliedLsn).toBeUndefined();
    expect(core.lastRequestSlot).toBeUndefined();
    expect(core.maxRetiredReservationId).toBeUndefined();
    expect(engine.getReservation(0n)).toEqual({ status: 'not_found' });
    expect(engine.getReservation(0n, { currentSlot: now })).toEqual({ status: 'not_found' });

    await engine.submit(request({ kind: 'create_resource', resourceId: 1n }));
    now += 7n;
    expect(engine.metrics().core).toMatchObject({
      logicalSlotLag: 7n,
      lastAppliedLsn: 1n,
      lastRequestSlot: WALL_SLOT,
      maxRetiredReservationId: undefined,
    });
    expect(engine.getReservation(0n)).toEqual({ status: 'not_found' });
    await engine.close();
  });

  it('a checkpoint of a fresh engine reopens with no watermarks', async () => {
    const dir = tempDir();
    const engine = await openEngine(dir, { clock: () => WALL_SLOT });
    await engine.checkpoint();
    await engine.close();
    const reopened = await openEngine(dir, { clock: () => WALL_SLOT });
    expect(reopened.recoveryStatus.loadedSnapshotLsn).toBe(0n);
    expect(reopened.metrics().core).toMatchObject({
      logicalSlotLag: 0n,
      lastAppliedLsn: undefined,
      lastRequestSlot: undefined,
    });
    expect(reopened.getReservation(0n)).toEqual({ status: 'not_found' });
    const created = await reopened.submit(request({ kind: 'create_resource', resourceId: 1n }));
    expect(created.lsn).toBe(1n);
    await reopened.close();
  });
});
