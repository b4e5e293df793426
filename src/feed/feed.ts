/**
 * The fan-out layer (DESIGN.md "feed"). Committed changes arrive on the bus
 * and only mark their board dirty. Once per tick, every distinct view of each
 * dirty board that has subscribers is re-read in one read of the board,
 * diffed against its last window into one delta, serialized once, and
 * written to every subscriber of the view; only the small `sub` prefix
 * differs per socket.
 *
 * A view without subscribers lingers (LADDER_VIEW_LINGER_MS) so that a
 * reconnecting client can resume, but costs no tick work: it is brought up
 * to date, with one delta from its last window, only when a subscriber comes
 * back. Views are bounded per board (LADDER_MAX_VIEWS); lingering ones make
 * room for new ones, oldest first.
 */
import type { Config } from '../core/config.js';
import { boardNotFound, LadderError } from '../core/errors.js';
import type { WindowArchive } from './archive.js';
import type { BusMessage, ChangeBus } from './bus.js';
import type { ViewSpec } from './protocol.js';
import type { Delta } from './history.js';
import { NO_FEED_OBSERVER, type FeedObserver } from './observer.js';
import { CloseCode, Subscriber, type Subscription, type Transport } from './subscriber.js';
import { View, viewKey, viewKind, type Advance, type ViewKind } from './view.js';
import { readWindows, type FeedSource, type ViewWindow } from './window.js';

export type FeedConfig = Pick<Config, 'tickMs' | 'historySize' | 'historyBytes' | 'viewLingerMs' | 'slowSocketBytes' | 'maxSocketBytes' | 'maxViews'>;

/** What the feed logs through (pino's signature). */
export interface FeedLog {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface FeedOptions {
  readonly source: FeedSource;
  readonly bus: ChangeBus;
  /** Cluster mode: views' windows kept for resumes on other processes (feed/archive.ts). */
  readonly archive?: WindowArchive;
  readonly config: FeedConfig;
  readonly log?: FeedLog;
  /** Told of ticks, deliveries and slow sockets (the metrics). */
  readonly observer?: FeedObserver;
}

/** The views and connections of one board. */
interface BoardFeed {
  readonly id: string;
  readonly views: Map<string, View>;
  readonly subscribers: Set<Subscriber>;
  /** Counts the board's changes heard on the bus, so that a view can tell whether its window is current. */
  changes: number;
  /** Stops the bus from delivering this board's changes made elsewhere (ChangeBus.watch); null until it does. */
  unwatch: (() => void) | null;
}

/**
 * Sockets written to before the fan-out yields to the event loop, so that a
 * tick with thousands of subscribers does not hold up score submissions.
 */
const FANOUT_CHUNK = 500;

export class Feed {
  private readonly source: FeedSource;
  private readonly bus: ChangeBus;
  private readonly archive: WindowArchive | null;
  private readonly config: FeedConfig;
  private readonly log: FeedLog | undefined;
  private readonly observer: FeedObserver;
  private readonly boards = new Map<string, BoardFeed>();
  private readonly dirty = new Set<BoardFeed>();
  private readonly unsubscribeBus: () => void;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private lastTick = -Infinity;
  private closed = false;

  constructor(options: FeedOptions) {
    this.source = options.source;
    this.bus = options.bus;
    this.archive = options.archive ?? null;
    this.config = options.config;
    this.log = options.log;
    this.observer = options.observer ?? NO_FEED_OBSERVER;
    this.unsubscribeBus = options.bus.subscribe((message) => this.onBusMessage(message));
  }

  /**
   * Registers a client connection to a board. Throws LadderError('board_not_found').
   * The transport must call `disconnect()` on the returned subscriber when it ends.
   */
  connect(boardId: string, transport: Transport, maxSubscriptions: number): Subscriber {
    if (this.closed || this.source.rules(boardId) === undefined) throw boardNotFound(boardId);
    const subscriber = new Subscriber(
      this,
      boardId,
      transport,
      {
        slowSocketBytes: this.config.slowSocketBytes,
        maxSocketBytes: this.config.maxSocketBytes,
        maxSubscriptions,
      },
      this.observer,
    );
    this.board(boardId).subscribers.add(subscriber);
    return subscriber;
  }

  /** Connected subscribers (WebSocket connections and SSE streams), for metrics. */
  get subscriberCount(): number {
    let count = 0;
    for (const board of this.boards.values()) count += board.subscribers.size;
    return count;
  }

