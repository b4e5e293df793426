/**
 * The service: the one place that orchestrates a submission or a query
 * (DESIGN.md "service"). HTTP, WebSocket and CLI stay thin and call it; it
 * stays thin over the ports. It validates input (core/submission.ts), finds
 * the board's rules in the registry, and makes exactly one backend call per
 * submission batch or query, whose answer is one consistent state of the
 * board (backend/backend.ts). Refused submissions go to the participants'
 * histories through one recorder (service/rejections.ts).
 */
import { boardNotFound, invalidField, LadderError, participantNotFound } from '../core/errors.js';
import { newEpoch } from '../core/epoch.js';
import { assertParticipantId, BOARD_ID_RULE, isBoardId } from '../core/ids.js';
import { checkMetadata, toSubmission, type SubmissionInput } from '../core/submission.js';
import type { BoardConfig, Metadata, RankedEntry, Submission } from '../core/types.js';
import type { Backend } from '../backend/backend.js';
import type { Config } from '../core/config.js';
import type { BusMessage, ChangeBus } from '../feed/bus.js';
import type { RankQuery, RankRead, SubmitOutcome } from '../index/index.js';
import type { HistoryCursor, HistoryPage, Store } from '../store/store.js';
import { BoardRegistry } from './registry.js';
import { RejectionRecorder, type RefusedSubmission } from './rejections.js';

export interface SubmitResult {
  readonly participantId: string;
  readonly score: number;
  readonly achievedAt: number;
  readonly rank: number;
  readonly previousRank: number | null;
  readonly previousScore: number | null;
  readonly epoch: string;
  readonly version: number;
  readonly changed: boolean;
}

/** A board state as every answer labels it: a version means something only within its epoch. */
export interface BoardState {
  readonly epoch: string;
  readonly version: number;
  readonly total: number;
}

export interface BoardSummary extends BoardState {
  readonly config: BoardConfig;
}

export interface RankingsPage extends BoardState {
  readonly boardId: string;
  readonly entries: readonly RankedEntry[];
}

export interface ParticipantStanding extends BoardState {
  readonly boardId: string;
  readonly entry: RankedEntry;
  readonly percentile: number;
  readonly above: readonly RankedEntry[];
  readonly below: readonly RankedEntry[];
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
  readonly backend: Backend;
  readonly store: Store;
  readonly bus: ChangeBus;
  /** Told what the service works around (rejections it could not record). Default: process.emitWarning. */
  readonly warn?: (message: string) => void;
}

/** Items per page of a participant's history at most. */
export const MAX_HISTORY_LIMIT = 1000;

export class Ladder {
  readonly config: Config;
  readonly backend: Backend;
  readonly store: Store;
  readonly bus: ChangeBus;
  readonly registry: BoardRegistry;
  readonly rejections: RejectionRecorder;
  /** Long-polls per board: each wakes once the board passes its version or leaves its epoch. */
  private readonly versionWaiters = new Map<string, Set<VersionWaiter>>();
  private readonly unsubscribeBus: () => void;

  private constructor(parts: LadderParts, registry: BoardRegistry) {
    this.config = parts.config;
    this.backend = parts.backend;
    this.store = parts.store;
    this.bus = parts.bus;
    this.registry = registry;
    this.rejections = new RejectionRecorder(parts.store, parts.warn ?? ((message) => process.emitWarning(message, 'LadderWarning')));
    this.unsubscribeBus = this.bus.subscribe((message) => this.onBusMessage(message));
  }

  /** Opens the service over the ports. Boards' entries are loaded on first use, by the backend. */
  static async open(parts: LadderParts): Promise<Ladder> {
    return new Ladder(parts, await BoardRegistry.open(parts.store, parts.bus, { shared: parts.config.redisUrl !== null }));
  }

  /** Number of boards. Complexity: O(1). */
  get boardCount(): number {
    return this.registry.size;
  }

  /** The board's configuration (with its ranking rules), or undefined for an unknown board. Synchronous, from memory. */
  boardRules(boardId: string): BoardConfig | undefined {
    return this.registry.get(boardId);
  }

  async createBoard(input: NewBoard): Promise<BoardSummary> {
    if (!isBoardId(input.id)) throw invalidField('id', BOARD_ID_RULE);
    checkMetadata(input.metadata, 'metadata');
    if (this.registry.get(input.id)) throw boardExists(input.id);
    const config: BoardConfig = {
      id: input.id,
      name: input.name ?? input.id,
      sortOrder: input.sortOrder,
      operator: input.operator,
      metadata: input.metadata ?? null,
      createdAt: Date.now(),
    };
    const epoch = newEpoch();
    await this.registry.create(config, epoch);
    return { config, epoch, version: 0, total: 0 };
  }

  async getBoard(boardId: string): Promise<BoardSummary> {
    const config = this.registry.get(boardId) ?? (await this.requireBoard(boardId));
    const standing = await this.backend.standing(boardId);
    if (standing === null) throw boardNotFound(boardId);
    return { config, ...standing };
  }

