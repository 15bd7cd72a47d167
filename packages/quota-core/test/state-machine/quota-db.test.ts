/** Reads, metrics, the engine helpers, and edge cases of the two commands. */
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../src/codec/command-codec.js';
import { U64_MAX } from '../../src/constants.js';
import { encodeSnapshotBody } from '../../src/snapshot/body-codec.js';
import { QuotaDb } from '../../src/state-machine/quota-db.js';
import { A0, code, create, Driver, debit, ok } from '../support/quota.js';

describe('QuotaDb reads', () => {
  it('getBucketAt shows the refilled balance without changing state', () => {
    const d = new Driver();
    d.client(1, 10, 1, create(11n, 100n, 10n, 7n));
    const before = encodeSnapshotBody(d.db.snapshot());
    expect(d.db.getBucketAt(11n, 12n)).toEqual({
      bucketId: 11n,
      limit: 100n,
      balance: 24n,
      lastRefillSlot: 12n,
      refillRatePerSlot: 7n,
    });
    expect(d.db.getBucketAt(11n, U64_MAX)?.balance).toBe(100n);
    // Before the bucket's last refill: the stored record, not a balance in the past.
    expect(d.db.getBucketAt(11n, 3n)).toEqual(d.db.getBucket(11n));
    expect(d.db.getBucketAt(99n, 12n)).toBeUndefined();
    expect(encodeSnapshotBody(d.db.snapshot())).toEqual(before);
  });

  it('returns copies: changing a record changes nothing inside', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 10n, 5n, 0n));
    const bucket = d.db.getBucket(11n) as { balance: bigint };
    bucket.balance = 999n;
    expect(d.balance(11n)).toBe(5n);
    const record = d.db.getOperation(1n, 1n)!;
    record.command[0] = 99;
    expect(d.db.getOperation(1n, 1n)!.command).toEqual(encodeCommand(create(11n, 10n, 5n, 0n)));
    expect(Object.isFrozen(record.outcome)).toBe(true);
  });

  it('getOperation hides a record past its retireAfterSlot', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 10n, 5n, 0n));
    expect(d.db.getOperation(1n, 9n)).toMatchObject({ appliedLsn: 1n, retireAfterSlot: 9n });
    expect(d.db.getOperation(1n, 10n)).toBeUndefined();
    expect(d.db.getOperation(2n, 1n)).toBeUndefined();
  });

  it('metrics report table use and capacity and the watermarks', () => {
    const db = new QuotaDb(A0);
    expect(db.metrics()).toEqual({
      buckets: { used: 0, capacity: 8 },
      operations: { used: 0, capacity: 16 },
      operationRetireQueue: { used: 0, capacity: 16 },
      lastAppliedLsn: undefined,
      lastRequestSlot: undefined,
    });
    db.applyClient(
      { lsn: 4n, requestSlot: 7n },
      { operationId: 1n, clientId: 1n, command: create(1n, 1n, 1n, 0n) },
    );
    expect(db.metrics()).toMatchObject({
      buckets: { used: 1, capacity: 8 },
      operations: { used: 1, capacity: 16 },
      operationRetireQueue: { used: 1, capacity: 16 },
      lastAppliedLsn: 4n,
      lastRequestSlot: 7n,
    });
    expect(db.logicalSlotLag(10n)).toBe(3n);
    expect(db.logicalSlotLag(2n)).toBe(0n);
  });
});

