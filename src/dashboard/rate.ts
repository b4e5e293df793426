/**
 * Changes per second of a board. The version rises by one per change to the
 * ranking, so the rate is the version's growth over a sliding window; it
 * decays to 0 when updates stop, even without new samples.
 */
export class RateMeter {
  private readonly samples: { at: number; version: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  record(version: number, now: number): void {
    this.samples.push({ at: now, version });
    // Keep one sample from before the window as its baseline.
    while (this.samples.length > 2 && this.samples[1]!.at <= now - this.windowMs) this.samples.shift();
  }

  /** Changes per second over the last window (or since the first sample, when younger). */
  rate(now: number): number {
    const last = this.samples[this.samples.length - 1];
    let baseline = this.samples[0];
    if (last === undefined || baseline === undefined) return 0;
    for (const sample of this.samples) {
      if (sample.at > now - this.windowMs) break;
      baseline = sample;
    }
    return ((last.version - baseline.version) * 1000) / Math.max(now - baseline.at, 1000);
  }

  reset(): void {
    this.samples.length = 0;
  }
}
