/** The recorded histories the torn-tail and damage sweeps cut and damage. */
import { join } from 'node:path';
import type { EngineAdapter } from '../adapter.js';
import { deriveSeed, Rng } from '../random.js';
import { type History, recordHistory } from './history.js';

export interface Scenario {
  readonly name: string;
  readonly history: History;
}

/**
 * Three layouts: a log only; a snapshot and a rewritten log (two checkpoints, frames after);
 * a checkpoint as the very last thing (the log ends with its marker frame).
 */
export async function recordScenarios(
  adapter: EngineAdapter,
  root: string,
  seed: number,
  commands: number,
): Promise<Scenario[]> {
  const layouts = [
    { name: 'log only', checkpointsAfter: [] },
    {
      name: 'snapshot and rewritten log',
      checkpointsAfter: [Math.floor(commands / 3), Math.floor((2 * commands) / 3)],
    },
    {
      name: 'log ending in a checkpoint marker',
      checkpointsAfter: [Math.floor(commands / 2), commands],
    },
  ];
  const scenarios: Scenario[] = [];
  for (const [i, layout] of layouts.entries()) {
    const history = await recordHistory(
      adapter,
      join(root, `history-${i}`),
      new Rng(deriveSeed(seed, i)),
      { commands, checkpointsAfter: layout.checkpointsAfter },
    );
    scenarios.push({ name: layout.name, history });
  }
  return scenarios;
}

/** The LSN a directory recovers to when the log keeps its first `validUpTo` bytes. */
export function lsnAt(history: History, validUpTo: number): bigint {
  let lsn = history.snapshotLsn;
  for (const frame of history.frames) {
    if (frame.end <= validUpTo && frame.lsn > lsn) lsn = frame.lsn;
  }
  return lsn;
}
