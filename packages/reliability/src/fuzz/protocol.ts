/** Messages between the fuzz test and its worker thread. */

export interface FuzzWorkerData {
  readonly engine: string;
  readonly target: number;
  readonly seed: number;
  readonly inputs: number;
  /** Shared buffer: [u32 length, bytes…] of the input being decoded (for hang reports). */
  readonly current: SharedArrayBuffer;
}

export interface FuzzSummary {
  readonly name: string;
  readonly inputs: number;
  readonly decoded: number;
  readonly typedErrors: Record<string, number>;
  readonly byMutation: Record<string, number>;
  readonly maxCallMs: number;
  readonly maxCallInputLength: number;
  /** Largest growth of process.memoryUsage().arrayBuffers across one call, minus the input size. */
  readonly maxArrayBufferGrowth: number;
  readonly arrayBuffersBefore: number;
  readonly arrayBuffersAfter: number;
}

export type FuzzMessage =
  | { readonly type: 'progress'; readonly done: number }
  | { readonly type: 'done'; readonly summary: FuzzSummary }
  | {
      readonly type: 'failure';
      readonly name: string;
      readonly index: number;
      readonly input: string;
      readonly error: string;
    };
