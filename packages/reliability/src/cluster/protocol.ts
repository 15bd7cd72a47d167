/** What the cluster fault suite tells each client process, and the lines a client logs. */

export interface ClusterChildArgs {
  readonly engine: 'allocdb-core' | 'quota-core';
  /** Every node of the cluster: the typed client moves on when one fails. */
  readonly urls: readonly string[];
  /** 0-based; operation ids are `(index + 1) << 64 | n`, so clients never share one. */
  readonly index: number;
  readonly seed: number;
  /** The shared keys 0…keys−1: quota buckets, allocdb resources. */
  readonly keys: number;
  /** One JSON line per event. */
  readonly log: string;
  /** The client stops after the command in flight once this file exists. */
  readonly stopFile: string;
  /** Canary: give up on a call at its first failure and retry under a fresh operation id. */
  readonly canaryFreshIds: boolean;
}

export type ClusterEvent =
  | {
      readonly t: 'intent';
      readonly op: string;
      readonly key: string;
      readonly kind: string;
      readonly amount?: string;
    }
  | {
      readonly t: 'ack';
      readonly op: string;
      readonly key: string;
      readonly kind: string;
      readonly amount?: string;
      readonly lsn: string;
      readonly code: string;
      readonly cached: boolean;
      /** allocdb: the reservation a reserve made, or a release released. */
      readonly reservationId?: string;
    }
  | { readonly t: 'read'; readonly minLsn: string; readonly applied: string }
  | { readonly t: 'done'; readonly seconds: number; readonly retries: number }
  | { readonly t: 'failure'; readonly message: string };
