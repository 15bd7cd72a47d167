/**
 * Sampling the similarity timeline of a seam: at most one point per time bucket, the span from
 * the first commit to HEAD cut into `TIMELINE_POINTS` equal buckets. A point is the state at the
 * end of its bucket (after the last change in it), so a bucket costs one measurement however
 * many commits fall into it, and memory stays bounded however long the history is. Evenly
 * spread in time, the points also draw a faithful line on a time axis.
 */

/** Enough points to draw a readable line; bounded so that cost and memory do not grow. */
export const TIMELINE_POINTS = 240;

export class TimelineSampler<T> {
  private readonly start: number;
  private readonly buckets: number;
  private readonly bucketSeconds: number;
  private readonly points: T[] = [];
  /** The bucket of the last offer, whose state is not measured yet. */
  private openBucket: number | undefined;

  /** `start` and `end` in seconds: the first commit's time and HEAD's. */
  constructor(start: number, end: number, buckets: number = TIMELINE_POINTS) {
    if (!(buckets >= 1)) throw new RangeError('TimelineSampler needs at least one bucket');
    this.start = start;
    this.buckets = buckets;
    // at least one second per bucket: a short history gets one point per distinct time
    this.bucketSeconds = Math.max(1, (end - start) / buckets);
  }

  /**
   * Call before applying a change made at `time`. When it opens a new bucket, the state left by
   * the previous change closes the old one: `measurePrevious` measures it.
   */
  offer(time: number, measurePrevious: () => T): void {
    // times outside the span (dates disagreeing with the walk order) go to the nearest bucket
    const bucket = Math.min(
      this.buckets - 1,
      Math.floor(Math.max(0, time - this.start) / this.bucketSeconds),
    );
    if (this.openBucket !== undefined && bucket !== this.openBucket)
      this.points.push(measurePrevious());
    this.openBucket = bucket;
  }

  /** The points, the last one measuring the final state (after the last offer). */
  finish(measureLast: () => T): T[] {
    return this.openBucket === undefined ? [...this.points] : [...this.points, measureLast()];
  }
}
