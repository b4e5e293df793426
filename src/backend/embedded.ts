/**
 * The embedded backend: the in-process index (one BoardRanking per loaded
 * board, index/memory.ts), SQLite group commit and the local bus behind the
 * write and read ports (backend/backend.ts).
 *
 * Boards are loaded lazily, on their first read or write, and released when
 * idle for LADDER_BOARD_IDLE_MS with nothing on its way to the disk, so
 * memory follows the boards in use, not the boards that exist.
 *
 * A write is synchronous from validation to the hand-off to the group
 * commit, so submissions to a board are applied and logged in one order
 * without a queue or a lock. The live ranking is updated before the commit
 * and readers may see a change a few milliseconds before it is durable; the
 * caller is answered, and the feed told, only after the commit. A crash in
 * that window is why the store gives every board a new epoch after an
 * unclean stop.
 *
 * When a commit fails, the boards whose events it held (and held behind it)
 * are released and reloaded from what is durable, with a new epoch, on their
 * next use; their submitters get storage_failed and may retry. Other boards
 * and later writes go on.
 *
 * Each event gets the next seq of its board, and a board that took
 * `checkpointEvents` events since its last checkpoint gets a new one (at
 * most one at a time, and no more often than every `checkpointIntervalMs`
 * per board), so that a load replays a bounded tail of the log. The live
 * ranking runs ahead of the commit, so the state captured may hold events
 * still on their way to the disk: it is handed to the store only once the
 * last of them is committed, and dropped if that commit fails. Either way
 * the store records only a state whose every event is committed.
 */
import { configSchema } from '../core/config.js';
import { boardNotFound, LadderError } from '../core/errors.js';
import { newEpoch } from '../core/epoch.js';
import { fingerprintOf, submissionFingerprint } from '../core/submission.js';
import type { BoardConfig, BoardRules, Submission } from '../core/types.js';
import type { BusMessage, ChangeBus } from '../feed/bus.js';
import { parentBoardId, scopeOfBoardId } from '../core/derived.js';
import { applyWithDerived, derivedTargets, scopeMembersOf, type DerivedStep, type ScopeMembers } from '../index/derived.js';
import type { RankQuery, RankRead, SubmitOutcome } from '../index/index.js';
import { BoardRanking } from '../index/memory.js';
import type { SqliteStore } from '../store/sqlite.js';
import type { ScoreEvent } from '../store/store.js';
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
  storeReady,
  type ReadyCheck,
} from './backend.js';

/** A clean stop checkpoints the boards with at least this many events (or LADDER_CHECKPOINT_EVENTS, if fewer) since their last checkpoint. */
const CLOSE_CHECKPOINT_EVENTS = 10_000;

export interface EmbeddedOptions {
  /** Release a board's memory after this long without reads or writes; 0 keeps every board loaded. */
  readonly boardIdleMs: number;
  /** Checkpoint a board after this many events since its last checkpoint (LADDER_CHECKPOINT_EVENTS); 0: never. */
  readonly checkpointEvents?: number;
  /** At least this long between two checkpoints of a board (LADDER_CHECKPOINT_INTERVAL_MS). */
  readonly checkpointIntervalMs?: number;
  /** Reports a failed commit (the feed and the service carry on). */
  readonly onCommitFailed?: (boardIds: readonly string[], err: Error) => void;
  /** Reports a checkpoint that failed (the board is checkpointed again later; its log keeps everything). */
  readonly onCheckpointFailed?: (boardId: string, err: Error) => void;
}

interface LiveBoard {
  readonly ranking: BoardRanking;
  /** Event batches of the board handed to the group commit and not settled yet. */
  pending: number;
  /** The latest of those commits: a duplicate's answer waits for it, since its first submission may still be on its way. */
  lastCommit: Promise<void>;
  lastUsed: number;
  /** The seq of the board's last event handed to the store. */
  seq: number;
  /** Events handed to the store since the last checkpoint (after a load: those it replayed). */
  sinceCheckpoint: number;
  /** When the last checkpoint of the board was taken, 0 if none since the load. */
  checkpointedAt: number;
  /** Start of the period the live standings belong to (0 without resets). */
  periodStart: number;
  /**
   * A board with scopes: where its participants stand in its scope
   * rankings (index/derived.ts), made from those rankings on the first write
   * that needs it, and made again after one of them changed otherwise (a
   * close, a reload).
   */
  members: ScopeMembers | null;
}

