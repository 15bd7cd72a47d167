/**
 * The watermarks (`lastAppliedLsn`, `lastRequestSlot`, `maxRetiredReservationId`) are absent
 * until first set: nothing reads as retired before a retirement, the slot lag is 0 before the
 * first apply, and the snapshot body keeps its format (0 encodes "absent" where 0 is never a
 * real value).
 */
import { describe, expect, it } from 'vitest';
import type { AllocDbConfig } from '../../src/config.js';
import { ApplyOrderError, SnapshotError } from '../../src/errors.js';
import { decodeSnapshotBody, encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import { AllocDb } from '../../src/state-machine/alloc-db.js';
import type { AllocDbSnapshot } from '../../src/types.js';
import { C0, create, Driver, release, reserve } from '../support/alloc.js';

/** The config the golden bodies below were written with (by the code before this change). */
const GOLDEN_CONFIG: AllocDbConfig = { ...C0, shardId: 3n, maxBundleSize: 2 };

const fromHex = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

/** Snapshot bodies written by the code before the watermarks could be absent. */
const GOLDEN = {
  /** A fresh state: every watermark 0. */
  fresh: fromHex(
    '0100000000000000000000000000000000000000000000000000000000000000000000000000000000000000' +
      '00000000000000000000',
  ),
  /** One create at LSN 1, slot 0 (slot 0 is a real slot), nothing retired. */
  slot0: fromHex(
    '01000100000000000000000000000000000000000000000000000000000000000000010000000b0000000000' +
      '0000000000000000000000000000000000000000000000000000000001000000010000000000000000000000' +
      '0000000011000000010b00000000000000000000000000000000000100000000000000180000000000000000' +
      '000000',
  ),
  /**
   * create 11 @(1,1); reserve 11 @(2,2); release @(3,2); create 12 @(4,7), which retires
   * reservation (3<<64)|2; bundle [12, 11] by holder 2 @(5,7).
   */
  populated: fromHex(
    '01000500000000000000070000000000000002000000000000000300000000000000020000000b0000000000' +
      '0000000000000000000001030000000000000001050000000000000003000000000000000c00000000000000' +
      '0000000000000000010100000000000000010500000000000000030000000000000001000000050000000000' +
      '000003000000000000000c000000000000000000000000000000020000000000000000000000000000000100' +
      '0000000000000005000000000000000c00000000000000000200000002000000050000000000000003000000' +
      '000000000c00000000000000000000000000000000000000050000000000000003000000000000000b000000' +
      '00000000000000000000000001000000050000000100000000000000000000000000000011000000010b0000' +
      '0000000000000000000000000000000100000000000000190000000000000002000000000000000000000000' +
      '00000029000000020b0000000000000000000000000000000100000000000000000000000000000003000000' +
      '0000000000010200000000000000030000000000000001000000000000000500000000000000020000000000' +
      '00001a0000000000000003000000000000000000000000000000290000000502000000000000000300000000' +
      '000000010000000000000000000000000000000100000000000000000003000000000000001a000000000000' +
      '000400000000000000000000000000000011000000010c000000000000000000000000000000000004000000' +
      '000000001f00000000000000050000000000000000000000000000003d000000030200000000000000000000' +
      '00000000000500000000000000020000000c0000000000000000000000000000000b00000000000000000000' +
      '000000000000010500000000000000030000000000000001000000000000000c000000000000000500000000' +
      '0000001f00000000000000010000000c000000000000000100000005000000000000000300000000000000',
  ),
};

describe('watermarks are absent until first set', () => {
  it('a fresh state machine has no watermarks, no lag, and nothing retired', () => {
    const db = new AllocDb(C0);
    expect(db.lastAppliedLsn).toBeUndefined();
    expect(db.lastRequestSlot).toBeUndefined();
    expect(db.maxRetiredReservationId).toBeUndefined();
    expect(db.metrics()).toMatchObject({
      lastAppliedLsn: undefined,
      lastRequestSlot: undefined,
      maxRetiredReservationId: undefined,
    });
    // A wall-clock slot is not "lag" when nothing was ever applied.
    expect(db.logicalSlotLag(1_800_000_000n)).toBe(0n);
    expect(db.getReservation(0n, 0n)).toEqual({ status: 'not_found' });
    expect(db.getReservation(0n, 5n)).toEqual({ status: 'not_found' });
  });

  it('the first apply sets the LSN and slot; the retired watermark waits for a retirement', () => {
    const d = new Driver();
    d.client(1, 0, 1, create(11n));
    expect(d.db.lastAppliedLsn).toBe(1n);
    expect(d.db.lastRequestSlot).toBe(0n);
    expect(d.db.logicalSlotLag(10n)).toBe(10n);
    expect(d.db.maxRetiredReservationId).toBeUndefined();
    d.client(2, 2, 2, reserve(11n, 3n));
    d.client(3, 2, 3, release(2n, 1n, 1n));
    // Released, retained until slot 6: found, and id 1 (never a reservation) is not retired.
    expect(d.db.getReservation(1n, 2n)).toEqual({ status: 'not_found' });
    expect(d.db.getReservation(0n, 2n)).toEqual({ status: 'not_found' });
    expect(d.db.maxRetiredReservationId).toBeUndefined();
    d.client(4, 7, 4, create(12n));
    expect(d.db.maxRetiredReservationId).toBe(2n);
    expect(d.db.getReservation(2n, 7n)).toEqual({ status: 'retired' });
    expect(d.db.getReservation(1n, 7n)).toEqual({ status: 'retired' });
    expect(d.db.getReservation(0n, 7n)).toEqual({ status: 'retired' });
  });

  it('LSNs start at 1: LSN 0 is refused as before, so 0 never is a real applied LSN', () => {
    const db = new AllocDb(C0);
    expect(() =>
      db.applyClient(
        { lsn: 0n, requestSlot: 0n },
        { operationId: 1n, clientId: 1n, command: create(1n) },
      ),
    ).toThrow(ApplyOrderError);
    expect(() => db.applyInternal({ lsn: 0n, requestSlot: 3n }, create(1n))).toThrow(
      ApplyOrderError,
    );
    expect(db.lastAppliedLsn).toBeUndefined();
  });

  it('a snapshot leaves absent watermarks out, and the body still writes 0 for them', () => {
    const snapshot = new AllocDb(GOLDEN_CONFIG).snapshot();
    expect('lastAppliedLsn' in snapshot).toBe(false);
    expect('lastRequestSlot' in snapshot).toBe(false);
    expect('maxRetiredReservationId' in snapshot).toBe(false);
    expect(encodeSnapshotBody(snapshot)).toEqual(GOLDEN.fresh);
  });

  it('bodies written by the code before restore identically, and re-encode byte for byte', () => {
    for (const [name, body] of Object.entries(GOLDEN)) {
      const db = AllocDb.fromSnapshotBody(GOLDEN_CONFIG, body);
      expect(encodeSnapshotBody(db.snapshot()), name).toEqual(body);
    }
    const fresh = AllocDb.fromSnapshotBody(GOLDEN_CONFIG, GOLDEN.fresh);
    expect(fresh.lastAppliedLsn).toBeUndefined();
    expect(fresh.lastRequestSlot).toBeUndefined();
    expect(fresh.maxRetiredReservationId).toBeUndefined();
    expect(fresh.logicalSlotLag(99n)).toBe(0n);

    const slot0 = AllocDb.fromSnapshotBody(GOLDEN_CONFIG, GOLDEN.slot0);
    expect(slot0.lastAppliedLsn).toBe(1n);
    expect(slot0.lastRequestSlot).toBe(0n);
    expect(slot0.maxRetiredReservationId).toBeUndefined();
    expect(slot0.getReservation((3n << 64n) | 1n, 0n)).toEqual({ status: 'not_found' });

    const populated = AllocDb.fromSnapshotBody(GOLDEN_CONFIG, GOLDEN.populated);
    expect(populated.lastAppliedLsn).toBe(5n);
    expect(populated.lastRequestSlot).toBe(7n);
    expect(populated.maxRetiredReservationId).toBe((3n << 64n) | 2n);
    expect(populated.getReservation((3n << 64n) | 2n, 7n)).toEqual({ status: 'retired' });
    expect(populated.getReservation((3n << 64n) | 5n, 7n).status).toBe('found');
    // The restored state goes on exactly as the original would have.
    const next = populated.applyClient(
      { lsn: 6n, requestSlot: 8n },
      { operationId: 6n, clientId: 1n, command: create(13n) },
    );
    expect(next.resultCode).toBe('ok');
  });

  it('a body whose LSN is 0 but whose slot is not is refused', () => {
    const body = GOLDEN.fresh.slice();
    body[10] = 5; // lastRequestSlot = 5 with lastAppliedLsn 0
    expect(() => decodeSnapshotBody(body, GOLDEN_CONFIG)).toThrow(
      expect.objectContaining({ code: 'watermark_inconsistent' }),
    );
  });

  it('restore refuses watermarks that are present but not real, or records without them', () => {
    const fresh = new AllocDb(C0).snapshot();
    const refused = (snapshot: unknown, code: string) => {
      let thrown: unknown;
      try {
        AllocDb.fromSnapshot(C0, snapshot as AllocDbSnapshot);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SnapshotError);
      expect((thrown as SnapshotError).code).toBe(code);
    };
    refused({ ...fresh, lastAppliedLsn: 0n, lastRequestSlot: 0n }, 'watermark_inconsistent');
    refused({ ...fresh, lastAppliedLsn: 1n }, 'watermark_inconsistent');
    refused({ ...fresh, lastRequestSlot: 1n }, 'watermark_inconsistent');
    refused({ ...fresh, maxRetiredReservationId: 0n }, 'watermark_inconsistent');
    refused(
      { ...fresh, lastAppliedLsn: 3n, lastRequestSlot: 1n, maxRetiredReservationId: 0n },
      'watermark_inconsistent',
    );
    refused(
      { ...fresh, resources: [{ resourceId: 1n, state: 'available', version: 0n }] },
      'watermark_inconsistent',
    );
    refused({ ...fresh, maxRetiredReservationId: 2n }, 'watermark_inconsistent');
    expect(() => AllocDb.fromSnapshot(C0, fresh)).not.toThrow();
  });
});