  /** Number of live views (with subscribers or lingering), for metrics and tests. */
  get viewCount(): number {
    let count = 0;
    for (const board of this.boards.values()) count += board.views.size;
    return count;
  }

  /** Subscriptions of the connected subscribers by the kind of their view, for metrics. Complexity: O(views). */
  get subscriptionsByKind(): Record<ViewKind, number> {
    const counts: Record<ViewKind, number> = { top: 0, around: 0, participant: 0 };
    for (const board of this.boards.values()) for (const view of board.views.values()) counts[viewKind(view.spec)] += view.subscriptions.size;
    return counts;
  }

  /** Ends every connection (close code 1012: reconnect elsewhere) and stops listening to the bus. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribeBus();
    if (this.timer !== null) clearTimeout(this.timer);
    for (const board of [...this.boards.values()]) {
      for (const subscriber of [...board.subscribers]) subscriber.close(CloseCode.serviceRestart, 'server shutting down');
      this.free(board);
    }
  }

  /**
   * The current view for `spec`, shared with every other subscriber of it.
   * The caller must then add a subscription to it or `release` it. Throws
   * too_many_views when the board has LADDER_MAX_VIEWS views with subscribers.
   */
  async acquireView(boardId: string, spec: ViewSpec): Promise<View> {
    if (this.source.rules(boardId) === undefined) throw boardNotFound(boardId);
    const board = this.board(boardId);
    const key = viewKey(spec);
    let view = board.views.get(key);
    if (view === undefined) {
      this.makeRoom(board);
      const created = new View(boardId, spec, this.config);
      view = created;
      board.views.set(key, created);
      this.refreshLater(board, created);
    } else if (view.idleSince !== null && view.ready && view.readAt !== board.changes) {
      // It lingered through changes without being read: bring it up to date first.
      this.refreshLater(board, view);
    }
    view.idleSince = null;
    if (view.lingerTimer !== null) {
      clearTimeout(view.lingerTimer);
      view.lingerTimer = null;
    }
    await view.loaded;
    return view;
  }

  /** A view lost a subscriber: once it has none, it lingers so that reconnecting clients can resume, then is freed. */
  release(view: View): void {
    if (view.subscriptions.size > 0 || view.lingerTimer !== null) return;
    const board = this.boards.get(view.boardId);
    if (board === undefined || board.views.get(view.key) !== view) return;
    view.idleSince = performance.now();
    view.lingerTimer = setTimeout(() => {
      view.lingerTimer = null;
      if (view.subscriptions.size > 0 || board.views.get(view.key) !== view) return;
      board.views.delete(view.key);
      this.forgetIfIdle(board);
    }, this.config.viewLingerMs);
    view.lingerTimer.unref();
  }

  /** Called by a subscriber whose connection ended. */
  disconnected(subscriber: Subscriber): void {
    const board = this.boards.get(subscriber.boardId);
    if (board === undefined) return;
    board.subscribers.delete(subscriber);
    this.forgetIfIdle(board);
  }

  private board(boardId: string): BoardFeed {
    let board = this.boards.get(boardId);
    if (board === undefined) {
      const created: BoardFeed = { id: boardId, views: new Map(), subscribers: new Set(), changes: 0, unwatch: null };
      this.boards.set(boardId, created);
      this.watch(created);
      board = created;
    }
    return board;
  }

  /**
   * Asks the bus for the board's changes made by other processes. Until it
   * listens, a change made elsewhere may go unheard, so once it does the
   * board counts as changed and its views are read again.
   */
  private watch(board: BoardFeed): void {
    this.bus.watch(board.id).then(
      (unwatch) => {
        if (this.boards.get(board.id) !== board) {
          unwatch();
          return;
        }
        board.unwatch = unwatch;
        this.onBusMessage({ kind: 'board_reset', boardId: board.id });
      },
      (err: unknown) => this.log?.error({ err, boardId: board.id }, 'feed: the bus cannot deliver changes of this board made by other processes'),
    );
  }

  /** Frees the longest-lingering view when the board is at its bound; throws when none lingers. */
  private makeRoom(board: BoardFeed): void {
    if (board.views.size < this.config.maxViews) return;
    let oldest: View | undefined;
    for (const view of board.views.values()) {
      if (view.idleSince !== null && (oldest === undefined || view.idleSince < (oldest.idleSince as number))) oldest = view;
    }
    if (oldest === undefined) {
      throw new LadderError('too_many_views', `leaderboard '${board.id}' has ${this.config.maxViews} distinct views with subscribers already (LADDER_MAX_VIEWS); subscribe to a view others watch, or retry later`);
    }
    if (oldest.lingerTimer !== null) clearTimeout(oldest.lingerTimer);
    oldest.lingerTimer = null;
    board.views.delete(oldest.key);
  }

