/**
 * One client connection (a WebSocket or an SSE stream) as the feed sees it,
 * with its subscriptions and its slow-consumer accounting. The transport
 * underneath is a small interface, so WebSocket and SSE share all of this.
 */
import { isAllTimeBoardId } from '../core/derived.js';
import { stateTag } from '../core/epoch.js';
import { LadderError } from '../core/errors.js';
import type { Feed } from './feed.js';
import type { Delta } from './history.js';
import type { FeedObserver } from './observer.js';
import type { ServerMessage, ViewSpec } from './protocol.js';
import type { View } from './view.js';

export type MessageType = ServerMessage['type'];

export interface Transport {
  /**
   * Writes one message. `id` is the board state it brings the client to,
   * `<epoch>-<version>` (SSE `id:`), or null. `flushed` must run exactly once, when the transport
   * handed the bytes to the kernel or gave up on them; the feed counts unsent
   * bytes with it, because ws's bufferedAmount can read 0 while data is still
   * queued (ws#492).
   */
  send(type: MessageType, id: string | null, json: string, flushed: () => void): void;
  /** Ends the connection; `code` is a WebSocket close code. */
  close(code: number, reason: string): void;
}

/** Close codes of the protocol. */
export const CloseCode = {
  goingAway: 1001,
  /** The server shuts down: reconnect (to another instance) at once; the client library does not count it as a failure. */
  serviceRestart: 1012,
  internalError: 1011,
  slowConsumer: 4008,
  boardNotFound: 4404,
  /** Too many messages from the connection, or too many connections of its key or IP: reconnect later, with backoff. */
  rateLimited: 4029,
} as const;

/** Where a client's copy of a view stands, as it asks to resume from it. */
export interface ResumePoint {
  readonly epoch: string;
  readonly version: number;
}

export interface SubscriberLimits {
  readonly slowSocketBytes: number;
  readonly maxSocketBytes: number;
  readonly maxSubscriptions: number;
}

/** One subscription of a connection to a view. */
export class Subscription {
  readonly sub: string;
  readonly subscriber: Subscriber;
  /** The prefixes before a shared delta or snapshot body, and their UTF-8 length. */
  readonly deltaPrefix: string;
  readonly snapshotPrefix: string;
  readonly deltaPrefixBytes: number;
  readonly snapshotPrefixBytes: number;
  /** Null while the view is loading. Its board is the connection's, or one of its derived rankings (core/derived.ts). */
  view: View | null = null;
  /** The version the client's copy is at: the next delta must start there. */
  version = -1;
  /** A delta was skipped because the socket was slow: no more deltas until a snapshot resyncs it. */
  skipped = false;

  constructor(subscriber: Subscriber, sub: string) {
    this.subscriber = subscriber;
    this.sub = sub;
    const subJson = JSON.stringify(sub);
    this.deltaPrefix = `{"type":"delta","sub":${subJson},`;
    this.snapshotPrefix = `{"type":"snapshot","sub":${subJson},`;
    this.deltaPrefixBytes = Buffer.byteLength(this.deltaPrefix);
    this.snapshotPrefixBytes = Buffer.byteLength(this.snapshotPrefix);
  }
}

export class Subscriber {
  readonly boardId: string;
  private readonly feed: Feed;
  private readonly transport: Transport;
  private readonly limits: SubscriberLimits;
  private readonly observer: FeedObserver;
  private readonly subscriptions = new Map<string, Subscription>();
  private unsentBytes = 0;
  /** Subscriptions that skipped a delta; each gets a snapshot once the socket drains. */
  private skipping = 0;
  private closed = false;

  constructor(feed: Feed, boardId: string, transport: Transport, limits: SubscriberLimits, observer: FeedObserver) {
    this.feed = feed;
    this.boardId = boardId;
    this.transport = transport;
    this.limits = limits;
    this.observer = observer;
  }

  /** Bytes handed to the transport and not flushed yet. */
  get unsent(): number {
    return this.unsentBytes;
  }

  /** True while some subscription skipped deltas and waits for the socket to drain. */
  get isBehind(): boolean {
    return this.skipping > 0;
  }

