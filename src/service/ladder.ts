/**
 * The service: the one place that orchestrates a submission or a query
 * (DESIGN.md "service"). HTTP, WebSocket and CLI stay thin and call it; it
 * stays thin over the ports. It validates input (core/submission.ts), finds
 * the board's rules in the registry, and makes exactly one backend call per
 * submission batch or query, whose answer is one consistent state of the
 * board (backend/backend.ts). Refused submissions go to the participants'
 * histories through one recorder (service/rejections.ts).
 */
import { BOARD_DEFAULTS, boardStatus, checkBoardSettings, currentPeriod, FINAL_PERIOD_ID, livePeriod, type BoardStatus } from '../core/board.js';
import { ALL_TIME_PERIOD, allTimeBoardId, derivedConfig, derivedConfigChanged, isAllTimeBoardId, parentBoardId, scopeBoardId, scopeOfBoardId } from '../core/derived.js';
import { boardNotFound, invalidField, LadderError, participantNotFound, profileNotFound } from '../core/errors.js';
import { checkScopeNames, parseScopeRef } from '../core/scopes.js';
import { periodAt, type Period } from '../core/periods.js';
import { randomBytes } from 'node:crypto';
import { newEpoch } from '../core/epoch.js';
import { assertParticipantId, BOARD_ID_RULE, isBoardId } from '../core/ids.js';
import { checkMetadata, toSubmission, type SubmissionInput } from '../core/submission.js';
import { toProfile, type ProfileInput } from '../core/profile.js';
import { withSharedRanks } from '../core/ties.js';
import type { BoardConfig, Metadata, ModerationMark, Profile, RankedEntry, RankTies, ResetSchedule, ShownEntry, Submission } from '../core/types.js';
import { DerivedPeriodPassed, PeriodPassed, periodClosed, type Backend, type DerivedTargets, type SubmitBatch } from '../backend/backend.js';
import type { Config } from '../core/config.js';
import type { BusMessage, ChangeBus } from '../feed/bus.js';
import type { RankPage, RankQuery, RankRead, SubmitOutcome } from '../index/index.js';
import type { HistoryCursor, HistoryPage, PeriodRecord, Placement, Store, WebhookDelivery } from '../store/store.js';
import { systemClock, type Clock } from './clock.js';
import { Lifecycle } from './lifecycle.js';
import { ProfileCache } from './profiles.js';
import { BoardRegistry } from './registry.js';
import { RejectionRecorder, type RefusedSubmission } from './rejections.js';
import { WebhookWorker, webhookState, type WebhookFailure, type WebhookState } from './webhooks.js';
import { hiddenSet, MAX_HIDDEN, closingUp, widenQueries, withoutHidden } from './hiding.js';
import { screen, screens } from './screening.js';
import { MemoryWindowCounters, type WindowCounters } from './window-counters.js';
import type { RateLimit } from '../core/rate-limit.js';
import { NO_SCORE_RULES, type ScoreRules } from '../core/score-rules.js';

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

/** A participant's moderation on one board: their marks, or null. */
export interface ModerationState {
  readonly boardId: string;
  readonly participantId: string;
  readonly hidden: ModerationMark | null;
  readonly flagged: ModerationMark | null;
}

function moderationState(config: BoardConfig, participantId: string): ModerationState {
  const find = (marks: readonly ModerationMark[]) => marks.find((mark) => mark.participantId === participantId) ?? null;
  return { boardId: config.id, participantId, hidden: find(config.hidden), flagged: find(config.flagged) };
}

/** A board state as every answer labels it: a version means something only within its epoch. */
export interface BoardState {
  readonly epoch: string;
  readonly version: number;
  readonly total: number;
}

export interface BoardSummary extends BoardState {
  readonly config: BoardConfig;
  readonly status: BoardStatus;
  /** The period that holds now (null without resets): its id, and its end as the next reset. */
  readonly period: Period | null;
  /** The service's clock when status and period were read: viewers count down from it, not from their own clock. */
  readonly now: number;
}

export interface RankingsPage extends BoardState {
  readonly boardId: string;
  /** The closed period answered from the archive, 'all' for the all-time ranking, or null for the live standings. */
  readonly period: string | null;
  /** The scope value whose ranking answered (`region:eu`), or null for the board's own. */
  readonly scope: string | null;
  /** With the ranks the board shows: shared ones under rank_ties 'shared'. */
  readonly entries: readonly ShownEntry[];
  /** The board's score_decimals: the scores are kept ×10^scoreDecimals (core/fixed-point.ts). */
  readonly scoreDecimals: number;
}

export interface ParticipantStanding extends BoardState {
  readonly boardId: string;
  readonly period: string | null;
  /** As in RankingsPage. */
  readonly scope: string | null;
  readonly scoreDecimals: number;
  /** Ranks as in RankingsPage; the percentile is computed from the rank shown. */
  readonly entry: ShownEntry;
  readonly percentile: number;
  readonly above: readonly ShownEntry[];
  readonly below: readonly ShownEntry[];
}

/** What an erasure removed from one board. */
export interface ErasedEntry {
  readonly boardId: string;
  /** The rank the entry had. */
  readonly rank: number;
  /** The board's state after the removal. */
  readonly epoch: string;
  readonly version: number;
}

/** What DELETE /v1/participants/{pid} did. */
export interface ParticipantErasure {
  readonly participantId: string;
  /** The boards whose live ranking held an entry of theirs, in id order. */
  readonly boards: readonly ErasedEntry[];
  /** True when they had a profile. */
  readonly profile: boolean;
}

export interface RankingsQuery {
  readonly limit: number;
  readonly offset: number;
  readonly around?: string | undefined;
  readonly participants?: readonly string[] | undefined;
  /** A closed period's id: the answer comes from its final rankings; 'all': from the all-time ranking (keep_all_time). */
  readonly period?: string | undefined;
  /** `<scope>:<value>`: the ranking within that scope value. */
  readonly scope?: string | undefined;
}