/** The checkpoint being taken; one at a time. */
interface CheckpointJob {
  readonly boardId: string;
  readonly done: Promise<void>;
  /** Set when the board is deleted meanwhile. */
  cancelled: boolean;
}

export class EmbeddedBackend implements Backend {
  readonly #store: SqliteStore;
  readonly #bus: ChangeBus;
  readonly #options: EmbeddedOptions;
  readonly #live = new Map<string, LiveBoard>();
  readonly #loading = new Map<string, Promise<LiveBoard>>();
  /** Boards released after a failed commit: their next load starts a new epoch. */
  readonly #needNewEpoch = new Set<string>();
  readonly #unsubscribe: () => void;
  readonly #sweeper: NodeJS.Timeout | null;
  readonly #checkpointEvents: number;
  readonly #checkpointIntervalMs: number;
  #checkpoint: CheckpointJob | null = null;
  #closed = false;

  constructor(store: SqliteStore, bus: ChangeBus, options: EmbeddedOptions) {
    this.#store = store;
    this.#bus = bus;
    this.#options = options;
    this.#checkpointEvents = options.checkpointEvents ?? configSchema.checkpointEvents.default;
    this.#checkpointIntervalMs = options.checkpointIntervalMs ?? configSchema.checkpointIntervalMs.default;
    this.#unsubscribe = bus.subscribe((message) => this.#onBusMessage(message));
    if (options.boardIdleMs > 0) {
      this.#sweeper = setInterval(() => this.#releaseIdle(), Math.max(50, Math.min(options.boardIdleMs / 2, 60_000)));
      this.#sweeper.unref();
    } else {
      this.#sweeper = null;
    }
  }

  /** Boards whose entries are in memory now. */
  get loadedBoards(): number {
    return this.#live.size;
  }

