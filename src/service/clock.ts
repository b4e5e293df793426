/**
 * The service's clock: what "now" is for schedules, periods and the default
 * timestamp of a submission. Tests inject a clock they move by hand, so no
 * test sleeps through a real period; LADDER_CLOCK_OFFSET_MS shifts the system
 * clock (demos, and tests of separate processes).
 */
export interface Clock {
  /** ms since 1970. */
  now(): number;
}

export function systemClock(offsetMs = 0): Clock {
  return offsetMs === 0 ? { now: Date.now } : { now: () => Date.now() + offsetMs };
}

/** A clock that stands still until it is set or advanced (tests). */
export class ManualClock implements Clock {
  constructor(private at: number) {}

  now(): number {
    return this.at;
  }

  set(at: number): void {
    this.at = at;
  }

  advance(ms: number): void {
    this.at += ms;
  }
}