  /** Boards in id order, one page of them. Loads no board's entries. */
  async listBoards(offset = 0, limit = Infinity): Promise<{ boards: BoardSummary[]; total: number }> {
    const ids = this.registry.ids();
    const summaries = await Promise.all(ids.slice(offset, offset + limit).map((id) => this.getBoard(id).catch(() => null)));
    // A board deleted while the page was read is left out.
    return { boards: summaries.filter((board): board is BoardSummary => board !== null), total: ids.length };
  }

  async deleteBoard(boardId: string): Promise<void> {
    if (this.registry.get(boardId) === undefined) await this.requireBoard(boardId);
    if (!(await this.registry.delete(boardId))) throw boardNotFound(boardId);
  }

  /**
   * Applies one submission and resolves once it is acknowledged. A repeated
   * event id returns the first answer and changes nothing; the same event id
   * with another submission is event_id_conflict.
   */
  async submit(boardId: string, input: SubmissionInput): Promise<SubmitResult> {
    const [result] = await this.submitMany(boardId, [input]);
    if (result instanceof LadderError) throw result;
    return result as SubmitResult;
  }

  /**
   * Applies many submissions to one board in order, in one backend call.
   * Each item gets its own result or error; a failing item does not fail the
   * others. `fields` names each item in error messages (e.g. `scores[3]`).
   * The refused items are recorded in their participants' histories
   * (recordRejections), without waiting.
   */
  async submitMany(boardId: string, inputs: readonly SubmissionInput[], fields?: readonly string[]): Promise<(SubmitResult | LadderError)[]> {
    const rules = this.registry.get(boardId) ?? (await this.requireBoard(boardId));
    const now = Date.now();
    const results: (SubmitResult | LadderError)[] = new Array(inputs.length);
    const submissions: Submission[] = [];
    const positions: number[] = [];
    const refused: RefusedSubmission[] = [];
    inputs.forEach((input, i) => {
      try {
        submissions.push(toSubmission(input, now, fields?.[i] ?? ''));
        positions.push(i);
      } catch (err) {
        if (!(err instanceof LadderError)) throw err;
        results[i] = err;
        refused.push({ input, error: err });
      }
    });
    if (submissions.length > 0) {
      const { epoch, outcomes } = await this.backend.submit(rules, submissions);
      outcomes.forEach((outcome, k) => {
        const i = positions[k] as number;
        if (outcome instanceof LadderError) {
          results[i] = outcome;
          refused.push({ input: inputs[i] as SubmissionInput, error: outcome });
        } else {
          results[i] = resultOf(outcome, epoch);
        }
      });
    }
    if (refused.length > 0) void this.recordRejections(boardId, refused, now);
    return results;
  }

  /**
   * Records refused submissions to the board in their participants'
   * histories: the one call for every cause of a refusal (service/rejections.ts
   * says which are kept). Resolves once they are committed or lost (logged);
   * never rejects, and answers need not wait for it.
   */
  recordRejections(boardId: string, refused: readonly RefusedSubmission[], receivedAt = Date.now()): Promise<void> {
    return this.rejections.record(boardId, refused, receivedAt);
  }

