/**
 * The service: the one place that orchestrates a submission or a query
 * (DESIGN.md "service"). HTTP, WebSocket and CLI stay thin and call it.
 *
 * A submission is applied to the index first (which ranks it atomically),
 * then made durable through the store's group commit; only after the commit
 * does the caller get its answer and the feed hear of the change. So a `200`
 * always means committed. A reader may see a change a few milliseconds before
 * it is durable; a crash in that window loses only unacknowledged scores.
 */
import { boardNotFound, LadderError, participantNotFound } from '../core/errors.js';
import type { Config } from '../core/config.js';
import type { BoardConfig, Change, Metadata, RankedEntry, Submission } from '../core/types.js';
import type { ChangeBus } from '../feed/bus.js';
import type { RankIndex, SubmitOutcome } from '../index/index.js';
import type { ScoreEvent, Store } from '../store/store.js';

export interface SubmitResult {
  readonly participantId: string;
  readonly score: number;
  readonly achievedAt: number;
  readonly rank: number;
  readonly previousRank: number | null;
  readonly previousScore: number | null;
  readonly version: number;
  readonly changed: boolean;
}

export interface BoardSummary {
  readonly config: BoardConfig;
  readonly version: number;
  readonly total: number;
}

export interface RankingsPage {
  readonly boardId: string;
  readonly version: number;
  readonly total: number;
  readonly entries: RankedEntry[];
}

export interface ParticipantStanding {
  readonly boardId: string;
  readonly entry: RankedEntry;
  readonly percentile: number;
  readonly version: number;
  readonly total: number;
  readonly above: RankedEntry[];
  readonly below: RankedEntry[];
}

export interface RankingsQuery {
  readonly limit: number;
  readonly offset: number;
  readonly around?: string | undefined;
  readonly participants?: readonly string[] | undefined;
}

export interface NewBoard {
  readonly id: string;
  readonly name?: string | undefined;
  readonly sortOrder: BoardConfig['sortOrder'];
  readonly operator: BoardConfig['operator'];
  readonly metadata?: Metadata | null | undefined;
}

export interface LadderParts {
  readonly config: Config;
  readonly index: RankIndex;
  readonly store: Store;
  readonly bus: ChangeBus;
}

export class Ladder {
  readonly config: Config;
  readonly index: RankIndex;
  readonly store: Store;
  readonly bus: ChangeBus;
  private readonly boards = new Map<string, BoardConfig>();
  /** Submissions with an event id that are being applied, so that a concurrent retry shares the result. */
  private readonly inflight = new Map<string, Promise<SubmitResult | LadderError>>();
  /** Long-polls per board: each wakes once the board's version passes `after`. */
  private readonly versionWaiters = new Map<string, Set<VersionWaiter>>();
  /** Set once a commit failed: from then on every write is refused. */
  private storageFailure: LadderError | null = null;
  /** Tail of each board's chain of exclusive apply-and-commit sections. */
  private readonly boardQueues = new Map<string, Promise<void>>();
  private readonly unsubscribeBus: () => void;

  private constructor(parts: LadderParts) {
    this.config = parts.config;
    this.index = parts.index;
    this.store = parts.store;
    this.bus = parts.bus;
    this.unsubscribeBus = this.bus.subscribe((message) => {
      if (message.kind === 'changes') this.wakeVersionWaiters(message.boardId, message.version);
    });
  }

  /** Opens the service and rebuilds the index of every board from the store. */
  static async open(parts: LadderParts): Promise<Ladder> {
    const ladder = new Ladder(parts);
    for (const stored of await parts.store.listBoards()) {
      await ladder.index.open(stored.config);
      await ladder.index.load(stored.config.id, await parts.store.loadEntries(stored.config.id), stored.version);
      ladder.boards.set(stored.config.id, stored.config);
    }
    return ladder;
  }

  /** Number of boards. Complexity: O(1). */
  get boardCount(): number {
    return this.boards.size;
  }

  /** The board's configuration (with its ranking rules), or undefined for an unknown board. Synchronous, from memory. */
  boardRules(boardId: string): BoardConfig | undefined {
    return this.boards.get(boardId);
  }

