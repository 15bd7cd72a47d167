/**
 * Every acceptance example of docs/quota-core.md, the two refill examples and the retention example,
 * one named test each. Config A0 (maxBuckets 8, maxOperations 16, window 8) unless noted.
 */
import { describe, expect, it } from 'vitest';
import { U64_MAX } from '../../src/constants.js';
import { refilledBalance } from '../../src/state-machine/refill.js';
import { A0, code, create, Driver, debit, ok } from '../support/quota.js';

describe('docs/quota-core.md acceptance examples', () => {
  it('1: a retried create answers ok(11) from the dedupe table; 1 bucket, 1 record', () => {
    const d = new Driver();
    expect(d.client(1, 1, 1, create(11n, 10n, 7n, 0n))).toEqual(ok(11n));
    expect(d.db.lastClientDisposition).toBe('executed');
    expect(d.client(2, 2, 1, create(11n, 10n, 7n, 0n))).toEqual(ok(11n));
    expect(d.db.lastClientDisposition).toBe('retry_cache');
    expect(d.db.metrics().buckets.used).toBe(1);
    expect(d.db.metrics().operations.used).toBe(1);
  });

  it('2: insufficient_funds is recorded and a retry answers it from the cache; balance 2', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 5n, 2n, 0n));
    expect(d.client(2, 2, 2, debit(11n, 4n))).toEqual(code('insufficient_funds'));
    expect(d.client(3, 3, 2, debit(11n, 4n))).toEqual(code('insufficient_funds'));
    expect(d.db.lastClientDisposition).toBe('retry_cache');
    expect(d.balance(11n)).toBe(2n);
  });

  it('3: reusing op1 for another command is operation_conflict; still 1 bucket', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 10n, 7n, 0n));
    expect(d.client(2, 2, 1, create(12n, 10n, 7n, 0n))).toEqual(code('operation_conflict'));
    expect(d.db.lastClientDisposition).toBe('operation_conflict');
    expect(d.db.metrics().buckets.used).toBe(1);
    expect(d.db.getBucket(12n)).toBeUndefined();
    // The conflict is not recorded: op1 still answers its own command.
    expect(d.client(3, 3, 1, create(11n, 10n, 7n, 0n))).toEqual(ok(11n));
  });

  it('4: a debit of 3 from 7 succeeds once; the retry is cached; balance 4', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 10n, 7n, 0n));
    expect(d.client(2, 2, 2, debit(11n, 3n))).toEqual(ok(11n));
    expect(d.client(3, 3, 2, debit(11n, 3n))).toEqual(ok(11n));
    expect(d.db.lastClientDisposition).toBe('retry_cache');
    expect(d.balance(11n)).toBe(4n);
  });

  it('5: with maxOperations 1 a second operation is operation_table_full; balance unchanged', () => {
    const d = new Driver({ ...A0, maxOperations: 1 });
    d.client(1, 1, 1, create(11n, 10n, 7n, 0n));
    expect(d.client(2, 2, 2, debit(11n, 3n))).toEqual(code('operation_table_full'));
    expect(d.db.lastClientDisposition).toBe('operation_table_full');
    expect(d.balance(11n)).toBe(7n);
    expect(d.db.metrics().operations.used).toBe(1);
  });

  it('6: rate 2 from slot 1, debit 5 at slot 4 succeeds: balance 1, lastRefillSlot 4', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 10n, 0n, 2n));
    expect(d.client(2, 4, 2, debit(11n, 5n))).toEqual(ok(11n));
    expect(d.db.getBucket(11n)).toEqual({
      bucketId: 11n,
      limit: 10n,
      balance: 1n,
      lastRefillSlot: 4n,
      refillRatePerSlot: 2n,
    });
  });

  it('7: a failed debit keeps its refill: balance 4, lastRefillSlot 3', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n, 10n, 0n, 2n));
    expect(d.client(2, 3, 2, debit(11n, 5n))).toEqual(code('insufficient_funds'));
    expect(d.db.getBucket(11n)).toMatchObject({ balance: 4n, lastRefillSlot: 3n });
  });

  it('8: slot 2^64−8 overflows (nothing changes); slot 2^64−9 records retireAfterSlot 2^64−1', () => {
    const d = new Driver();
    expect(d.client(1, U64_MAX - 7n, 1, create(11n, 10n, 7n, 0n))).toEqual(code('slot_overflow'));
    expect(d.db.lastClientDisposition).toBe('slot_overflow');
    expect(d.db.lastAppliedLsn).toBeUndefined();
    expect(d.db.lastRequestSlot).toBeUndefined();
    expect(d.db.metrics().operations.used).toBe(0);
    expect(d.db.getBucket(11n)).toBeUndefined();

    expect(d.client(1, U64_MAX - 8n, 1, create(11n, 10n, 7n, 0n))).toEqual(ok(11n));
    expect(d.db.getOperation(1n, U64_MAX - 8n)?.retireAfterSlot).toBe(U64_MAX);
    expect(d.db.lastRequestSlot).toBe(U64_MAX - 8n);
  });

  it('9: bucket_table_full and bucket_not_found are recorded too (3 records)', () => {
    const d = new Driver({ ...A0, maxBuckets: 1 });
    expect(d.client(1, 1, 1, create(11n, 10n, 7n, 0n))).toEqual(ok(11n));
    expect(d.client(2, 1, 2, create(12n, 10n, 7n, 0n))).toEqual(code('bucket_table_full'));
    expect(d.client(3, 1, 3, debit(99n, 1n))).toEqual(code('bucket_not_found'));
    expect(d.db.metrics().operations.used).toBe(3);
    expect(d.db.getOperation(2n, 1n)?.outcome).toEqual(code('bucket_table_full'));
    expect(d.db.getOperation(3n, 1n)?.outcome).toEqual(code('bucket_not_found'));
  });

  it('10: an internal create applied twice: ok then already_exists, no records', () => {
    const d = new Driver();
    expect(d.internal(1, 1, create(11n, 10n, 7n, 0n))).toEqual(ok(11n));
    expect(d.internal(2, 1, create(11n, 10n, 7n, 0n))).toEqual(code('already_exists'));
    expect(d.db.metrics().operations.used).toBe(0);
    expect(d.db.lastAppliedLsn).toBe(2n);
  });
});

