/**
 * What the fan-out benchmark's processes measure and send each other:
 * latency histograms that merge by addition, and the viewer's report.
 * Timestamps are milliseconds of the machine's monotonic clock (CLOCK_MONOTONIC,
 * sub-millisecond), which every process on one machine reads alike.
 */

/**
 * Now, in ms of the monotonic clock (since boot). Not `performance.timeOrigin
 * + performance.now()`: timeOrigin is the wall clock when the process started,
 * so two processes started at different times disagree by however much the
 * wall clock was slewed or stepped in between (5 ms per second, and steps of
 * seconds, were seen on a VM), and a latency across them would include it.
 * Sent to Ladder as a submission's `timestamp`, it is a valid, if early, time.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Bucket width 0.25 ms up to 100 ms, then 5 ms up to 60 s; slower samples count in the last bucket. */
const FINE_MS = 0.25;
const FINE_LIMIT_MS = 100;
const COARSE_MS = 5;
const LIMIT_MS = 60_000;
const FINE_BUCKETS = FINE_LIMIT_MS / FINE_MS;
const BUCKETS = FINE_BUCKETS + (LIMIT_MS - FINE_LIMIT_MS) / COARSE_MS + 1;

export class LatencyHistogram {
  readonly counts = new Float64Array(BUCKETS);
  count = 0;
  max = 0;

  record(ms: number): void {
    const value = Math.max(0, ms);
    const bucket =
      value < FINE_LIMIT_MS ? Math.floor(value / FINE_MS) : Math.min(BUCKETS - 1, FINE_BUCKETS + Math.floor((value - FINE_LIMIT_MS) / COARSE_MS));
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.count += 1;
    if (value > this.max) this.max = value;
  }

  /** The non-empty buckets, for IPC. */
  toJSON(): SerializedHistogram {
    const buckets: [number, number][] = [];
    this.counts.forEach((count, bucket) => {
      if (count > 0) buckets.push([bucket, count]);
    });
    return { buckets, count: this.count, max: this.max };
  }

  add(other: SerializedHistogram): void {
    for (const [bucket, count] of other.buckets) this.counts[bucket] = (this.counts[bucket] as number) + count;
    this.count += other.count;
    this.max = Math.max(this.max, other.max);
  }

  /** Upper edge of the bucket holding the q-quantile (0 < q ≤ 1), in ms; null without samples. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket] as number;
      if (seen >= rank) {
        const upper = bucket < FINE_BUCKETS ? (bucket + 1) * FINE_MS : FINE_LIMIT_MS + (bucket - FINE_BUCKETS + 1) * COARSE_MS;
        return Math.min(upper, this.max);
      }
    }
    return this.max;
  }
}

export interface SerializedHistogram {
  readonly buckets: [number, number][];
  readonly count: number;
  readonly max: number;
}

/** What one viewer process measured between `measure` and `report`. */
export interface ViewerReport {
  readonly sockets: number;
  /** Sockets that watch the top N (the others watch one participant). */
  readonly topSockets: number;
  /** Sockets that closed during the window (should be 0). */
  readonly closed: number;
  readonly messages: number;
  readonly bytes: number;
  /** Submit-to-viewer latency of every changed entry that arrived in a delta (or of every naive change). */
  readonly latency: SerializedHistogram;
  /** Deltas (and their bytes) that top-N viewers received. */
  readonly topDeltas: number;
  readonly topDeltaBytes: number;
  readonly participantDeltas: number;
  readonly participantDeltaBytes: number;
  /** Resync snapshots after subscribing (slow-consumer recoveries), and error messages. */
  readonly snapshots: number;
  readonly errors: number;
  /** Size of the first top-N snapshot this process received. */
  readonly topSnapshotBytes: number;
  readonly windowS: number;
}

/** What the floor (bench/fanout-floor.ts) sends, copied from what a Ladder phase delivered. */
export interface FloorPlan {
  /** Share of the sockets, in the order they connected, that get the top messages. */
  readonly topShare: number;
  /** One broadcast per tick. */
  readonly tickMs: number;
  /** Bytes of each top message; every top socket gets one per tick. */
  readonly topBytes: number;
  readonly participantBytes: number;
  /** Participant messages per participant socket per tick (a fraction: the sockets take turns). */
  readonly participantPerTick: number;
}

/** Messages from the orchestrator to its children. */
export type Command =
  | { readonly type: 'measure' }
  | { readonly type: 'report' }
  | { readonly type: 'run'; readonly rate: number; readonly durationMs: number }
  /** To the floor (bench/fanout-floor.ts): deal the sockets that connect next in this proportion. */
  | { readonly type: 'deal'; readonly topShare: number }
  | { readonly type: 'broadcast'; readonly plan: FloorPlan; readonly durationMs: number }
  | { readonly type: 'stop' };