  async createBoard(input: NewBoard): Promise<BoardSummary> {
    if (this.boards.has(input.id)) throw boardExists(input.id);
    const config: BoardConfig = {
      id: input.id,
      name: input.name ?? input.id,
      sortOrder: input.sortOrder,
      operator: input.operator,
      metadata: input.metadata ?? null,
      createdAt: Date.now(),
    };
    await this.store.createBoard(config);
    await this.index.open(config);
    this.boards.set(config.id, config);
    return { config, version: 0, total: 0 };
  }

  async getBoard(boardId: string): Promise<BoardSummary> {
    const config = this.requireBoard(boardId);
    const [version, total] = await Promise.all([this.index.version(boardId), this.index.total(boardId)]);
    return { config, version, total };
  }

  /** Boards in id order, one page of them. Complexity: O(b log b) for b boards. */
  async listBoards(offset = 0, limit = Infinity): Promise<{ boards: BoardSummary[]; total: number }> {
    const ids = [...this.boards.keys()].sort();
    const boards = await Promise.all(ids.slice(offset, offset + limit).map((id) => this.getBoard(id)));
    return { boards, total: ids.length };
  }

  async deleteBoard(boardId: string): Promise<void> {
    this.requireBoard(boardId);
    this.boards.delete(boardId);
    await this.store.deleteBoard(boardId);
    await this.index.drop(boardId);
    this.bus.publish({ kind: 'dropped', boardId });
    this.wakeVersionWaiters(boardId, Infinity);
  }

  /**
   * Applies one submission and resolves once it is committed. A repeated
   * event id returns the first result and changes nothing.
   */
  async submit(boardId: string, submission: Submission): Promise<SubmitResult> {
    const [result] = await this.submitMany(boardId, [submission]);
    if (result instanceof LadderError) throw result;
    return result as SubmitResult;
  }

  /**
   * Applies many submissions to one board in order and commits them together.
   * Each item gets its own result or error; a failing item does not fail the
   * others. Resolves once everything is committed.
   */
  async submitMany(boardId: string, submissions: readonly Submission[]): Promise<(SubmitResult | LadderError)[]> {
    this.requireBoard(boardId);
    if (this.storageFailure !== null) throw this.storageFailure;
    const items = submissions.map((submission) => this.claimEventId(boardId, submission));
    try {
      // Look up retried event ids before entering the board's critical section.
      const claimed = items.filter((item) => item.claim !== undefined);
      if (claimed.length > 0) {
        await Promise.all(claimed.map(async (item) => {
          const prior = await this.store.findEvent(boardId, item.submission.eventId as string);
          if (prior) item.result = resultOfEvent(prior);
        }));
      }
      // Only the apply-and-enqueue step is exclusive; the commit itself is
      // awaited outside it, so that concurrent requests share a group commit.
      const batch = await this.exclusive(boardId, () => this.applyInOrder(boardId, items));
      try {
        await batch.committed;
      } catch (err) {
        // The index already holds changes the store lost. Accepting more writes
        // would build on them (and a retried event id would apply twice), so
        // writes stop; a restart rebuilds the index from what is durable.
        this.storageFailure ??= new LadderError('storage_failed', 'the durable store failed to commit; writes are refused until Ladder restarts', {
          cause: err instanceof Error ? err.message : String(err),
        });
        throw this.storageFailure;
      }
      for (const { item, outcome } of batch.applied) item.result = resultOfOutcome(outcome);
      const last = batch.changes[batch.changes.length - 1];
      if (last) this.bus.publish({ kind: 'changes', boardId, version: last.version, changes: batch.changes });
    } catch (err) {
      const failure = toLadderError(err);
      for (const item of items) if (item.result === undefined) item.result = failure;
    } finally {
      for (const item of items) item.claim?.settle(item.result ?? new LadderError('internal_error', 'submission was not applied'));
    }
    return Promise.all(items.map((item) => item.shared ?? (item.result as SubmitResult | LadderError)));
  }

