/**
 * Deterministic simulation over the real engine. One seed drives everything: several simulated
 * clients submitting (without waiting, so requests pile into group-commit batches), microtask
 * yields that let a flush stop half way, slot advances, expiration ticks, checkpoints, injected
 * write and fsync failures (on the log, the snapshot and the log rewrite), crashes at the
 * engine's named fault points, power losses that drop or tear unsynced bytes, clean restarts,
 * and retries of every indefinite outcome with its original operation id.
 *
 * The engine runs on `MemoryFs` through its file-system seam, whose operations all complete in
 * microtasks, and on a logical clock: the same seed gives the same transcript, byte for byte.
 *
 * After every step the driver checks: the engine halted only after an injected failure;
 * recovery never fails; nothing the engine applied is lost; the reference model, fed the frames
 * the engine handed to the log up to the engine's LSN, has exactly the engine's state; every
 * acknowledgement agrees with the model (executed at its LSN, or answered from the retry cache
 * with the original LSN and outcome while inside the window); the domain checks hold.
 */
import type {
  EngineAdapter,
  EngineHandle,
  FaultPoint,
  Model,
  SubmitResult,
  Workload,
} from '../adapter.js';
import { canon, firstDifference, toHex } from '../canon.js';
import { type CrashMode, MemoryFs } from '../memory-fs.js';
import { Rng } from '../random.js';
import { crc32c } from '../sweep/oracle.js';

export interface SimOptions {
  readonly adapter: EngineAdapter;
  readonly seed: number;
  readonly steps: number;
  readonly clients: number;
  /** A real directory for the engine's lock file (the data files live in memory). */
  readonly dir: string;
  /** Power-loss models to draw from. */
  readonly crashModes: readonly CrashMode[];
}

export interface SimFigures {
  steps: number;
  submissions: number;
  /** Of the submissions, those made in groups through `submitBatch`, and the groups. */
  groupedSubmissions: number;
  groups: number;
  acknowledged: number;
  answeredFromCache: number;
  indefinite: number;
  indefiniteRetried: number;
  retriedFoundDurable: number;
  retriedExecuted: number;
  injectedWriteFailures: number;
  injectedSyncFailures: number;
  faultCrashes: number;
  powerLosses: number;
  cleanRestarts: number;
  recoveries: number;
  tornBytesCut: number;
  checkpoints: number;
  ticks: number;
  stateChecks: number;
}

export class SimulationFailure extends Error {}

interface Frame {
  readonly recordType: number;
  readonly lsn: bigint;
  readonly requestSlot: bigint;
  readonly payload: Uint8Array;
}

interface Client {
  readonly index: number;
  nextOp: bigint;
  /** Requests whose outcome is indefinite: retried later with the same operation id. */
  readonly indefinite: Map<bigint, unknown>;
  /** Acknowledged requests (for retries that must come from the cache). */
  readonly acked: unknown[];
}

interface Settled {
  readonly client: number;
  readonly request: unknown;
  readonly retry: boolean;
  readonly result?: SubmitResult;
  readonly error?: { code?: string; definite?: boolean; message?: string };
}

interface Logged {
  readonly payload: string;
  readonly operationId: bigint | undefined;
  readonly commandKey: string | undefined;
  readonly outcome: string;
  readonly disposition: string;
  readonly slot: bigint;
}

const FAULT_POINTS: readonly FaultPoint[] = [
  'before_append',
  'after_append',
  'after_sync',
  'after_apply',
  'after_snapshot_write',
  'after_wal_rewrite',
  'during_replay',
];

