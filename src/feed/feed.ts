/**
 * The fan-out layer (DESIGN.md "feed"). Committed changes arrive on the bus
 * and only mark their board dirty. Once per tick, every distinct view of each
 * dirty board is re-read from the index, diffed against its last window into
 * one delta, serialized once, and written to every subscriber of the view;
 * only the small `sub` prefix differs per socket.
 */
import type { Config } from '../core/config.js';
import { LadderError } from '../core/errors.js';
import type { BoardRules } from '../core/types.js';
import type { RankIndex } from '../index/index.js';
import type { BusMessage, ChangeBus } from './bus.js';
import { FeedError } from './errors.js';
import type { ViewSpec } from './protocol.js';
import type { Delta } from './history.js';
import { CloseCode, Subscriber, type Subscription, type Transport } from './subscriber.js';
import { View, viewKey } from './view.js';
import { readWindows, type BoardRead } from './window.js';

export type FeedConfig = Pick<Config, 'tickMs' | 'historySize' | 'historyBytes' | 'viewLingerMs' | 'slowSocketBytes' | 'maxSocketBytes'>;

/** What the feed logs through (pino's signature). */
export interface FeedLog {
  warn(details: object, message: string): void;
}

export interface FeedOptions {
  readonly index: RankIndex;
  readonly bus: ChangeBus;
  readonly config: FeedConfig;
  /** The board's rules, or undefined when it does not exist. */
  readonly boardRules: (boardId: string) => BoardRules | undefined;
  readonly log?: FeedLog;
}

/** The views and connections of one board. */
interface BoardFeed {
  readonly id: string;
  readonly views: Map<string, View>;
  readonly subscribers: Set<Subscriber>;
  /** Counts the bus messages of the board, so that a view load can tell whether it missed one. */
  changes: number;
}

/** A read that straddled a change is retried this many times before the subscribe fails. */
const LOAD_ATTEMPTS = 5;
/**
 * Sockets written to before the fan-out yields to the event loop, so that a
 * tick with thousands of subscribers does not hold up score submissions.
 */
const FANOUT_CHUNK = 500;

export class Feed {
  private readonly index: RankIndex;
  private readonly config: FeedConfig;
  private readonly boardRules: (boardId: string) => BoardRules | undefined;
  private readonly log: FeedLog | undefined;
  private readonly boards = new Map<string, BoardFeed>();
  private readonly dirty = new Set<BoardFeed>();
  private readonly unsubscribeBus: () => void;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private lastTick = -Infinity;
  private closed = false;

  constructor(options: FeedOptions) {
    this.index = options.index;
    this.config = options.config;
    this.boardRules = options.boardRules;
    this.log = options.log;
    this.unsubscribeBus = options.bus.subscribe((message) => this.onBusMessage(message));
  }

  /**
   * Registers a client connection to a board. Throws FeedError('board_not_found').
   * The transport must call `disconnect()` on the returned subscriber when it ends.
   */
  connect(boardId: string, transport: Transport, maxSubscriptions: number): Subscriber {
    if (this.closed || this.boardRules(boardId) === undefined) {
      throw new FeedError('board_not_found', `leaderboard '${boardId}' does not exist`);
    }
    const subscriber = new Subscriber(this, boardId, transport, {
      slowSocketBytes: this.config.slowSocketBytes,
      maxSocketBytes: this.config.maxSocketBytes,
      maxSubscriptions,
    });
    this.board(boardId).subscribers.add(subscriber);
    return subscriber;
  }

  /** Number of live views (with subscribers or lingering), for metrics and tests. */
  get viewCount(): number {
    let count = 0;
    for (const board of this.boards.values()) count += board.views.size;
    return count;
  }

