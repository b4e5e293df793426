/**
 * A live view: keeps the local copy of the view up to date from whichever
 * transport works, in the client's order of preference. The preferred
 * transport keeps reconnecting in the background; after `fallbackAfter`
 * consecutive attempts that delivered nothing, the next transport takes over
 * until the preferred one delivers again. Every handover resumes from the
 * local version, so no update is lost and none is applied twice.
 */
import { errorFromMessage, isFatal, type LadderApiError } from './errors.js';
import type { Feed, FeedListener } from './feed.js';
import type { ErrorMessage, ServerMessage, Transport, ViewEntry } from './protocol.js';
import { applyDelta, stateFromSnapshot, type ViewState } from './view-state.js';

export interface ViewUpdate {
  /** The board's epoch: versions compare only within one. */
  readonly epoch: string;
  readonly version: number;
  /** Entries on the whole board. */
  readonly total: number;
  /** Rank of entries[0]. */
  readonly firstRank: number;
  readonly entries: readonly ViewEntry[];
  /** The transport that delivered this update. */
  readonly transport: Transport;
}

export interface SubscriptionStatus {
  /** `live`: the view is current. `reconnecting`: the transport in use lost its connection. `closed`: close() or a fatal error. */
  readonly state: 'connecting' | 'live' | 'reconnecting' | 'closed';
  readonly transport: Transport;
}

export interface SubscribeOptions {
  /** Watch the view within this scope value, `<scope>:<value>` (e.g. `region:eu`), instead of the board's. */
  readonly scope?: string;
  /** 'all': watch the view of the board's all-time ranking (keep_all_time). */
  readonly period?: 'all';
  onStatus?(status: SubscriptionStatus): void;
  /** Errors the server reports for this view. After a fatal one (unknown board, refused key) the subscription is closed. */
  onError?(error: LadderApiError): void;
  /** A period of the board closed (`next` is the new one's id, null when the board was finalized); a fresh update of the view follows. */
  onPeriodClosed?(period: string, next: string | null): void;
}

export interface Subscription {
  /** The latest update, or null before the first. */
  readonly update: ViewUpdate | null;
  readonly status: SubscriptionStatus;
  close(): void;
}

export type FeedOpener = (listener: FeedListener) => Feed;

export interface LiveSubscriptionSettings {
  readonly onUpdate: (update: ViewUpdate) => void;
  readonly options: SubscribeOptions;
  /** Transports in order of preference; at least one. */
  readonly transports: readonly { readonly transport: Transport; readonly open: FeedOpener }[];
  /** Consecutive failed attempts of the transport in use after which the next one takes over. */
  readonly fallbackAfter: number;
  /** Called once, when the subscription closes for any reason. */
  readonly onClosed: () => void;
}

/**
 * After a server error that is neither fatal nor harmless (a limit such as
 * too_many_subscriptions, or a view the server could not read), ask again
 * about this much later, doubling with each further error in a row up to
 * retryAfterErrorMaxMs, jittered so that refused clients do not return together.
 */
const retryAfterErrorMs = 2000;
const retryAfterErrorMaxMs = 30_000;

interface Running {
  readonly transport: Transport;
  readonly feed: Feed;
}

export class LiveSubscription implements Subscription {
  update: ViewUpdate | null = null;
  status: SubscriptionStatus;
  private state: ViewState | null = null;
  private readonly preferred: Running;
  /** The transport standing in while the preferred one fails, or null. */
  private fallback: (Running & { readonly level: number }) | null = null;
  private closed = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Server errors since the view last received its state; sets the retry delay. */
  private errorsInARow = 0;

