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
import type { BoardConfig, BoardRules, Submission } from '../core/types.js';
import type { BusMessage, ChangeBus } from '../feed/bus.js';
import type { RankQuery, RankRead } from '../index/index.js';
import { BoardRanking } from '../index/memory.js';
import { DerivedRankingsMissing } from '../index/derived.js';
import { DerivedPeriodMismatch, PeriodMismatch, type AppliedBatch, type DerivedLogged, type Removal, type RedisIndex } from '../index/redis.js';
import { loadedEntries, type Store } from '../store/store.js';
import {
  checkedSubmissions,
  DerivedPeriodPassed,
  PeriodPassed,
  periodClosed,
  type Backend,
  type BoardErasure,
  type BoardStanding,
  type DerivedTargets,
  type PeriodCloseRequest,
  type SubmitBatch,
  readyCheck,
  storeReady,
  type ReadyCheck,
} from './backend.js';
import type { Persister } from './persister.js';

export interface ClusterOptions {
  readonly ack: 'redis' | 'durable';
  /** LADDER_ACK=durable: how long a submission waits for PostgreSQL before it is answered not_durable_yet. */
  readonly durableTimeoutMs?: number;
  /** Readiness fails while the persister is further behind Redis than this (LADDER_READY_MAX_LAG_MS). */
  readonly readyMaxLagMs: number;
  readonly onError?: (err: unknown, context: string) => void;
}

/** A durable submission batch: the log positions of its events that no persister has reported yet. */
interface DurableWaiter {
  readonly remaining: Set<number>;
  readonly done: () => void;
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
  /** Submissions waiting for PostgreSQL, per board (LADDER_ACK=durable). */
  readonly #durableWaiters = new Map<string, Set<DurableWaiter>>();
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

  async submit(rules: BoardRules, submissions: readonly Submission[], periodStart: number | null = null, derived?: DerivedTargets): Promise<SubmitBatch> {
    if (derived !== undefined) return this.#submitDerived(rules, submissions, periodStart, derived);
    const { outcomes, valid, positions } = checkedSubmissions(submissions);
    let applied: AppliedBatch;
    try {
      applied = await this.#onBoard(rules, () => this.#whenWritable(() => this.#index.submit(rules.id, valid, Date.now(), periodStart, rules.rankTies)));
    } catch (err) {
      if (!(err instanceof PeriodMismatch)) throw err;
      if (periodStart !== null && err.periodStart < periodStart) throw new PeriodPassed(rules.id);
      return { epoch: '', outcomes: submissions.map(() => periodClosed(rules.id)) };
    }
    let changedVersion = -1;
    let logged = 0;
    applied.outcomes.forEach((outcome, k) => {
      outcomes[positions[k]!] = outcome;
      if (outcome instanceof LadderError || outcome.duplicate) return;
      logged += 1;
      if (outcome.changed) changedVersion = outcome.version;
    });
    // The batch's logged events took the last `logged` log positions up to applied.seq. The wait
    // starts before the persister is told, so that no report of them can come first.
    const durable = this.#options.ack === 'durable' && logged > 0 ? this.#persistedAll(rules.id, applied.seq - logged + 1, applied.seq) : null;
    if (logged > 0) this.#persister.touched(rules.id);
    if (changedVersion >= 0) this.#bus.publish({ kind: 'changes', boardId: rules.id, epoch: applied.epoch, version: changedVersion });
    if (durable !== null && !(await durable)) {
      const late = new LadderError(
        'not_durable_yet',
        `the submissions were applied to the live ranking, but PostgreSQL has not committed them within ${this.#durableTimeoutMs} ms (LADDER_ACK=durable); retry with the same event_id to learn when it has`,
      );
      for (let i = 0; i < outcomes.length; i++) if (!(outcomes[i] instanceof LadderError)) outcomes[i] = late;
    }
    return { epoch: applied.epoch, outcomes };
  }

