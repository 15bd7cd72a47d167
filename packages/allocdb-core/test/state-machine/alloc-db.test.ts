/** The helpers the durable engine calls around apply: retry cache, slot pre-check, metrics. */
import { describe, expect, it } from 'vitest';
import {
  CLIENT_REQUEST_COMMAND_OFFSET,
  encodeClientRequest,
  encodeCommand,
} from '../../src/codec/command-codec.js';
import { U64_MAX } from '../../src/constants.js';
import { SnapshotError } from '../../src/errors.js';
import { AllocDb } from '../../src/state-machine/alloc-db.js';
import type { AllocDbSnapshot } from '../../src/types.js';
import { C0, confirm, create, Driver, release, reserve } from '../support/alloc.js';

describe('AllocDb engine helpers', () => {
  it('lookupRetry answers hit, conflict and miss as applying at that slot would', () => {
    const d = new Driver();
    const outcome = d.client(1, 1, 5, create(11n));
    const payload = encodeClientRequest({ operationId: 5n, clientId: 9n, command: create(11n) });
    const commandBytes = payload.subarray(CLIENT_REQUEST_COMMAND_OFFSET);
    expect(d.db.lookupRetry(5n, commandBytes, 25n)).toEqual({
      status: 'hit',
      outcome,
      appliedLsn: 1n,
    });
    expect(d.db.lookupRetry(5n, encodeCommand(create(12n)), 25n)).toEqual({ status: 'conflict' });
    // retireAfterSlot = 1 + W = 25: at slot 26 the record would be retired first.
    expect(d.db.lookupRetry(5n, commandBytes, 26n)).toEqual({ status: 'miss' });
    expect(d.db.lookupRetry(6n, commandBytes, 1n)).toEqual({ status: 'miss' });
    expect(
      d.db.lookupRetryRequest({ operationId: 5n, clientId: 1n, command: create(11n) }, 2n),
    ).toMatchObject({ status: 'hit' });
  });

  it('a cached reserve outcome is returned exactly as stored, with its fields', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n));
    const first = d.client(2, 2, 2, reserve(11n, 3n));
    d.client(3, 2, 3, release(2n, 1n, 1n));
    const retry = d.client(4, 3, 2, reserve(11n, 3n));
    expect(retry).toBe(first);
    expect(Object.isFrozen(retry)).toBe(true);
    expect(d.db.getResource(11n)?.state).toBe('available');
  });

  it('wouldSlotOverflow mirrors step 1 for clients and internal commands', () => {
    const db = new AllocDb(C0);
    const edge = U64_MAX - 24n;
    expect(db.wouldSlotOverflow(edge, create(1n), 'client')).toBe(false);
    expect(db.wouldSlotOverflow(edge + 1n, create(1n), 'client')).toBe(true);
    expect(db.wouldSlotOverflow(U64_MAX, create(1n), 'internal')).toBe(false);
    expect(db.wouldSlotOverflow(U64_MAX - 3n, release(1n, 1n, 1n), 'internal')).toBe(true);
    expect(db.wouldSlotOverflow(U64_MAX - 4n, release(1n, 1n, 1n), 'internal')).toBe(false);
    expect(db.wouldSlotOverflow(U64_MAX - 4n, confirm(1n, 1n, 1n), 'internal')).toBe(false);
    expect(db.wouldSlotOverflow(1n, reserve(1n, U64_MAX), 'internal')).toBe(true);
    expect(db.lastAppliedLsn).toBeUndefined();
  });

  it('reads return copies that cannot change the tables', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n));
    const operation = d.db.getOperation(1n, 1n)!;
    operation.command.fill(0);
    expect(d.db.lookupRetry(1n, encodeCommand(create(11n)), 1n).status).toBe('hit');
    const resource = d.db.getResource(11n) as { state: string };
    resource.state = 'confirmed';
    expect(d.db.getResource(11n)?.state).toBe('available');
  });

  it('metrics report use and capacity of every table, and the lag of the slot clock', () => {
    const d = new Driver({ ...C0, maxBundleSize: 2 });
    d.client(1, 3, 1, create(11n));
    d.client(2, 3, 2, reserve(11n, 4n));
    const metrics = d.db.metrics();
    expect(metrics.resources).toEqual({ used: 1, capacity: 8 });
    expect(metrics.reservations).toEqual({ used: 1, capacity: 8 });
    expect(metrics.reservationMembers).toEqual({ used: 1, capacity: 16 });
    expect(metrics.operations).toEqual({ used: 2, capacity: 16 });
    expect(metrics.operationRetireQueue).toEqual({ used: 2, capacity: 16 });
    expect(metrics.reservationRetireQueue).toEqual({ used: 0, capacity: 8 });
    expect(metrics.scheduledExpirations).toEqual({ used: 1, capacity: 8 });
    expect(metrics.nonEmptyExpirationBuckets).toEqual({ used: 1, capacity: 8 });
    expect(metrics.largestExpirationBucket).toEqual({ used: 1, capacity: 8 });
    expect(metrics.lastRequestSlot).toBe(3n);
    expect(d.db.logicalSlotLag(10n)).toBe(7n);
    expect(d.db.logicalSlotLag(2n)).toBe(0n);
    expect(d.db.expirationBacklog(6n)).toBe(0);
    expect(d.db.expirationBacklog(7n)).toBe(1);
  });

  it('versions stay exact past 2^53 and up to the last LSN', () => {
    const safe = BigInt(Number.MAX_SAFE_INTEGER);
    const snapshot: AllocDbSnapshot = {
      lastAppliedLsn: 1n << 62n,
      lastRequestSlot: 1n,
      resources: [
        { resourceId: 1n, state: 'available', version: safe - 1n },
        { resourceId: 2n, state: 'available', version: (1n << 62n) - 1n },
      ],
      reservations: [],
      members: [],
      operations: [],
      expirationWheel: [],
    };
    const db = AllocDb.fromSnapshot(C0, snapshot);
    const lsn = (1n << 62n) + 1n;
    const { reservationId } = db.applyInternal({ lsn, requestSlot: 1n }, reserve(1n, 3n));
    db.applyInternal({ lsn: lsn + 1n, requestSlot: 1n }, confirm(reservationId!, 1n, 1n));
    db.applyInternal({ lsn: lsn + 2n, requestSlot: 1n }, release(reservationId!, 1n, 1n));
    expect(db.getResource(1n)?.version).toBe(safe + 2n);
    db.applyInternal({ lsn: lsn + 3n, requestSlot: 1n }, reserve(2n, 3n));
    expect(db.getResource(2n)?.version).toBe(1n << 62n);
    db.checkInvariants();
    // A version above lastAppliedLsn cannot come from any history.
    expect(() =>
      AllocDb.fromSnapshot(C0, {
        ...snapshot,
        resources: [{ resourceId: 1n, state: 'available', version: (1n << 62n) + 1n }],
      }),
    ).toThrow(SnapshotError);
  });
});
