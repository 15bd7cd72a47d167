/** What the crash-kill parent tells its child, and the lines the child writes back. */

export interface ChildArgs {
  readonly engine: string;
  readonly dir: string;
  /** Every WAL write is appended here *before* it is handed to the WAL. */
  readonly journal: string;
  /** Intents, acknowledgements and events, one JSON line each, written with writeSync. */
  readonly events: string;
  readonly seed: number;
  readonly clients: number;
  /** Prefix of every operation id this run creates (unique per episode and round). */
  readonly operationIdBase: string;
  /** Canonical payloads (hex) of requests whose outcome the previous run never learned. */
  readonly retries: readonly string[];
  /** Submissions between two explicit checkpoints. */
  readonly checkpointEvery: number;
  /** Also run the automatic checkpoint policy every N frames (0: off). */
  readonly autoCheckpointFrames: number;
  /** Submissions between two expiration ticks (0: the engine has no tick). */
  readonly tickEvery: number;
  /** Submissions per slot of the logical clock. */
  readonly submissionsPerSlot: number;
}

export type ChildEvent =
  | { readonly t: 'ready'; readonly lsn: string; readonly recovery: unknown }
  | { readonly t: 'intent'; readonly payload: string }
  | {
      readonly t: 'ack';
      readonly payload: string;
      readonly lsn: string;
      readonly slot: string;
      readonly outcome: unknown;
      readonly cached: boolean;
    }
  | {
      readonly t: 'error';
      readonly payload: string;
      readonly code: string;
      readonly definite: boolean;
    }
  | { readonly t: 'checkpoint'; readonly lsn: string }
  | { readonly t: 'tick' };
