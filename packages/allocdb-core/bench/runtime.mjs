// Runtime substrate benchmarks: FixedMap against a native Map on bigint keys, and CRC32C
// throughput against zlib's native (IEEE) crc32, side by side in one run.
import * as zlib from 'node:zlib';
import { measure, printTable, QUICK } from '../../../scripts/bench/harness.mjs';
import { crc32c } from '../dist/runtime/crc32c.js';
import { FixedMap } from '../dist/runtime/fixed-map.js';

const CAPACITY = QUICK ? 10_000 : 200_000;
const RUNS = QUICK ? 3 : 9;

/** Keys as the engines see them: LSN-shaped ids of shard 0 and random-looking u128 ids. */
function makeKeys(count, kind) {
  const keys = new Array(count);
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < count; i++) {
    if (kind === 'lsn') keys[i] = BigInt(i + 1);
    else {
      x = (x * 6364136223846793005n + 1442695040888963407n) & ((1n << 128n) - 1n);
      keys[i] = x;
    }
  }
  return keys;
}

async function mapRows(kind, fill) {
  const count = Math.floor(CAPACITY * fill);
  const keys = makeKeys(count, kind);
  const label = `${kind} keys, ${Math.round(fill * 100)}% full`;
  const filledFixed = () => {
    const map = new FixedMap(CAPACITY);
    for (const key of keys) map.insert(key, key);
    return map;
  };
  const filledNative = () => {
    const map = new Map();
    for (const key of keys) map.set(key, key);
    return map;
  };
  const opts = { ops: count, runs: RUNS };
  const rows = [
    await measure(`Map.set (${label})`, () => void filledNative(), opts),
    await measure(`FixedMap.insert (${label})`, () => void filledFixed(), opts),
  ];
  const nativeMap = filledNative();
  const fixedMap = filledFixed();
  let sink = 0;
  rows.push(
    await measure(
      `Map.get (${label})`,
      () => {
        for (const key of keys) if (nativeMap.get(key) !== undefined) sink++;
      },
      opts,
    ),
    await measure(
      `FixedMap.get (${label})`,
      () => {
        for (const key of keys) if (fixedMap.get(key) !== undefined) sink++;
      },
      opts,
    ),
    await measure(
      `Map.delete (${label})`,
      (map) => {
        for (const key of keys) map.delete(key);
      },
      { ...opts, setup: filledNative },
    ),
    await measure(
      `FixedMap.remove (${label})`,
      (map) => {
        for (const key of keys) map.remove(key);
      },
      { ...opts, setup: filledFixed },
    ),
  );
  if (sink < 0) console.log(sink);
  return rows;
}

export async function run() {
  for (const kind of ['lsn', 'u128']) {
    for (const fill of [0.5, 1]) {
      const rows = await mapRows(kind, fill);
      const baseline = {};
      for (const row of rows) {
        if (row.name.startsWith('FixedMap.insert'))
          baseline[row.name] = row.name.replace('FixedMap.insert', 'Map.set');
        if (row.name.startsWith('FixedMap.get'))
          baseline[row.name] = row.name.replace('FixedMap.get', 'Map.get');
        if (row.name.startsWith('FixedMap.remove'))
          baseline[row.name] = row.name.replace('FixedMap.remove', 'Map.delete');
      }
      printTable(
        `FixedMap vs Map: ${kind} keys at ${Math.round(fill * 100)}% of capacity ${CAPACITY} (ops/s)`,
        rows,
        baseline,
      );
    }
  }

  const crcRows = [];
  for (const size of [64, 4096, 1 << 20]) {
    const bytes = new Uint8Array(size).map((_, i) => (i * 131) & 0xff);
    const repeat = Math.max(1, Math.floor(((QUICK ? 4 : 64) * 2 ** 20) / size));
    const ops = repeat * size;
    crcRows.push(
      await measure(
        `zlib.crc32 (IEEE, native), ${size} B`,
        () => {
          for (let i = 0; i < repeat; i++) zlib.crc32(bytes);
        },
        { ops, runs: RUNS },
      ),
      await measure(
        `crc32c (JS, slicing-by-8), ${size} B`,
        () => {
          for (let i = 0; i < repeat; i++) crc32c(bytes);
        },
        { ops, runs: RUNS },
      ),
    );
  }
  const baseline = {};
  for (const row of crcRows)
    if (row.name.startsWith('crc32c'))
      baseline[row.name] = row.name.replace(
        'crc32c (JS, slicing-by-8)',
        'zlib.crc32 (IEEE, native)',
      );
  printTable('CRC32C throughput (bytes/s)', crcRows, baseline);
}