export class Simulation {
  private readonly adapter: EngineAdapter;
  private readonly rng: Rng;
  private readonly options: SimOptions;
  private readonly fs: MemoryFs;
  private readonly model: Model;
  private readonly clients: Client[];
  readonly transcript: string[] = [];
  readonly figures: SimFigures = {
    steps: 0,
    submissions: 0,
    groupedSubmissions: 0,
    groups: 0,
    acknowledged: 0,
    answeredFromCache: 0,
    indefinite: 0,
    indefiniteRetried: 0,
    retriedFoundDurable: 0,
    retriedExecuted: 0,
    injectedWriteFailures: 0,
    injectedSyncFailures: 0,
    faultCrashes: 0,
    powerLosses: 0,
    cleanRestarts: 0,
    recoveries: 0,
    tornBytesCut: 0,
    checkpoints: 0,
    ticks: 0,
    stateChecks: 0,
  };
  private engine: EngineHandle | undefined;
  private slot = 1n;
  private step = 0;
  /** Frames handed to the log by the current engine incarnation, by LSN. */
  private journal = new Map<bigint, Frame>();
  /** What the model answered at every LSN it applied. */
  private readonly logged = new Map<bigint, Logged>();
  private inflight = new Set<Promise<unknown>>();
  private settled: Settled[] = [];
  /** A failure was injected (or a fault armed): the engine may halt. */
  private armedFault: FaultPoint | undefined;
  private mayHalt = false;
  private readonly workload: Workload;

  constructor(options: SimOptions) {
    this.options = options;
    this.adapter = options.adapter;
    this.rng = new Rng(options.seed);
    this.fs = new MemoryFs(options.dir);
    this.fs.onWrite = ({ name, bytes }) => {
      if (name !== 'wal') return;
      for (const frame of this.adapter.scanLog(bytes).frames) {
        if (frame.recordType !== 3)
          this.journal.set(frame.lsn, { ...frame, payload: new Uint8Array(frame.payload) });
      }
    };
    this.model = this.adapter.createModel();
    this.clients = Array.from({ length: options.clients }, (_, index) => ({
      index,
      nextOp: 1n,
      indefinite: new Map(),
      acked: [],
    }));
    this.workload = this.adapter.createWorkload(this.rng.fork(5), options.clients);
  }

  private log(line: string): void {
    this.transcript.push(`${this.step}: ${line}`);
  }

  private fail(message: string): never {
    throw new SimulationFailure(
      `${this.adapter.name} simulation, seed ${this.options.seed}, step ${this.step}: ${message}\n` +
        `replay: SIM_SEED=${this.options.seed} pnpm exec vitest run --project reliability test/simulation.test.ts\n` +
        `last transcript lines:\n  ${this.transcript.slice(-25).join('\n  ')}`,
    );
  }

  /**
   * The engine's fault hooks. A fault is the process dying at that point: the engine is stopped
   * as a killed process would be (nothing more reaches the files) before the hook throws, so
   * the code that unwinds after it cannot keep running on a half-finished step.
   */
  private readonly faults = {
    at: (point: FaultPoint) => {
      if (this.armedFault === point) {
        this.armedFault = undefined;
        this.figures.faultCrashes++;
        this.log(`  fault: crash at ${point}`);
        if (point !== 'during_replay') this.engine?.crash();
        throw new Error(`simulated crash at ${point}`);
      }
    },
  };

  async run(): Promise<SimFigures> {
    await this.open('start');
    for (this.step = 1; this.step <= this.options.steps; this.step++) {
      this.figures.steps++;
      await this.act();
      await this.check();
    }
    await this.settleAll();
    await this.check();
    // Every indefinite request is finally retried until it has an answer.
    this.fs.clearFailures();
    this.armedFault = undefined;
    this.mayHalt = false;
    for (let round = 0; round < 3 && this.clients.some((c) => c.indefinite.size > 0); round++) {
      this.step++;
      this.log('final retries');
      // In chunks that fit the submission queue.
      const pending = this.clients.flatMap((c) =>
        [...c.indefinite.values()].map((r) => [c, r] as const),
      );
      for (let at = 0; at < pending.length; at += 16) {
        for (const [client, request] of pending.slice(at, at + 16))
          this.submit(client, request, true);
        await this.settleAll();
      }
      await this.check();
    }
    const left = this.clients.reduce((n, c) => n + c.indefinite.size, 0);
    if (left > 0) this.fail(`${left} indefinite outcomes never resolved`);
    if (this.engine !== undefined) await this.engine.close();
    return this.figures;
  }

  // -------------------------------------------------------------------------------------------
  // Opening and recovery