  private forgetIfIdle(board: BoardFeed): void {
    if (board.views.size === 0 && board.subscribers.size === 0 && this.boards.get(board.id) === board) this.free(board);
  }

  private free(board: BoardFeed): void {
    this.boards.delete(board.id);
    board.unwatch?.();
    board.unwatch = null;
    this.dirty.delete(board);
    for (const view of board.views.values()) {
      if (view.lingerTimer !== null) clearTimeout(view.lingerTimer);
      view.lingerTimer = null;
    }
    board.views.clear();
  }

  private onBusMessage(message: BusMessage): void {
    if (message.kind === 'profile_changed') {
      this.profileChanged(message.participantId);
      return;
    }
    if (message.kind === 'board_changed') {
      // A change of settings may change what the views show without a new version: whom the board hides (service/hiding.ts).
      const changed = this.boards.get(message.config.id);
      if (changed !== undefined) this.boardChanged(changed);
      return;
    }
    if (message.kind !== 'changes' && message.kind !== 'board_reset' && message.kind !== 'board_deleted' && message.kind !== 'period_closed') return;
    const board = this.boards.get(message.boardId);
    if (board === undefined) return;
    if (message.kind === 'board_deleted') {
      this.drop(board);
      return;
    }
    if (message.kind === 'period_closed') for (const subscriber of board.subscribers) subscriber.periodClosed(message.periodId, message.next);
    this.boardChanged(board);
  }

  /** The board's views are no longer current: those with subscribers are read at the next tick, lingering ones when a subscriber returns. */
  private boardChanged(board: BoardFeed): void {
    board.changes += 1;
    for (const view of board.views.values()) {
      if (view.subscriptions.size > 0) {
        this.markDirty(board);
        return;
      }
    }
  }

  /**
   * A participant's profile changed: each board with a view that shows
   * them counts as changed, so that its views are read again (with the
   * profile's new names) and their viewers get a delta, at the same version
   * when nothing else changed (docs/protocol.md). Complexity: O(entries of
   * the views' windows).
   */
  private profileChanged(participantId: string): void {
    for (const board of this.boards.values()) {
      let shown = false;
      for (const view of board.views.values()) {
        if (view.currentWindow.entries.some((entry) => entry.participantId === participantId)) {
          shown = true;
          break;
        }
      }
      if (shown) this.boardChanged(board);
    }
  }

  /**
   * Archives the view's window at its chain point, for resumes on other
   * processes. Not after a rename at the same version: the window kept at
   * that version stays the one first shown there, so that a viewer who
   * resumes from it elsewhere gets the rename in its delta.
   */
  private keep(view: View, advance: Advance | null = null): void {
    if (advance?.kind === 'delta' && advance.delta.fromVersion === advance.delta.toVersion) return;
    this.archive?.keep(view.boardId, view.key, view.epoch, view.version, view.currentWindow);
  }

  /** The view's window at `version` of its epoch as some process archived it, or null (also without an archive, or when it fails). */
  async archivedWindow(view: View, version: number): Promise<ViewWindow | null> {
    if (this.archive === null) return null;
    try {
      return await this.archive.find(view.boardId, view.key, view.epoch, version);
    } catch (err) {
      this.log?.warn({ err, boardId: view.boardId }, 'feed: reading an archived window failed; the resume gets a snapshot');
      return null;
    }
  }

  private markDirty(board: BoardFeed): void {
    this.dirty.add(board);
    this.schedule();
  }

  private drop(board: BoardFeed): void {
    // Subscriptions to its views from connections of another board: those watched one of its derived rankings.
    const watching = [...board.views.values()].flatMap((view) => [...view.subscriptions]).filter((subscription) => subscription.subscriber.boardId !== board.id);
    this.free(board);
    for (const subscriber of [...board.subscribers]) subscriber.boardDropped();
    for (const subscription of watching) subscription.subscriber.viewDropped(subscription);
  }

