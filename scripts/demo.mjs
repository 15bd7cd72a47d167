// The README's main job. Today: the runtime substrate of allocdb-core. It writes WAL frames to a
// log, tears the last write as a crash would, and shows recovery cutting exactly the torn tail.
// (This becomes a demo of the durable engines and the seam report as they land.)
import { mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalFile } from '../packages/allocdb-core/dist/runtime/wal-file.js';

const dir = mkdtempSync(join(tmpdir(), 'engine-family-demo-'));
const path = join(dir, 'wal');
const options = { maxPayloadBytes: 64 * 1024 };
const text = (s) => new TextEncoder().encode(s);

try {
  const wal = WalFile.open(path, options);
  const frames = ['create_resource 11', 'reserve 11 for holder 1', 'confirm 11'].map(
    (payload, i) => ({
      recordType: 1,
      lsn: BigInt(i + 1),
      requestSlot: BigInt(10 + i),
      payload: text(payload),
    }),
  );
  wal.appendSync(frames);
  wal.syncSync();
  console.log(`wrote ${frames.length} frames (${wal.length} bytes) to ${path}`);
  wal.close();

  const intact = readFileSync(path).length;
  truncateSync(path, intact - 7);
  console.log(
    `simulated a crash: the last write lost its final 7 bytes (${intact - 7} bytes on disk)`,
  );

  const reopened = WalFile.open(path, options);
  const recovered = [];
  const scan = reopened.scan((frame) => recovered.push(frame));
  console.log(
    `scan: ${scan.frameCount} whole frames, then ${scan.stop.kind} at offset ${scan.stop.offset}`,
  );
  const cut = reopened.truncateTornTail(scan);
  console.log(`recovery cut ${cut} torn bytes; the log now ends at byte ${reopened.length}`);
  for (const frame of recovered) {
    console.log(
      `  lsn ${frame.lsn} slot ${frame.requestSlot}: ${new TextDecoder().decode(frame.payload)}`,
    );
  }
  reopened.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