  private async open(reason: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.engine = await this.adapter.open({
          dir: this.options.dir,
          fileSystem: this.fs,
          faults: this.faults,
          clock: () => this.slot,
          engine: { maxBatch: 8, maxSubmissionQueue: 64 },
        });
        break;
      } catch (error) {
        if (
          String((error as Error).message).includes('simulated crash at during_replay') &&
          attempt === 0
        ) {
          this.log('  open: crashed during replay; opening again');
          continue;
        }
        const files = this.fs
          .names()
          .map(
            (name) =>
              `${name} ${this.fs.read(name)?.length} bytes: ${toHex(this.fs.read(name)!.subarray(0, 40))}…`,
          );
        this.fail(
          `recovery failed (${reason}): ${(error as Error).stack}\nfiles: ${files.join('; ')}`,
        );
      }
    }
    const engine = this.engine;
    const status = engine.recoveryStatus;
    const lsn = engine.lastAppliedLsn;
    this.figures.recoveries++;
    this.figures.tornBytesCut += status.tornTailBytesTruncated;
    this.log(
      `  open (${reason}): lsn ${lsn}, ${status.startupKind}, snapshot ${status.loadedSnapshotLsn ?? '-'}, replayed ${status.replayedFrames}, torn ${status.tornTailBytesTruncated}`,
    );
    if (lsn < this.model.lastAppliedLsn) {
      this.fail(
        `recovered LSN ${lsn} is below ${this.model.lastAppliedLsn}, which the engine had applied (and acknowledged)`,
      );
    }
    this.syncModel(lsn);
    this.journal = new Map();
    if (this.engine.lastRequestSlot > this.slot) this.slot = this.engine.lastRequestSlot;
  }

  /** Feeds the model the journaled frames up to `lsn`. */
  private syncModel(lsn: bigint): void {
    for (let next = this.model.lastAppliedLsn + 1n; next <= lsn; next++) {
      const frame = this.journal.get(next);
      if (frame === undefined)
        this.fail(`the engine has LSN ${next}, which it never handed to the log`);
      const logged = this.adapter.decodeLogged(frame.recordType, frame.payload);
      const answer = this.model.apply(logged, frame.lsn, frame.requestSlot);
      const request = logged.kind === 'client' ? logged.request : undefined;
      this.logged.set(next, {
        payload: toHex(frame.payload),
        operationId: request === undefined ? undefined : this.adapter.operationIdOf(request),
        commandKey: request === undefined ? undefined : this.adapter.commandKeyOf(request),
        outcome: canon(answer.outcome),
        disposition: answer.disposition,
        slot: frame.requestSlot,
      });
    }
  }

  /** Power loss (or a killed process): drop the engine, let the file system lose what it may. */
  private async powerLoss(why: string): Promise<void> {
    this.engine?.crash();
    this.engine = undefined;
    await this.settleAll();
    const mode = this.rng.pick(this.options.crashModes);
    const survived = this.fs.crash(this.rng, mode);
    this.fs.clearFailures();
    this.mayHalt = this.armedFault !== undefined;
    this.figures.powerLosses++;
    this.log(`  power loss (${why}, ${mode}): ${survived}`);
    await this.open('after power loss');
  }

  private async cleanRestart(why: string): Promise<void> {
    const engine = this.engine!;
    this.engine = undefined;
    await engine.close();
    await this.settleAll();
    this.fs.clearFailures();
    this.mayHalt = this.armedFault !== undefined;
    this.figures.cleanRestarts++;
    this.log(`  clean restart (${why})`);
    await this.open('after clean restart');
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  private track(promise: Promise<unknown>): void {
    const tracked = promise.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  private async settleAll(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private submit(client: Client, request: unknown, retry: boolean): void {
    const engine = this.engine;
    if (engine === undefined) return;
    this.figures.submissions++;
    if (retry) this.figures.indefiniteRetried++;
    const id = this.adapter.operationIdOf(request);
    this.log(
      `  c${client.index} ${retry ? 'retries' : 'submits'} op ${id}: ${this.adapter.describe(request)}`,
    );
    this.track(
      engine.submit(request).then(
        (result) => {
          this.settled.push({ client: client.index, request, retry, result });
        },
        (error: Settled['error']) => {
          this.settled.push({ client: client.index, request, retry, error });
        },
      ),
    );
  }

  /**
   * Submits `entries` as one group through `submitBatch` (not awaited, like `submit`): each
   * entry's answer, or its definite error, is checked as a submit's is; when the batch rejects
   * (an entry's fate unknown), every entry is indefinite and retried later with its id.
   */
  private submitGroup(entries: readonly (readonly [Client, unknown])[], retry: boolean): void {
    const engine = this.engine;
    if (engine === undefined || entries.length === 0) return;
    this.figures.submissions += entries.length;
    this.figures.groupedSubmissions += entries.length;
    this.figures.groups++;
    if (retry) this.figures.indefiniteRetried += entries.length;
    this.log(
      `  group of ${entries.length}: ${entries
        .map(([c, r]) => `c${c.index} op ${this.adapter.operationIdOf(r)}`)
        .join(', ')}`,
    );
    const requests = entries.map(([, request]) => request);
    this.track(
      engine.submitBatch(requests).then(
        (results) =>
          results.forEach((result, i) => {
            const [client, request] = entries[i]!;
            if ('lsn' in result) {
              this.settled.push({ client: client.index, request, retry, result });
            } else {
              this.settled.push({ client: client.index, request, retry, error: result });
            }
          }),
        (error: Settled['error']) => {
          for (const [client, request] of entries) {
            this.settled.push({ client: client.index, request, retry, error });
          }
        },
      ),
    );
  }

  private newRequest(client: Client): unknown {
    const operationId = (BigInt(client.index + 1) << 40n) | client.nextOp++;
    return this.workload.next({ rng: this.rng, client: client.index, operationId });
  }

  private async act(): Promise<void> {
    const rng = this.rng;
    const engine = this.engine!;
    const action = rng.weighted([
      [40, 'submit'],
      [8, 'burst'],
      [6, 'group'],
      [6, 'duplicate'],
      [5, 'retry_acked'],
      [2, 'conflict'],
      [8, 'retry_indefinite'],
      [14, 'yield'],
      [10, 'settle'],
      [9, 'advance'],
      [engine.tick === undefined ? 0 : 6, 'tick'],
      [4, 'checkpoint'],
      [3, 'fail_write'],
      [3, 'fail_sync'],
      [1, 'fail_checkpoint_io'],
      [2, 'crash_at'],
      [2, 'power_loss'],
      [1, 'restart'],
    ] as const);
    const client = rng.pick(this.clients);
    switch (action) {
      case 'submit':
        this.submit(client, this.newRequest(client), false);
        break;
      case 'burst':
        for (let i = rng.range(2, 6); i > 0; i--) {
          const c = rng.pick(this.clients);
          this.submit(c, this.newRequest(c), false);
        }
        break;
      case 'group': {
        // Fresh requests of several clients, now and then one repeated (it joins the first) or
        // an acknowledged one (answered from the cache) or an indefinite one (retried).
        const entries: [Client, unknown][] = [];
        for (let i = rng.range(1, 6); i > 0; i--) {
          const c = rng.pick(this.clients);
          entries.push([c, this.newRequest(c)]);
        }
        const extra = rng.int(4);
        if (extra === 1) entries.push(entries[0]!);
        if (extra === 2 && client.acked.length > 0) entries.push([client, rng.pick(client.acked)]);
        let retry = false;
        if (extra === 3) {
          const first = client.indefinite.values().next();
          if (!first.done) {
            entries.length = 0;
            entries.push([client, first.value]);
            retry = true;
          }
        }
        this.submitGroup(entries, retry);
        break;
      }
      case 'duplicate': {
        const request = this.newRequest(client);
        this.submit(client, request, false);
        this.submit(client, request, false);
        break;
      }
      case 'retry_acked':
        if (client.acked.length > 0) this.submit(client, rng.pick(client.acked), false);
        break;
      case 'conflict':
        if (client.acked.length > 0) {
          const old = rng.pick(client.acked);
          const other = this.newRequest(client);
          const id = this.adapter.operationIdOf(old);
          this.submit(client, withOperationId(other, id), false);
        }
        break;
      case 'retry_indefinite':
        for (const c of this.clients) {
          const first = c.indefinite.values().next();
          if (!first.done) this.submit(c, first.value, true);
        }
        break;
      case 'yield':
        for (let i = rng.range(1, 12); i > 0; i--) await Promise.resolve();
        this.log(`  yield`);
        break;
      case 'settle':
        await this.settleAll();
        this.log('  settle');
        break;
      case 'advance':
        this.slot += BigInt(rng.range(1, 3));
        this.log(`  slot ${this.slot}`);
        break;
      case 'tick': {
        this.figures.ticks++;
        const tick = engine.tick!;
        this.track(
          tick().then(
            (result) => this.log(`  tick → ${canon(result)}`),
            (error: Error & { code?: string }) =>
              this.log(`  tick failed: ${error.code ?? error.message}`),
          ),
        );
        break;
      }
      case 'checkpoint':
        this.figures.checkpoints++;
        this.track(
          engine.checkpoint().then(
            (result) =>
              this.log(`  checkpoint → lsn ${(result as { snapshotLsn: bigint }).snapshotLsn}`),
            (error: Error & { code?: string }) =>
              this.log(`  checkpoint failed: ${error.code ?? error.message.slice(0, 80)}`),
          ),
        );
        this.log('  checkpoint requested');
        break;
      case 'fail_write': {
        const partial = rng.chance(0.5) ? rng.int(200) : 0;
        this.fs.failNext({ kind: 'write', file: (n) => n === 'wal', partialBytes: partial });
        this.figures.injectedWriteFailures++;
        this.mayHalt = true;
        this.log(`  arm: the next log write fails after ${partial} bytes`);
        break;
      }
      case 'fail_sync':
        this.fs.failNext({ kind: 'sync', file: (n) => n === 'wal' });
        this.figures.injectedSyncFailures++;
        this.mayHalt = true;
        this.log('  arm: the next log fsync fails');
        break;
      case 'fail_checkpoint_io': {
        const file = rng.pick(['snapshot.tmp', 'wal.tmp']);
        const kind = rng.pick(['write', 'sync'] as const);
        this.fs.failNext({ kind, file: (n) => n === file, partialBytes: rng.int(100) });
        if (kind === 'write') this.figures.injectedWriteFailures++;
        else this.figures.injectedSyncFailures++;
        this.mayHalt = true;
        this.log(`  arm: the next ${kind} of ${file} fails`);
        break;
      }
      case 'crash_at':
        this.armedFault = rng.pick(FAULT_POINTS);
        this.mayHalt = true;
        this.log(`  arm: crash at ${this.armedFault}`);
        break;
      case 'power_loss':
        await this.powerLoss('step');
        break;
      case 'restart':
        await this.settleAll();
        await this.cleanRestart('step');
        break;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Checks

  private async check(): Promise<void> {
    let engine = this.engine;
    if (engine === undefined) return;
    if (!engine.accepting) {
      if (!this.mayHalt) this.fail('the engine halted without an injected failure');
      this.log('  engine halted');
      await this.settleAll();
      this.syncModel(engine.lastAppliedLsn);
      this.verifySettled();
      if (this.rng.chance(0.5)) await this.powerLoss('after halt');
      else await this.cleanRestart('after halt');
      engine = this.engine!;
    }
    this.syncModel(engine.lastAppliedLsn);
    this.verifySettled();
    const state = engine.state();
    const diff = firstDifference(state, this.model.state());
    if (diff !== undefined) this.fail(`the engine's state differs from the model at ${diff}`);
    const problems = this.adapter.checkState(state);
    if (problems.length > 0) this.fail(problems.join('; '));
    this.figures.stateChecks++;
    this.log(
      `  state lsn ${engine.lastAppliedLsn} #${crc32c(new TextEncoder().encode(canon(state))).toString(16)}`,
    );
  }

  /** Checks every answer that arrived since the last check against the model. */
  private verifySettled(): void {
    const settled = this.settled;
    this.settled = [];
    for (const entry of settled) {
      const client = this.clients[entry.client]!;
      const id = this.adapter.operationIdOf(entry.request);
      if (entry.error !== undefined) {
        const { code, definite } = entry.error;
        this.log(`  c${entry.client} op ${id} → ${code} (${definite ? 'definite' : 'indefinite'})`);
        if (definite === false) {
          client.indefinite.set(id, entry.request);
          this.figures.indefinite++;
        } else if (code !== 'overloaded' && code !== 'engine_closed') {
          this.fail(`op ${id} was refused with ${code}: ${entry.error.message}`);
        }
        continue;
      }
      const result = entry.result!;
      const outcome = canon(result.outcome);
      this.log(
        `  c${entry.client} op ${id} → ${outcome} lsn ${result.lsn} slot ${result.requestSlot}${result.fromRetryCache ? ' (cache)' : ''}`,
      );
      this.figures.acknowledged++;
      if (result.fromRetryCache) this.figures.answeredFromCache++;
      if (result.lsn > this.model.lastAppliedLsn)
        this.fail(
          `op ${id} acknowledged at LSN ${result.lsn}, beyond ${this.model.lastAppliedLsn}`,
        );
      const payload = toHex(this.adapter.encodeRequest(entry.request));
      const at = this.logged.get(result.lsn);
      const loggedHere =
        at !== undefined && at.payload === payload && at.slot === result.requestSlot;
      if (!result.fromRetryCache) {
        // Executed at this LSN.
        if (!loggedHere)
          this.fail(`op ${id} acknowledged at LSN ${result.lsn} with no matching logged command`);
        if (at!.disposition === 'cached')
          this.fail(`op ${id}: the model answered from its cache, the engine says it executed`);
        if (at!.outcome !== outcome)
          this.fail(
            `op ${id}: the engine answered ${outcome}, the model ${at!.outcome} at LSN ${result.lsn}`,
          );
      } else if (loggedHere && at!.disposition === 'cached') {
        // Logged (it was in flight), then answered by the state machine's dedupe.
        if (at!.outcome !== outcome)
          this.fail(
            `op ${id}: the engine answered ${outcome}, the model ${at!.outcome} at LSN ${result.lsn}`,
          );
      } else {
        // Answered from the retry cache before logging: the original LSN and outcome.
        const key = this.adapter.commandKeyOf(entry.request);
        if ((result.outcome as { resultCode?: string }).resultCode === 'operation_conflict') {
          const holder = [...this.logged.values()].some(
            (l) =>
              l.operationId === id &&
              l.commandKey !== key &&
              l.disposition === 'executed' &&
              l.slot + this.adapter.retryWindowSlots >= result.requestSlot,
          );
          if (!holder)
            this.fail(
              `op ${id} answered operation_conflict from the cache with no live record under that id`,
            );
        } else {
          if (
            at === undefined ||
            at.operationId !== id ||
            at.commandKey !== key ||
            at.outcome !== outcome ||
            at.disposition !== 'executed'
          ) {
            this.fail(
              `op ${id} answered ${outcome} from the cache as of LSN ${result.lsn}, where the model has ${at === undefined ? 'nothing' : `op ${at.operationId} → ${at.outcome} (${at.disposition})`}`,
            );
          }
          if (at.slot + this.adapter.retryWindowSlots < result.requestSlot) {
            this.fail(
              `op ${id} answered from the cache at slot ${result.requestSlot}, after its window (applied at slot ${at.slot})`,
            );
          }
        }
      }
      if (entry.retry) {
        if (result.fromRetryCache) this.figures.retriedFoundDurable++;
        else this.figures.retriedExecuted++;
      }
      client.indefinite.delete(id);
      if (!result.fromRetryCache || entry.retry) {
        client.acked.push(entry.request);
        if (client.acked.length > 30) client.acked.shift();
      }
      this.workload.learn(entry.request, result);
    }
  }
}

/** The same request shape under another operation id (an operation_conflict probe). */
function withOperationId(request: unknown, operationId: bigint): unknown {
  return { ...(request as object), operationId };
}