  /**
   * Applies the items to the index in order and hands their events to the
   * store in the same order. Runs exclusively per board: if two requests
   * interleaved here, the store could receive an older state of an entry
   * after a newer one.
   */
  private async applyInOrder(boardId: string, items: PendingItem[]): Promise<AppliedBatch> {
    const events: ScoreEvent[] = [];
    const changes: Change[] = [];
    const applied: AppliedBatch['applied'] = [];
    for (const item of items) {
      if (item.result !== undefined || item.shared !== undefined) continue;
      try {
        const outcome = await this.index.submit(boardId, item.submission);
        events.push(eventOf(boardId, item.submission, outcome));
        if (outcome.changed) changes.push(changeOf(boardId, outcome));
        applied.push({ item, outcome });
      } catch (err) {
        item.result = toLadderError(err);
      }
    }
    const committed = events.length > 0 ? this.store.appendEvents(events) : Promise.resolve();
    // The caller awaits it; this keeps an early rejection from being reported as unhandled.
    committed.catch(noop);
    return { committed, applied, changes };
  }

  /** Registers a submission's event id as in flight, or finds the in-flight one it repeats. */
  private claimEventId(boardId: string, submission: Submission): PendingItem {
    if (submission.eventId === null) return { submission };
    const key = `${boardId}\n${submission.eventId}`;
    const running = this.inflight.get(key);
    if (running) return { submission, shared: running };
    let settle!: (result: SubmitResult | LadderError) => void;
    const promise = new Promise<SubmitResult | LadderError>((resolve) => (settle = resolve));
    this.inflight.set(key, promise);
    return {
      submission,
      claim: {
        settle: (result) => {
          this.inflight.delete(key);
          settle(result);
        },
      },
    };
  }

  private exclusive<T>(boardId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.boardQueues.get(boardId) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.then(noop, noop);
    this.boardQueues.set(boardId, tail);
    void tail.then(() => {
      if (this.boardQueues.get(boardId) === tail) this.boardQueues.delete(boardId);
    });
    return run;
  }

  /**
   * The page of rankings: a plain offset/limit window, a window centred on
   * `around`, or the ranks of the listed participants ("friends" board).
   */
  async rankings(boardId: string, query: RankingsQuery): Promise<RankingsPage> {
    this.requireBoard(boardId);
    let entries: RankedEntry[];
    if (query.participants !== undefined) {
      const found = await Promise.all(query.participants.map((pid) => this.index.get(boardId, pid)));
      entries = found.filter((e): e is RankedEntry => e !== null).sort((a, b) => a.rank - b.rank);
    } else if (query.around !== undefined) {
      const centre = await this.index.get(boardId, query.around);
      if (centre === null) throw participantNotFound(boardId, query.around);
      const start = Math.max(0, centre.rank - 1 - Math.floor((query.limit - 1) / 2));
      entries = await this.index.range(boardId, start, query.limit);
    } else {
      entries = await this.index.range(boardId, query.offset, query.limit);
    }
    const [version, total] = await Promise.all([this.index.version(boardId), this.index.total(boardId)]);
    return { boardId, version, total, entries };
  }

  /** A participant's standing with `neighbors` entries above and below. */
  async participant(boardId: string, participantId: string, neighbors: number): Promise<ParticipantStanding> {
    this.requireBoard(boardId);
    const entry = await this.index.get(boardId, participantId);
    if (entry === null) throw participantNotFound(boardId, participantId);
    const aboveStart = Math.max(0, entry.rank - 1 - neighbors);
    const [above, below, version, total] = await Promise.all([
      this.index.range(boardId, aboveStart, entry.rank - 1 - aboveStart),
      this.index.range(boardId, entry.rank, neighbors),
      this.index.version(boardId),
      this.index.total(boardId),
    ]);
    // Share of the others ranked below this participant: 100 for the leader, 0 for the last.
    const percentile = total <= 1 ? 100 : Math.round(((total - entry.rank) / (total - 1)) * 10000) / 100;
    return { boardId, entry, percentile, version, total, above, below };
  }

