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
  // `slot + x > U64_MAX` is `slot > U64_MAX − x`; the right-hand sides for the configured
  // windows are computed once (state.slotLimits), so that no command allocates a sum here.
  const limits = state.slotLimits;
  switch (command.kind) {
    case 'reserve':
    case 'reserve_bundle': {
      const ttl = command.ttlSlots;
      // Within maxTtlSlots, the precomputed bound answers; an out-of-range TTL (answered
      // ttl_out_of_range later) still gets the exact sum.
      if (ttl <= state.config.maxTtlSlots) {
        if (requestSlot > limits.maxTtl) return true;
      } else if (requestSlot + ttl > U64_MAX) return true;
      break;
    }
    case 'release':
    case 'reclaim':
    case 'expire':
      if (requestSlot > limits.history) return true;
      break;
    default:
      break;
  }
  return fromClient && requestSlot > limits.operationWindow;
}
