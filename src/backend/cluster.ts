/**
 * The cluster backend (DESIGN.md "Two modes"): live ranks in Redis, durable
 * history in PostgreSQL, behind the same write and read ports as embedded
 * mode. Every process is stateless: what a board is lives in Redis and
 * PostgreSQL, and any process answers for any board.
 *
 * - A write is one script call per board and batch (index/redis.ts): it
 *   applies the operator, re-ranks, bumps the version and appends the events
 *   to the board's stream, atomically. By default the answer goes out then
 *   (LADDER_ACK=redis); PostgreSQL gets the events from the persister
 *   (backend/persister.ts) within its lag. With LADDER_ACK=durable the
 *   answer waits until they are committed there.
 * - A read is one script call, so a page, its version and its epoch are one
 *   state of the board.
 * - A board Redis does not hold (never used since it was created, or Redis
 *   lost it) is loaded from PostgreSQL on first use, by one process at a
 *   time, with a new epoch when it held entries: versions issued since the
 *   last persisted one may be issued again, and viewers must resync.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { boardNotFound, LadderError } from '../core/errors.js';
import { newEpoch } from '../core/epoch.js';
import type { BoardRules, Submission } from '../core/types.js';
import type { BusMessage, ChangeBus } from '../feed/bus.js';
import type { RankQuery, RankRead } from '../index/index.js';
import type { RedisIndex } from '../index/redis.js';
import { loadedEntries, type Store } from '../store/store.js';
import { checkedSubmissions, type Backend, type BoardStanding, type SubmitBatch } from './backend.js';
import type { Persister } from './persister.js';

export interface ClusterOptions {
  readonly ack: 'redis' | 'durable';
  /** LADDER_ACK=durable: how long a submission waits for PostgreSQL before it is answered not_durable_yet. */
  readonly durableTimeoutMs?: number;
  readonly onError?: (err: unknown, context: string) => void;
}

/** A load holds the board's lock at most this long (another process takes over after it). */
const LOAD_LOCK_MS = 60_000;
const LOCK_POLL_MS = 25;
/** A write waits this long for a rebuild of its board before it is refused. */
const REBUILD_WAIT_MS = 2_000;

export class ClusterBackend implements Backend {
  readonly #index: RedisIndex;
  readonly #store: Store;
  readonly #bus: ChangeBus;
  readonly #redis: Redis | Cluster;
  readonly #persister: Persister;
  readonly #options: ClusterOptions;
  /** Greatest seq known committed to PostgreSQL, per board, and who waits for more (LADDER_ACK=durable). */
  readonly #persisted = new Map<string, { seq: number; waiters: Set<{ seq: number; done: () => void }> }>();
  readonly #unsubscribe: () => void;

  constructor(parts: { index: RedisIndex; store: Store; bus: ChangeBus; redis: Redis | Cluster; persister: Persister }, options: ClusterOptions) {
    this.#index = parts.index;
    this.#store = parts.store;
    this.#bus = parts.bus;
    this.#redis = parts.redis;
    this.#persister = parts.persister;
    this.#options = options;
    this.#unsubscribe = this.#bus.subscribe((message) => this.#onBusMessage(message));
  }

  async submit(rules: BoardRules, submissions: readonly Submission[]): Promise<SubmitBatch> {
    const { outcomes, valid, positions } = checkedSubmissions(submissions);
    const applied = await this.#onBoard(rules, () => this.#whenWritable(() => this.#index.submit(rules.id, valid, Date.now())));
    let changedVersion = -1;
    let logged = false;
    applied.outcomes.forEach((outcome, k) => {
      outcomes[positions[k]!] = outcome;
      if (outcome instanceof LadderError || outcome.duplicate) return;
      logged = true;
      if (outcome.changed) changedVersion = outcome.version;
    });
    if (logged) this.#persister.touched(rules.id);
    if (changedVersion >= 0) this.#bus.publish({ kind: 'changes', boardId: rules.id, epoch: applied.epoch, version: changedVersion });
    // The board's last seq now is at least that of this batch's last event.
    if (this.#options.ack === 'durable' && logged && !(await this.#persistedUpTo(rules.id, await this.#index.lastSeq(rules.id)))) {
      const late = new LadderError(
        'not_durable_yet',
        `the submissions were applied to the live ranking, but PostgreSQL has not committed them within ${this.#durableTimeoutMs} ms (LADDER_ACK=durable); retry with the same event_id to learn when it has`,
      );
      for (let i = 0; i < outcomes.length; i++) if (!(outcomes[i] instanceof LadderError)) outcomes[i] = late;
    }
    return { epoch: applied.epoch, outcomes };
  }

  read(rules: BoardRules, queries: readonly RankQuery[]): Promise<RankRead> {
    return this.#onBoard(rules, () => this.#index.read(rules.id, queries));
  }

  async standing(boardId: string): Promise<BoardStanding | null> {
    const stored = await this.#store.getBoard(boardId);
    if (stored === null) return null;
    const read = await this.#onBoard(stored.config, () => this.#index.read(boardId, []));
    return { epoch: read.epoch, version: read.version, total: read.total };
  }

