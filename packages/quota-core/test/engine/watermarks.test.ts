/** Before the first command the engine has no watermarks and does not lag its clock. */
import { describe, expect, it } from 'vitest';
import { QuotaDb } from '../../src/state-machine/quota-db.js';
import { A0 } from '../support/quota.js';
import { useTempDirs } from '../support/temp-dir.js';
import { createBucket, openEngine, request } from './engine-fixtures.js';

const tempDir = useTempDirs();

/** About now, in one-second slots: what the default clock would say. */
const WALL_SLOT = 1_800_000_000n;

describe('QuotaEngine watermarks before the first command', () => {
  it('the state machine reports no lag before the first apply', () => {
    const db = new QuotaDb(A0);
    expect(db.lastRequestSlot).toBeUndefined();
    expect(db.logicalSlotLag(WALL_SLOT)).toBe(0n);
  });

  it('a fresh engine reports no lag; after a command, the lag behind its clock', async () => {
    const dir = tempDir();
    let now = WALL_SLOT;
    const engine = await openEngine(dir, { clock: () => now });
    expect(engine.metrics().core).toMatchObject({
      logicalSlotLag: 0n,
      lastAppliedLsn: undefined,
      lastRequestSlot: undefined,
    });
    await engine.submit(request(createBucket(1n, 10n)));
    now += 7n;
    expect(engine.metrics().core).toMatchObject({
      logicalSlotLag: 7n,
      lastAppliedLsn: 1n,
      lastRequestSlot: WALL_SLOT,
    });
    await engine.close();
  });
});
