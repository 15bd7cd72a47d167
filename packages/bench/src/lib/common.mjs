// Shared pieces of the benchmark package: the repository's harness (medians, spread, tables),
// temporary directories, result rows, and the optional quota-core engine.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatRate,
  machineLine,
  measure,
  median,
  nowMs,
  printTable,
  QUICK,
  spreadPercent,
} from '../../../../scripts/bench/harness.mjs';

export { formatRate, machineLine, measure, median, nowMs, printTable, QUICK, spreadPercent };

/** Idle milliseconds between a participant's setup (plus a forced GC) and its timed run. */
const SETTLE_MS = 25;

/** Timed runs per comparison (each participant once per run, interleaved). */
export const RUNS = QUICK ? 2 : 7;

const tempDirs = [];

/** A fresh directory under the OS temp folder, removed by `cleanup()`. */
export function tempDir(label = 'bench') {
  const dir = mkdtempSync(join(tmpdir(), `engine-bench-${label}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  const index = tempDirs.indexOf(dir);
  if (index >= 0) tempDirs.splice(index, 1);
}

export function cleanup() {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A result row (the harness's shape) from per-run rates. */
export function row(name, rates, extra = {}) {
  return {
    name,
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    runs: rates.length,
    ...extra,
  };
}

/** Rate in operations per second of `ops` operations that took `ms` milliseconds. */
export const rate = (ops, ms) => (ops / ms) * 1000;

/** Load average (1 minute) now, for the report. */
export const load1 = () => loadavg()[0];

/** Times `fn` (async allowed) and returns [result, milliseconds]. */
export async function timed(fn) {
  const start = nowMs();
  const result = await fn();
  return [result, nowMs() - start];
}

/**
 * Prints a comparison table: name, median, min, max, spread, and a ratio to a named baseline
 * row (ours / peer), plus an optional target column.
 */
export function printComparison(title, rows, { baseline = {}, unit = '', notes = [] } = {}) {
  const byName = new Map(rows.map((r) => [r.name, r]));
  console.log(`\n### ${title}\n`);
  const cpu = rows.some((r) => r.cpuMicros !== undefined);
  console.log(
    `| benchmark | median | min | max | spread |${cpu ? ' CPU µs/op (user) |' : ''} ratio (ours / peer) |`,
  );
  console.log(`|---|---:|---:|---:|---:|${cpu ? '---:|' : ''}---|`);
  for (const r of rows) {
    const bases = [baseline[r.name]].flat().filter(Boolean);
    const ratios = bases
      .map((b) => byName.get(b))
      .filter(Boolean)
      .map((b) => `${(r.median / b.median).toFixed(2)}× ${b.name}`)
      .join('; ');
    console.log(
      `| ${r.name} | ${formatRate(r.median)}${unit} | ${formatRate(r.min)}${unit} | ${formatRate(r.max)}${unit} | ±${spreadPercent(r).toFixed(1)}% |${cpu ? ` ${r.cpuMicros?.toFixed(1) ?? ''} (${r.userMicros?.toFixed(1) ?? ''}) |` : ''} ${ratios} |`,
    );
  }
  for (const note of notes) console.log(`\n${note}`);
}

/** Ratio of medians, or undefined when a row is missing. */
export function ratio(a, b) {
  return a && b ? a.median / b.median : undefined;
}

/**
 * quota-core's durable engine, when its build exports one. The quota state machine (`QuotaDb`)
 * is needed for the quota peer's equivalence check and the state-machine rows.
 */
export async function loadQuota() {
  try {
    // The engine is the root export; the state machine and the codecs are subpath exports.
    const quota = {
      ...(await import('quota-core')),
      ...(await import('quota-core/state-machine')),
      ...(await import('quota-core/codec')),
    };
    return {
      module: quota,
      hasStateMachine: typeof quota.QuotaDb === 'function',
      hasEngine: typeof quota.QuotaEngine === 'function',
    };
  } catch (error) {
    return { module: undefined, hasStateMachine: false, hasEngine: false, error };
  }
}

/**
 * Runs the participants side by side: every run gives each participant one turn, in order, so
 * that the machine's noise hits them alike. `setup` and `teardown` are untimed; `run` returns
 * the number of operations it did. The first `warmup` runs are not counted. A participant's
 * `note(state)` (called after `run`, before `teardown`) can return extra facts for its row.
 */
export async function compare(participants, { runs = RUNS, warmup = 1 } = {}) {
  const rates = participants.map(() => []);
  const cpu = participants.map(() => []);
  const user = participants.map(() => []);
  const notes = participants.map(() => []);
  for (let i = 0; i < warmup + runs; i++) {
    for (let p = 0; p < participants.length; p++) {
      const participant = participants[p];
      const state = participant.setup ? await participant.setup() : undefined;
      globalThis.gc?.();
      // Let V8 finish the concurrent sweeping of that collection on its background threads
      // (opening an engine allocates its full-capacity tables; the previous run's are garbage),
      // so that it is not charged to the timed run.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const cpuStart = process.cpuUsage();
      const start = nowMs();
      const ops = await participant.run(state);
      const elapsed = nowMs() - start;
      const used = process.cpuUsage(cpuStart);
      if (i >= warmup) {
        rates[p].push(rate(ops, elapsed));
        cpu[p].push((used.user + used.system) / ops);
        user[p].push(used.user / ops);
        if (participant.note) notes[p].push(participant.note(state));
      }
      if (participant.teardown) await participant.teardown(state);
    }
  }
  return participants.map((participant, p) =>
    row(participant.name, rates[p], {
      key: participant.key,
      cpuMicros: median(cpu[p]),
      userMicros: median(user[p]),
      notes: notes[p],
    }),
  );
}
