/**
 * Fixed windows of a budget per key: a board's per-participant rate limit
 * (one per submission) and its rules.max_increase_per_window (the score's
 * improvement). A window starts with the first take and lasts its length;
 * a take that would pass the limit is refused and takes nothing.
 *
 * Embedded mode keeps the windows in memory (MemoryWindowCounters); cluster
 * mode in Redis (backend/redis-window-counters.ts, one atomic script per take), so that
 * every process counts against the same windows.
 */
export interface WindowTake {
  readonly taken: boolean;
  /** The amount taken in the window, after this take when it was taken. */
  readonly used: number;
  /** Until the window ends. */
  readonly resetInMs: number;
}

export interface WindowCounters {
  take(key: string, amount: number, limit: number, windowMs: number): Promise<WindowTake>;
}

/** Windows at most before ended ones are swept. */
const SWEEP_AT = 10_000;

export class MemoryWindowCounters implements WindowCounters {
  readonly #windows = new Map<string, { used: number; endsAt: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async take(key: string, amount: number, limit: number, windowMs: number): Promise<WindowTake> {
    const now = this.#now();
    let window = this.#windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      if (this.#windows.size >= SWEEP_AT) this.#sweep(now);
      window = { used: 0, endsAt: now + windowMs };
      this.#windows.set(key, window);
    }
    const resetInMs = window.endsAt - now;
    if (window.used + amount > limit) return { taken: false, used: window.used, resetInMs };
    window.used += amount;
    return { taken: true, used: window.used, resetInMs };
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(key);
  }
}