describe('QuotaDb commands', () => {
  it('a zero limit is allowed: every debit is insufficient_funds', () => {
    const d = new Driver();
    expect(d.client(1, 1, 1, create(11n, 0n, 0n, 5n))).toEqual(ok(11n));
    expect(d.client(2, 100, 2, debit(11n, 1n))).toEqual(code('insufficient_funds'));
    expect(d.db.getBucket(11n)).toMatchObject({ balance: 0n, lastRefillSlot: 100n });
  });

  it('a zero rate never refills, but the refill slot still moves', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 10n, 2n, 0n));
    expect(d.client(2, 50, 2, debit(11n, 3n))).toEqual(code('insufficient_funds'));
    expect(d.db.getBucket(11n)).toMatchObject({ balance: 2n, lastRefillSlot: 50n });
  });

  it('time spent at the cap is lost: no carry-over', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 10n, 10n, 5n));
    expect(d.client(2, 20, 2, debit(11n, 10n))).toEqual(ok(11n));
    expect(d.db.getBucketAt(11n, 21n)?.balance).toBe(5n);
  });

  it('already_exists does not compare the stored bucket with the new one', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 10n, 5n, 1n));
    expect(d.client(2, 1, 2, create(11n, 99n, 0n, 0n))).toEqual(code('already_exists'));
    expect(d.db.getBucket(11n)).toMatchObject({ limit: 10n, balance: 5n, refillRatePerSlot: 1n });
  });

  it('bucket_not_found refills nothing and the client id plays no part in dedupe', () => {
    const d = new Driver();
    expect(d.client(1, 1, 1, debit(11n, 1n))).toEqual(code('bucket_not_found'));
    d.client(2, 1, 2, create(11n, 10n, 10n, 0n));
    // The same operation id from another client is the same operation.
    const outcome = d.db.applyClient(
      { lsn: 3n, requestSlot: 2n },
      { operationId: 1n, clientId: 999n, command: debit(11n, 1n) },
    );
    expect(outcome).toEqual(code('bucket_not_found'));
    expect(d.db.lastClientDisposition).toBe('retry_cache');
    expect(d.balance(11n)).toBe(10n);
  });

  it('amounts at 2^64−1 are exact', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, U64_MAX, U64_MAX, U64_MAX));
    expect(d.client(2, 2, 2, debit(11n, U64_MAX))).toEqual(ok(11n));
    expect(d.balance(11n)).toBe(0n);
    expect(d.db.getBucketAt(11n, 3n)?.balance).toBe(U64_MAX);
    expect(d.client(3, 3, 3, debit(11n, U64_MAX - 1n))).toEqual(ok(11n));
    expect(d.balance(11n)).toBe(1n);
  });
});

describe('QuotaDb engine helpers', () => {
  it('lookupRetry answers hit, conflict and miss as applyClient would, after retirement', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 10n, 5n, 0n));
    const bytes = encodeCommand(create(11n, 10n, 5n, 0n));
    expect(d.db.lookupRetry(1n, bytes, 9n)).toEqual({
      status: 'hit',
      outcome: ok(11n),
      appliedLsn: 1n,
    });
    expect(d.db.lookupRetry(1n, encodeCommand(debit(11n, 1n)), 9n)).toEqual({ status: 'conflict' });
    expect(d.db.lookupRetry(1n, bytes, 10n)).toEqual({ status: 'miss' });
    expect(d.db.lookupRetry(2n, bytes, 1n)).toEqual({ status: 'miss' });
  });

  it('wouldSlotOverflow: client commands at slots whose window leaves u64; internal never', () => {
    const db = new QuotaDb(A0);
    expect(db.wouldSlotOverflow(U64_MAX - 8n, debit(1n, 1n), 'client')).toBe(false);
    expect(db.wouldSlotOverflow(U64_MAX - 7n, debit(1n, 1n), 'client')).toBe(true);
    expect(db.wouldSlotOverflow(U64_MAX, debit(1n, 1n), 'internal')).toBe(false);
  });
});

describe('retirement when deadlines were queued out of order', () => {
  it('a snapshot restored under a smaller window: stale records are replaced and the queue compacts', () => {
    // Records made under window 100, restored under window 2: new records retire before old ones.
    const wide = new Driver({ ...A0, maxOperations: 3, maxClientRetryWindowSlots: 100n });
    wide.client(1, 1, 1, create(11n, 1000n, 1000n, 0n));
    wide.client(2, 1, 2, debit(11n, 1n));
    const narrow = QuotaDb.fromSnapshot(
      { ...A0, maxOperations: 3, maxClientRetryWindowSlots: 2n },
      wide.db.snapshot(),
    );
    let lsn = 3n;
    const apply = (slot: bigint, operationId: bigint, amount: bigint) => {
      const outcome = narrow.applyClient(
        { lsn: lsn++, requestSlot: slot },
        { operationId, clientId: 1n, command: debit(11n, amount) },
      );
      narrow.checkInvariants();
      return outcome;
    };
    expect(apply(5n, 3n, 1n)).toEqual(ok(11n)); // retireAfterSlot 7, queued behind 101
    // Slot 8: record 3 is past its window but its queue entry waits behind op 1's and op 2's.
    expect(narrow.metrics().operations.used).toBe(3);
    expect(apply(8n, 3n, 1n)).toEqual(ok(11n)); // executed again: the old record was replaced
    expect(narrow.lastClientDisposition).toBe('executed');
    // The table is full again (ops 1, 2, 3); the queue held a stale entry and was compacted.
    expect(narrow.metrics().operationRetireQueue.used).toBe(3);
    expect(apply(9n, 4n, 1n)).toEqual(code('operation_table_full'));
    expect(apply(11n, 3n, 1n)).toEqual(ok(11n));
    expect(narrow.getBucket(11n)!.balance).toBe(1000n - 4n);
  });
});
