/** What the serve crash-kill parent tells each client process, and the lines a client logs. */

export interface ServeChildArgs {
  readonly engine: 'allocdb-core' | 'quota-core';
  readonly url: string;
  /** 0-based; operation ids are `(index + 1) << 64 | n`, so clients never share one. */
  readonly index: number;
  readonly seed: number;
  /** quota: the shared buckets 0…keys−1; allocdb: this client's resources index·keys + 0…keys−1. */
  readonly keys: number;
  /** quota: every bucket's initial balance (refill 0), as a decimal string. */
  readonly initial: string;
  /** One JSON line per event. */
  readonly log: string;
  /** The client stops after the command in flight once this file exists. */
  readonly stopFile: string;
  /** Canary: retry an unknown fate under a fresh operation id instead of the same one. */
  readonly canaryFreshIds: boolean;
}

export type ServeEvent =
  | {
      readonly t: 'intent';
      readonly op: string;
      readonly key: string;
      readonly amount?: string;
      readonly kind?: string;
    }
  | {
      readonly t: 'ack';
      readonly op: string;
      readonly key: string;
      readonly amount?: string;
      readonly kind?: string;
      readonly lsn: string;
      readonly code: string;
      readonly cached: boolean;
      readonly reservationId?: string;
    }
  | { readonly t: 'read'; readonly minLsn: string; readonly applied: string }
  | { readonly t: 'done'; readonly seconds: number }
  | { readonly t: 'failure'; readonly message: string };
