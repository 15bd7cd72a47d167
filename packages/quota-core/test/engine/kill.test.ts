/**
 * Crash with real processes: a child process (crash-child.mjs, running the built package) debits
 * one bucket from many concurrent clients and is killed with SIGKILL at a random moment, several
 * times over the same directory. After each kill the directory is reopened and checked: every
 * acknowledged debit is present with its LSN, every debit that was sent is present at most once,
 * and the balance is exactly the initial one minus the debits present. Retrying every sent debit
 * then debits only the ones that were lost, once.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { QuotaEngine } from '../../src/engine/engine.js';
import { useTempDirs } from '../support/temp-dir.js';
import { runs } from '../support/thorough.js';

const tempDir = useTempDirs();
const CHILD = fileURLToPath(new URL('./crash-child.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const CONFIG = { maxBuckets: 2, maxOperations: 200_000, maxClientRetryWindowSlots: 1_000_000n };
const INITIAL = 10n ** 12n;

interface ChildRun {
  readonly sent: Map<bigint, bigint>;
  readonly acked: Map<bigint, bigint>;
}

/** Runs the child until it has acknowledged `killAfterAcks` debits, then SIGKILLs it. */
function runAndKill(dir: string, first: bigint, killAfterAcks: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(first), '16'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sent = new Map<bigint, bigint>();
    const acked = new Map<bigint, bigint>();
    let buffered = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [kind, op, value] = line.split(' ');
        if (kind === 'sent') sent.set(BigInt(op!), BigInt(value!));
        if (kind === 'ack') acked.set(BigInt(op!), BigInt(value!));
      }
      if (!killed && acked.size >= killAfterAcks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve({ sent, acked });
      else reject(new Error(`the child exited without being killed: ${stderr}`));
    });
  });
}

describe('crash with real processes (SIGKILL)', () => {
  it('never loses an acknowledged debit nor applies one twice', async () => {
    expect(existsSync(BUILT), 'build the package first (pnpm --filter quota-core build)').toBe(
      true,
    );
    const dir = tempDir();
    const sent = new Map<bigint, bigint>();
    const acked = new Map<bigint, bigint>();
    let first = 1000n;
    let unacknowledgedAtKill = 0;
    const kills = runs(4, 40);
    for (let round = 0; round < kills; round++) {
      const run = await runAndKill(dir, first, 50 + ((round * 211) % 400));
      for (const [op, amount] of run.sent) sent.set(op, amount);
      for (const [op, lsn] of run.acked) acked.set(op, lsn);
      unacknowledgedAtKill += run.sent.size - run.acked.size;
      first += BigInt(run.sent.size) + 1000n;

      const engine = await QuotaEngine.open({ dir, config: CONFIG, clock: () => 1n });
      let paid = 0n;
      for (const [op, amount] of sent) {
        const record = engine.getOperation(op);
        if (acked.has(op)) {
          expect(record, `acknowledged debit ${op} was lost`).toBeDefined();
          expect(record!.appliedLsn).toBe(acked.get(op));
        }
        if (record !== undefined) paid += amount;
      }
      expect(engine.getBucket(1n)?.balance).toBe(INITIAL - paid);
      // Retry everything sent: the lost debits run once now, the rest answer from the cache.
      for (const [op, amount] of sent) {
        const present = engine.getOperation(op) !== undefined;
        const retry = await engine.submit({
          operationId: op,
          clientId: 99n,
          command: { kind: 'debit', bucketId: 1n, amount },
        });
        expect(retry.fromRetryCache).toBe(present);
        if (!present) paid += amount;
        acked.set(op, retry.lsn);
      }
      expect(engine.getBucket(1n)?.balance).toBe(INITIAL - paid);
      await engine.close();
    }
    expect(acked.size).toBeGreaterThan(kills * 50);
    // The kills landed with debits in flight (each client always has one outstanding).
    expect(unacknowledgedAtKill).toBeGreaterThan(0);
  }, 120_000);
});
