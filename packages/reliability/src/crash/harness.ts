/**
 * The crash-kill parent. An episode is one data directory: a series of rounds, each spawning the
 * child (`child.ts`, from this package's dist/) on the directory, killing it with SIGKILL at a
 * seeded random moment (sometimes before it has even finished recovering), then reopening the
 * directory in this process and checking it:
 *
 * 1. recovery succeeds;
 * 2. the recovered log is a prefix of what the child handed to the WAL (its journal) that
 *    contains every acknowledged operation: nothing acknowledged is lost;
 * 3. the reference model, replaying the journal up to the recovered LSN (acknowledged operations
 *    plus whichever unacknowledged ones became durable), reaches exactly the engine's state,
 *    and agrees with every acknowledged outcome; no operation id executes twice;
 * 4. the domain checks hold (no half-applied bundle, …);
 * 5. retrying every operation acknowledged so far in the episode, with its operation id, comes
 *    back from the retry cache with the original outcome and LSN, writing nothing.
 *
 * Requests the child never heard back about are retried by the next child with the same
 * operation ids (indefinite outcomes), which must execute at most once in all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineAdapter, Model } from '../adapter.js';
import { canon, firstDifference, fromHex, revive, toHex } from '../canon.js';
import { deriveSeed, Rng } from '../random.js';
import type { ChildArgs, ChildEvent } from './protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled child, whether this module runs from src/ (vitest) or from dist/. */
const CHILD = join(here, '..', '..', 'dist', 'crash', 'child.js');

export interface EpisodeOptions {
  readonly adapter: EngineAdapter;
  readonly dir: string;
  readonly seed: number;
  readonly episode: number;
  readonly rounds: number;
  readonly clients: number;
  readonly tickEvery: number;
  /** Called with the message of a failed check; by default the check throws. */
  readonly replayHint: string;
}

export interface EpisodeFigures {
  kills: number;
  killsBeforeReady: number;
  acknowledged: number;
  retriesVerified: number;
  unacknowledgedDurable: number;
  unacknowledgedLost: number;
  indefiniteRetried: number;
  tornBytesTruncated: number;
  recoveredFromSnapshot: number;
  checkpoints: number;
  ticks: number;
  framesReplayedByModel: number;
}

interface Acked {
  readonly request: unknown;
  readonly outcome: string;
  readonly lsn: bigint;
}

function readEvents(path: string): ChildEvent[] {
  if (!existsSync(path)) return [];
  const events: ChildEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      events.push(JSON.parse(line) as ChildEvent);
    } catch {
      // A line cut by the kill: nothing acknowledged can be on it (acks are whole writes).
    }
  }
  return events;
}

function waitForExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

export class CrashEpisode {
  private readonly options: EpisodeOptions;
  private readonly rng: Rng;
  private readonly model: Model;
  /** Every acknowledged operation of the episode, by operation id. */
  private readonly acked = new Map<bigint, Acked>();
  private readonly executions = new Map<bigint, number>();
  private pending = new Map<string, unknown>();
  private verifiedLsn = 0n;
  readonly figures: EpisodeFigures = {
    kills: 0,
    killsBeforeReady: 0,
    acknowledged: 0,
    retriesVerified: 0,
    unacknowledgedDurable: 0,
    unacknowledgedLost: 0,
    indefiniteRetried: 0,
    tornBytesTruncated: 0,
    recoveredFromSnapshot: 0,
    checkpoints: 0,
    ticks: 0,
    framesReplayedByModel: 0,
  };

  constructor(options: EpisodeOptions) {
    this.options = options;
    this.rng = new Rng(deriveSeed(options.seed, options.episode));
    this.model = options.adapter.createModel();
    mkdirSync(options.dir, { recursive: true });
  }

  private fail(round: number, message: string): never {
    throw new Error(
      `${this.options.adapter.name} crash-kill episode ${this.options.episode} round ${round}: ${message}\n` +
        `replay: ${this.options.replayHint}`,
    );
  }

  async run(): Promise<EpisodeFigures> {
    for (let round = 0; round < this.options.rounds; round++) await this.round(round);
    await this.finish(this.options.rounds);
    return this.figures;
  }