  health(): Record<string, string | number> {
    const lag = this.#persister.lag;
    return { mode: 'cluster', ack: this.#options.ack, persister_lag_events: lag.events, persister_lag_ms: lag.ms };
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    await this.#persister.close();
  }

  /**
   * Loads the board into Redis from PostgreSQL (`ladder rebuild`, and a
   * board Redis lost), holding the board's lock. Returns the entries loaded.
   */
  rebuild(rules: BoardRules): Promise<number> {
    return this.#locked(rules.id, async () => {
      if (!(await this.#index.exists(rules.id))) return this.#loadFromStore(rules);
      // What Redis still holds of the board's stream goes to PostgreSQL first, so the load includes
      // it, and no write lands between the two.
      await this.#index.freeze(rules.id, Date.now() + LOAD_LOCK_MS);
      try {
        await this.#persister.drainBoard(rules.id);
        return await this.#loadFromStore(rules);
      } finally {
        await this.#index.thaw(rules.id);
      }
    });
  }

  get #durableTimeoutMs(): number {
    return this.#options.durableTimeoutMs ?? 10_000;
  }

  /**
   * Runs `call`; a board Redis does not hold is loaded first (by one
   * process), then `call` runs again. A failure of Redis itself becomes
   * index_unavailable (503), so the caller answers at once.
   */
  async #onBoard<T>(rules: BoardRules, call: () => Promise<T>): Promise<T> {
    try {
      try {
        return await call();
      } catch (err) {
        if (!(err instanceof LadderError && err.code === 'board_not_found')) throw err;
      }
      if (!(await this.#index.exists(rules.id))) {
        await this.#locked(rules.id, async () => {
          // Another process may have loaded it while this one waited for the lock.
          if (!(await this.#index.exists(rules.id))) await this.#loadFromStore(rules);
        });
      }
      return await call();
    } catch (err) {
      if (err instanceof LadderError) throw err;
      throw new LadderError('index_unavailable', `the live ranking (Redis) cannot be reached or failed (${err instanceof Error ? err.message : String(err)}); retry, with the same event_id for submissions, which are then applied once`);
    }
  }

  /** rebuild's work, for a caller that holds the lock. */
  async #loadFromStore(rules: BoardRules): Promise<number> {
    const board = await this.#store.loadBoard(rules.id);
    if (board === null) throw boardNotFound(rules.id);
    const entries = loadedEntries(board);
    // A board with history gets a new epoch: versions after the last persisted one may be issued again.
    const epoch = board.board.version === 0 && entries.length === 0 ? board.board.epoch : newEpoch();
    const state = { epoch, version: board.board.version };
    // load replaces a board Redis holds; one it lost is opened first. Its log goes on after the store's last seq.
    await this.#index.open(rules, state, board.seq);
    await this.#index.load(rules.id, entries, state, board.seq);
    if (epoch !== board.board.epoch) await this.#store.setEpoch(rules.id, epoch);
    this.#persister.forget(rules.id);
    if (epoch !== board.board.epoch) this.#bus.publish({ kind: 'board_reset', boardId: rules.id });
    return entries.length;
  }

  /** Runs a write; while a rebuild holds the board, waits and tries again for a while, then refuses with board_rebuilding. */
  async #whenWritable<T>(write: () => Promise<T>): Promise<T> {
    const giveUp = Date.now() + REBUILD_WAIT_MS;
    for (;;) {
      try {
        return await write();
      } catch (err) {
        if (!(err instanceof LadderError && err.code === 'board_rebuilding') || Date.now() > giveUp) throw err;
        await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      }
    }
  }

  /** Runs `work` holding the board's lock in Redis (SET NX PX), polling for it. */
  async #locked<T>(boardId: string, work: () => Promise<T>): Promise<T> {
    const key = `${this.#index.keys(boardId).state}:lock`;
    const token = randomBytes(8).toString('hex');
    while ((await this.#redis.set(key, token, 'PX', LOAD_LOCK_MS, 'NX')) === null) await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    try {
      return await work();
    } finally {
      // Released only if still ours (it may have expired and been taken).
      await this.#redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, key, token);
    }
  }

  /** Resolves true once PostgreSQL holds the board's events up to `seq`, false after the timeout. */
  #persistedUpTo(boardId: string, seq: number): Promise<boolean> {
    const state = this.#persistedState(boardId);
    if (state.seq >= seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        seq,
        done: () => {
          clearTimeout(timer);
          state.waiters.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        state.waiters.delete(waiter);
        resolve(false);
      }, this.#durableTimeoutMs);
      state.waiters.add(waiter);
    });
  }

  #persistedState(boardId: string): { seq: number; waiters: Set<{ seq: number; done: () => void }> } {
    let state = this.#persisted.get(boardId);
    if (state === undefined) {
      state = { seq: 0, waiters: new Set() };
      this.#persisted.set(boardId, state);
    }
    return state;
  }

  /** The persister of some process committed the board's events up to `seq`. */
  persisted(boardId: string, seq: number): void {
    const state = this.#persisted.get(boardId);
    if (state === undefined) return;
    state.seq = Math.max(state.seq, seq);
    for (const waiter of [...state.waiters]) if (waiter.seq <= state.seq) waiter.done();
    if (state.waiters.size === 0) this.#persisted.delete(boardId);
  }

  #onBusMessage(message: BusMessage): void {
    switch (message.kind) {
      case 'persisted':
        this.persisted(message.boardId, message.seq);
        break;
      case 'board_deleted':
        this.#persister.forget(message.boardId);
        this.#index.drop(message.boardId).catch((err: unknown) => this.#options.onError?.(err, `dropping the Redis keys of deleted board '${message.boardId}'`));
        break;
    }
  }
}
