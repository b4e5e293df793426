/**
 * The seam between a subscription and the transports that feed it. Every
 * transport delivers the messages of docs/protocol.md (the poller makes
 * snapshots of the same shape), so the subscription's state machine does not
 * care which one is in use.
 */
import { isFatal, LadderApiError } from './errors.js';
import type { ServerMessage } from './protocol.js';

/** Where the local copy of a view stands, to resume from: its version within its epoch. */
export interface ResumePoint {
  readonly version: number;
  readonly epoch: string;
}

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
  /** Where the local copy stands, to resume from; null to ask for a snapshot. */
  resumePoint(): ResumePoint | null;
}

export interface Feed {
  /** Asks again from resumePoint(), after the subscription dropped a local copy it could not trust. */
  resubscribe(): void;
  close(): void;
}

/**
 * A feed driven by one async loop at a time (SSE, long-polling):
 * resubscribe() aborts the loop and starts a fresh one, which asks from
 * resumePoint() again; close() aborts it for good. A subclass calls start()
 * at the end of its constructor, once its own fields are set.
 */
export abstract class LoopFeed implements Feed {
  private controller = new AbortController();

  constructor(protected readonly listener: FeedListener) {}

  resubscribe(): void {
    this.controller.abort();
    this.controller = new AbortController();
    this.start();
  }

  close(): void {
    this.controller.abort();
  }

  protected start(): void {
    void this.run(this.controller.signal);
  }

  /** Delivers to the listener and retries until `signal` aborts. */
  protected abstract run(signal: AbortSignal): Promise<void>;

  /**
   * When `err` is an answer that retrying cannot change (isFatal), stops the
   * feed, tells the listener and answers true. Any other failure is retried
   * and counts towards the fallback.
   */
  protected stopOnFatal(err: unknown): boolean {
    if (!(err instanceof LadderApiError && isFatal(err.code))) return false;
    this.controller.abort();
    this.listener.fail(err);
    return true;
  }
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
