/**
 * Boards in time: when a board's live period or the board itself is due to
 * close, and the close. A close archives the standings exactly
 * (Backend.closePeriod), then tells every process: the registry hears the
 * board's new configuration, viewers hear period_closed.
 *
 * Closes happen on the first of: a tick of the scheduler (every
 * LADDER_LIFECYCLE_TICK_MS, by the service's clock, so a boundary that passed
 * while Ladder was down is handled at the first tick after start), or a
 * submission that finds its board's live period over. Within a process one
 * close of a board runs at a time; across processes the backend makes each
 * close happen once, and the processes that lost the race read the board's
 * configuration again.
 *
 * A board's derived rankings (core/derived.ts) are boards with schedules of
 * their own: its scope rankings reset with its periods, its all-time ranking
 * only finalizes with it. Each is closed by itself, exactly once, right after
 * its board (and by the ticks like any board), so that `?period=<id>&scope=`
 * finds the scope rankings' archives of every period the board closed.
 */
import { boardStatus, FINAL_PERIOD_ID, livePeriod } from '../core/board.js';
import { periodAt } from '../core/periods.js';
import type { BoardConfig } from '../core/types.js';
import type { Backend, PeriodCloseRequest } from '../backend/backend.js';
import type { ChangeBus } from '../feed/bus.js';
import type { Clock } from './clock.js';
import type { BoardRegistry } from './registry.js';

/** The close a board owes at `now`, or null when it owes none. */
export function dueClose(config: BoardConfig, now: number): PeriodCloseRequest | null {
  if (config.finalizedAt !== null) return null;
  const live = livePeriod(config);
  const webhook = config.webhookUrl === null ? null : { url: config.webhookUrl, top: config.webhookTop };
  if (boardStatus(config, now) === 'closed') {
    const closedAt = Math.min(now, config.closedAt ?? now, config.endsAt ?? now);
    return {
      periodId: live?.id ?? FINAL_PERIOD_ID,
      startsAt: live?.start ?? config.startsAt ?? config.createdAt,
      endsAt: live === null ? closedAt : Math.min(live.end, closedAt),
      closedAt: now,
      next: { ...config, finalizedAt: now },
      reset: false,
      webhook,
    };
  }
  if (live === null || now < live.end) return null;
  const current = periodAt(config.reset!, now);
  return { periodId: live.id, startsAt: live.start, endsAt: live.end, closedAt: now, next: { ...config, periodStart: current.start }, reset: true, webhook };
}

export interface LifecycleParts {
  readonly registry: BoardRegistry;
  readonly backend: Backend;
  readonly bus: ChangeBus;
  readonly clock: Clock;
  readonly onError: (err: unknown, boardId: string) => void;
}

export class Lifecycle {
  readonly #parts: LifecycleParts;
  /** The close of each board running in this process. */
  readonly #closing = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;

  constructor(parts: LifecycleParts) {
    this.#parts = parts;
  }

  /** Runs runDue every `tickMs` until stop. */
  start(tickMs: number): void {
    this.#timer = setInterval(() => {
      this.#ticking ??= this.runDue().finally(() => {
        this.#ticking = null;
      });
    }, tickMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#ticking;
    await Promise.allSettled(this.#closing.values());
  }

  /** Closes whatever is due on every board, one board at a time. Complexity: O(boards) checks, from memory. */
  async runDue(): Promise<void> {
    const now = this.#parts.clock.now();
    for (const boardId of this.#parts.registry.ids()) {
      const config = this.#parts.registry.get(boardId);
      if (config === undefined || dueClose(config, now) === null) continue;
      try {
        await this.close(boardId);
      } catch (err) {
        this.#parts.onError(err, boardId);
      }
    }
  }

  /**
   * Closes what the board owes now, if anything, then what its derived
   * rankings owe, and resolves once their configurations here say so. A
   * close of the board already running in this process is joined, not
   * repeated.
   */
  close(boardId: string): Promise<void> {
    const running = this.#closing.get(boardId);
    if (running !== undefined) return running;
    const closing = this.#close(boardId)
      .then(() => this.#closeDerived(boardId))
      .finally(() => this.#closing.delete(boardId));
    this.#closing.set(boardId, closing);
    return closing;
  }

  async #closeDerived(boardId: string): Promise<void> {
    const { registry, clock } = this.#parts;
    for (const derived of registry.derivedOf(boardId)) if (dueClose(derived, clock.now()) !== null) await this.close(derived.id);
  }

  async #close(boardId: string): Promise<void> {
    const { registry, backend, bus, clock } = this.#parts;
    const config = registry.get(boardId);
    if (config === undefined) return;
    const close = dueClose(config, clock.now());
    if (close === null) return;
    if (await backend.closePeriod(config, close)) {
      bus.publish({ kind: 'board_changed', config: close.next });
      const next = close.reset && close.next.reset !== null ? periodAt(close.next.reset, close.next.periodStart).id : null;
      bus.publish({ kind: 'period_closed', boardId, periodId: close.periodId, next });
    } else {
      // Another process closed it (or the board is gone): its configuration is read again.
      await registry.reload(boardId);
    }
  }
}
