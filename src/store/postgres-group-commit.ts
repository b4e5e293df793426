/**
 * Group commit for the PostgreSQL store: appendEvents calls (and, in a group
 * commit of their own, recordRejections calls) are collected
 * for up to `intervalMs` after the first one arrives (with 0, those of one
 * turn of the event loop), then committed in one transaction. One commit
 * runs at a time; calls that arrive meanwhile go out together the moment it
 * is done. A call resolves only once its commit's COMMIT returned.
 *
 * A failed commit (a lost connection, a server shutting down) rejects its
 * calls and every call queued behind it, since those may build on what the
 * failed calls did in memory (the embedded backend's live ranking does);
 * calls made after that go into a fresh commit. Nothing latches.
 */
import { openCommitWindow } from './commit-window.js';

export interface CommitStats {
  /** Transactions committed. */
  commits: number;
  /** appendEvents calls committed. */
  calls: number;
  /** Items (score events, rejections) in the committed calls. */
  events: number;
}

interface Pending<T> {
  readonly events: readonly T[];
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class GroupCommit<T> {
  private collecting: Pending<T>[] = [];
  private committing = false;
  private cancelTimer: (() => void) | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: CommitStats = { commits: 0, calls: 0, events: 0 };

  /** `commit` makes the items durable in one transaction, in order, or throws and keeps nothing. */
  constructor(
    private readonly commit: (events: readonly T[]) => Promise<void>,
    private readonly intervalMs: number,
    /** Told the size of each committed transaction (the metrics). */
    private readonly onCommitted: (items: number) => void = () => undefined,
  ) {}

  /** Queues the items for the next commit; resolves once it is committed. */
  submit(events: readonly T[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the PostgreSQL store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.collecting.push({ events, resolve, reject });
      this.schedule();
    });
  }

  /** Commits what is queued and refuses what comes after. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.cancelTimer !== null) this.send();
    if (!this.committing && this.collecting.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.committing || this.cancelTimer !== null) return;
    this.cancelTimer = openCommitWindow(this.intervalMs, () => this.send());
  }

  private send(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (this.committing || this.collecting.length === 0) return;
    const batch = this.collecting;
    this.collecting = [];
    this.committing = true;
    const events = batch.length === 1 ? batch[0]!.events : batch.flatMap((pending) => pending.events);
    this.commit(events).then(
      () => {
        this.stats.commits += 1;
        this.stats.calls += batch.length;
        this.stats.events += events.length;
        this.onCommitted(events.length);
        for (const pending of batch) pending.resolve();
        this.finish();
      },
      (err: Error) => {
        const queued = this.collecting;
        this.collecting = [];
        for (const pending of [...batch, ...queued]) pending.reject(err);
        this.finish();
      },
    );
  }

  private finish(): void {
    this.committing = false;
    // Calls that arrived during the commit have waited long enough.
    if (this.collecting.length > 0) {
      this.send();
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
