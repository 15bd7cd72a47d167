/**
 * Regressions: behaviour of the engines that these suites once flagged as findings, now fixed,
 * each kept as a test of the behaviour that must hold (docs/testing.md, "Findings"):
 *
 * 1. a request refused as `overloaded` left its operation id "in flight", so every later
 *    submission of it was refused too until the engine was reopened;
 * 2. recovery served frames that had only reached the page cache (answering retries from them)
 *    without making them durable first, so a power loss could undo a "committed" answer;
 * 3. a small final frame torn at a 512-byte sector boundary was refused as corruption instead of
 *    being cut as a torn tail.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_NAMES, loadAdapter } from '../src/adapters.js';
import { MemoryFs } from '../src/memory-fs.js';
import { Rng } from '../src/random.js';
import { recordHistory } from '../src/sweep/history.js';
import { recoverFrom } from '../src/sweep/recover.js';
import { tempDir } from './support.js';

describe('regressions', () => {
  for (const name of ENGINE_NAMES) {
    it(`${name}: a request refused as overloaded can be retried later with the same operation id`, async () => {
      const adapter = await loadAdapter(name, 'small');
      const temp = tempDir('finding-overloaded');
      const engine = await adapter.open({
        dir: temp.path,
        clock: () => 1n,
        engine: { maxSubmissionQueue: 1 },
      });
      const rng = new Rng(3);
      const workload = adapter.createWorkload(rng, 1);
      const first = workload.next({ rng, client: 0, operationId: 1n });
      const second = workload.next({ rng, client: 0, operationId: 2n });
      // Two at once with room for one: the second is refused, definitely (never written).
      const [a, b] = await Promise.allSettled([engine.submit(first), engine.submit(second)]);
      expect(a.status).toBe('fulfilled');
      expect(b).toMatchObject({
        status: 'rejected',
        reason: { code: 'overloaded', definite: true },
      });
      // The queue is empty again; the retry the error message asks for goes through.
      const retry = await engine.submit(second).catch((error: { code?: string }) => error);
      expect((retry as { code?: string }).code).toBeUndefined();
      await engine.close();
      temp.remove();
    });

    it(`${name}: an operation answered from the retry cache after recovery survives a power loss (recovery does not sync what it replays)`, async () => {
      const adapter = await loadAdapter(name, 'small');
      const temp = tempDir('finding-sync');
      const fs = new MemoryFs(temp.path);
      const open = () => adapter.open({ dir: temp.path, fileSystem: fs, clock: () => 1n });
      const rng = new Rng(11);
      const workload = adapter.createWorkload(rng, 1);
      let engine = await open();
      for (let i = 1n; i <= 3n; i++)
        await engine.submit(workload.next({ rng, client: 0, operationId: i }));
      const victim = workload.next({ rng, client: 0, operationId: 99n });

      // The write reaches the page cache, the fsync fails: an indefinite outcome.
      fs.failNext({ kind: 'sync', file: (n) => n === 'wal' });
      await expect(engine.submit(victim)).rejects.toMatchObject({
        code: 'storage_failure',
        definite: false,
      });
      // The engine is reopened (the machine stays up, its page cache too). Recovery replays the
      // unsynced frame, and the retry is answered from the cache: the client is told it committed.
      engine.crash();
      engine = await open();
      const answer = await engine.submit(victim);
      expect(answer.fromRetryCache).toBe(true);

      // Power loss before anything else is fsynced.
      engine.crash();
      fs.crash(rng, 'drop_unsynced');
      engine = await open();
      const again = await engine.submit(victim);
      // The acknowledged operation is still there: recovery made it durable before serving it.
      expect(again.fromRetryCache).toBe(true);
      expect(again.lsn).toBe(answer.lsn);
      await engine.close();
      temp.remove();
    });

    it(`${name}: a final write torn at a sector boundary, whose later bytes read back as zeros, is cut as a torn tail`, async () => {
      const adapter = await loadAdapter(name, 'sweep');
      const temp = tempDir('finding-sector');
      // A history whose log has a frame with its header before a 512-byte boundary and the rest
      // of its bytes after it.
      let found: { wal: Uint8Array; lsn: bigint; boundary: number; end: number } | undefined;
      for (let seed = 1; found === undefined && seed < 50; seed++) {
        const history = await recordHistory(adapter, join(temp.path, `h${seed}`), new Rng(seed), {
          commands: 30,
          checkpointsAfter: [],
        });
        for (const frame of history.frames) {
          const boundary = Math.ceil((frame.offset + 33) / 512) * 512;
          if (boundary < frame.end) {
            found = {
              wal: history.wal.subarray(0, frame.end),
              lsn: frame.lsn,
              boundary,
              end: frame.end,
            };
            break;
          }
        }
      }
      expect(found).toBeDefined();
      const { wal, lsn, boundary } = found!;
      // The frame was the last write: its first sector reached the disk, the next did not (the
      // file's size did, so that part reads back as zeros). Nothing in it was acknowledged.
      const torn = new Uint8Array(wal);
      torn.fill(0, boundary);
      const report = await recoverFrom(adapter, join(temp.path, 'case'), {
        wal: torn,
        snapshot: undefined,
      });
      // Recovery cuts the torn frame and keeps the ones before it.
      expect(report.ok ? undefined : String((report as { error: unknown }).error)).toBeUndefined();
      expect(report.ok && report.lsn).toBe(lsn - 1n);
      temp.remove();
    });
  }
});
