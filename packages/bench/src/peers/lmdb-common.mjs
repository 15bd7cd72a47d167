// What the LMDB peers share: loading lmdb (lmdb-js) and opening an environment with the
// benchmark's durability, plus fixed-width big-endian encodings of the engines' u64 and u128
// values (LMDB orders keys by their bytes, so big-endian keys sort as the numbers do).
//
// lmdb is an optional dependency of this package, like better-sqlite3: a native addon shipped as
// prebuilt binaries in per-platform packages. It is loaded here, once, and `lmdb.available`
// says whether it works; the suites leave the LMDB rows out when it does not, and run.mjs says
// why (or fails, with --require-peers).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function loadLmdb() {
  try {
    const module = await import('lmdb');
    // Open and close a scratch environment: the addon loads lazily.
    const dir = mkdtempSync(join(tmpdir(), 'lmdb-probe-'));
    try {
      const env = module.open({ path: dir, noSync: true });
      env.transactionSync(() => env.putSync('probe', 1));
      await env.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // lmdb's exports do not include package.json: read it beside the resolved entry point.
    const { readFileSync } = await import('node:fs');
    const entry = new URL(import.meta.resolve('lmdb'));
    let version;
    for (let dir = new URL('.', entry); version === undefined; dir = new URL('..', dir)) {
      try {
        const manifest = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'));
        if (manifest.name === 'lmdb') version = manifest.version;
      } catch {
        if (dir.pathname === '/') break;
      }
    }
    return { available: true, open: module.open, version, reason: undefined };
  } catch (error) {
    const message = String(error?.message ?? error)
      .replace(/\s+/g, ' ')
      .trim();
    const reason = message.length > 200 ? `${message.slice(0, 199)}…` : message;
    return { available: false, open: undefined, version: undefined, reason };
  }
}

/** lmdb (lmdb-js), if it loads here: `{ available, open, version, reason }`. */
export const lmdb = await loadLmdb();

/**
 * Opens an LMDB environment for a peer in `dir` (created if missing).
 * - durable: every `transactionSync` commit flushes to disk before it returns (`noSync: false`,
 *   `overlappingSync: false`: LMDB's own synchronous commit), the engines' durability;
 * - not durable (the equivalence checks): `noSync: true`.
 * Values and keys are raw bytes (the peers encode them), with no compression and no cache.
 */
export function openEnvironment(dir, { durable }) {
  if (!lmdb.available) {
    throw new Error(`the LMDB peer is not available: lmdb did not load (${lmdb.reason})`);
  }
  return lmdb.open({
    path: dir,
    noSync: !durable,
    overlappingSync: false,
    compression: false,
    cache: false,
    // Room for the largest benchmark tables; the file grows as needed up to this.
    mapSize: 8 * 1024 * 1024 * 1024,
  });
}

/** A binary sub-database of `env`. */
export function binaryStore(env, name) {
  return env.openDB(name, { encoding: 'binary', keyEncoding: 'binary', cache: false });
}

const LOW_64 = (1n << 64n) - 1n;

/** u128 → 16 bytes, big-endian (ordered). */
export function key128(value) {
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeBigUInt64BE(value >> 64n, 0);
  bytes.writeBigUInt64BE(value & LOW_64, 8);
  return bytes;
}
export const read128 = (bytes, at = 0) =>
  (bytes.readBigUInt64BE(at) << 64n) | bytes.readBigUInt64BE(at + 8);

/** A temporary environment directory for a non-durable peer (the equivalence checks). */
export function scratchDir() {
  return mkdtempSync(join(tmpdir(), 'lmdb-peer-'));
}
