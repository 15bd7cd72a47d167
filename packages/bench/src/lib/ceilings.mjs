// The two ceilings every durable figure is held against (issue 22), measured in the same run as
// the figures themselves:
// - the disk's: the engine's own frames written in groups of b and fdatasynced after each group,
//   both appended to a growing file and overwriting a preallocated, already synced one
//   (raw-disk.mjs); the faster of the two is the disk at b;
// - the CPU's: the engine's own state machine applying the same commands (the frames of the same
//   untimed engine run, decoded beforehand) without durability.
// The ceiling at b is min(disk at b, state machine); `printCeilings` reports each durable row as
// a fraction of it.
import { formatRate } from './common.mjs';
import { frameFields } from './raw-disk.mjs';

/**
 * A participant that applies the last `timed` of `frames` (an engine's whole log, cut by
 * `readFrames`) through a fresh state machine of `workload`, after the frames before them
 * (untimed, in `setup`): the same commands, LSNs and slots as the durable run, with no log.
 */
export function stateMachineParticipant(workload, frames, timed, key) {
  const decoded = frameFields(frames).map((frame) => {
    if (frame.recordType !== 1) throw new Error(`frame ${frame.lsn} is not a client command`);
    return {
      context: { lsn: frame.lsn, requestSlot: frame.requestSlot },
      request: workload.decodeRequest(frame.payload),
    };
  });
  const first = decoded.length - timed;
  if (first < 0) throw new Error(`the log holds ${decoded.length} frames, fewer than ${timed}`);
  return {
    key,
    name: `${workload.name} state machine alone, the same ${timed.toLocaleString('en')} commands`,
    setup: () => {
      const db = workload.stateMachine();
      for (let i = 0; i < first; i++) db.applyClient(decoded[i].context, decoded[i].request);
      return db;
    },
    run: (db) => {
      for (let i = first; i < decoded.length; i++) {
        const { context, request } = decoded[i];
        const outcome = db.applyClient(context, request);
        if (outcome.resultCode !== 'ok') {
          throw new Error(`state machine: lsn ${context.lsn} answered ${outcome.resultCode}`);
        }
      }
      return timed;
    },
  };
}

/**
 * The ceiling of each durable row: `spec` is a list of `{ durable: [keys], append, overwrite,
 * stateMachine }` (row keys). Returns `{ key: { ceiling, fraction, fractionAppend, … } }` and
 * prints one table.
 */
export function printCeilings(title, rows, spec, { target } = {}) {
  const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
  const out = {};
  console.log(`\n#### ${title}\n`);
  console.log(
    '| durable row | median | disk: append | disk: preallocated | state machine | ceiling = min(disk, state machine) | fraction of the ceiling | of min(append, state machine) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const { durable, append, overwrite, stateMachine } of spec) {
    const a = byKey[append]?.median;
    const o = byKey[overwrite]?.median;
    const s = byKey[stateMachine]?.median;
    if (a === undefined || s === undefined) continue;
    const disk = Math.max(a, o ?? 0);
    const ceiling = Math.min(disk, s);
    const ceilingAppend = Math.min(a, s);
    for (const key of durable) {
      const r = byKey[key];
      if (r === undefined) continue;
      const fraction = r.median / ceiling;
      const fractionAppend = r.median / ceilingAppend;
      out[key] = { ceiling, ceilingAppend, disk, append: a, overwrite: o, stateMachine: s };
      out[key].fraction = fraction;
      out[key].fractionAppend = fractionAppend;
      r.ceiling = out[key];
      console.log(
        `| ${r.name} | ${formatRate(r.median)} | ${formatRate(a)} | ${o === undefined ? '–' : formatRate(o)} | ${formatRate(s)} | ${formatRate(ceiling)} (${ceiling === s ? 'state machine' : o !== undefined && o > a ? 'preallocated' : 'append'}) | **${fraction.toFixed(2)}×** | ${fractionAppend.toFixed(2)}× |`,
      );
    }
  }
  if (target !== undefined) console.log(`\n${target}`);
  return out;
}
