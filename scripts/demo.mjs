// The README's main job: both durable engines surviving a crash, then the seam report of this
// repository in one paragraph.
//
// A child process opens an allocdb-core engine and a quota-core engine in a temporary directory:
// it creates seats and lets two holders contend for one, creates a quota bucket and debits it.
// It is killed with SIGKILL right after its last acknowledged command. The parent then reopens
// both directories: recovery replays the logs, the winner still holds the seat, the debit is
// still there, and a retry of an acknowledged operation (the same operation id) returns its
// original answer instead of executing twice. Finally the seam report of this repository, in one
// paragraph built from seam-report's JSON output (scripts/seam-paragraph.mjs).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AllocDbEngine, resolveConfig } from '../packages/allocdb-core/dist/index.js';
import {
  QuotaEngine,
  resolveConfig as resolveQuotaConfig,
} from '../packages/quota-core/dist/index.js';
import { seamParagraph } from './seam-paragraph.mjs';

const root = join(import.meta.dirname, '..');
const allocConfig = resolveConfig({
  maxResources: 64,
  maxReservations: 64,
  maxOperations: 1_024,
  maxExpirationBucketLen: 64,
});
const quotaConfig = resolveQuotaConfig({ maxBuckets: 64, maxOperations: 1_024 });
const request = (operationId, clientId, command) => ({ operationId, clientId, command });
const aliceReserve = request(101n, 1n, {
  kind: 'reserve',
  resourceId: 1n,
  holderId: 1n,
  ttlSlots: 60n,
});
// An API key's quota: bucket 7 holds 10 units and does not refill (rate 0), so that the balance
// only moves when a debit runs. The debit carries operation id 301.
const BUCKET = 7n;
const debitThree = request(301n, 3n, { kind: 'debit', bucketId: BUCKET, amount: 3n });

async function child(dir) {
  const seats = await AllocDbEngine.open({ dir: join(dir, 'allocdb'), config: allocConfig });
  for (const seat of [1n, 2n, 3n]) {
    await seats.submit(request(seat, 9n, { kind: 'create_resource', resourceId: seat }));
  }
  const [alice, bob] = await Promise.all([
    seats.submit(aliceReserve),
    seats.submit(
      request(201n, 2n, { kind: 'reserve', resourceId: 1n, holderId: 2n, ttlSlots: 60n }),
    ),
  ]);
  const { reservationId, leaseEpoch } = alice.outcome;
  await seats.submit(
    request(102n, 1n, { kind: 'confirm', reservationId, holderId: 1n, leaseEpoch }),
  );
  const bobElsewhere = await seats.submit(
    request(202n, 2n, { kind: 'reserve', resourceId: 2n, holderId: 2n, ttlSlots: 60n }),
  );

  const quota = await QuotaEngine.open({ dir: join(dir, 'quota'), config: quotaConfig });
  const created = await quota.submit(
    request(300n, 3n, {
      kind: 'create_bucket',
      bucketId: BUCKET,
      limit: 10n,
      initialBalance: 10n,
      refillRatePerSlot: 0n,
    }),
  );
  const debited = await quota.submit(debitThree);
  process.send({
    alice: alice.outcome.resultCode,
    bob: bob.outcome.resultCode,
    bobElsewhere: bobElsewhere.outcome.resultCode,
    bucket: created.outcome.resultCode,
    debit: debited.outcome.resultCode,
    balance: String(quota.getBucket(BUCKET).balance),
  });
  await new Promise(() => {}); // wait to be killed, without closing either engine
}

async function parent() {
  const dir = mkdtempSync(join(tmpdir(), 'engine-demo-'));
  try {
    console.log(
      'A child process runs both engines on a temporary data directory (removed at the end)',
    );
    console.log('and is killed with SIGKILL right after its last acknowledged command.\n');
    const worker = spawn(process.execPath, [import.meta.filename, dir], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const acknowledged = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('exit', (code) => reject(new Error(`the child process exited (${code})`)));
    });
    console.log('child process, acknowledged:');
    console.log(`  allocdb-core  alice reserves seat 1 → ${acknowledged.alice}`);
    console.log(`  allocdb-core  bob reserves seat 1   → ${acknowledged.bob}`);
    console.log(
      `  allocdb-core  alice confirms; bob reserves seat 2 → ${acknowledged.bobElsewhere}`,
    );
    console.log(`  quota-core    bucket ${BUCKET}: 10 units, no refill → ${acknowledged.bucket}`);
    console.log(
      `  quota-core    debit 3 units (operation ${debitThree.operationId}) → ${acknowledged.debit}, balance ${acknowledged.balance}`,
    );
    worker.removeAllListeners('exit');
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
    console.log('child process killed with SIGKILL (no close, no checkpoint)\n');

    const seats = await AllocDbEngine.open({ dir: join(dir, 'allocdb'), config: allocConfig });
    console.log(`allocdb-core reopened: ${recovered(seats.recoveryStatus)}`);
    for (const seat of [1n, 2n, 3n]) {
      const record = seats.getResource(seat);
      console.log(
        `  seat ${seat}: ${record.state}${record.currentReservationId ? ` (reservation ${record.currentReservationId})` : ''}`,
      );
    }
    const retry = await seats.submit(aliceReserve);
    console.log(
      `  alice retries her reserve → ${retry.outcome.resultCode}, fromRetryCache=${retry.fromRetryCache}, lsn ${retry.lsn} (the original answer)`,
    );

    const quota = await QuotaEngine.open({ dir: join(dir, 'quota'), config: quotaConfig });
    console.log(`quota-core reopened: ${recovered(quota.recoveryStatus)}`);
    const balance = quota.getBucket(BUCKET).balance;
    console.log(
      `  bucket ${BUCKET}: balance ${balance} (the acknowledged debit survived the crash)`,
    );
    const again = await quota.submit(debitThree);
    const after = quota.getBucket(BUCKET).balance;
    console.log(
      `  the client retries its debit (operation ${debitThree.operationId}) → ${again.outcome.resultCode}, fromRetryCache=${again.fromRetryCache}; balance ${after} (${after === balance ? 'not debited twice' : 'DEBITED TWICE'})`,
    );

    for (const engine of [seats, quota]) {
      await engine.checkpoint();
      await engine.close();
    }
    console.log('both engines checkpointed and closed cleanly');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function recovered(status) {
  return `${status.startupKind}, replayed ${status.replayedFrames} frames up to lsn ${status.lastReplayedLsn}`;
}

/** Word-wraps a paragraph at 100 columns, keeping a `quoted command` on one line. */
function wrap(text, width = 100) {
  const lines = [];
  let line = '';
  const words = text.replace(/`[^`]*`/g, (code) => code.replaceAll(' ', '\u00a0')).split(' ');
  for (const word of words.map((w) => w.replaceAll('\u00a0', ' '))) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line].join('\n');
}

function seamReport() {
  const result = spawnSync(
    process.execPath,
    [join(root, 'packages/seam-report/dist/bin.js'), '--format', 'json', '--quiet', root],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (result.status !== 0) {
    throw new Error(`seam-report exited ${result.status}: ${result.stderr.trim()}`);
  }
  console.log(`\n${wrap(`Seam report: ${seamParagraph(JSON.parse(result.stdout))}`)}`);
}

if (process.argv[2] === undefined) {
  await parent();
  seamReport();
} else {
  await child(process.argv[2]);
}