  constructor(private readonly settings: LiveSubscriptionSettings) {
    const [first] = settings.transports;
    if (first === undefined) throw new Error('a subscription needs at least one transport');
    this.status = { state: 'connecting', transport: first.transport };
    this.preferred = this.start(0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.preferred.feed.close();
    this.fallback?.feed.close();
    this.setStatus('closed', this.status.transport);
    this.settings.onClosed();
  }

  private start(level: number): Running {
    const { transport, open } = this.settings.transports[level]!;
    const running: { transport: Transport; feed: Feed | null } = { transport, feed: null };
    // Callbacks of a feed that was replaced or closed may still arrive (a message already in flight); they are ignored.
    const isCurrent = (): boolean => running.feed !== null && !this.closed && (this.preferred.feed === running.feed || this.fallback?.feed === running.feed);
    running.feed = open({
      message: (message) => {
        if (isCurrent()) this.received(message, running as Running);
      },
      down: (failures) => {
        if (isCurrent()) this.lost(running as Running, failures);
      },
      fail: (error) => {
        if (isCurrent()) this.fail(error);
      },
      resumePoint: () => (this.state === null ? null : { version: this.state.version, epoch: this.state.epoch }),
    });
    return running as Running;
  }

  private received(message: ServerMessage, from: Running): void {
    if (this.fallback !== null && from.feed === this.preferred.feed && message.type !== 'error') {
      // The preferred transport works again: it resumed from the local version, so the stand-in can go.
      this.fallback.feed.close();
      this.fallback = null;
    }
    if (message.type === 'snapshot' || message.type === 'resumed') this.errorsInARow = 0;
    switch (message.type) {
      case 'snapshot':
        this.state = stateFromSnapshot(message);
        this.emit(from.transport);
        return;
      case 'resumed':
        // Resumed from another version or epoch than the local copy's: the deltas that follow would not fit it.
        if (this.state !== null && this.state.version === message.version && this.state.epoch === message.epoch) this.setStatus('live', from.transport);
        else this.resync(from);
        return;
      case 'delta': {
        const outcome = applyDelta(this.state, message);
        if (!outcome.ok) return this.resync(from);
        this.state = outcome.state;
        this.emit(from.transport);
        return;
      }
      case 'error':
        return this.serverError(message, from);
      case 'period_closed':
        this.settings.options.onPeriodClosed?.(message.period, message.next_period);
        return;
      case 'unsubscribed':
      case 'pong':
        return;
    }
  }

  /** The local copy missed something: drop it and ask for a snapshot. The last update stays visible meanwhile. */
  private resync(from: Running): void {
    this.state = null;
    from.feed.resubscribe();
  }

  private serverError(message: ErrorMessage, from: Running): void {
    // Answers an unsubscribe that crossed a message of the server's; nothing is missing.
    if (message.code === 'unknown_subscription') return;
    const error = errorFromMessage(message);
    if (isFatal(error.code)) return this.fail(error);
    this.settings.options.onError?.(error);
    const delay = Math.min(retryAfterErrorMaxMs, retryAfterErrorMs * 2 ** Math.min(this.errorsInARow, 8)) * (0.5 + Math.random());
    this.errorsInARow += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.closed && (from.feed === this.preferred.feed || from.feed === this.fallback?.feed)) from.feed.resubscribe();
    }, delay);
  }

  private fail(error: LadderApiError): void {
    this.close();
    this.settings.options.onError?.(error);
  }

  private lost(from: Running, failures: number): void {
    const active = this.fallback ?? this.preferred;
    if (from.feed === active.feed) this.setStatus(this.update === null ? 'connecting' : 'reconnecting', active.transport);
    if (failures < this.settings.fallbackAfter) return;
    const level = from.feed === this.preferred.feed ? 0 : this.fallback!.level;
    // Only the transport in use moves on; the preferred one keeps retrying in the background.
    if (level !== (this.fallback?.level ?? 0) || level + 1 >= this.settings.transports.length) return;
    this.fallback?.feed.close();
    this.fallback = null;
    this.fallback = { ...this.start(level + 1), level: level + 1 };
    this.setStatus(this.update === null ? 'connecting' : 'reconnecting', this.fallback.transport);
  }

  private emit(transport: Transport): void {
    const state = this.state!;
    this.update = { epoch: state.epoch, version: state.version, total: state.total, firstRank: state.firstRank, entries: state.entries, transport };
    this.setStatus('live', transport);
    try {
      this.settings.onUpdate(this.update);
    } catch (err) {
      // A bug in the caller's callback must not break the transport that called us; rethrow where it is seen.
      setTimeout(() => {
        throw err;
      });
    }
  }

  private setStatus(state: SubscriptionStatus['state'], transport: Transport): void {
    if (this.status.state === state && this.status.transport === transport) return;
    this.status = { state, transport };
    this.settings.options.onStatus?.(this.status);
  }
}
