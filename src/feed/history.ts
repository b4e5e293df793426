/**
 * The recent deltas of one view, kept so that a client that reconnects with
 * `since_version` (or SSE `Last-Event-ID`) receives what it missed instead of
 * a snapshot. Bounded both by count and by bytes (LADDER_HISTORY_SIZE,
 * LADDER_HISTORY_BYTES); the oldest deltas go first.
 */

/** One serialized delta of a view, shared by every subscriber of it. */
export interface Delta {
  readonly fromVersion: number;
  readonly toVersion: number;
  /** The message after its `{"type":"delta","sub":"…",` prefix. */
  readonly body: string;
  /** UTF-8 length of `body`. */
  readonly bytes: number;
}

export class DeltaHistory {
  private deltas: Delta[] = [];
  /** Index of the oldest retained delta; evicted ones before it are dropped in batches. */
  private start = 0;
  private bytes = 0;

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  /** Appends the newest delta, evicting the oldest beyond the bounds. Amortized O(1). */
  push(delta: Delta): void {
    this.deltas.push(delta);
    this.bytes += delta.bytes;
    while (this.deltas.length - this.start > this.maxCount || this.bytes > this.maxBytes) {
      this.bytes -= (this.deltas[this.start] as Delta).bytes;
      this.start += 1;
    }
    if (this.start > 64 && this.start * 2 > this.deltas.length) {
      this.deltas = this.deltas.slice(this.start);
      this.start = 0;
    }
  }

  /** Forgets every delta (the view's epoch changed). */
  clear(): void {
    this.deltas = [];
    this.start = 0;
    this.bytes = 0;
  }

  /**
   * The deltas that lead from `version` to `currentVersion` (the view's
   * version), oldest first; null when `version` is not a point of the
   * retained chain, so the client needs a snapshot. A delta that changed only
   * what profiles show (a rename) leads from a version to itself, so the
   * chain may hold several from one version: all of them are returned (a
   * client that had one applies it again, to the same result), and so they
   * are at the current version too. Complexity: O(log n + returned deltas).
   */
  since(version: number, currentVersion: number): Delta[] | null {
    // The first retained delta from `version` or later: fromVersions never go down along the chain.
    let low = this.start;
    let high = this.deltas.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.deltas[middle] as Delta).fromVersion < version) low = middle + 1;
      else high = middle;
    }
    if (low < this.deltas.length && (this.deltas[low] as Delta).fromVersion === version) return this.deltas.slice(low);
    return version === currentVersion ? [] : null;
  }
}