  /** Ends every connection (close code 1001) and stops listening to the bus. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribeBus();
    if (this.timer !== null) clearTimeout(this.timer);
    for (const board of [...this.boards.values()]) {
      for (const subscriber of [...board.subscribers]) subscriber.close(CloseCode.goingAway, 'server shutting down');
      this.free(board);
    }
  }

  /**
   * The loaded view for `spec`, shared with every other subscriber of it. The
   * caller must then add a subscription to it or `release` it.
   */
  async acquireView(boardId: string, spec: ViewSpec): Promise<View> {
    if (this.boardRules(boardId) === undefined) throw new FeedError('board_not_found', `leaderboard '${boardId}' does not exist`);
    const board = this.board(boardId);
    const key = viewKey(spec);
    let view = board.views.get(key);
    if (view === undefined) {
      const created = new View(boardId, spec, this.config);
      view = created;
      board.views.set(key, created);
      created.loaded = this.load(board, created).catch((err: unknown) => {
        if (board.views.get(key) === created) board.views.delete(key);
        throw err;
      });
    }
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
      board = { id: boardId, views: new Map(), subscribers: new Set(), changes: 0 };
      this.boards.set(boardId, board);
    }
    return board;
  }

  private forgetIfIdle(board: BoardFeed): void {
    if (board.views.size === 0 && board.subscribers.size === 0 && this.boards.get(board.id) === board) {
      this.boards.delete(board.id);
      this.dirty.delete(board);
    }
  }

  private free(board: BoardFeed): void {
    this.boards.delete(board.id);
    this.dirty.delete(board);
    for (const view of board.views.values()) {
      if (view.lingerTimer !== null) clearTimeout(view.lingerTimer);
      view.lingerTimer = null;
    }
    board.views.clear();
  }

  private onBusMessage(message: BusMessage): void {
    const board = this.boards.get(message.boardId);
    if (board === undefined) return;
    if (message.kind === 'dropped') {
      this.drop(board);
      return;
    }
    board.changes += 1;
    if (board.views.size === 0) return;
    this.markDirty(board);
  }

  private markDirty(board: BoardFeed): void {
    this.dirty.add(board);
    this.schedule();
  }

  private drop(board: BoardFeed): void {
    this.free(board);
    for (const subscriber of [...board.subscribers]) subscriber.boardDropped();
  }

  private async load(board: BoardFeed, view: View): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const changes = board.changes;
      const read = await this.read(view.boardId, [view]);
      if (read !== null) {
        view.start(read.windows[0]!, read.version, read.total);
        // A tick that ran during the read skipped this view, which was not ready yet.
        if (board.changes !== changes) this.markDirty(board);
        return;
      }
      if (attempt === LOAD_ATTEMPTS) throw new Error(`board '${view.boardId}' kept changing while its view '${view.key}' was read`);
    }
  }

  private async read(boardId: string, views: readonly View[]): Promise<BoardRead | null> {
    try {
      return await readWindows(
        this.index,
        boardId,
        views.map((view) => view.spec),
      );
    } catch (err) {
      if (err instanceof LadderError && err.code === 'board_not_found') {
        throw new FeedError('board_not_found', `leaderboard '${boardId}' does not exist`);
      }
      throw err;
    }
  }

  /**
   * Runs a tick now if the last one started at least tickMs ago, else when
   * it will have: the first change after a quiet spell goes out at once, the
   * ones that follow are coalesced per tick.
   */
  private schedule(): void {
    if (this.timer !== null || this.ticking || this.closed) return;
    const delay = Math.max(0, this.lastTick + this.config.tickMs - performance.now());
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    this.ticking = true;
    this.lastTick = performance.now();
    const boards = [...this.dirty];
    this.dirty.clear();
    try {
      await Promise.all(boards.map((board) => this.refresh(board)));
    } finally {
      this.ticking = false;
      if (this.dirty.size > 0) this.schedule();
    }
  }

  /** Recomputes every loaded view of the board and pushes the deltas. */
  private async refresh(board: BoardFeed): Promise<void> {
    const views = [...board.views.values()].filter((view) => view.ready);
    let read: BoardRead | null;
    try {
      read = await this.read(board.id, views);
    } catch (err) {
      if (this.boards.get(board.id) !== board) return;
      if (err instanceof FeedError && this.boardRules(board.id) === undefined) {
        this.drop(board);
        return;
      }
      this.log?.warn({ err, boardId: board.id }, 'feed: reading the views of a board failed; retrying next tick');
      this.dirty.add(board);
      return;
    }
    if (this.boards.get(board.id) !== board) return;
    if (read === null) {
      // The board changed during the read: its windows are read again next tick.
      this.dirty.add(board);
      return;
    }
    const windows = read.windows;
    const deliveries: { delta: Delta; subscriptions: Subscription[] }[] = [];
    views.forEach((view, i) => {
      if (board.views.get(view.key) !== view) return;
      const delta = view.advance(windows[i]!, read.version, read.total);
      // The subscribers as of now: one that subscribes during the fan-out gets a snapshot of the new window instead.
      if (delta !== null && view.subscriptions.size > 0) deliveries.push({ delta, subscriptions: [...view.subscriptions] });
    });
    await this.fanOut(deliveries);
  }

  private async fanOut(deliveries: readonly { delta: Delta; subscriptions: readonly Subscription[] }[]): Promise<void> {
    let budget = FANOUT_CHUNK;
    for (const { delta, subscriptions } of deliveries) {
      for (const subscription of subscriptions) {
        subscription.subscriber.deliver(subscription, delta);
        if (--budget > 0) continue;
        budget = FANOUT_CHUNK;
        await new Promise((resolve) => setImmediate(resolve));
        if (this.closed) return;
      }
    }
  }
}
