/**
 * The operation retire queue (src/runtime/retire-queue.ts) as quota-core uses it: records are queued when they
 * are made and retired, at the start of every applied command at slot `s`, while the front's
 * `retireAfterSlot < s` (a record lives through its `retireAfterSlot` inclusive). The queue's
 * key is the record's slot in the operation table (see `OperationTable.isLiveEntry`), so
 * retiring needs no lookup by operation id.
 */
import { InvariantViolation } from '../errors.js';
import type { RetireEntry } from '../runtime/retire-queue.js';
import type { QuotaState } from './state.js';

/**
 * Step 4 of every apply at `slot`: deletes every record at the front of the queue whose
 * `retireAfterSlot < slot`. Queue entries whose record is gone or carries another
 * `retireAfterSlot` are stale and only dropped. Allocation-free.
 */
export function retireExpiredOperations(state: QuotaState, slot: bigint): void {
  const queue = state.operationRetireQueue;
  const operations = state.operations;
  for (;;) {
    const retireAfterSlot = queue.frontSlot();
    if (retireAfterSlot === undefined || retireAfterSlot >= slot) break;
    const tableSlot = queue.frontKey()!;
    queue.dropFront();
    operations.retire(tableSlot, retireAfterSlot);
  }
}

/**
 * Queues the record just made in `tableSlot` for retirement. The queue holds one entry per
 * record, so it has room whenever the table had room, except in one case: a record deleted by dedupe because its window
 * had passed (step 5) while its entry still waited behind a later deadline. That only happens
 * when deadlines were not queued in order, which needs a snapshot restored under a smaller
 * retry window; then the stale entries are dropped first, keeping the order of the others.
 */
export function queueForRetirement(
  state: QuotaState,
  tableSlot: number,
  retireAfterSlot: bigint,
): void {
  const queue = state.operationRetireQueue;
  if (queue.push(tableSlot, retireAfterSlot) === 'ok') return;
  const live: RetireEntry<number>[] = [];
  for (const entry of queue.entries()) {
    if (state.operations.isLiveEntry(entry.key, entry.retireAfterSlot)) live.push(entry);
  }
  queue.clear();
  for (const entry of live) queue.push(entry.key, entry.retireAfterSlot);
  if (queue.push(tableSlot, retireAfterSlot) !== 'ok') {
    throw new InvariantViolation('retire_queue_bound', 'operation retire queue is full');
  }
}
