/** The twenty acceptance examples of docs/allocdb-state-machine.md, one test each, in the spec's notation. */
import { describe, expect, it } from 'vitest';
import { U64_MAX } from '../../src/constants.js';
import {
  bundle,
  C0,
  confirm,
  create,
  Driver,
  expire,
  reclaim,
  release,
  reserve,
  revoke,
} from '../support/alloc.js';

const ok = { resultCode: 'ok' };
const code = (resultCode: string) => ({ resultCode });

describe('allocdb-core acceptance examples (config C0)', () => {
  it('1. create twice with one operation id is cached; reusing the id for another command conflicts', () => {
    const d = new Driver();
    expect(d.client(1, 1, 11, create(11n))).toEqual(ok);
    expect(d.client(2, 1, 11, create(11n))).toEqual(ok);
    expect(d.db.lastClientDisposition).toBe('retry_cache');
    expect(d.client(3, 1, 11, create(22n))).toEqual(code('operation_conflict'));
    expect(d.db.getResource(22n)).toBeUndefined();
    expect(d.db.getOperation(11n, 1n)?.appliedLsn).toBe(1n);
  });

  it('2. a reserve returns id = LSN, epoch 1, deadline = slot + ttl, and points the resource at it', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n));
    expect(d.client(2, 10, 2, reserve(11n, 3n))).toEqual({
      resultCode: 'ok',
      reservationId: 2n,
      leaseEpoch: 1n,
      deadlineSlot: 13n,
    });
    expect(d.db.getResource(11n)).toEqual({
      resourceId: 11n,
      state: 'reserved',
      currentReservationId: 2n,
      version: 1n,
    });
  });

  /** Example 3's state: resource 11 reserved by holder 1 as reservation 2 (deadline 5). */
  function reservedByHolderOne(): Driver {
    const d = new Driver();
    d.client(1, 1, 1, create(11n));
    expect(d.client(2, 2, 2, reserve(11n, 3n)).resultCode).toBe('ok');
    return d;
  }

  it("3. another holder's reserve of a reserved resource is resource_busy", () => {
    const d = reservedByHolderOne();
    expect(d.client(3, 2, 3, reserve(11n, 3n, 2n))).toEqual(code('resource_busy'));
  });

  it('4. confirm checks the holder, then confirms', () => {
    const d = reservedByHolderOne();
    d.client(3, 2, 3, reserve(11n, 3n, 2n));
    expect(d.client(4, 2, 4, confirm(2n, 2n, 1n))).toEqual(code('holder_mismatch'));
    expect(d.client(5, 2, 5, confirm(2n, 1n, 1n))).toEqual(ok);
    const found = d.db.getReservation(2n, 2n);
    expect(found.status === 'found' && found.reservation.state).toBe('confirmed');
    expect(d.db.getResource(11n)?.state).toBe('confirmed');
  });

  it('5. release frees the resource; the record is readable through retireAfterSlot, then retired', () => {
    const d = reservedByHolderOne();
    expect(d.client(3, 2, 3, release(2n, 1n, 1n))).toEqual(ok);
    expect(d.db.getResource(11n)).toEqual({ resourceId: 11n, state: 'available', version: 2n });
    const atFive = d.db.getReservation(2n, 5n);
    expect(atFive.status).toBe('found');
    if (atFive.status !== 'found') return;
    expect(atFive.reservation).toMatchObject({
      state: 'released',
      leaseEpoch: 2n,
      retireAfterSlot: 6n,
      releasedLsn: 3n,
    });
    expect(d.db.getReservation(2n, 6n).status).toBe('found');
    expect(d.db.getReservation(2n, 7n)).toEqual({ status: 'retired' });
  });

  it('6. expire of a confirmed reservation is a noop', () => {
    const d = reservedByHolderOne();
    expect(d.client(3, 2, 3, confirm(2n, 1n, 1n))).toEqual(ok);
    expect(d.internal(4, 5, expire(2n, 5n))).toEqual(code('noop'));
    const found = d.db.getReservation(2n, 5n);
    expect(found.status === 'found' && found.reservation.state).toBe('confirmed');
    expect(d.db.getResource(11n)?.state).toBe('confirmed');
  });

  it('7. expire of a reserved reservation at its deadline frees the resource', () => {
    const d = reservedByHolderOne();
    expect(d.db.dueExpirations(5n, 10)).toEqual([{ reservationId: 2n, deadlineSlot: 5n }]);
    expect(d.internal(3, 5, expire(2n, 5n))).toEqual(ok);
    expect(d.db.getResource(11n)?.state).toBe('available');
    const found = d.db.getReservation(2n, 5n);
    expect(found.status === 'found' && found.reservation).toMatchObject({
      state: 'expired',
      leaseEpoch: 2n,
    });
    expect(d.db.dueExpirations(5n, 10)).toEqual([]);
  });

  it('8. a full wheel bucket answers expiration_index_full', () => {
    const d = new Driver({ ...C0, maxExpirationBucketLen: 1 });
    d.client(1, 1, 1, create(11n));
    d.client(2, 1, 2, create(12n));
    expect(d.client(3, 2, 3, reserve(11n, 3n)).resultCode).toBe('ok');
    expect(d.client(4, 2, 4, reserve(12n, 3n))).toEqual(code('expiration_index_full'));
    expect(d.db.getResource(12n)?.state).toBe('available');
  });

  it('9. a bundle reserves all its members in order; a bundle with a busy member reserves nothing', () => {
    const d = new Driver({ ...C0, maxBundleSize: 3 });
    d.client(1, 1, 1, create(11n));
    d.client(2, 1, 2, create(12n));
    expect(d.client(3, 5, 3, bundle([11n, 12n], 4n, 9n))).toEqual({
      resultCode: 'ok',
      reservationId: 3n,
      leaseEpoch: 1n,
      deadlineSlot: 9n,
    });
    expect(d.db.getReservationMembers(3n)).toEqual([
      { reservationId: 3n, resourceId: 11n, memberIndex: 0 },
      { reservationId: 3n, resourceId: 12n, memberIndex: 1 },
    ]);
    expect(d.db.getResource(11n)?.currentReservationId).toBe(3n);
    expect(d.db.getResource(12n)?.currentReservationId).toBe(3n);
    expect(d.client(4, 5, 4, bundle([12n, 11n], 4n, 9n))).toEqual(code('resource_busy'));
    expect(d.db.getResource(12n)?.currentReservationId).toBe(3n);
    expect(d.db.metrics().reservations.used).toBe(1);

    // All or nothing: with only 11 held, [12, 11] fails on 11 and leaves 12 available.
    const e = new Driver({ ...C0, maxBundleSize: 3 });
    e.client(1, 1, 1, create(11n));
    e.client(2, 1, 2, create(12n));
    e.client(3, 5, 3, reserve(11n, 4n));
    expect(e.client(4, 5, 4, bundle([12n, 11n], 4n, 9n))).toEqual(code('resource_busy'));
    expect(e.db.getResource(12n)).toEqual({ resourceId: 12n, state: 'available', version: 0n });
    expect(e.db.metrics().reservations.used).toBe(1);
    expect(e.db.metrics().reservationMembers.used).toBe(1);
  });

  it('10. bundle checks run in order: size, ttl, then element by element', () => {
    const d = new Driver({ ...C0, maxBundleSize: 2 });
    d.client(1, 1, 1, create(11n));
    d.client(2, 1, 2, create(12n));
    d.client(3, 1, 3, create(13n));
    d.client(4, 1, 4, reserve(13n, 5n));
    expect(d.client(5, 1, 5, bundle([], 5n))).toEqual(code('bundle_too_large'));
    expect(d.client(6, 1, 6, bundle([11n, 11n], 5n))).toEqual(code('resource_busy'));
    expect(d.client(7, 1, 7, bundle([11n, 99n], 5n))).toEqual(code('resource_not_found'));
    expect(d.client(8, 1, 8, bundle([98n, 13n], 5n))).toEqual(code('resource_not_found'));
    expect(d.client(9, 1, 9, bundle([13n, 98n], 5n))).toEqual(code('resource_busy'));
    expect(d.client(10, 1, 10, bundle([12n, 12n], 0n))).toEqual(code('ttl_out_of_range'));
    expect(d.client(11, 1, 11, bundle([11n, 12n, 13n, 98n, 99n], 0n))).toEqual(
      code('bundle_too_large'),
    );
    expect(d.db.getResource(11n)?.state).toBe('available');
    expect(d.db.getResource(12n)?.state).toBe('available');
  });

  it('11. a wrong epoch is stale_epoch for confirm and release', () => {
    const d = reservedByHolderOne();
    expect(d.client(3, 2, 3, confirm(2n, 1n, 2n))).toEqual(code('stale_epoch'));
    expect(d.client(4, 2, 4, release(2n, 1n, 2n))).toEqual(code('stale_epoch'));
  });

  for (const ending of ['released', 'expired'] as const) {
    it(`12. a retained ${ending} record (epoch 2) answers retired, stale_epoch, holder_mismatch, noop`, () => {
      const d = reservedByHolderOne();
      const end =
        ending === 'released'
          ? d.client(3, 2, 3, release(2n, 1n, 1n))
          : d.internal(3, 5, expire(2n, 5n));
      expect(end).toEqual(ok);
      expect(d.client(4, 5, 4, confirm(2n, 1n, 2n))).toEqual(code('reservation_retired'));
      expect(d.client(5, 5, 5, release(2n, 1n, 2n))).toEqual(code('reservation_retired'));
      expect(d.client(6, 5, 6, confirm(2n, 1n, 1n))).toEqual(code('stale_epoch'));
      expect(d.client(7, 5, 7, release(2n, 1n, 1n))).toEqual(code('stale_epoch'));
      expect(d.client(8, 5, 8, confirm(2n, 2n, 2n))).toEqual(code('holder_mismatch'));
      expect(d.client(9, 5, 9, release(2n, 2n, 2n))).toEqual(code('holder_mismatch'));
      expect(d.client(10, 5, 10, revoke(2n))).toEqual(code('reservation_retired'));
      expect(d.client(11, 5, 11, reclaim(2n))).toEqual(code('reservation_retired'));
      expect(d.internal(12, 5, expire(2n, 5n))).toEqual(code('noop'));
    });
  }

  it('13. revoke withdraws authority but keeps the resources; reclaim frees them', () => {
    const d = new Driver({ ...C0, maxBundleSize: 4 });
    d.client(1, 1, 1, create(11n));
    d.client(2, 1, 2, create(12n));
    expect(d.client(3, 2, 3, bundle([11n, 12n], 5n)).resultCode).toBe('ok');
    expect(d.client(4, 2, 4, confirm(3n, 1n, 1n))).toEqual(ok);
    expect(d.client(5, 2, 5, revoke(3n))).toEqual(ok);
    const revoking = d.db.getReservation(3n, 2n);
    expect(revoking.status === 'found' && revoking.reservation).toMatchObject({
      state: 'revoking',
      leaseEpoch: 2n,
    });
    expect(revoking.status === 'found' && 'releasedLsn' in revoking.reservation).toBe(false);
    expect(d.db.getResource(11n)).toMatchObject({ state: 'revoking', currentReservationId: 3n });
    expect(d.db.getResource(12n)).toMatchObject({ state: 'revoking', currentReservationId: 3n });
    expect(d.client(6, 2, 6, reserve(11n, 5n))).toEqual(code('resource_busy'));
    expect(d.client(7, 3, 7, reclaim(3n))).toEqual(ok);
    const revoked = d.db.getReservation(3n, 3n);
    expect(revoked.status === 'found' && revoked.reservation).toMatchObject({
      state: 'revoked',
      leaseEpoch: 2n,
      releasedLsn: 7n,
      retireAfterSlot: 7n,
    });
    expect(d.db.getResource(11n)).toEqual({ resourceId: 11n, state: 'available', version: 4n });
    expect(d.db.getResource(12n)?.state).toBe('available');
    expect(d.client(8, 3, 8, confirm(3n, 1n, 1n))).toEqual(code('stale_epoch'));
    expect(d.client(9, 3, 9, release(3n, 1n, 1n))).toEqual(code('stale_epoch'));
  });

  it('14. revoke needs confirmed; reclaim needs revoking', () => {
    const d = reservedByHolderOne();
    expect(d.client(3, 2, 3, revoke(2n))).toEqual(code('invalid_state'));
    expect(d.client(4, 2, 4, confirm(2n, 1n, 1n))).toEqual(ok);
    expect(d.client(5, 2, 5, reclaim(2n))).toEqual(code('invalid_state'));
  });

  it('15. slot arithmetic that would overflow u64 answers slot_overflow and changes nothing', () => {
    const d = new Driver();
    d.client(1, 1, 1, create(11n));
    const before = d.db.snapshot();
    expect(d.client(2, U64_MAX + 1n - 24n, 2, create(12n))).toEqual(code('slot_overflow'));
    expect(d.db.lastClientDisposition).toBe('slot_overflow');
    expect(d.client(3, U64_MAX + 1n - 16n, 3, reserve(11n, 16n))).toEqual(code('slot_overflow'));
    expect(d.client(4, 1, 4, reserve(11n, U64_MAX))).toEqual(code('slot_overflow'));
    expect(d.db.lastAppliedLsn).toBe(1n);
    expect(d.db.lastRequestSlot).toBe(1n);
    expect(d.db.getOperation(2n, 1n)).toBeUndefined();
    expect(d.db.getResource(12n)).toBeUndefined();
    expect(d.db.snapshot()).toEqual(before);
    // One slot earlier the same command fits.
    expect(d.client(5, U64_MAX - 24n, 5, create(12n))).toEqual(ok);
  });

  it('16. a retry is cached through retireAfterSlot = slot + W and executes again after it', () => {
    const d = new Driver();
    expect(d.client(1, 1, 1, create(11n))).toEqual(ok);
    expect(d.client(2, 25, 1, create(11n))).toEqual(ok);
    expect(d.db.lastClientDisposition).toBe('retry_cache');
    expect(d.db.getOperation(1n, 25n)?.appliedLsn).toBe(1n);
    expect(d.client(3, 26, 1, create(11n))).toEqual(code('already_exists'));
    expect(d.db.lastClientDisposition).toBe('executed');
    expect(d.db.getOperation(1n, 26n)?.appliedLsn).toBe(3n);
  });

  it('17. the retired watermark answers retired for ids at or below it, even ones never created', () => {
    const d = reservedByHolderOne();
    d.client(3, 2, 3, release(2n, 1n, 1n));
    d.client(4, 7, 4, create(12n));
    expect(d.db.maxRetiredReservationId).toBe(2n);
    expect(d.db.getReservation(2n, 7n)).toEqual({ status: 'retired' });
    expect(d.db.getReservation(99n, 7n)).toEqual({ status: 'not_found' });
    expect(d.db.getReservation(1n, 7n)).toEqual({ status: 'retired' });
    expect(d.client(5, 7, 5, confirm(2n, 1n, 2n))).toEqual(code('reservation_not_found'));
  });

  it('18. reservation ids carry the shard; the watermark only covers this shard', () => {
    const d = new Driver({ ...C0, shardId: 3n });
    d.client(1, 1, 1, create(11n));
    const reserved = d.client(2, 2, 2, reserve(11n, 3n));
    expect(reserved.reservationId).toBe(55340232221128654850n);
    expect(reserved.reservationId).toBe((3n << 64n) | 2n);
    d.client(3, 2, 3, release(reserved.reservationId!, 1n, 1n));
    d.client(4, 7, 4, create(12n));
    expect(d.db.getReservation(reserved.reservationId!, 7n)).toEqual({ status: 'retired' });
    expect(d.db.getReservation((3n << 64n) | 1n, 7n)).toEqual({ status: 'retired' });
    expect(d.db.getReservation((2n << 64n) | 1n, 7n)).toEqual({ status: 'not_found' });
  });

  it('19. retained terminal reservations count against the table until they retire', () => {
    const d = new Driver({ ...C0, maxReservations: 2, maxExpirationBucketLen: 2 });
    for (const [lsn, id] of [
      [1, 11n],
      [2, 12n],
      [3, 13n],
    ] as const) {
      d.client(lsn, 1, lsn, create(id));
    }
    expect(d.client(4, 2, 4, reserve(11n, 3n)).reservationId).toBe(4n);
    expect(d.client(5, 2, 5, release(4n, 1n, 1n))).toEqual(ok);
    expect(d.client(6, 2, 6, bundle([12n], 3n)).resultCode).toBe('ok');
    expect(d.client(7, 2, 7, reserve(13n, 3n))).toEqual(code('reservation_table_full'));
    expect(d.client(8, 6, 8, reserve(13n, 3n))).toEqual(code('reservation_table_full'));
    expect(d.client(9, 7, 9, reserve(13n, 3n)).resultCode).toBe('ok');
    expect(d.db.getReservation(4n, 7n)).toEqual({ status: 'retired' });
  });

  it('20. a full operation table refuses new operations but still answers retries; internal commands bypass it', () => {
    const d = new Driver({ ...C0, maxOperations: 2 });
    expect(d.client(1, 1, 1, create(11n))).toEqual(ok);
    expect(d.client(2, 1, 2, create(12n))).toEqual(ok);
    expect(d.client(3, 1, 3, create(13n))).toEqual(code('operation_table_full'));
    expect(d.db.getResource(13n)).toBeUndefined();
    expect(d.client(4, 1, 1, create(11n))).toEqual(ok);
    expect(d.db.lastClientDisposition).toBe('retry_cache');
    expect(d.client(5, 1, 1, create(14n))).toEqual(code('operation_conflict'));
    expect(d.internal(6, 1, create(13n))).toEqual(ok);
    expect(d.db.getResource(13n)?.state).toBe('available');
  });
});