/** Which of a board's rankings a read or a live view is of: its own, a scope value's, or the all-time one. */
export interface RankingRef {
  readonly period?: string | undefined;
  readonly scope?: string | undefined;
}

/** A board's settings that can be changed later (PATCH); absent ones keep their value (or default). */
export interface BoardSettings {
  readonly name?: string | undefined;
  readonly metadata?: Metadata | null | undefined;
  readonly startsAt?: number | null | undefined;
  readonly endsAt?: number | null | undefined;
  readonly reset?: ResetSchedule | null | undefined;
  readonly keepAllTime?: boolean | undefined;
  readonly scopes?: readonly string[] | undefined;
  readonly rankTies?: RankTies | undefined;
  readonly scoreDecimals?: number | undefined;
  readonly webhookUrl?: string | null | undefined;
  readonly webhookTop?: number | undefined;
  /** Merged into the board's rules field by field (a null field drops that rule); null drops them all. */
  readonly scoreRules?: Partial<ScoreRules> | null | undefined;
  readonly rateLimit?: RateLimit | null | undefined;
}

export interface NewBoard extends BoardSettings {
  readonly id: string;
  readonly sortOrder: BoardConfig['sortOrder'];
  readonly operator: BoardConfig['operator'];
}

/** A period as GET .../periods lists it: the live one (status active) first, then the closed ones. */
export interface PeriodSummary {
  readonly periodId: string;
  readonly status: 'active' | 'closed';
  readonly startsAt: number;
  readonly endsAt: number;
  readonly closedAt: number | null;
  readonly total: number;
  readonly leader: RankedEntry | null;
}

/** A webhook delivery as GET .../webhooks lists it: the store's row with its state now. */
export interface WebhookSummary extends WebhookDelivery {
  readonly state: WebhookState;
}

export interface LadderParts {
  readonly config: Config;
  readonly backend: Backend;
  readonly store: Store;
  readonly bus: ChangeBus;
  /** The windows of rate limits and rules; default: in this process's memory. */
  readonly counters?: WindowCounters | undefined;
  /** Default: the system clock shifted by LADDER_CLOCK_OFFSET_MS. */
  readonly clock?: Clock;
  /** Hears a scheduled close that failed (it is tried again at the next tick). */
  readonly onLifecycleError?: (err: unknown, boardId: string) => void;
  /** Told what the service works around (rejections it could not record). Default: process.emitWarning. */
  readonly warn?: (message: string) => void;
  /** Hears every failed webhook attempt (service/webhooks.ts). */
  readonly onWebhookFailure?: (failure: WebhookFailure) => void;
  /** Hears a failure of the webhook worker itself (the store); the deliveries it held are retried once their leases run out. */
  readonly onWebhookError?: (err: unknown) => void;
}

/** Items per page of a participant's history at most. */
export const MAX_HISTORY_LIMIT = 1000;

export class Ladder {
  readonly config: Config;
  readonly backend: Backend;
  readonly store: Store;
  readonly bus: ChangeBus;
  readonly registry: BoardRegistry;
  readonly clock: Clock;
  readonly lifecycle: Lifecycle;
  /** Profiles as answers show them (display names, avatars), kept in memory. */
  readonly profiles: ProfileCache;
  readonly rejections: RejectionRecorder;
  readonly webhooks: WebhookWorker;
  readonly counters: WindowCounters;
  /** Long-polls per board: each wakes once the board passes its version or leaves its epoch. */
  private readonly versionWaiters = new Map<string, Set<VersionWaiter>>();
  private readonly unsubscribeBus: () => void;

  private constructor(parts: LadderParts, registry: BoardRegistry) {
    this.config = parts.config;
    this.backend = parts.backend;
    this.store = parts.store;
    this.bus = parts.bus;
    this.registry = registry;
    this.clock = parts.clock ?? systemClock(parts.config.clockOffsetMs);
    this.counters = parts.counters ?? new MemoryWindowCounters();
    this.lifecycle = new Lifecycle({
      registry,
      backend: parts.backend,
      bus: parts.bus,
      clock: this.clock,
      onError: (err, boardId) => parts.onLifecycleError?.(err, boardId),
    });
    this.profiles = new ProfileCache(parts.store, parts.bus);
    this.rejections = new RejectionRecorder(parts.store, parts.warn ?? ((message) => process.emitWarning(message, 'LadderWarning')));
    this.webhooks = new WebhookWorker({
      store: parts.store,
      bus: parts.bus,
      clock: this.clock,
      show: (read) => this.profiles.show(read),
      retryMs: parts.config.webhookRetryMs,
      onFailure: parts.onWebhookFailure,
      onError: parts.onWebhookError,
    });
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
    if (this.registry.get(input.id)) throw boardExists(input.id);
    const now = this.clock.now();
    const base: BoardConfig = { ...BOARD_DEFAULTS, id: input.id, name: input.id, sortOrder: input.sortOrder, operator: input.operator, metadata: null, createdAt: now };
    const config = withSettings(base, input, now);
    const epoch = newEpoch();
    await this.registry.create(config, epoch);
    // Derived rankings left by a board of this id that was deleted while one of them was being made elsewhere.
    for (const orphan of this.registry.derivedOf(config.id)) await this.registry.delete(orphan.id);
    return this.#summary(config, { epoch, version: 0, total: 0 });
  }

