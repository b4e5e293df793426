export interface BackoffOptions {
  /** Upper bound of the first delay. */
  readonly baseMs: number;
  /** Upper bound of any delay. */
  readonly maxMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * "Full jitter" (AWS architecture blog): a uniformly random delay up to an
 * exponentially growing cap, so that many clients that lost the same server
 * do not come back in lockstep. `attempt` counts from 0.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  return random() * Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
}