describe('docs/quota-core.md refill examples', () => {
  it('limit 10, balance 0, rate 3: 9 after 3 slots, 10 (capped) after 4', () => {
    expect(refilledBalance(10n, 0n, 3n, 3n)).toBe(9n);
    expect(refilledBalance(10n, 0n, 3n, 4n)).toBe(10n);
    const d = new Driver();
    d.client(1, 5, 1, create(11n, 10n, 0n, 3n));
    expect(d.db.getBucketAt(11n, 8n)?.balance).toBe(9n);
    expect(d.db.getBucketAt(11n, 9n)?.balance).toBe(10n);
    // A read does not refill: the stored bucket is unchanged.
    expect(d.db.getBucket(11n)).toMatchObject({ balance: 0n, lastRefillSlot: 5n });
    // A debit at slot 8 sees the same 9.
    expect(d.client(2, 8, 2, debit(11n, 9n))).toEqual(ok(11n));
    expect(d.balance(11n)).toBe(0n);
  });

  it('limit 2^64−1, balance 0, rate 2, slot 1 → 2^64−1: balance 2^64−1, no overflow', () => {
    expect(refilledBalance(U64_MAX, 0n, 2n, U64_MAX - 1n)).toBe(U64_MAX);
    const d = new Driver();
    d.internal(1, 1, create(11n, U64_MAX, 0n, 2n));
    expect(d.db.getBucketAt(11n, U64_MAX)).toMatchObject({
      balance: U64_MAX,
      lastRefillSlot: U64_MAX,
    });
    // The same through a debit (internal: a client command at 2^64−1 would overflow its window).
    expect(d.internal(2, U64_MAX, debit(11n, 1n))).toEqual(ok(11n));
    expect(d.db.getBucket(11n)).toMatchObject({ balance: U64_MAX - 1n, lastRefillSlot: U64_MAX });
  });
});

describe('docs/quota-core.md retention example', () => {
  it('window 8: a debit at slot 1 is cached through slot 9 and runs again at slot 10', () => {
    const d = new Driver();
    expect(d.client(1, 1, 1, create(11n, 100n, 100n, 0n))).toEqual(ok(11n));
    expect(d.client(2, 1, 2, debit(11n, 10n))).toEqual(ok(11n));
    expect(d.db.getOperation(2n, 1n)?.retireAfterSlot).toBe(9n);

    expect(d.client(3, 9, 2, debit(11n, 10n))).toEqual(ok(11n));
    expect(d.db.lastClientDisposition).toBe('retry_cache');
    expect(d.balance(11n)).toBe(90n);

    expect(d.client(4, 10, 2, debit(11n, 10n))).toEqual(ok(11n));
    expect(d.db.lastClientDisposition).toBe('executed');
    expect(d.balance(11n)).toBe(80n);
    expect(d.db.getOperation(2n, 10n)?.retireAfterSlot).toBe(18n);

    expect(d.client(5, 10, 1, create(11n, 100n, 100n, 0n))).toEqual(code('already_exists'));
    expect(d.db.lastClientDisposition).toBe('executed');
  });
});