  /**
   * Changes the board's name, metadata, schedule and rules (PATCH). The id,
   * sort order and operator never change; score_decimals only while the
   * board has no entries. A new reset schedule takes effect with the next
   * period: the live one keeps its start.
   */
  async updateBoard(boardId: string, settings: BoardSettings): Promise<BoardSummary> {
    // As stored: a change another process made a moment ago (a participant hidden there) is kept, not overwritten.
    const config = await this.#storedBoard(boardId);
    if (settings.scoreDecimals !== undefined && settings.scoreDecimals !== config.scoreDecimals) {
      const standing = await this.backend.standing(boardId);
      const periods = await this.store.listPeriods(boardId, 1);
      if ((standing?.total ?? 0) > 0 || periods.length > 0) throw immutable('score_decimals', 'cannot change once the board has entries');
    }
    // A live period belongs to its schedule: a new one would leave the live standings in no period of it.
    if (settings.reset !== undefined && JSON.stringify(settings.reset) !== JSON.stringify(config.reset)) {
      throw immutable('reset', 'cannot change once the board is created; create another board with the new schedule');
    }
    const next = withSettings(config, settings, this.clock.now());
    if (!(await this.registry.update(next))) throw boardNotFound(boardId);
    await this.#followBoard(next);
    return this.getBoard(boardId);
  }