  private async round(round: number): Promise<void> {
    const { adapter, dir } = this.options;
    const journal = join(dir, `..`, `${this.options.episode}-${round}.journal`);
    const eventsPath = join(dir, `..`, `${this.options.episode}-${round}.events`);
    const retries = [...this.pending.keys()];
    this.figures.indefiniteRetried += retries.length;
    const args: ChildArgs = {
      engine: adapter.name,
      dir,
      journal,
      events: eventsPath,
      seed: this.rng.u32(),
      clients: this.rng.range(2, 8),
      operationIdBase: String(
        (BigInt(this.options.episode + 1) << 80n) | (BigInt(round + 1) << 48n),
      ),
      retries,
      checkpointEvery: this.rng.range(60, 400),
      autoCheckpointFrames: this.rng.chance(0.3) ? this.rng.range(100, 600) : 0,
      tickEvery: this.options.tickEvery,
      submissionsPerSlot: this.rng.range(10, 40),
    };
    const early = this.rng.chance(0.15);
    const delay = early ? this.rng.range(0, 120) : this.rng.range(5, 350);
    const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let ready = false;
    const readyPromise = new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) {
          ready = true;
          resolve();
        }
      });
    });
    const exited = waitForExit(child);
    if (!early) await Promise.race([readyPromise, exited]);
    await Promise.race([new Promise((r) => setTimeout(r, delay)), exited]);
    const alive = child.exitCode === null && child.signalCode === null;
    if (alive) child.kill('SIGKILL');
    await exited;
    if (!alive || child.signalCode !== 'SIGKILL') {
      this.fail(
        round,
        `the child exited by itself (code ${child.exitCode}): ${stderr.slice(-2000)}`,
      );
    }
    this.figures.kills++;
    if (!ready) this.figures.killsBeforeReady++;
    await this.verify(
      round,
      readEvents(eventsPath),
      existsSync(journal) ? readFileSync(journal) : new Uint8Array(0),
    );
  }

  private async verify(
    round: number,
    events: ChildEvent[],
    journalBytes: Uint8Array,
  ): Promise<void> {
    const { adapter, dir } = this.options;
    let engine: Awaited<ReturnType<EngineAdapter['open']>>;
    try {
      engine = await adapter.open({ dir });
    } catch (error) {
      this.fail(round, `recovery failed after SIGKILL: ${(error as Error).stack}`);
    }
    try {
      const status = engine.recoveryStatus;
      this.figures.tornBytesTruncated += status.tornTailBytesTruncated;
      if (status.loadedSnapshotLsn !== undefined) this.figures.recoveredFromSnapshot++;
      const recovered = engine.lastAppliedLsn;
      if (recovered < this.verifiedLsn) {
        this.fail(
          round,
          `recovered LSN ${recovered} is below the LSN ${this.verifiedLsn} verified before`,
        );
      }

      // The journal: every frame the child handed to the WAL, in order.
      const scan = adapter.scanLog(journalBytes);
      if (scan.stop.kind === 'corruption')
        this.fail(round, `the journal is unreadable: ${JSON.stringify(scan.stop)}`);
      const byLsn = new Map<bigint, (typeof scan.frames)[number]>();
      for (const frame of scan.frames) if (frame.recordType !== 3) byLsn.set(frame.lsn, frame);

      // Replay the journal up to the recovered LSN through the model.
      const outcomeAt = new Map<
        bigint,
        { outcome: string; payload: string | undefined; slot: bigint }
      >();
      for (let lsn = this.verifiedLsn + 1n; lsn <= recovered; lsn++) {
        const frame = byLsn.get(lsn);
        if (frame === undefined) {
          this.fail(
            round,
            `the engine recovered LSN ${lsn}, which the child never handed to the WAL`,
          );
        }
        const logged = adapter.decodeLogged(frame.recordType, frame.payload);
        const answer = this.model.apply(logged, frame.lsn, frame.requestSlot);
        this.figures.framesReplayedByModel++;
        let payload: string | undefined;
        if (logged.kind === 'client') {
          payload = toHex(frame.payload);
          const id = adapter.operationIdOf(logged.request);
          if (answer.disposition === 'executed') {
            const count = (this.executions.get(id) ?? 0) + 1;
            this.executions.set(id, count);
            if (count > 1) this.fail(round, `operation ${id} executed ${count} times (LSN ${lsn})`);
          }
        }
        outcomeAt.set(lsn, { outcome: canon(answer.outcome), payload, slot: frame.requestSlot });
      }

      // Every acknowledgement of this round: durable, and what the model says.
      const acks = events.filter((e): e is Extract<ChildEvent, { t: 'ack' }> => e.t === 'ack');
      const ackedPayloads = new Set<string>();
      for (const ack of acks) {
        const lsn = BigInt(ack.lsn);
        const request = adapter.decodeRequest(fromHex(ack.payload));
        const id = adapter.operationIdOf(request);
        const outcome = canon(revive(ack.outcome));
        ackedPayloads.add(ack.payload);
        if (lsn > recovered) {
          this.fail(
            round,
            `acknowledged operation ${id} (LSN ${lsn}) is lost: recovery stopped at LSN ${recovered}`,
          );
        }
        const logged = outcomeAt.get(lsn);
        if (logged !== undefined && logged.payload === ack.payload) {
          // Answered by executing (or by the state machine's dedupe) at this LSN.
          if (logged.outcome !== outcome) {
            this.fail(
              round,
              `operation ${id} was acknowledged with ${outcome} but the model answers ${logged.outcome} at LSN ${lsn}`,
            );
          }
          if (logged.slot !== BigInt(ack.slot))
            this.fail(
              round,
              `operation ${id}: slot ${ack.slot} acknowledged, ${logged.slot} logged`,
            );
        } else {
          // Answered from the retry cache before logging: the original LSN and outcome.
          if (!ack.cached)
            this.fail(round, `operation ${id} acknowledged at LSN ${lsn} without a matching frame`);
          const hit = this.model.lookupRetry(request, BigInt(ack.slot));
          if (hit === undefined || hit.appliedLsn !== lsn || canon(hit.outcome) !== outcome) {
            this.fail(
              round,
              `operation ${id} answered from the cache with ${outcome} at LSN ${lsn}, the model has ${hit === undefined ? 'no record' : `${canon(hit.outcome)} at LSN ${hit.appliedLsn}`}`,
            );
          }
        }
        const first = this.acked.get(id);
        if (first === undefined) {
          const record = this.model.lookupRetry(request, engine.lastRequestSlot);
          this.acked.set(id, { request, outcome, lsn: record?.appliedLsn ?? lsn });
          this.figures.acknowledged++;
        } else if (first.outcome !== outcome) {
          this.fail(
            round,
            `operation ${id} acknowledged twice with different outcomes: ${first.outcome} then ${outcome}`,
          );
        }
      }

      // The whole state: the model replayed from the journal prefix.
      const diff = firstDifference(engine.state(), this.model.state());
      if (diff !== undefined)
        this.fail(round, `the recovered state differs from the model at ${diff}`);
      const problems = adapter.checkState(engine.state());
      if (problems.length > 0) this.fail(round, problems.join('; '));

      // Requests without an answer: durable (applied once) or to be retried by the next child.
      const next = new Map<string, unknown>();
      const intents = events.filter(
        (e): e is Extract<ChildEvent, { t: 'intent' }> => e.t === 'intent',
      );
      for (const intent of intents) {
        if (ackedPayloads.has(intent.payload) || next.has(intent.payload)) continue;
        const request = adapter.decodeRequest(fromHex(intent.payload));
        if (this.model.lookupRetry(request, engine.lastRequestSlot) !== undefined) {
          this.figures.unacknowledgedDurable++;
        } else {
          this.figures.unacknowledgedLost++;
        }
        next.set(intent.payload, request);
      }
      this.pending = next;
      this.figures.checkpoints += events.filter((e) => e.t === 'checkpoint').length;
      this.figures.ticks += events.filter((e) => e.t === 'tick').length;

      await this.retryAcknowledged(engine, round);
      this.verifiedLsn = recovered;
    } finally {
      await engine.close();
    }
  }

  /** Every acknowledged operation of the episode comes back from the retry cache, unchanged. */
  private async retryAcknowledged(
    engine: Awaited<ReturnType<EngineAdapter['open']>>,
    round: number,
  ): Promise<void> {
    const before = engine.lastAppliedLsn;
    const slot = engine.lastRequestSlot;
    for (const [id, acked] of this.acked) {
      const result = await engine.submit(acked.request, slot);
      if (!result.fromRetryCache)
        this.fail(round, `retrying acknowledged operation ${id} executed it again`);
      if (canon(result.outcome) !== acked.outcome) {
        this.fail(
          round,
          `retrying operation ${id} answered ${canon(result.outcome)}, originally ${acked.outcome}`,
        );
      }
      if (result.lsn !== acked.lsn)
        this.fail(
          round,
          `retrying operation ${id} names LSN ${result.lsn}, originally ${acked.lsn}`,
        );
      this.figures.retriesVerified++;
    }
    if (engine.lastAppliedLsn !== before)
      this.fail(round, 'retries from the cache wrote to the log');
  }

  /** After the last kill: retry the still-unanswered requests in-process, exactly once each. */
  private async finish(round: number): Promise<void> {
    const { adapter, dir } = this.options;
    const engine = await adapter.open({ dir });
    try {
      let slot = engine.lastRequestSlot;
      for (const [payload, request] of this.pending) {
        const result = await engine.submit(request, slot);
        slot = result.requestSlot;
        const id = adapter.operationIdOf(request);
        const cached = this.model.lookupRetry(request, slot);
        if (cached !== undefined) {
          if (!result.fromRetryCache || canon(result.outcome) !== canon(cached.outcome)) {
            this.fail(
              round,
              `the durable but unanswered operation ${id} was not answered from the cache`,
            );
          }
        } else {
          if (result.fromRetryCache)
            this.fail(round, `operation ${id} answered from a cache the model does not have`);
          const answer = this.model.apply(
            { kind: 'client', request },
            result.lsn,
            result.requestSlot,
          );
          if (canon(answer.outcome) !== canon(result.outcome)) {
            this.fail(
              round,
              `retried operation ${id}: engine ${canon(result.outcome)}, model ${canon(answer.outcome)}`,
            );
          }
          this.executions.set(id, (this.executions.get(id) ?? 0) + 1);
        }
        void payload;
        this.figures.indefiniteRetried++;
      }
      const diff = firstDifference(engine.state(), this.model.state());
      if (diff !== undefined) this.fail(round, `final state differs from the model at ${diff}`);
      for (const [id, count] of this.executions) {
        if (count > 1) this.fail(round, `operation ${id} executed ${count} times`);
      }
      await this.retryAcknowledged(engine, round);
    } finally {
      await engine.close();
    }
  }
}