  /**
   * Resolves once the board's version exceeds `afterVersion`, after
   * `timeoutMs`, when `signal` aborts (the client went away) or when the
   * service closes, whichever comes first (long-poll).
   */
  async waitForVersion(boardId: string, afterVersion: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    this.requireBoard(boardId);
    if ((await this.index.version(boardId)) > afterVersion || timeoutMs <= 0 || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const waiters = this.versionWaiters.get(boardId) ?? new Set<VersionWaiter>();
      this.versionWaiters.set(boardId, waiters);
      const waiter: VersionWaiter = {
        after: afterVersion,
        wake: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', waiter.wake);
          waiters.delete(waiter);
          if (waiters.size === 0 && this.versionWaiters.get(boardId) === waiters) this.versionWaiters.delete(boardId);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, timeoutMs);
      signal?.addEventListener('abort', waiter.wake);
      waiters.add(waiter);
    });
  }

  private wakeVersionWaiters(boardId: string, version: number): void {
    for (const waiter of [...(this.versionWaiters.get(boardId) ?? [])]) if (version > waiter.after) waiter.wake();
  }

  private requireBoard(boardId: string): BoardConfig {
    const board = this.boards.get(boardId);
    if (!board) throw boardNotFound(boardId);
    return board;
  }

  /** Answers every pending long-poll now (at shutdown, before the HTTP server drains). */
  endLongPolls(): void {
    for (const boardId of [...this.versionWaiters.keys()]) this.wakeVersionWaiters(boardId, Infinity);
  }

  /** Waits for the board queues to drain, then closes the store. */
  async close(): Promise<void> {
    this.unsubscribeBus();
    this.endLongPolls();
    await Promise.all([...this.boardQueues.values()]);
    await this.store.close();
  }
}

interface VersionWaiter {
  readonly after: number;
  readonly wake: () => void;
}

interface AppliedBatch {
  readonly committed: Promise<void>;
  readonly applied: { item: PendingItem; outcome: SubmitOutcome }[];
  readonly changes: Change[];
}

interface PendingItem {
  readonly submission: Submission;
  /** Set when this item repeats an event id that another request is applying right now. */
  readonly shared?: Promise<SubmitResult | LadderError>;
  /** Set when this item owns its event id; settle() publishes the result to concurrent retries. */
  readonly claim?: { settle(result: SubmitResult | LadderError): void };
  result?: SubmitResult | LadderError;
}

function noop(): void {}

function boardExists(boardId: string): LadderError {
  return new LadderError('board_exists', `leaderboard '${boardId}' exists already`, { leaderboard_id: boardId });
}

function toLadderError(err: unknown): LadderError {
  if (err instanceof LadderError) return err;
  return new LadderError('internal_error', 'internal error', { cause: err instanceof Error ? err.message : String(err) });
}

function eventOf(boardId: string, submission: Submission, outcome: SubmitOutcome): ScoreEvent {
  return {
    boardId,
    eventId: submission.eventId,
    participantId: submission.participantId,
    submitted: submission.score,
    timestamp: submission.timestamp,
    receivedAt: Date.now(),
    oldScore: outcome.previous?.score ?? null,
    newScore: outcome.entry.score,
    oldRank: outcome.previous?.rank ?? null,
    newRank: outcome.entry.rank,
    version: outcome.version,
    changed: outcome.changed,
    metadata: submission.metadata,
    entry: outcome.entry,
  };
}

function changeOf(boardId: string, outcome: SubmitOutcome): Change {
  return {
    boardId,
    version: outcome.version,
    participantId: outcome.entry.participantId,
    score: outcome.entry.score,
    achievedAt: outcome.entry.achievedAt,
    oldRank: outcome.previous?.rank ?? null,
    newRank: outcome.entry.rank,
  };
}

function resultOfOutcome(outcome: SubmitOutcome): SubmitResult {
  return {
    participantId: outcome.entry.participantId,
    score: outcome.entry.score,
    achievedAt: outcome.entry.achievedAt,
    rank: outcome.entry.rank,
    previousRank: outcome.previous?.rank ?? null,
    previousScore: outcome.previous?.score ?? null,
    version: outcome.version,
    changed: outcome.changed,
  };
}

/** The answer a retried event id gets: the one its first submission got. */
function resultOfEvent(event: ScoreEvent): SubmitResult {
  return {
    participantId: event.participantId,
    score: event.newScore,
    achievedAt: event.entry.achievedAt,
    rank: event.newRank,
    previousRank: event.oldRank,
    previousScore: event.oldScore,
    version: event.version,
    changed: event.changed,
  };
}