  /** Reads the view's window now (its first, or a refresh of an idle one); subscribers wait on `loaded`. */
  private refreshLater(board: BoardFeed, view: View): void {
    const previous = view.loaded;
    view.loaded = previous.then(() => this.load(board, view)).catch((err: unknown) => {
      if (!view.ready && board.views.get(view.key) === view) board.views.delete(view.key);
      throw err;
    });
    // A subscriber that gave up waiting must not leave an unhandled rejection behind.
    view.loaded.catch(() => undefined);
  }

  private async load(board: BoardFeed, view: View): Promise<void> {
    const changes = board.changes;
    const read = await readWindows(this.source, view.boardId, [view.spec]);
    const window = read.windows[0]!;
    if (!view.ready) {
      view.start(window, read.epoch, read.version, read.total);
      this.keep(view);
    } else {
      // An idle view has no subscribers to deliver to: the delta only goes into its history, for resumes.
      const advance = view.advance(window, read.epoch, read.version, read.total);
      if (advance.kind !== 'unchanged') this.keep(view, advance);
    }
    view.readAt = changes;
    // A tick that ran during the read skipped this view, which was not ready yet.
    if (board.changes !== changes) this.markDirty(board);
  }

  /**
   * Runs a tick now if the last one started at least tickMs ago, else when
   * it will have: the first change after a quiet spell goes out at once, the
   * ones that follow are coalesced per tick.
   */
  private schedule(): void {
    if (this.timer !== null || this.ticking || this.closed) return;
    const delay = Math.max(0, this.lastTick + this.config.tickMs - performance.now());
    this.timer = setTimeout(() => {
      this.tick().catch((err: unknown) => this.log?.error({ err }, 'feed: a tick failed; the next change starts a new one'));
    }, delay);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    this.ticking = true;
    this.lastTick = performance.now();
    const boards = [...this.dirty];
    this.dirty.clear();
    try {
      await Promise.all(boards.map((board) => this.refresh(board)));
      this.observer.ticked((performance.now() - this.lastTick) / 1000);
    } finally {
      this.ticking = false;
      if (this.dirty.size > 0) this.schedule();
    }
  }

  /** Recomputes every view of the board that has subscribers and pushes the deltas. */
  private async refresh(board: BoardFeed): Promise<void> {
    const views = [...board.views.values()].filter((view) => view.ready && view.subscriptions.size > 0);
    if (views.length === 0) return;
    const changes = board.changes;
    let read;
    try {
      read = await readWindows(
        this.source,
        board.id,
        views.map((view) => view.spec),
      );
    } catch (err) {
      if (this.boards.get(board.id) !== board) return;
      if (err instanceof LadderError && err.code === 'board_not_found' && this.source.rules(board.id) === undefined) {
        this.drop(board);
        return;
      }
      this.log?.warn({ err, boardId: board.id }, 'feed: reading the views of a board failed; retrying next tick');
      this.markDirty(board);
      return;
    }
    if (this.boards.get(board.id) !== board) return;
    const deliveries: { delta: Delta; subscriptions: Subscription[] }[] = [];
    views.forEach((view, i) => {
      if (board.views.get(view.key) !== view) return;
      const advance = view.advance(read.windows[i]!, read.epoch, read.version, read.total);
      view.readAt = changes;
      if (advance.kind !== 'unchanged') this.keep(view, advance);
      if (advance.kind === 'reset') {
        for (const subscription of view.subscriptions) subscription.subscriber.resync(subscription);
      } else if (advance.kind === 'delta' && view.subscriptions.size > 0) {
        // The subscribers as of now: one that subscribes during the fan-out gets a snapshot of the new window instead.
        deliveries.push({ delta: advance.delta, subscriptions: [...view.subscriptions] });
      }
    });
    await this.fanOut(deliveries);
  }

  private async fanOut(deliveries: readonly { delta: Delta; subscriptions: readonly Subscription[] }[]): Promise<void> {
    let budget = FANOUT_CHUNK;
    for (const { delta, subscriptions } of deliveries) {
      for (const subscription of subscriptions) {
        try {
          subscription.subscriber.deliver(subscription, delta);
        } catch (err) {
          // One broken connection must not cost the others of this tick their delta (and with it their chain).
          this.log?.error({ err, boardId: subscription.subscriber.boardId }, 'feed: a delivery failed; closing that connection');
          subscription.subscriber.close(CloseCode.internalError, 'internal error');
        }
        if (--budget > 0) continue;
        budget = FANOUT_CHUNK;
        await new Promise((resolve) => setImmediate(resolve));
        if (this.closed) return;
      }
    }
  }
}