  /**
   * submit with derived rankings: one script call writes the board and them
   * (their keys share its hash tag, index/redis-keys.ts), so the write is
   * atomic in Redis as it is embedded. A derived ranking Redis does not hold
   * is loaded from PostgreSQL (or made, when new) first, then the call runs
   * again. The answer waits, under LADDER_ACK=durable, for every board's events.
   */
  async #submitDerived(rules: BoardRules, submissions: readonly Submission[], periodStart: number | null, derived: DerivedTargets): Promise<SubmitBatch> {
    const { outcomes, valid, positions } = checkedSubmissions(submissions);
    let applied: AppliedBatch & { readonly derived: readonly DerivedLogged[] };
    for (let attempt = 1; ; attempt++) {
      try {
        applied = await this.#onBoard(rules, () => this.#whenWritable(() => this.#index.submitDerived(rules.id, valid, derived.spec, Date.now(), periodStart, rules.rankTies)));
        break;
      } catch (err) {
        if (err instanceof PeriodMismatch) {
          if (periodStart !== null && err.periodStart < periodStart) throw new PeriodPassed(rules.id);
          return { epoch: '', outcomes: submissions.map(() => periodClosed(rules.id)) };
        }
        if (err instanceof DerivedPeriodMismatch) {
          if (periodStart !== null && err.periodStart < periodStart) throw new DerivedPeriodPassed(err.boardId);
          return { epoch: '', outcomes: submissions.map(() => periodClosed(rules.id)) };
        }
        if (!(err instanceof DerivedRankingsMissing) || attempt >= 3) throw err;
        for (const boardId of err.boardIds) {
          const config = derived.boards.get(boardId);
          if (config === undefined) throw new Error(`derived ranking '${boardId}' of leaderboard '${rules.id}' is unknown: the service makes it before the write`, { cause: err });
          await this.#onBoard(config, () => this.#ensureLoaded(config));
        }
      }
    }
    let changedVersion = -1;
    let logged = 0;
    applied.outcomes.forEach((outcome, k) => {
      outcomes[positions[k]!] = outcome;
      if (outcome instanceof LadderError || outcome.duplicate) return;
      logged += 1;
      if (outcome.changed) changedVersion = outcome.version;
    });
    const waits: Promise<boolean>[] = [];
    if (this.#options.ack === 'durable' && logged > 0) waits.push(this.#persistedAll(rules.id, applied.seq - logged + 1, applied.seq));
    for (const written of applied.derived) if (this.#options.ack === 'durable') waits.push(this.#persistedAll(written.boardId, written.seq - written.logged + 1, written.seq));
    if (logged > 0) this.#persister.touched(rules.id);
    for (const written of applied.derived) this.#persister.touched(written.boardId);
    if (changedVersion >= 0) this.#bus.publish({ kind: 'changes', boardId: rules.id, epoch: applied.epoch, version: changedVersion });
    for (const written of applied.derived) if (written.changed) this.#bus.publish({ kind: 'changes', boardId: written.boardId, epoch: written.epoch, version: written.version });
    if (waits.length > 0 && !(await Promise.all(waits)).every(Boolean)) {
      const late = new LadderError(
        'not_durable_yet',
        `the submissions were applied to the live ranking, but PostgreSQL has not committed them within ${this.#durableTimeoutMs} ms (LADDER_ACK=durable); retry with the same event_id to learn when it has`,
      );
      for (let i = 0; i < outcomes.length; i++) if (!(outcomes[i] instanceof LadderError)) outcomes[i] = late;
    }
    return { epoch: applied.epoch, outcomes };
  }

  /**
   * Under the board's lock, by one process at a time: the store says whether
   * the period is still open (another process may have closed it), the
   * board's writes are frozen and its stream drained into PostgreSQL, and
   * the archive is what PostgreSQL then holds, which is every acknowledged
   * write. Then Redis starts the next period (empty, new epoch) or forgets
   * the finalized board.
   */
  async closePeriod(config: BoardConfig, close: PeriodCloseRequest): Promise<boolean> {
    const boardId = config.id;
    return this.#locked(boardId, async () => {
      const stored = await this.#store.getBoard(boardId);
      if (stored === null || stored.config.periodStart !== config.periodStart || stored.config.finalizedAt !== null) return false;
      const inRedis = await this.#index.exists(boardId);
      if (inRedis) {
        await this.#index.freeze(boardId, Date.now() + LOAD_LOCK_MS);
        await this.#persister.drainBoard(boardId);
      }
      try {
        const loaded = await this.#store.loadBoard(boardId);
        if (loaded === null) return false;
        const ranking = new BoardRanking(config);
        ranking.loadSorted(loaded.ranked, { epoch: '', version: 0 }, loaded.changed, loaded.removed);
        const epoch = newEpoch();
        const closed = await this.#store.closePeriod({
          boardId,
          periodId: close.periodId,
          startsAt: close.startsAt,
          endsAt: close.endsAt,
          closedAt: close.closedAt,
          ranked: ranking.rankedColumns(),
          config: close.next,
          reset: close.reset ? { epoch, seq: loaded.seq } : null,
          webhook: close.webhook,
        });
        if (!closed) return false;
        this.#persister.forget(boardId);
        if (!close.reset) {
          await this.#index.drop(boardId);
        } else if (inRedis) {
          await this.#index.load(boardId, [], { epoch, version: 0 }, loaded.seq);
          await this.#index.setPeriodStart(boardId, close.next.periodStart);
        }
        return true;
      } finally {
        if (inRedis && close.reset) await this.#index.thaw(boardId);
      }
    });
  }

  read(rules: BoardRules, queries: readonly RankQuery[]): Promise<RankRead> {
    return this.#onBoard(rules, () => this.#index.read(rules.id, queries, { ties: rules.rankTies }));
  }

  /**
   * Backend.erase, holding the board's lock (no load or rebuild meanwhile)
   * with the board frozen: its stream is drained into PostgreSQL first, as
   * a rebuild does, so that no event of the participant still on its way
   * there can bring them back after the erasure. Then their entry leaves
   * Redis (version + 1) and PostgreSQL, the stream (all of it persisted) is
   * trimmed, and the board is thawed; writes wait meanwhile (up to 2 s, then
   * board_rebuilding). When PostgreSQL fails after Redis removed the entry,
   * viewers still hear of the removal and the call rejects: a retry erases
   * what PostgreSQL kept.
   */
  async erase(rules: BoardRules, participantId: string): Promise<BoardErasure> {
    return this.#onBoard(rules, () =>
      this.#locked(rules.id, async () => {
        if (!(await this.#index.exists(rules.id))) throw boardNotFound(rules.id);
        await this.#index.freeze(rules.id, Date.now() + LOAD_LOCK_MS);
        let removal: Removal;
        let failure: unknown = null;
        try {
          await this.#persister.drainBoard(rules.id);
          const left = await this.#persister.backlog(rules.id);
          if (left > 0) {
            throw new LadderError('storage_failed', `${left} events of leaderboard '${rules.id}' could not be moved to PostgreSQL, so participant '${participantId}' was not erased there; retry`);
          }
          removal = await this.#index.erase(rules.id, participantId);
          try {
            await this.#store.eraseParticipant(rules.id, participantId, { seq: removal.seq, version: removal.version });
            // Everything in the stream is in PostgreSQL now, and no write lands while frozen.
            await this.#redis.xtrim(this.#index.keys(rules.id).log, 'MAXLEN', 0);
          } catch (err) {
            failure = err;
          }
        } finally {
          await this.#index.thaw(rules.id);
        }
        if (removal.removed !== null) this.#bus.publish({ kind: 'changes', boardId: rules.id, epoch: removal.epoch, version: removal.version });
        if (failure !== null) throw failure;
        return { epoch: removal.epoch, version: removal.version, removed: removal.removed };
      }),
    );
  }

  async standing(boardId: string): Promise<BoardStanding | null> {
    let read: RankRead;
    try {
      read = await this.#index.read(boardId, []);
    } catch (err) {
      if (!(err instanceof LadderError && err.code === 'board_not_found')) throw err;
      // Not in Redis: the store says whether the board exists, and it is loaded if it does.
      const stored = await this.#store.getBoard(boardId);
      if (stored === null) return null;
      read = await this.#onBoard(stored.config, () => this.#index.read(boardId, []));
    }
    return { epoch: read.epoch, version: read.version, total: read.total };
  }

  health(): Record<string, string | number> {
    const lag = this.#persister.lag;
    return { mode: 'cluster', ack: this.#options.ack, persister_lag_events: lag.events, persister_lag_ms: lag.ms };
  }

  /** Redis answers, PostgreSQL answers, and the persister is within maxLagMs of Redis. */
  async ready(): Promise<ReadyCheck[]> {
    const [index, store] = await Promise.all([readyCheck('index', 'index_unavailable', () => this.#redis.ping()), storeReady(this.#store)]);
    const lag = this.#persister.lag;
    const persister: ReadyCheck =
      lag.ms <= this.#options.readyMaxLagMs
        ? { name: 'persister', ok: true }
        : { name: 'persister', ok: false, code: 'store_unavailable', detail: `PostgreSQL is ${lag.ms} ms (${lag.events} events) behind Redis, more than LADDER_READY_MAX_LAG_MS` };
    return [index, store, persister];
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
      await this.#ensureLoaded(rules);
      return await call();
    } catch (err) {
      if (err instanceof LadderError || err instanceof PeriodMismatch || err instanceof DerivedPeriodMismatch || err instanceof DerivedRankingsMissing) throw err;
      throw new LadderError('index_unavailable', `the live ranking (Redis) cannot be reached or failed (${err instanceof Error ? err.message : String(err)}); retry, with the same event_id for submissions, which are then applied once`);
    }
  }

  /** Loads the board from the store unless Redis holds it, by one process at a time. */
  async #ensureLoaded(rules: BoardRules): Promise<void> {
    if (await this.#index.exists(rules.id)) return;
    await this.#locked(rules.id, async () => {
      // Another process may have loaded it while this one waited for the lock.
      if (!(await this.#index.exists(rules.id))) await this.#loadFromStore(rules);
    });
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
    await this.#index.open(rules, state, board.seq, board.board.config.periodStart);
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

  /**
   * Resolves true once PostgreSQL holds the board's events at log positions
   * first..last, as persisters (of any process) report them, false after the
   * timeout. Each position counts only when it is reported itself: a later
   * batch persisted by another member says nothing of these.
   */
  #persistedAll(boardId: string, first: number, last: number): Promise<boolean> {
    return new Promise((resolve) => {
      const remaining = new Set<number>();
      for (let seq = first; seq <= last; seq++) remaining.add(seq);
      const waiters = this.#durableWaiters.get(boardId) ?? new Set<DurableWaiter>();
      this.#durableWaiters.set(boardId, waiters);
      const settle = (done: boolean) => {
        clearTimeout(timer);
        waiters.delete(waiter);
        if (waiters.size === 0 && this.#durableWaiters.get(boardId) === waiters) this.#durableWaiters.delete(boardId);
        resolve(done);
      };
      const waiter: DurableWaiter = { remaining, done: () => settle(true) };
      const timer = setTimeout(() => settle(false), this.#durableTimeoutMs);
      waiters.add(waiter);
    });
  }

  /** A persister committed the board's events at these log positions (inclusive ranges). */
  #persisted(boardId: string, ranges: readonly (readonly [number, number])[]): void {
    for (const waiter of [...(this.#durableWaiters.get(boardId) ?? [])]) {
      for (const [from, to] of ranges) for (const seq of [...waiter.remaining]) if (seq >= from && seq <= to) waiter.remaining.delete(seq);
      if (waiter.remaining.size === 0) waiter.done();
    }
  }

  #onBusMessage(message: BusMessage): void {
    switch (message.kind) {
      case 'persisted':
        this.#persisted(message.boardId, message.ranges);
        break;
      case 'board_deleted':
        this.#persister.forget(message.boardId);
        this.#index.drop(message.boardId).catch((err: unknown) => this.#options.onError?.(err, `dropping the Redis keys of deleted board '${message.boardId}'`));
        break;
    }
  }
}