  /**
   * Brings the board's derived rankings in line with its configuration: each
   * gets the schedule it copies (core/derived.ts derivedConfig), and those
   * the board no longer keeps (keep_all_time turned off, a scope dropped)
   * are deleted.
   */
  async #followBoard(board: BoardConfig): Promise<void> {
    for (const derived of this.registry.derivedOf(board.id)) {
      const scope = scopeOfBoardId(derived.id);
      const kept = isAllTimeBoardId(derived.id) ? board.keepAllTime : scope !== null && board.scopes.includes(scope.name);
      if (!kept) {
        await this.registry.delete(derived.id);
        continue;
      }
      const next = derivedConfig(board, derived.id, derived);
      if (derivedConfigChanged(next, derived)) await this.registry.update(next);
    }
  }

  /**
   * Hides the participant on the board (POST .../hide): every read leaves
   * them out and the ranks below close up, in answers and live views;
   * their submissions are refused (participant_hidden). Their entry and
   * history stay, so unhiding shows them again as they were. Idempotent: a
   * participant hidden already keeps their first mark.
   */
  hideParticipant(boardId: string, participantId: string, reason: string | null): Promise<ModerationState> {
    return this.#moderate(boardId, 'hidden', participantId, reason);
  }

  unhideParticipant(boardId: string, participantId: string): Promise<ModerationState> {
    return this.#moderate(boardId, 'hidden', participantId, undefined);
  }

  /** Flags the participant for review (POST .../flag): they stay ranked, and the board's moderation lists them. */
  flagParticipant(boardId: string, participantId: string, reason: string | null): Promise<ModerationState> {
    return this.#moderate(boardId, 'flagged', participantId, reason);
  }

  unflagParticipant(boardId: string, participantId: string): Promise<ModerationState> {
    return this.#moderate(boardId, 'flagged', participantId, undefined);
  }

  /** Whom the board hides and flags (GET .../moderation). */
  async moderation(boardId: string): Promise<{ hidden: readonly ModerationMark[]; flagged: readonly ModerationMark[] }> {
    const config = await this.#storedBoard(boardId);
    return { hidden: config.hidden, flagged: config.flagged };
  }

  /** The participant's marks on the board, and their refused submissions counted by code (GET .../participants/{pid}/moderation). */
  async participantModeration(boardId: string, participantId: string): Promise<ModerationState & { rejections: Record<string, number> }> {
    assertParticipantId(participantId);
    const config = await this.#storedBoard(boardId);
    return { ...moderationState(config, participantId), rejections: await this.store.countRejections(boardId, participantId) };
  }

  /** Adds the participant's mark to the board's `list` (with `reason`), or takes it off (`reason` undefined). */
  async #moderate(boardId: string, list: 'hidden' | 'flagged', participantId: string, reason: string | null | undefined): Promise<ModerationState> {
    assertParticipantId(participantId);
    // As stored, not as this process last heard: a mark another process set a moment ago is kept.
    const config = await this.#storedBoard(boardId);
    const marks = config[list];
    const mark = marks.find((existing) => existing.participantId === participantId) ?? null;
    const adding = reason !== undefined;
    if (adding === (mark !== null)) return moderationState(config, participantId);
    if (adding && marks.length >= MAX_HIDDEN) throw invalidField('pid', `leaderboard '${boardId}' has ${MAX_HIDDEN} ${list} participants already, the most it keeps`);
    const next: BoardConfig = {
      ...config,
      [list]: adding ? [...marks, { participantId, at: this.clock.now(), reason }] : marks.filter((existing) => existing !== mark),
    };
    // Every process hears the new configuration, and the feed reads the board's views again (the hidden leave them, ranks close up).
    if (!(await this.registry.update(next))) throw boardNotFound(boardId);
    await this.#followBoard(next);
    return moderationState(next, participantId);
  }

  /** Closes the board now (POST .../close): it refuses scores, and its standings are archived as its final rankings. */
  async closeBoard(boardId: string): Promise<BoardSummary> {
    // As stored: a change another process made a moment ago (a participant hidden there) is kept, not overwritten.
    const config = await this.#storedBoard(boardId);
    if (boardStatus(config, this.clock.now()) !== 'closed') {
      const closed = { ...config, closedAt: this.clock.now() };
      if (!(await this.registry.update(closed))) throw boardNotFound(boardId);
      await this.#followBoard(closed);
    }
    await this.lifecycle.close(boardId);
    return this.getBoard(boardId);
  }

  /**
   * Opens a closed board again (POST .../reopen): an ends_at that passed is
   * cleared, and a finalized board's archive of its last period is removed:
   * its standings go on from where they were.
   */
  async reopenBoard(boardId: string): Promise<BoardSummary> {
    // As stored: a change another process made a moment ago (a participant hidden there) is kept, not overwritten.
    const config = await this.#storedBoard(boardId);
    const now = this.clock.now();
    if (boardStatus(config, now) !== 'closed') return this.getBoard(boardId);
    await this.lifecycle.close(boardId); // a close still due is finished first, so that it is not repeated after
    const current = await this.#storedBoard(boardId);
    if (current.finalizedAt !== null) await this.store.deletePeriod(boardId, livePeriod(current)?.id ?? FINAL_PERIOD_ID);
    const endsAt = current.endsAt !== null && current.endsAt <= now ? null : current.endsAt;
    const reopened = { ...current, closedAt: null, finalizedAt: null, endsAt };
    if (!(await this.registry.update(reopened))) throw boardNotFound(boardId);
    // Its derived rankings were finalized with it: they go on from where they were too.
    for (const derived of this.registry.derivedOf(boardId)) {
      if (derived.finalizedAt !== null) await this.store.deletePeriod(derived.id, livePeriod(derived)?.id ?? FINAL_PERIOD_ID);
      await this.registry.update(derivedConfig(reopened, derived.id, { ...derived, finalizedAt: null }));
    }
    return this.getBoard(boardId);
  }

  async getBoard(boardId: string): Promise<BoardSummary> {
    const config = this.registry.get(boardId) ?? (await this.requireBoard(boardId));
    if (config.finalizedAt !== null) {
      const [archive] = await this.store.listPeriods(boardId, 1);
      return this.#summary(config, { epoch: archiveEpoch(archive), version: 0, total: archive?.total ?? 0 });
    }
    const standing = await this.backend.standing(boardId);
    if (standing === null) throw boardNotFound(boardId);
    return this.#summary(config, standing);
  }

  /** The board's periods, newest first: the live one (unless `before` is given or the board is finalized), then the closed ones. */
  async listPeriods(boardId: string, limit: number, before?: number): Promise<PeriodSummary[]> {
    const config = await this.requireBoard(boardId);
    const periods: PeriodSummary[] = [];
    const live = livePeriod(config);
    if (before === undefined && live !== null && config.finalizedAt === null) {
      const read = await this.#read(config, undefined, [{ kind: 'page', offset: 0, limit: 1 }], false);
      periods.push({ periodId: live.id, status: 'active', startsAt: live.start, endsAt: live.end, closedAt: null, total: read.total, leader: read.pages[0]!.entries[0] ?? null });
    }
    const closed = await this.store.listPeriods(boardId, Math.max(0, limit - periods.length), before);
    return [...periods, ...closed.map(periodSummary)];
  }

  /** The participant's final placements across closed periods and boards, latest first (GET /v1/participants/{pid}/placements). */
  async placements(participantId: string, limit: number, before?: number): Promise<Placement[]> {
    assertParticipantId(participantId, 'participant_id');
    return this.store.listPlacements(participantId, limit, before);
  }

  /** The board's webhook deliveries, newest first (created before `before` when given), each with its state. */
  async listWebhooks(boardId: string, limit: number, before?: number): Promise<WebhookSummary[]> {
    if (this.registry.get(boardId) === undefined) await this.requireBoard(boardId);
    const now = this.clock.now();
    return (await this.store.listWebhooks(boardId, limit, before)).map((delivery) => ({ ...delivery, state: webhookState(delivery, now) }));
  }

  #summary(config: BoardConfig, state: BoardState): BoardSummary {
    const now = this.clock.now();
    return { config, ...state, status: boardStatus(config, now), period: config.finalizedAt !== null ? null : currentPeriod(config, now), now };
  }

  /** Boards in id order, one page of them (derived rankings are not boards of their own here). Loads no board's entries. */
  async listBoards(offset = 0, limit = Infinity): Promise<{ boards: BoardSummary[]; total: number }> {
    const ids = this.registry.publicIds();
    const summaries = await Promise.all(ids.slice(offset, offset + limit).map((id) => this.getBoard(id).catch(() => null)));
    // A board deleted while the page was read is left out.
    return { boards: summaries.filter((board): board is BoardSummary => board !== null), total: ids.length };
  }

  /** Deletes the board with its derived rankings. */
  async deleteBoard(boardId: string): Promise<void> {
    if (this.registry.get(boardId) === undefined) await this.requireBoard(boardId);
    if (!(await this.registry.delete(boardId))) throw boardNotFound(boardId);
    for (const derived of this.registry.derivedOf(boardId)) await this.registry.delete(derived.id);
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
    let rules = this.registry.get(boardId) ?? (await this.requireBoard(boardId));
    const now = this.clock.now();
    const status = boardStatus(rules, now);
    if (status !== 'active') {
      const refusal = notAccepting(rules, status);
      void this.recordRejections(boardId, inputs.map((input) => ({ input, error: refusal })), now);
      return inputs.map(() => refusal);
    }
    let period: Period | null = null;
    if (rules.reset !== null) {
      period = periodAt(rules.reset, now);
      if (rules.periodStart < period.start) {
        await this.lifecycle.close(boardId);
        rules = await this.requireBoard(boardId);
      }
    }
    const results: (SubmitResult | LadderError)[] = new Array(inputs.length);
    const submissions: Submission[] = [];
    const positions: number[] = [];
    const refused: RefusedSubmission[] = [];
    inputs.forEach((input, i) => {
      try {
        const field = fields?.[i] ?? '';
        const submission = toSubmission(input, now, field);
        if (submission.scope != null) checkScopeNames(submission.scope, rules, field === '' ? 'scope' : `${field}.scope`);
        checkTimestamp(rules, period, submission.timestamp, field);
        submissions.push(submission);
        positions.push(i);
      } catch (err) {
        if (!(err instanceof LadderError)) throw err;
        results[i] = err;
        refused.push({ input, error: err });
      }
    });
    if (submissions.length > 0 && screens(rules)) {
      const verdicts = await screen(rules, submissions, this.backend, this.counters);
      let kept = 0;
      verdicts.forEach((verdict, k) => {
        const i = positions[k] as number;
        if (verdict === null) {
          submissions[kept] = submissions[k] as Submission;
          positions[kept++] = i;
        } else {
          results[i] = verdict;
          refused.push({ input: inputs[i] as SubmissionInput, error: verdict });
        }
      });
      submissions.length = kept;
      positions.length = kept;
    }
    if (submissions.length > 0) {
      let batch: SubmitBatch;
      if (rules.scopes.length > 0 || rules.keepAllTime) {
        batch = await this.#submitDerived(rules, submissions, period?.start ?? null);
      } else {
        try {
          batch = await this.backend.submit(rules, submissions, period?.start ?? null);
        } catch (err) {
          if (!(err instanceof PeriodPassed)) throw err;
          // The live period ended between the check above and the write: it is closed, and the write tried again once.
          await this.lifecycle.close(boardId);
          batch = await this.backend.submit(await this.requireBoard(boardId), submissions, period?.start ?? null);
        }
      }
      const { epoch, outcomes } = batch;
      const shownRank = await this.#shownRanks(rules);
      outcomes.forEach((outcome, k) => {
        const i = positions[k] as number;
        if (outcome instanceof LadderError) {
          results[i] = outcome;
          refused.push({ input: inputs[i] as SubmissionInput, error: outcome });
        } else {
          results[i] = resultOf(outcome, epoch, shownRank);
        }
      });
    }
    if (refused.length > 0) void this.recordRejections(boardId, refused, now);
    return results;
  }

  /** How a submission answer shows a rank: as the backend gave it, or closed up over the participants the board hides. */
  async #shownRanks(rules: BoardConfig): Promise<(entry: RankedEntry) => number> {
    if (rules.hidden.length === 0) return (entry) => entry.rank;
    const read = await this.backend.read(rules, [{ kind: 'participants', participantIds: rules.hidden.map((mark) => mark.participantId) }]);
    const renumber = closingUp(read.pages[0]!.entries, rules.sortOrder);
    return rules.rankTies === 'shared' ? (entry) => renumber.shared(entry.rank, entry.score) : (entry) => renumber.unique(entry.rank);
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
   * The write to a board with derived rankings (core/derived.ts): those the
   * submissions name are made first (lazily, on first use), then one backend
   * call writes the board and them. A live period that ended meanwhile is
   * closed first, the board's or a scope ranking's, and the write tried again.
   */
  async #submitDerived(rules: BoardConfig, submissions: readonly Submission[], periodStart: number | null): Promise<SubmitBatch> {
    for (let attempt = 1; ; attempt++) {
      const derived = await this.#derivedTargets(rules, submissions);
      try {
        return await this.backend.submit(rules, submissions, periodStart, derived);
      } catch (err) {
        if (attempt >= 3 || !(err instanceof PeriodPassed || err instanceof DerivedPeriodPassed)) throw err;
        await this.lifecycle.close(err instanceof DerivedPeriodPassed ? err.boardId : rules.id);
        rules = await this.requireBoard(rules.id);
      }
    }
  }

  /** The derived rankings a write to the board feeds, made when missing (DerivedTargets). */
  async #derivedTargets(rules: BoardConfig, submissions: readonly Submission[]): Promise<DerivedTargets> {
    const named = new Set<string>();
    if (rules.keepAllTime) named.add(allTimeBoardId(rules.id));
    for (const submission of submissions) {
      if (submission.scope == null) continue;
      for (const name in submission.scope) named.add(scopeBoardId(rules.id, { name, value: submission.scope[name]! }));
    }
    for (const id of named) if (this.registry.get(id) === undefined) await this.#createDerived(rules, id);
    const boards = new Map<string, BoardConfig>();
    for (const derived of this.registry.derivedOf(rules.id)) {
      const scope = scopeOfBoardId(derived.id);
      if (isAllTimeBoardId(derived.id) ? rules.keepAllTime : scope !== null && rules.scopes.includes(scope.name)) boards.set(derived.id, derived);
    }
    return { spec: { scopes: rules.scopes, allTime: rules.keepAllTime }, boards };
  }

  /** Makes a derived ranking of the board, empty; another process may have just made it. */
  async #createDerived(parent: BoardConfig, boardId: string): Promise<BoardConfig> {
    const config = derivedConfig(parent, boardId);
    try {
      await this.registry.create(config, newEpoch());
      return config;
    } catch (err) {
      if (!(err instanceof LadderError && err.code === 'board_exists')) throw err;
      const made = await this.registry.reload(boardId);
      if (made === undefined) throw err;
      return made;
    }
  }

  /**
   * Which board answers for `ref` of the board: itself, a scope value's
   * ranking (`scope: 'region:eu'`) or its all-time ranking (`period: 'all'`),
   * with the period to read of it (a closed period's id, or none for the
   * live standings). `board` is null for a derived ranking not made yet: no
   * submission named it, so it is empty. Throws invalid_request for a scope
   * the board does not declare, period_not_found for `all` without keep_all_time.
   */
  #resolve(rules: BoardConfig, ref: RankingRef): { board: BoardConfig | null; id: string; period: string | undefined; label: { period: string | null; scope: string | null } } {
    if (ref.period === ALL_TIME_PERIOD) {
      if (!rules.keepAllTime) throw new LadderError('period_not_found', `leaderboard '${rules.id}' keeps no all-time ranking (keep_all_time)`, { leaderboard_id: rules.id, period: ALL_TIME_PERIOD });
      if (ref.scope !== undefined) throw invalidField('scope', 'cannot be combined with period=all: scope rankings are kept per period, not all-time');
      const id = allTimeBoardId(rules.id);
      return { board: this.registry.get(id) ?? null, id, period: undefined, label: { period: ALL_TIME_PERIOD, scope: null } };
    }
    if (ref.scope === undefined) return { board: rules, id: rules.id, period: ref.period, label: { period: null, scope: null } };
    const scope = parseScopeRef(ref.scope, rules);
    const id = scopeBoardId(rules.id, scope);
    return { board: this.registry.get(id) ?? null, id, period: ref.period, label: { period: null, scope: `${scope.name}:${scope.value}` } };
  }

  /**
   * The board that a live view of `ref` watches (WebSocket and SSE
   * subscriptions): the board, or one of its derived rankings, made now when
   * no submission named it yet. Only live standings can be watched: `period`
   * may only be 'all'.
   */
  async liveBoard(boardId: string, ref: RankingRef): Promise<string> {
    const rules = this.registry.get(boardId) ?? (await this.requireBoard(boardId));
    if (ref.period !== undefined && ref.period !== ALL_TIME_PERIOD) throw invalidField('period', "of a live view can only be 'all' (the all-time ranking); read closed periods with GET .../rankings?period=");
    const target = this.#resolve(rules, ref);
    return (target.board ?? (await this.#createDerived(rules, target.id))).id;
  }

  /**
   * The page of rankings: a plain offset/limit window, the window of `limit`
   * entries around a participant (core/windows.ts aroundSpan), or the ranks
   * of the listed participants ("friends" board); of the board, of a scope
   * value (`query.scope`) or all-time (`query.period` 'all'). One read of one state.
   */
  async rankings(boardId: string, query: RankingsQuery): Promise<RankingsPage> {
    const rules = this.registry.get(boardId) ?? (await this.requireBoard(boardId));
    let rankQuery: RankQuery;
    if (query.participants !== undefined) rankQuery = { kind: 'participants', participantIds: query.participants };
    else if (query.around !== undefined) rankQuery = { kind: 'around', participantId: query.around, size: query.limit };
    else rankQuery = { kind: 'page', offset: query.offset, limit: query.limit };
    const { read, label } = query.scope === undefined && query.period !== ALL_TIME_PERIOD ? { read: await this.#read(rules, query.period, [rankQuery]), label: null } : await this.#readRef(rules, query, [rankQuery]);
    const page = read.pages[0]!;
    if (rankQuery.kind === 'around' && page.focus === null) throw participantNotFound(boardId, rankQuery.participantId);
    return { boardId, period: label?.period ?? read.period, scope: label?.scope ?? null, ...stateOf(read), entries: shownEntries(page), scoreDecimals: rules.scoreDecimals };
  }

  /** A participant's standing with up to `neighbors` entries above and below (core/windows.ts neighborSpan); `ref` as for rankings. */
  async participant(boardId: string, participantId: string, neighbors: number, period?: string, scope?: string): Promise<ParticipantStanding> {
    const rules = this.registry.get(boardId) ?? (await this.requireBoard(boardId));
    const queries: RankQuery[] = [{ kind: 'neighbors', participantId, radius: neighbors }];
    const { read, label } = scope === undefined && period !== ALL_TIME_PERIOD ? { read: await this.#read(rules, period, queries), label: null } : await this.#readRef(rules, { period, scope }, queries);
    const page = read.pages[0]!;
    if (page.focus === null) throw participantNotFound(boardId, participantId);
    const entries = shownEntries(page);
    const at = page.focus.rank - (page.entries[0]?.rank ?? page.focus.rank);
    const entry = entries[at]!;
    const total = read.total;
    // Share of the others ranked below this participant: 100 for the leader, 0 for the last (tied ones share theirs).
    const percentile = total <= 1 ? 100 : Math.round(((total - entry.rank) / (total - 1)) * 10000) / 100;
    return { boardId, period: label?.period ?? read.period, scope: label?.scope ?? null, ...stateOf(read), scoreDecimals: rules.scoreDecimals, entry, percentile, above: entries.slice(0, at), below: entries.slice(at + 1) };
  }

  /** #read of a scope value's or the all-time ranking (#resolve); one not made yet reads as empty. */
  async #readRef(rules: BoardConfig, ref: RankingRef, queries: readonly RankQuery[]): Promise<{ read: RankRead & { period: string | null }; label: { period: string | null; scope: string | null } }> {
    const target = this.#resolve(rules, ref);
    if (target.board !== null) return { read: await this.#read(target.board, target.period, queries), label: target.label };
    if (target.period !== undefined) throw periodNotFound(rules.id, target.period);
    return { read: { epoch: EMPTY_EPOCH, version: 0, total: 0, pages: queries.map(() => ({ entries: [], focus: null })), period: null }, label: target.label };
  }

  /**
   * One read: of the live standings, or of a closed period's final rankings
   * when `period` names one (or the board is finalized, when it names none).
   * An archive's epoch names its close, and its version is 0: it never changes.
   */
  async #read(rules: BoardConfig, period: string | undefined, queries: readonly RankQuery[], shown = true): Promise<RankRead<ShownEntry> & { period: string | null }> {
    // A board that hides participants is read with room for them, and answered without them (service/hiding.ts).
    const hidden = rules.hidden.length === 0 ? null : hiddenSet(rules.hidden);
    const asked = hidden === null ? queries : widenQueries(queries, [...hidden]);
    const show = (read: RankRead) => {
      const visible = hidden === null ? read : withoutHidden(read, queries, hidden, rules.sortOrder);
      return shown ? this.profiles.show(visible) : visible;
    };
    const live = livePeriod(rules);
    const archived = period ?? (rules.finalizedAt !== null ? (live?.id ?? FINAL_PERIOD_ID) : undefined);
    if (archived === undefined || (rules.finalizedAt === null && archived === live?.id)) return { ...(await show(await this.backend.read(rules, asked))), period: null };
    const final = await this.store.readFinal(rules.id, archived, asked, { ties: rules.rankTies });
    if (final === null) throw periodNotFound(rules.id, archived);
    const read = await show({ epoch: archiveEpoch(final.period), version: 0, total: final.period.total, pages: final.pages });
    return { ...read, period: archived };
  }

  /**
   * Answers the queries from one state of the board, with what profiles
   * show (the feed's read), or of a closed period's final rankings.
   * `shown: false` leaves profiles out (an export, which would otherwise
   * fill the profile cache with every participant it passes).
   */
  async read(boardId: string, queries: readonly RankQuery[], period?: string, options: { shown?: boolean } = {}): Promise<RankRead<ShownEntry>> {
    return this.#read(this.registry.get(boardId) ?? (await this.requireBoard(boardId)), period, queries, options.shown ?? true);
  }

  /**
   * Sets the participant's profile, replacing the one they had (absent
   * fields are cleared), shared by every board; answers it. Every process
   * forgets what it cached, and live views showing them are read again.
   */
  async putProfile(participantId: string, input: ProfileInput): Promise<Profile> {
    const profile = toProfile(participantId, input, Date.now());
    await this.store.putProfile(profile);
    this.bus.publish({ kind: 'profile_changed', participantId });
    return profile;
  }

  /** The participant's profile, from the store (never a cached copy). Throws participant_not_found. */
  async getProfile(participantId: string): Promise<Profile> {
    assertParticipantId(participantId);
    const [profile] = await this.store.getProfiles([participantId]);
    if (profile === undefined) throw profileNotFound(participantId);
    return profile;
  }

  /**
   * Erases the participant (the right to be forgotten): their entry leaves
   * every board, live and durable (Backend.erase: the ranks below close up,
   * viewers get the change), then their profile goes. Board by board, in id
   * order, each loaded if it is not; a board deleted meanwhile is skipped.
   * Idempotent: after a failure (it rejects, e.g. storage_failed), a retry
   * finishes the work. Complexity: one erasure per board.
   */
  async eraseParticipant(participantId: string): Promise<ParticipantErasure> {
    assertParticipantId(participantId);
    const boards: ErasedEntry[] = [];
    for (const boardId of [...this.registry.ids()]) {
      const rules = this.registry.get(boardId);
      if (rules === undefined) continue;
      let erased;
      try {
        erased = await this.backend.erase(rules, participantId);
      } catch (err) {
        if (err instanceof LadderError && err.code === 'board_not_found') continue;
        throw err;
      }
      // Derived rankings (core/derived.ts) lose the entry too, but stay hidden: only the boards users made are listed.
      if (erased.removed !== null && parentBoardId(boardId) === null) boards.push({ boardId, rank: erased.removed.rank, epoch: erased.epoch, version: erased.version });
    }
    const profile = await this.store.deleteProfile(participantId);
    this.bus.publish({ kind: 'profile_changed', participantId });
    return { participantId, boards, profile };
  }

  /**
   * Resolves once the board's version exceeds `afterVersion` (or its epoch is
   * no longer `epoch`, when given), after `timeoutMs`, when `signal` aborts
   * (the client went away) or when the service closes, whichever comes first
   * (long-poll).
   */
  async waitForVersion(boardId: string, afterVersion: number, epoch: string | null, timeoutMs: number, signal?: AbortSignal, ref: RankingRef = {}): Promise<void> {
    const rules = this.registry.get(boardId) ?? (await this.requireBoard(boardId));
    if (ref.scope !== undefined || ref.period === ALL_TIME_PERIOD) {
      const target = this.#resolve(rules, ref);
      if (target.board !== null) return this.waitForVersion(target.board.id, afterVersion, epoch, timeoutMs, signal);
      // Not made yet: the board's next change may make it.
      const standing = await this.backend.standing(boardId);
      if (standing !== null) return this.waitForVersion(boardId, standing.version, standing.epoch, timeoutMs, signal);
      return;
    }
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
      case 'period_closed':
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

  /** The board's configuration as the store has it now. Throws board_not_found. */
  async #storedBoard(boardId: string): Promise<BoardConfig> {
    const stored = await this.store.getBoard(boardId);
    if (stored === null) throw boardNotFound(boardId);
    return stored.config;
  }

  /** Answers every pending long-poll now (at shutdown, before the HTTP server drains). */
  endLongPolls(): void {
    for (const boardId of [...this.versionWaiters.keys()]) this.wakeVersionWaiters(boardId, () => true);
  }

  /** Starts the scheduler of closes (service/lifecycle.ts); its first tick also handles boundaries that passed while Ladder was down. */
  startLifecycle(): void {
    this.lifecycle.start(this.config.lifecycleTickMs);
  }

  /** Starts the webhook worker (service/webhooks.ts); it delivers at once what an earlier run left pending. */
  startWebhooks(): void {
    this.webhooks.start();
  }

  /** Stops the scheduler and the webhook worker, stops listening, then closes the backend and the store (which commits what is queued). */
  async close(): Promise<void> {
    await this.lifecycle.stop();
    await this.webhooks.stop();
    this.unsubscribeBus();
    this.registry.close();
    this.profiles.close();
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

/** The page's entries with the ranks the board shows: their shared ones when the read returned them (core/ties.ts). */
function shownEntries(page: RankPage): readonly RankedEntry[] {
  return withSharedRanks(page.entries, page.sharedRanks);
}
/** The epoch of a derived ranking that no submission made yet: it reads as empty, and its first answer once made has another. */
const EMPTY_EPOCH = 'empty';

function stateOf(read: RankRead): BoardState {
  return { epoch: read.epoch, version: read.version, total: read.total };
}

/** The board with `settings` applied (absent ones unchanged), checked; a new reset schedule starts with the period that holds now. */
function withSettings(config: BoardConfig, settings: BoardSettings, now: number): BoardConfig {
  if (settings.metadata !== undefined) checkMetadata(settings.metadata, 'metadata');
  const next: BoardConfig = {
    ...config,
    name: settings.name ?? config.name,
    metadata: settings.metadata === undefined ? config.metadata : settings.metadata,
    startsAt: settings.startsAt === undefined ? config.startsAt : settings.startsAt,
    endsAt: settings.endsAt === undefined ? config.endsAt : settings.endsAt,
    reset: settings.reset === undefined ? config.reset : settings.reset,
    keepAllTime: settings.keepAllTime ?? config.keepAllTime,
    scopes: settings.scopes ?? config.scopes,
    rankTies: settings.rankTies ?? config.rankTies,
    scoreDecimals: settings.scoreDecimals ?? config.scoreDecimals,
    webhookUrl: settings.webhookUrl === undefined ? config.webhookUrl : settings.webhookUrl,
    webhookTop: settings.webhookTop ?? config.webhookTop,
    scoreRules: settings.scoreRules === undefined ? config.scoreRules : mergedRules(config.scoreRules, settings.scoreRules),
    rateLimit: settings.rateLimit === undefined ? config.rateLimit : settings.rateLimit,
  };
  checkBoardSettings(next);
  const webhookSecret = next.webhookUrl === null ? null : (config.webhookSecret ?? randomBytes(32).toString('base64url'));
  const periodStart = next.reset === null ? 0 : JSON.stringify(next.reset) === JSON.stringify(config.reset) && config.periodStart > 0 ? config.periodStart : periodAt(next.reset, Math.max(now, next.startsAt ?? now)).start;
  return { ...next, webhookSecret, periodStart };
}

/** The board's rules with `patch` merged in: a field absent keeps its rule, a null (or false) one drops it; null when none is left. */
function mergedRules(rules: ScoreRules | null, patch: Partial<ScoreRules> | null): ScoreRules | null {
  if (patch === null) return null;
  const base = rules ?? NO_SCORE_RULES;
  const pick = <K extends keyof ScoreRules>(field: K): ScoreRules[K] => {
    const value = patch[field];
    return value === undefined ? base[field] : (value ?? NO_SCORE_RULES[field]);
  };
  const merged: ScoreRules = { minScore: pick('minScore'), maxScore: pick('maxScore'), maxIncrease: pick('maxIncrease'), maxIncreasePerWindow: pick('maxIncreasePerWindow'), monotonic: pick('monotonic') };
  const empty = (Object.keys(NO_SCORE_RULES) as (keyof ScoreRules)[]).every((field) => merged[field] === NO_SCORE_RULES[field]);
  return empty ? null : merged;
}

/** Refuses a timestamp outside the board's schedule or its live period. */
function checkTimestamp(rules: BoardConfig, period: Period | null, timestamp: number, field: string): void {
  const name = field === '' ? 'timestamp' : `${field}.timestamp`;
  if (rules.startsAt !== null && timestamp < rules.startsAt) throw new LadderError('board_not_started', `${name} lies before the start of leaderboard '${rules.id}'`, { leaderboard_id: rules.id, field: name });
  if (rules.endsAt !== null && timestamp >= rules.endsAt) throw new LadderError('board_closed', `${name} lies after the end of leaderboard '${rules.id}'`, { leaderboard_id: rules.id, field: name });
  if (period === null) return;
  if (timestamp < period.start) throw periodClosed(rules.id, name);
  if (timestamp >= period.end) throw invalidField(name, `lies in a period of leaderboard '${rules.id}' that has not started`);
}

function notAccepting(rules: BoardConfig, status: BoardStatus): LadderError {
  return status === 'scheduled'
    ? new LadderError('board_not_started', `leaderboard '${rules.id}' accepts scores from ${new Date(rules.startsAt!).toISOString()} on`, { leaderboard_id: rules.id, starts_at: rules.startsAt })
    : new LadderError('board_closed', `leaderboard '${rules.id}' is closed`, { leaderboard_id: rules.id });
}

function periodNotFound(boardId: string, periodId: string): LadderError {
  return new LadderError('period_not_found', `leaderboard '${boardId}' has no closed period '${periodId}'`, { leaderboard_id: boardId, period: periodId });
}

function immutable(field: string, problem: string): LadderError {
  return new LadderError('immutable_field', `${field} ${problem}`, { field });
}

/** An archive's epoch: it names the close, so that a board reopened and closed again has another. */
function archiveEpoch(period: PeriodRecord | undefined): string {
  return period === undefined ? 'archive' : `archive-${period.closedAt.toString(36)}`;
}

function periodSummary(period: PeriodRecord): PeriodSummary {
  return { periodId: period.periodId, status: 'closed', startsAt: period.startsAt, endsAt: period.endsAt, closedAt: period.closedAt, total: period.total, leader: period.winner };
}

function boardExists(boardId: string): LadderError {
  return new LadderError('board_exists', `leaderboard '${boardId}' exists already`, { leaderboard_id: boardId });
}

function resultOf(outcome: SubmitOutcome, epoch: string, shownRank: (entry: RankedEntry) => number): SubmitResult {
  return {
    participantId: outcome.entry.participantId,
    score: outcome.entry.score,
    achievedAt: outcome.entry.achievedAt,
    rank: shownRank(outcome.entry),
    previousRank: outcome.previous === null ? null : shownRank(outcome.previous),
    previousScore: outcome.previous?.score ?? null,
    epoch,
    version: outcome.version,
    changed: outcome.changed,
  };
}