  /**
   * One page of the participant's history on the board: accepted and refused
   * submissions, newest first (store.ts participantHistory). Empty for a
   * participant without any; board_not_found for an unknown board (asked of
   * the store, so a board another process deleted a moment ago is gone). In
   * cluster mode, accepted events show once the persister has written them
   * to PostgreSQL (at once with LADDER_ACK=durable).
   */
  async history(boardId: string, participantId: string, cursor: HistoryCursor | null, limit: number): Promise<HistoryPage> {
    if (this.registry.get(boardId) === undefined) await this.requireBoard(boardId);
    assertParticipantId(participantId);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT) throw invalidField('limit', `must be an integer from 1 to ${MAX_HISTORY_LIMIT}`);
    const page = await this.store.participantHistory(boardId, participantId, cursor, limit);
    if (page === null) throw boardNotFound(boardId);
    return page;
  }

  /**
   * The page of rankings: a plain offset/limit window, the window of `limit`
   * entries around a participant (core/windows.ts aroundSpan), or the ranks
   * of the listed participants ("friends" board). One read of one state.
   */
  async rankings(boardId: string, query: RankingsQuery): Promise<RankingsPage> {
    const rules = this.registry.get(boardId) ?? (await this.requireBoard(boardId));
    let rankQuery: RankQuery;
    if (query.participants !== undefined) rankQuery = { kind: 'participants', participantIds: query.participants };
    else if (query.around !== undefined) rankQuery = { kind: 'around', participantId: query.around, size: query.limit };
    else rankQuery = { kind: 'page', offset: query.offset, limit: query.limit };
    const read = await this.backend.read(rules, [rankQuery]);
    const page = read.pages[0]!;
    if (rankQuery.kind === 'around' && page.focus === null) throw participantNotFound(boardId, rankQuery.participantId);
    return { boardId, ...stateOf(read), entries: page.entries };
  }

  /** A participant's standing with up to `neighbors` entries above and below (core/windows.ts neighborSpan). */
  async participant(boardId: string, participantId: string, neighbors: number): Promise<ParticipantStanding> {
    const rules = this.registry.get(boardId) ?? (await this.requireBoard(boardId));
    const read = await this.backend.read(rules, [{ kind: 'neighbors', participantId, radius: neighbors }]);
    const { entries, focus } = read.pages[0]!;
    if (focus === null) throw participantNotFound(boardId, participantId);
    const at = focus.rank - (entries[0]?.rank ?? focus.rank);
    const total = read.total;
    // Share of the others ranked below this participant: 100 for the leader, 0 for the last.
    const percentile = total <= 1 ? 100 : Math.round(((total - focus.rank) / (total - 1)) * 10000) / 100;
    return { boardId, ...stateOf(read), entry: focus, percentile, above: entries.slice(0, at), below: entries.slice(at + 1) };
  }

  /** Answers the queries from one state of the board (the feed's read). */
  async read(boardId: string, queries: readonly RankQuery[]): Promise<RankRead> {
    return this.backend.read(this.registry.get(boardId) ?? (await this.requireBoard(boardId)), queries);
  }

  /**
   * Resolves once the board's version exceeds `afterVersion` (or its epoch is
   * no longer `epoch`, when given), after `timeoutMs`, when `signal` aborts
   * (the client went away) or when the service closes, whichever comes first
   * (long-poll).
   */
  async waitForVersion(boardId: string, afterVersion: number, epoch: string | null, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.registry.get(boardId) === undefined) await this.requireBoard(boardId);
    // Listening first, then reading: a change between the two is not missed.
    const unwatch = await this.bus.watch(boardId);
    try {
      const standing = await this.backend.standing(boardId);
      if (standing === null || passed(standing, afterVersion, epoch) || timeoutMs <= 0 || signal?.aborted) return;
      await this.waitForChange(boardId, afterVersion, epoch, timeoutMs, signal);
    } finally {
      unwatch();
    }
  }

  private waitForChange(boardId: string, afterVersion: number, epoch: string | null, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiters = this.versionWaiters.get(boardId) ?? new Set<VersionWaiter>();
      this.versionWaiters.set(boardId, waiters);
      const waiter: VersionWaiter = {
        after: afterVersion,
        epoch,
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

  private onBusMessage(message: BusMessage): void {
    switch (message.kind) {
      case 'changes':
        this.wakeVersionWaiters(message.boardId, (waiter) => passed(message, waiter.after, waiter.epoch));
        break;
      case 'board_reset':
      case 'board_deleted':
        // The waiters read the board again: a new epoch, or a 404.
        this.wakeVersionWaiters(message.boardId, () => true);
        break;
    }
  }

  private wakeVersionWaiters(boardId: string, due: (waiter: VersionWaiter) => boolean): void {
    for (const waiter of [...(this.versionWaiters.get(boardId) ?? [])]) if (due(waiter)) waiter.wake();
  }

  /**
   * The board's configuration; one created through another process a moment
   * ago is looked up in the store. Callers on hot paths try the registry
   * first (`registry.get(id) ?? await requireBoard(id)`), so a known board
   * costs no promise.
   */
  async requireBoard(boardId: string): Promise<BoardConfig> {
    const board = this.registry.get(boardId) ?? (await this.registry.find(boardId));
    if (!board) throw boardNotFound(boardId);
    return board;
  }

  /** Answers every pending long-poll now (at shutdown, before the HTTP server drains). */
  endLongPolls(): void {
    for (const boardId of [...this.versionWaiters.keys()]) this.wakeVersionWaiters(boardId, () => true);
  }

  /** Stops listening, then closes the backend and the store (which commits what is queued). */
  async close(): Promise<void> {
    this.unsubscribeBus();
    this.registry.close();
    this.endLongPolls();
    await this.backend.close();
    await this.store.close();
  }
}

interface VersionWaiter {
  readonly after: number;
  readonly epoch: string | null;
  readonly wake: () => void;
}

function passed(state: { epoch: string; version: number }, afterVersion: number, epoch: string | null): boolean {
  return state.version > afterVersion || (epoch !== null && state.epoch !== epoch);
}

function stateOf(read: RankRead): BoardState {
  return { epoch: read.epoch, version: read.version, total: read.total };
}

function boardExists(boardId: string): LadderError {
  return new LadderError('board_exists', `leaderboard '${boardId}' exists already`, { leaderboard_id: boardId });
}

function resultOf(outcome: SubmitOutcome, epoch: string): SubmitResult {
  return {
    participantId: outcome.entry.participantId,
    score: outcome.entry.score,
    achievedAt: outcome.entry.achievedAt,
    rank: outcome.entry.rank,
    previousRank: outcome.previous?.rank ?? null,
    previousScore: outcome.previous?.score ?? null,
    epoch,
    version: outcome.version,
    changed: outcome.changed,
  };
}
