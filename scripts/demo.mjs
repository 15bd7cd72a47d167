// The README's main job: a durable allocdb-core engine surviving a crash, then the seam report
// of this repository.
//
// A child process opens a data directory, creates seats, lets two holders contend for one, and is
// killed with SIGKILL right after its last acknowledged command. The parent then reopens the
// directory: recovery replays the log, the winner still holds the seat, and a retry of an
// acknowledged operation returns its original answer instead of executing twice. Finally
// seam-report compares the runtime copies of the engines and says whether to extract them.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AllocDbEngine, resolveConfig } from '../packages/allocdb-core/dist/index.js';
import { analyze } from '../packages/seam-report/dist/index.js';

const config = resolveConfig({
  maxResources: 64,
  maxReservations: 64,
  maxOperations: 1_024,
  maxExpirationBucketLen: 64,
});
const request = (operationId, clientId, command) => ({ operationId, clientId, command });
const aliceReserve = request(101n, 1n, {
  kind: 'reserve',
  resourceId: 1n,
  holderId: 1n,
  ttlSlots: 60n,
});

async function child(dir) {
  const engine = await AllocDbEngine.open({ dir, config });
  for (const seat of [1n, 2n, 3n]) {
    await engine.submit(request(seat, 9n, { kind: 'create_resource', resourceId: seat }));
  }
  const [alice, bob] = await Promise.all([
    engine.submit(aliceReserve),
    engine.submit(
      request(201n, 2n, { kind: 'reserve', resourceId: 1n, holderId: 2n, ttlSlots: 60n }),
    ),
  ]);
  const { reservationId, leaseEpoch } = alice.outcome;
  await engine.submit(
    request(102n, 1n, { kind: 'confirm', reservationId, holderId: 1n, leaseEpoch }),
  );
  const bobElsewhere = await engine.submit(
    request(202n, 2n, { kind: 'reserve', resourceId: 2n, holderId: 2n, ttlSlots: 60n }),
  );
  process.send({
    alice: alice.outcome.resultCode,
    bob: bob.outcome.resultCode,
    bobElsewhere: bobElsewhere.outcome.resultCode,
  });
  await new Promise(() => {}); // wait to be killed, without closing the engine
}

async function parent() {
  const dir = mkdtempSync(join(tmpdir(), 'allocdb-demo-'));
  try {
    console.log(`data directory: ${dir}\n`);
    const worker = spawn(process.execPath, [import.meta.filename, dir], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const acknowledged = await new Promise((resolve) => worker.once('message', resolve));
    console.log('child process, acknowledged:');
    console.log(`  alice reserves seat 1 → ${acknowledged.alice}`);
    console.log(`  bob reserves seat 1   → ${acknowledged.bob}`);
    console.log(`  alice confirms; bob reserves seat 2 → ${acknowledged.bobElsewhere}`);
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
    console.log('child process killed with SIGKILL (no close, no checkpoint)\n');

    const engine = await AllocDbEngine.open({ dir, config });
    const status = engine.recoveryStatus;
    console.log(
      `reopened: ${status.startupKind}, replayed ${status.replayedFrames} frames up to lsn ${status.lastReplayedLsn}`,
    );
    for (const seat of [1n, 2n, 3n]) {
      const record = engine.getResource(seat);
      console.log(
        `  seat ${seat}: ${record.state}${record.currentReservationId ? ` (reservation ${record.currentReservationId})` : ''}`,
      );
    }
    const retry = await engine.submit(aliceReserve);
    console.log(
      `alice retries her reserve → ${retry.outcome.resultCode}, fromRetryCache=${retry.fromRetryCache}, lsn ${retry.lsn}`,
    );
    await engine.checkpoint();
    await engine.close();
    console.log('checkpointed and closed cleanly');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function seamReport() {
  const report = await analyze({ root: join(import.meta.dirname, '..') });
  console.log('\nseam report of this repository:');
  console.log(`  ${report.decision.summary}`);
  for (const seam of report.seams) {
    const { classification, similarity } = seam.comparison;
    console.log(
      `  ${seam.name.padEnd(18)} ${String(seam.copies.length).padStart(2)} copies  ${classification.padEnd(10)} ${similarity.toFixed(3)}  ${seam.verdict.verdict}`,
    );
  }
  console.log(
    '  (full report: pnpm seam-report; as HTML: pnpm seam-report --format html -o seams.html)',
  );
}

if (process.argv[2] === undefined) {
  await parent();
  await seamReport();
} else {
  await child(process.argv[2]);
}
