import { describe, expect, it } from 'vitest';
import { RecoveryError, ReplayGuard } from '../../src/runtime/replay-guard.js';
import { RecordType, type WalFrame } from '../../src/runtime/wal.js';

const frame = (
  lsn: bigint,
  requestSlot: bigint,
  recordType: WalFrame['recordType'] = RecordType.client,
): WalFrame => ({
  recordType,
  lsn,
  requestSlot,
  payload: new Uint8Array(0),
});
const marker = (lsn: bigint, slot = 0n) => frame(lsn, slot, RecordType.snapshotMarker);

/** Runs frames through a guard; returns the decisions, or the code of the error that stopped it. */
function admit(guard: ReplayGuard, frames: WalFrame[]): string[] {
  const decisions: string[] = [];
  let offset = 0;
  for (const f of frames) {
    try {
      decisions.push(guard.admit(f, offset));
    } catch (error) {
      expect(error).toBeInstanceOf(RecoveryError);
      const { code, offset: at, lsn } = error as RecoveryError;
      decisions.push(`${code}@${at}/lsn ${lsn}`);
      break;
    }
    offset += 36;
  }
  return decisions;
}

describe('ReplayGuard', () => {
  it('applies a log that starts at LSN 1 and counts up by one, with slots that never fall', () => {
    const guard = new ReplayGuard('wal', 0n, 0n);
    expect(admit(guard, [frame(1n, 0n), frame(2n, 5n), frame(3n, 5n)])).toEqual([
      'apply',
      'apply',
      'apply',
    ]);
    expect(guard.replayedFrames).toBe(3);
    expect(guard.lastReplayedLsn).toBe(3n);
  });

  it('skips frames the snapshot holds and applies from snapshotLsn + 1', () => {
    const guard = new ReplayGuard('wal', 2n, 7n);
    expect(admit(guard, [frame(1n, 3n), frame(2n, 7n), marker(2n, 7n), frame(3n, 8n)])).toEqual([
      'skip',
      'skip',
      'marker',
      'apply',
    ]);
    expect(guard.replayedFrames).toBe(1);
  });

  it('refuses lost history: a gap after the snapshot, or a log that does not start at 1', () => {
    expect(admit(new ReplayGuard('wal', 0n, 0n), [frame(2n, 0n)])).toEqual(['lsn_gap@0/lsn 2']);
    expect(admit(new ReplayGuard('wal', 5n, 0n), [frame(7n, 0n)])).toEqual(['lsn_gap@0/lsn 7']);
    expect(admit(new ReplayGuard('wal', 0n, 0n), [frame(0n, 0n)])).toEqual(['lsn_gap@0/lsn 0']);
  });

  it('refuses LSNs that skip or repeat, and slots that rewind (against the log or the snapshot)', () => {
    expect(admit(new ReplayGuard('wal', 0n, 0n), [frame(1n, 0n), frame(3n, 0n)])).toEqual([
      'apply',
      'lsn_not_contiguous@36/lsn 3',
    ]);
    expect(admit(new ReplayGuard('wal', 0n, 0n), [frame(1n, 0n), frame(1n, 0n)])).toEqual([
      'apply',
      'lsn_not_contiguous@36/lsn 1',
    ]);
    expect(admit(new ReplayGuard('wal', 0n, 0n), [frame(1n, 9n), frame(2n, 8n)])).toEqual([
      'apply',
      'slot_rewind@36/lsn 2',
    ]);
    expect(admit(new ReplayGuard('wal', 1n, 9n), [frame(2n, 8n)])).toEqual(['slot_rewind@0/lsn 2']);
  });

  it('accepts a marker for the last LSN seen or at most the snapshot LSN, and nothing else', () => {
    expect(admit(new ReplayGuard('wal', 0n, 0n), [frame(1n, 0n), marker(1n)])).toEqual([
      'apply',
      'marker',
    ]);
    expect(admit(new ReplayGuard('wal', 4n, 0n), [marker(3n)])).toEqual(['marker']);
    expect(admit(new ReplayGuard('wal', 0n, 0n), [frame(1n, 0n), marker(5n)])).toEqual([
      'apply',
      'marker_mismatch@36/lsn 5',
    ]);
  });
});