  async submit(rules: BoardRules, submissions: readonly Submission[], periodStart: number | null = null, derived?: DerivedTargets): Promise<SubmitBatch> {
    if (derived !== undefined) return this.#submitDerived(rules, submissions, periodStart, derived);
    const board = this.#live.get(rules.id) ?? (await this.#load(rules));
    board.lastUsed = Date.now();
    if (periodStart !== null && board.periodStart !== periodStart) {
      if (board.periodStart < periodStart) throw new PeriodPassed(rules.id);
      return { epoch: board.ranking.epoch, outcomes: submissions.map(() => periodClosed(rules.id)) };
    }
    const { outcomes, valid, positions } = checkedSubmissions(submissions, (submission) => this.#recallFromStore(rules.id, board.ranking, submission));
    const applied = board.ranking.applyMany(valid, rules.rankTies);
    const epoch = board.ranking.epoch;
    const receivedAt = Date.now();
    const events: ScoreEvent[] = [];
    let changedVersion = -1;
    let duplicates = false;
    applied.forEach((outcome, k) => {
      outcomes[positions[k] as number] = outcome;
      if (outcome instanceof LadderError) return;
      if (outcome.duplicate) {
        duplicates = true;
        return;
      }
      events.push(eventOf(rules.id, ++board.seq, valid[k] as Submission, outcome, receivedAt));
      if (outcome.changed) changedVersion = outcome.version;
    });
    if (events.length === 0 && !duplicates) return { epoch, outcomes };
    try {
      await (events.length > 0 ? this.#log(board, events) : board.lastCommit);
    } catch (err) {
      const failure = new LadderError('storage_failed', 'the durable store failed to commit these submissions; they were not applied, retry them', {
        cause: err instanceof Error ? err.message : String(err),
      });
      for (let i = 0; i < outcomes.length; i++) if (!(outcomes[i] instanceof LadderError)) outcomes[i] = failure;
      return { epoch, outcomes };
    }
    if (changedVersion >= 0) this.#bus.publish({ kind: 'changes', boardId: rules.id, epoch, version: changedVersion });
    return { epoch, outcomes };
  }

  /**
   * submit with derived rankings: every derived ranking of the board is
   * loaded first, then the board's write and theirs are one synchronous step
   * whose events go to the store in one appendEvents call, so they commit in
   * one transaction or not at all.
   */
  async #submitDerived(rules: BoardRules, submissions: readonly Submission[], periodStart: number | null, derived: DerivedTargets): Promise<SubmitBatch> {
    let board = this.#live.get(rules.id) ?? (await this.#load(rules));
    // Loads may release or reload boards meanwhile: load until every one is in memory at once.
    for (let missing = this.#notLive(derived); missing.length > 0 || this.#live.get(rules.id) !== board; missing = this.#notLive(derived)) {
      await Promise.all(missing.map((config) => this.#load(config)));
      board = this.#live.get(rules.id) ?? (await this.#load(rules));
    }
    const now = Date.now();
    board.lastUsed = now;
    for (const id of derived.boards.keys()) this.#live.get(id)!.lastUsed = now;
    if (periodStart !== null && board.periodStart !== periodStart) {
      if (board.periodStart < periodStart) throw new PeriodPassed(rules.id);
      return { epoch: board.ranking.epoch, outcomes: submissions.map(() => periodClosed(rules.id)) };
    }
    if (periodStart !== null) {
      for (const [id, config] of derived.boards) {
        if (config.reset !== null && this.#live.get(id)!.periodStart < periodStart) throw new DerivedPeriodPassed(id);
      }
    }
    const { outcomes, valid, positions } = checkedSubmissions(submissions, (submission) => this.#recallFromStore(rules.id, board.ranking, submission));
    const members = (board.members ??= scopeMembersOf([...derived.boards.keys()].map((id) => [id, this.#live.get(id)!.ranking] as const)));
    for (const id of derivedTargets(rules.id, valid, derived.spec, members)) {
      if (!this.#live.has(id)) throw new Error(`derived ranking '${id}' of leaderboard '${rules.id}' is missing: the service creates it before the write`);
    }
    const { outcomes: applied, steps } = applyWithDerived(board.ranking, (id) => this.#live.get(id)!.ranking, members, valid, derived.spec, rules.rankTies);
    const epoch = board.ranking.epoch;
    const receivedAt = Date.now();
    const events: ScoreEvent[] = [];
    let changedVersion = -1;
    let duplicates = false;
    applied.forEach((outcome, k) => {
      outcomes[positions[k] as number] = outcome;
      if (outcome instanceof LadderError) return;
      if (outcome.duplicate) {
        duplicates = true;
        return;
      }
      events.push(eventOf(rules.id, ++board.seq, valid[k] as Submission, outcome, receivedAt));
      if (outcome.changed) changedVersion = outcome.version;
    });
    const groups = new Map<LiveBoard, ScoreEvent[]>([[board, events]]);
    const changed = new Map<LiveBoard, number>();
    for (const step of steps) {
      const target = this.#live.get(step.boardId)!;
      let logged = groups.get(target);
      if (logged === undefined) groups.set(target, (logged = []));
      logged.push(derivedEventOf(step, ++target.seq, receivedAt));
      if (step.outcome.changed) changed.set(target, step.outcome.version);
    }
    if (steps.length === 0 && events.length === 0 && !duplicates) return { epoch, outcomes };
    try {
      await (steps.length > 0 || events.length > 0 ? this.#logAll(groups) : board.lastCommit);
    } catch (err) {
      const failure = new LadderError('storage_failed', 'the durable store failed to commit these submissions; they were not applied, retry them', {
        cause: err instanceof Error ? err.message : String(err),
      });
      for (let i = 0; i < outcomes.length; i++) if (!(outcomes[i] instanceof LadderError)) outcomes[i] = failure;
      return { epoch, outcomes };
    }
    if (changedVersion >= 0) this.#bus.publish({ kind: 'changes', boardId: rules.id, epoch, version: changedVersion });
    for (const [target, version] of changed) this.#bus.publish({ kind: 'changes', boardId: target.ranking.rules.id, epoch: target.ranking.epoch, version });
    return { epoch, outcomes };
  }

  /** The derived rankings of the write that are not in memory. */
  #notLive(derived: DerivedTargets): BoardConfig[] {
    const missing: BoardConfig[] = [];
    for (const [id, config] of derived.boards) if (!this.#live.has(id)) missing.push(config);
    return missing;
  }

  /**
   * The capture and the reset (or release) are one synchronous step, and the
   * store's close is one op of the group commit queued behind the events
   * applied before it: what is archived is exactly what was applied, and
   * every later event lands in the next period.
   */
  async closePeriod(config: BoardConfig, close: PeriodCloseRequest): Promise<boolean> {
    const boardId = config.id;
    const board = this.#live.get(boardId) ?? (await this.#load(config));
    if (board.periodStart !== config.periodStart || this.#live.get(boardId) !== board) return false;
    const ranked = board.ranking.rankedColumns();
    const epoch = newEpoch();
    const seq = board.seq;
    this.#forgetMembers(boardId);
    if (close.reset) {
      board.ranking.load([], { epoch, version: 0 });
      board.periodStart = close.next.periodStart;
      board.sinceCheckpoint = 0;
    } else {
      this.#live.delete(boardId);
    }
    const closed = await this.#store.closePeriod({
      boardId,
      periodId: close.periodId,
      startsAt: close.startsAt,
      endsAt: close.endsAt,
      closedAt: close.closedAt,
      ranked,
      config: close.next,
      reset: close.reset ? { epoch, seq } : null,
      webhook: close.webhook,
    });
    // A read between the capture and the commit may have loaded the finalized board again.
    if (!close.reset && this.#live.get(boardId)?.periodStart === board.periodStart) this.#live.delete(boardId);
    return closed;
  }

  async read(rules: BoardRules, queries: readonly RankQuery[]): Promise<RankRead> {
    const board = this.#live.get(rules.id) ?? (await this.#load(rules));
    board.lastUsed = Date.now();
    return board.ranking.read(queries, rules.rankTies);
  }

  /**
   * Backend.erase. The board's checkpoints are rewritten without the
   * participant (Store.eraseParticipant), so the erasure holds the
   * checkpoint slot: a checkpoint captured before the removal and recorded
   * after it would bring them back. The removal covers the events handed to
   * the store so far (board.seq); it waits for their commit, then for the
   * store's, and only then is the feed told. A failure reloads the board
   * from what is durable, with a new epoch, as a failed commit does.
   */
  async erase(rules: BoardRules, participantId: string): Promise<BoardErasure> {
    let board: LiveBoard;
    for (;;) {
      if (this.#checkpoint !== null) {
        await this.#checkpoint.done;
        continue;
      }
      board = this.#live.get(rules.id) ?? (await this.#load(rules));
      if (this.#checkpoint === null && this.#live.get(rules.id) === board) break;
    }
    board.lastUsed = Date.now();
    const { removed, version } = board.ranking.remove(participantId);
    const epoch = board.ranking.epoch;
    const erasure = { seq: board.seq, version };
    const covered = board.lastCommit;
    board.pending += 1;
    const job: CheckpointJob = {
      boardId: rules.id,
      cancelled: false,
      done: (async () => {
        await covered;
        await this.#store.eraseParticipant(rules.id, participantId, erasure);
      })(),
    };
    this.#checkpoint = job;
    try {
      await job.done;
    } catch (err) {
      const cause = err instanceof Error ? err : new Error(String(err));
      this.#commitFailed(board, cause);
      throw new LadderError('storage_failed', `the durable store failed to erase participant '${participantId}' from leaderboard '${rules.id}'; nothing was erased there, retry`, {
        cause: cause.message,
      });
    } finally {
      board.pending -= 1;
      if (this.#checkpoint === job) this.#checkpoint = null;
    }
    if (removed !== null) {
      // Out of a scope ranking: the board's scope members are made again from its rankings, without them.
      this.#forgetMembers(rules.id);
      this.#bus.publish({ kind: 'changes', boardId: rules.id, epoch, version });
    }
    return { epoch, version, removed };
  }

  async standing(boardId: string): Promise<BoardStanding | null> {
    const ranking = this.#live.get(boardId)?.ranking;
    if (ranking !== undefined) return { epoch: ranking.epoch, version: ranking.version, total: ranking.total };
    const stored = this.#store.getBoardNow(boardId);
    return stored === null ? null : { epoch: stored.epoch, version: stored.version, total: stored.total };
  }

  health(): Record<string, string | number> {
    return { mode: 'embedded', loaded_boards: this.#live.size };
  }

  async ready(): Promise<ReadyCheck[]> {
    return [await storeReady(this.#store)];
  }

  /**
   * Stops background work. A checkpoint being written is finished first (its
   * file would be swept otherwise), and every board with a long log tail
   * since its checkpoint gets one more, so that the next start loads it
   * instead of replaying the tail (a clean stop costs a moment, a restart
   * saves more).
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    await this.#checkpoint?.done;
    if (this.#checkpointEvents <= 0) return;
    for (const board of this.#live.values()) {
      if (board.sinceCheckpoint < Math.min(this.#checkpointEvents, CLOSE_CHECKPOINT_EVENTS)) continue;
      this.#startCheckpoint(board);
      await this.#checkpoint?.done;
    }
  }

  /** The board's checkpoint being taken, if any (tests wait for it). */
  get checkpointing(): Promise<void> | null {
    return this.#checkpoint?.done ?? null;
  }

  /**
   * An event id the ranking does not remember may still be known to the store:
   * committed before a restart, or pushed out of the ranking's memory.
   * Remembering it here lets applyMany answer the retry.
   */
  #recallFromStore(boardId: string, ranking: BoardRanking, submission: Submission): void {
    if (submission.eventId === null || ranking.recalls(submission.eventId)) return;
    const prior = this.#store.findEventNow(boardId, submission.eventId);
    if (prior === null) return;
    const fingerprint = prior.fingerprint ?? fingerprintOf(prior.participantId, prior.submitted, prior.timestamp, prior.metadata);
    ranking.remember(submission.eventId, fingerprint, outcomeOfEvent(prior));
  }

  /** Hands the events to the group commit; a failure releases the board (see the file's comment). */
  #log(board: LiveBoard, events: readonly ScoreEvent[]): Promise<void> {
    return this.#track(board, this.#store.appendEvents(events), events.length);
  }

  /**
   * #log for the events of several boards, in one appendEvents call: they
   * commit together or not at all. Resolves (or rejects) once every board
   * has settled it (a failure has released them all).
   */
  #logAll(groups: ReadonlyMap<LiveBoard, readonly ScoreEvent[]>): Promise<void> {
    const commit = this.#store.appendEvents([...groups.values()].flat());
    const tracked: Promise<void>[] = [];
    for (const [board, events] of groups) if (events.length > 0) tracked.push(this.#track(board, commit, events.length));
    return Promise.all(tracked).then(() => undefined);
  }

  /**
   * Counts a commit of `events` events of the board as pending until it
   * settles, then checkpoints or releases it. The promise it returns settles
   * after that bookkeeping, so a caller answered storage_failed finds the
   * board released already.
   */
  #track(board: LiveBoard, commit: Promise<void>, events: number): Promise<void> {
    board.pending += 1;
    const committed = commit.finally(() => {
      board.pending -= 1;
    });
    board.lastCommit = committed;
    board.sinceCheckpoint += events;
    committed.then(
      () => this.#maybeCheckpoint(board),
      (err: unknown) => this.#commitFailed(board, err instanceof Error ? err : new Error(String(err))),
    );
    return committed;
  }

  /** A scope ranking of a board changed outside the board's writes (a close, a reload): the board's scope members are made again. */
  #forgetMembers(boardId: string): void {
    if (scopeOfBoardId(boardId) === null) return;
    const parent = this.#live.get(parentBoardId(boardId)!);
    if (parent !== undefined) parent.members = null;
  }

  /**
   * Starts the board's checkpoint when it is due and none is running. The
   * capture is synchronous, so it holds exactly the events up to board.seq
   * (every write hands its events over in the same turn as it applies them).
   */
  #maybeCheckpoint(board: LiveBoard): void {
    if (this.#checkpointEvents <= 0 || this.#checkpoint !== null || this.#closed) return;
    if (board.sinceCheckpoint < this.#checkpointEvents || Date.now() - board.checkpointedAt < this.#checkpointIntervalMs) return;
    this.#startCheckpoint(board);
  }

  #startCheckpoint(board: LiveBoard): void {
    const boardId = board.ranking.rules.id;
    if (this.#live.get(boardId) !== board) return;
    const checkpoint = { seq: board.seq, version: board.ranking.version, columns: board.ranking.rankedColumns() };
    const covered = board.lastCommit;
    const counted = board.sinceCheckpoint;
    board.checkpointedAt = Date.now();
    const job: { -readonly [K in keyof CheckpointJob]: CheckpointJob[K] } = { boardId, cancelled: false, done: Promise.resolve() };
    job.done = (async () => {
      try {
        await covered;
      } catch {
        return; // the failed commit was reported, and the board is reloaded from the disk
      }
      if (job.cancelled) return;
      try {
        if (await this.#store.saveCheckpoint(boardId, checkpoint)) board.sinceCheckpoint -= counted;
      } catch (err) {
        this.#options.onCheckpointFailed?.(boardId, err instanceof Error ? err : new Error(String(err)));
      }
    })().finally(() => {
      this.#checkpoint = null;
    });
    this.#checkpoint = job;
  }

  #commitFailed(board: LiveBoard, err: Error): void {
    const boardId = board.ranking.rules.id;
    if (this.#live.get(boardId) !== board) return;
    this.#live.delete(boardId);
    this.#forgetMembers(boardId);
    this.#needNewEpoch.add(boardId);
    this.#options.onCommitFailed?.([boardId], err);
    this.#bus.publish({ kind: 'board_reset', boardId });
  }

  #load(rules: BoardRules): Promise<LiveBoard> {
    const running = this.#loading.get(rules.id);
    if (running !== undefined) return running;
    const loading: Promise<LiveBoard> = this.#readBoard(rules)
      .then(({ ranking, seq, sinceCheckpoint, periodStart }) => {
        // Deleted while it loaded: the bus message has been handled already.
        if (this.#loading.get(rules.id) !== loading) throw boardNotFound(rules.id);
        const board: LiveBoard = { ranking, pending: 0, lastCommit: Promise.resolve(), lastUsed: Date.now(), seq, sinceCheckpoint, checkpointedAt: 0, periodStart, members: null };
        this.#live.set(rules.id, board);
        return board;
      })
      .finally(() => {
        if (this.#loading.get(rules.id) === loading) this.#loading.delete(rules.id);
      });
    this.#loading.set(rules.id, loading);
    return loading;
  }

  /**
   * The board's ranking as the store has it (its latest checkpoint and the
   * log after it), in a new epoch after a failed commit.
   */
  async #readBoard(rules: BoardRules): Promise<{ ranking: BoardRanking; seq: number; sinceCheckpoint: number; periodStart: number }> {
    const stored = this.#store.getBoardNow(rules.id);
    if (stored === null) throw boardNotFound(rules.id);
    let epoch = stored.epoch;
    if (this.#needNewEpoch.has(rules.id)) {
      epoch = newEpoch();
      await this.#store.setEpoch(rules.id, epoch);
      this.#needNewEpoch.delete(rules.id);
    }
    // A checkpoint of the board's previous life (released after a failed commit) may still be on its way.
    if (this.#checkpoint?.boardId === rules.id) await this.#checkpoint.done;
    const loaded = await this.#store.loadBoard(rules.id);
    if (loaded === null) throw boardNotFound(rules.id);
    const ranking = new BoardRanking(rules);
    ranking.loadSorted(loaded.ranked, { epoch, version: loaded.board.version }, loaded.changed, loaded.removed);
    // Without a checkpoint the load sorted every entry: the next commit makes one, so that the next load need not.
    const sorted = loaded.ranked.ids.length === 0 ? loaded.changed.length : 0;
    return { ranking, seq: loaded.seq, sinceCheckpoint: loaded.replayed + sorted, periodStart: loaded.board.config.periodStart };
  }

  #releaseIdle(): void {
    const before = Date.now() - this.#options.boardIdleMs;
    for (const [boardId, board] of this.#live) if (board.pending === 0 && board.lastUsed < before) this.#live.delete(boardId);
  }

  #onBusMessage(message: BusMessage): void {
    if (message.kind !== 'board_deleted') return;
    if (this.#checkpoint?.boardId === message.boardId) this.#checkpoint.cancelled = true;
    this.#loading.delete(message.boardId);
    this.#needNewEpoch.delete(message.boardId);
    this.#live.delete(message.boardId);
    this.#forgetMembers(message.boardId);
  }
}

/** The event that logs an applied submission (the cluster backend's log, index/redis-log.ts, holds the same). */
export function eventOf(boardId: string, seq: number, submission: Submission, outcome: SubmitOutcome, receivedAt: number): ScoreEvent {
  return {
    boardId,
    seq,
    eventId: submission.eventId,
    participantId: submission.participantId,
    submitted: submission.score,
    timestamp: submission.timestamp,
    receivedAt,
    oldScore: outcome.previous?.score ?? null,
    newScore: outcome.entry.score,
    oldRank: outcome.previous?.rank ?? null,
    newRank: outcome.entry.rank,
    version: outcome.version,
    changed: outcome.changed,
    metadata: submission.metadata,
    entry: outcome.entry,
    fingerprint: submission.eventId === null ? null : submissionFingerprint(submission),
  };
}


/**
 * The event that logs a derived ranking's step (index/derived.ts): the
 * all-time ranking's application of the submission, or a scope ranking's
 * copy of its board's entry (submitted = the copied score, no event id) or
 * removal (new rank 0).
 */
export function derivedEventOf(step: DerivedStep, seq: number, receivedAt: number): ScoreEvent {
  if (step.submission !== null) return eventOf(step.boardId, seq, step.submission, step.outcome, receivedAt);
  const { entry, previous } = step.outcome;
  return {
    boardId: step.boardId,
    seq,
    eventId: null,
    participantId: entry.participantId,
    submitted: entry.score,
    timestamp: entry.updatedAt,
    receivedAt,
    oldScore: previous?.score ?? null,
    newScore: entry.score,
    oldRank: previous?.rank ?? null,
    newRank: entry.rank,
    version: step.outcome.version,
    changed: step.outcome.changed,
    metadata: entry.metadata,
    entry,
    fingerprint: null,
  };
}

/**
 * The outcome a logged event had, for the answer to its retry. The log keeps
 * the previous score and rank, not the previous entry's times, so `previous`
 * carries the event's own times there; only its score and rank are answered.
 */
function outcomeOfEvent(event: ScoreEvent): SubmitOutcome {
  const entry = { ...event.entry, rank: event.newRank };
  const previous =
    event.oldScore === null || event.oldRank === null
      ? null
      : { participantId: event.participantId, score: event.oldScore, achievedAt: event.timestamp, updatedAt: event.timestamp, metadata: null, rank: event.oldRank };
  return { entry, previous, changed: event.changed, version: event.version, duplicate: true };
}
