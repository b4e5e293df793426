/**
 * The seam between a subscription and the transports that feed it. Every
 * transport delivers the messages of docs/protocol.md (the poller makes
 * snapshots of the same shape), so the subscription's state machine does not
 * care which one is in use.
 */
import type { LadderApiError } from './errors.js';
import type { ServerMessage } from './protocol.js';

export interface FeedListener {
  message(message: ServerMessage): void;
  /**
   * The transport lost its connection and will retry by itself. `failures`
   * counts the consecutive attempts that delivered nothing; it is 0 when the
   * lost connection had worked.
   */
  down(failures: number): void;
  /** A cause that retrying cannot fix (unknown board, bad key); the transport has stopped. */
  fail(error: LadderApiError): void;
  /** The version of the local copy to resume from, or null to ask for a snapshot. */
  sinceVersion(): number | null;
}

export interface Feed {
  /** Asks again from sinceVersion(), after the subscription dropped a local copy it could not trust. */
  resubscribe(): void;
  close(): void;
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
