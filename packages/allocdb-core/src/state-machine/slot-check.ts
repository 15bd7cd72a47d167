import { U64_MAX } from '../constants.js';
import type { Command } from '../types.js';
import type { AllocDbState } from './state.js';

/**
 * Step 1 of every apply: whether the command's slot arithmetic would leave u64. Reserves add
 * their own TTL (even an out-of-range one); release, reclaim and expire add the history window;
 * client commands also add W, the operation window. Nothing may change when this answers true.
 */
export function slotOverflows(
  state: AllocDbState,
  requestSlot: bigint,
  command: Command,
  fromClient: boolean,
): boolean {
  switch (command.kind) {
    case 'reserve':
    case 'reserve_bundle':
      if (requestSlot + command.ttlSlots > U64_MAX) return true;
      break;
    case 'release':
    case 'reclaim':
    case 'expire':
      if (requestSlot + state.config.reservationHistoryWindowSlots > U64_MAX) return true;
      break;
    default:
      break;
  }
  return fromClient && requestSlot + state.derived.operationWindowSlots > U64_MAX;
}