  /**
   * Subscribes `sub` to `spec` and answers with a snapshot, or with `resumed`
   * and the missed deltas when `since` is a point of the view's retained
   * chain in its current epoch. Throws LadderError duplicate_subscription or
   * too_many_subscriptions at once; the promise rejects when the view cannot
   * be read (or too_many_views). The caller turns either into an error message.
   * `board` is the board whose view it is: the connection's, or one of its
   * derived rankings (a scope value's, the all-time one), maybe still being
   * looked up; a failure of that lookup rejects the promise too.
   */
  subscribe(sub: string, spec: ViewSpec, since: ResumePoint | null, board: string | Promise<string> = this.boardId): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Checked before anything asynchronous, so that errors come back in the order of the requests.
    if (this.subscriptions.has(sub)) throw new LadderError('duplicate_subscription', `subscription '${sub}' exists already on this connection`);
    if (this.subscriptions.size >= this.limits.maxSubscriptions) {
      throw new LadderError('too_many_subscriptions', `a connection may hold at most ${this.limits.maxSubscriptions} subscriptions (LADDER_MAX_SUBSCRIPTIONS)`);
    }
    const subscription = new Subscription(this, sub);
    this.subscriptions.set(sub, subscription);
    return this.attach(subscription, spec, since, board);
  }

  /** Ends one subscription. Throws LadderError('unknown_subscription'). */
  unsubscribe(sub: string): void {
    const subscription = this.subscriptions.get(sub);
    if (subscription === undefined) throw new LadderError('unknown_subscription', `no subscription '${sub}' on this connection`);
    this.detach(subscription);
    this.sendMessage({ type: 'unsubscribed', sub });
  }

  /** Sends a message that is not part of a view's chain (pong, error, …). */
  sendMessage(message: ServerMessage, id: string | null = null): void {
    if (this.closed) return;
    const json = JSON.stringify(message);
    this.write(message.type, id, json, Buffer.byteLength(json));
  }

  /**
   * Pushes a view's delta. Called by the feed for every subscription of the
   * view, so it stays cheap. Past slowSocketBytes of unsent bytes the delta is
   * skipped, and so are the subscription's next ones until a snapshot resyncs
   * it: its client would see a gap otherwise.
   */
  deliver(subscription: Subscription, delta: Delta): void {
    // Unsubscribed, or already past this delta: a snapshot (a resync, or the answer
    // to a subscribe) was sent while the feed was still fanning the delta out.
    if (this.closed || subscription.skipped || subscription.view === null || subscription.version !== delta.fromVersion) return;
    if (this.unsentBytes > this.limits.slowSocketBytes) {
      this.skip(subscription);
      return;
    }
    subscription.version = delta.toVersion;
    this.write('delta', stateTag(subscription.view.epoch, delta.toVersion), subscription.deltaPrefix + delta.body, subscription.deltaPrefixBytes + delta.bytes);
  }

  /**
   * The view's epoch changed: the subscription's chain is broken, so it gets
   * a fresh snapshot (once the socket drains, if it is slow).
   */
  resync(subscription: Subscription): void {
    if (this.closed || subscription.skipped || subscription.view === null) return;
    if (this.unsentBytes > this.limits.slowSocketBytes) {
      this.skip(subscription);
      return;
    }
    this.sendSnapshot(subscription, subscription.view);
  }

  /**
   * Tells every subscription that a period closed; the feed's next tick sends
   * each a snapshot of what its view shows now. A view of the all-time
   * ranking goes on through a reset, so it hears only of the board's end.
   */
  periodClosed(period: string, next: string | null): void {
    for (const [sub, subscription] of this.subscriptions) {
      if (next !== null && subscription.view !== null && isAllTimeBoardId(subscription.view.boardId)) continue;
      this.sendMessage({ type: 'period_closed', sub, period, next_period: next });
    }
  }

  /** A derived ranking one of the subscriptions watched was deleted (its board dropped a scope or keep_all_time): that subscription ends. */
  viewDropped(subscription: Subscription): void {
    if (this.closed || this.subscriptions.get(subscription.sub) !== subscription) return;
    this.detach(subscription);
    this.sendMessage({ type: 'error', sub: subscription.sub, code: 'board_not_found', message: `this ranking of leaderboard '${this.boardId}' does not exist any more` });
  }

  /** The board was deleted: tells every subscription, then ends the connection. */
  boardDropped(): void {
    if (this.closed) return;
    const message = `leaderboard '${this.boardId}' does not exist`;
    if (this.subscriptions.size === 0) this.sendMessage({ type: 'error', code: 'board_not_found', message });
    for (const sub of this.subscriptions.keys()) this.sendMessage({ type: 'error', sub, code: 'board_not_found', message });
    this.close(CloseCode.boardNotFound, 'board not found');
  }

  /** Ends the connection from the server side. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.disconnect();
    try {
      this.transport.close(code, reason);
    } catch {
      // A transport broken beyond closing: the subscriber is released either way.
    }
  }

  /** The transport ended (or is being ended): releases every view. Idempotent. */
  disconnect(): void {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of this.subscriptions.values()) this.detach(subscription);
    this.feed.disconnected(this);
  }

  private async attach(subscription: Subscription, spec: ViewSpec, since: ResumePoint | null, board: string | Promise<string>): Promise<void> {
    const { sub } = subscription;
    let view: View;
    try {
      view = await this.feed.acquireView(typeof board === 'string' ? board : await board, spec);
    } catch (err) {
      if (this.subscriptions.get(sub) === subscription) this.subscriptions.delete(sub);
      throw err;
    }
    if (this.closed || this.subscriptions.get(sub) !== subscription) {
      // Unsubscribed (or disconnected) while the view was loading.
      this.feed.release(view);
      return;
    }
    // A version of another epoch (or of none) may be issued again in this one: never resume from it.
    const point = since !== null && since.epoch === view.epoch ? since : null;
    let missed = point === null ? null : view.history.since(point.version, view.version);
    // Not in this process's history: another process may have served the view at that version (one
    // before this view's; a later one means this view is behind, and the client gets a snapshot).
    const archived = point !== null && missed === null && point.version < view.version ? await this.feed.archivedWindow(view, point.version) : null;
    if (point !== null && archived !== null) {
      if (this.closed || this.subscriptions.get(sub) !== subscription) {
        this.feed.release(view);
        return;
      }
      // The view may have moved on while the archive answered: the delta leads to where it is now,
      // and its epoch is checked again.
      missed = view.epoch === point.epoch ? [view.deltaFrom(archived, point.version)] : null;
    }
    subscription.view = view;
    view.subscriptions.add(subscription);
    if (since === null || missed === null) {
      this.sendSnapshot(subscription, view);
      return;
    }
    this.sendMessage({ type: 'resumed', sub, epoch: view.epoch, version: since.version }, stateTag(view.epoch, since.version));
    subscription.version = since.version;
    for (const delta of missed) {
      subscription.version = delta.toVersion;
      this.write('delta', stateTag(view.epoch, delta.toVersion), subscription.deltaPrefix + delta.body, subscription.deltaPrefixBytes + delta.bytes);
    }
  }

  private detach(subscription: Subscription): void {
    this.subscriptions.delete(subscription.sub);
    if (subscription.skipped) {
      subscription.skipped = false;
      this.skipping -= 1;
    }
    const view = subscription.view;
    if (view === null) return;
    subscription.view = null;
    view.subscriptions.delete(subscription);
    this.feed.release(view);
  }

  private sendSnapshot(subscription: Subscription, view: View): void {
    const snapshot = view.snapshotBody();
    subscription.version = view.version;
    this.write('snapshot', stateTag(view.epoch, view.version), subscription.snapshotPrefix + snapshot.body, subscription.snapshotPrefixBytes + snapshot.bytes);
  }

  private skip(subscription: Subscription): void {
    subscription.skipped = true;
    this.skipping += 1;
    this.observer.skipped();
  }

  private write(type: MessageType, id: string | null, json: string, bytes: number): void {
    if (this.closed) return;
    this.unsentBytes += bytes;
    this.transport.send(type, id, json, () => this.flushed(bytes));
    this.observer.delivered(bytes);
    if (this.unsentBytes > this.limits.maxSocketBytes) {
      this.observer.closedSlow();
      this.close(CloseCode.slowConsumer, 'slow consumer');
    }
  }

  private flushed(bytes: number): void {
    this.unsentBytes -= bytes;
    if (this.skipping === 0 || this.unsentBytes > 0 || this.closed) return;
    // Drained: what each lagging subscription skipped is replaced by one fresh snapshot.
    this.skipping = 0;
    for (const subscription of this.subscriptions.values()) {
      if (!subscription.skipped) continue;
      subscription.skipped = false;
      if (subscription.view !== null) this.sendSnapshot(subscription, subscription.view);
    }
  }
}
