/**
 * Limits of WebSocket connections (README "Rate limits"): how many
 * connections one key (or, without a key, one client IP) holds at once, and
 * how many messages one connection may send per second. Connections are
 * counted per process: a cluster of n members admits up to n times
 * LADDER_WS_MAX_CONNECTIONS per key, which bounds every member's share
 * without a shared counter that a crashed member would leave behind.
 */

/** Open connections per subject (http/rate-limits.ts LimitSubject id). */
export class ConnectionCounter {
  private readonly open = new Map<string, number>();

  /** `max` 0: no limit. */
  constructor(private readonly max: number) {}

  /** Counts a new connection of `subject`; false (and not counted) when it holds `max` already. */
  tryOpen(subject: string): boolean {
    const open = this.open.get(subject) ?? 0;
    if (this.max > 0 && open >= this.max) return false;
    this.open.set(subject, open + 1);
    return true;
  }

  /** Forgets one connection of `subject` (one that tryOpen counted). */
  release(subject: string): void {
    const open = (this.open.get(subject) ?? 0) - 1;
    if (open > 0) this.open.set(subject, open);
    else this.open.delete(subject);
  }
}

/** What happens to a message: handled, refused with an error, or the end of a flooding connection. */
export type MessageVerdict = 'accept' | 'refuse' | 'close';

/**
 * Messages of one connection per one-second window. Up to `perSecond` are
 * accepted; the next as many are refused (each answered with an error, so a
 * client learns which of its messages were dropped); one more in the same
 * second closes the connection, which bounds what a flood costs the server.
 */
export class MessageMeter {
  private windowStart = -Infinity;
  private count = 0;

  constructor(private readonly perSecond: number) {}

  take(now: number): MessageVerdict {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count += 1;
    if (this.count <= this.perSecond) return 'accept';
    return this.count <= 2 * this.perSecond ? 'refuse' : 'close';
  }
}
