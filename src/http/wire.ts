/**
 * Domain objects to the snake_case wire format of the v1 API. Scores leave
 * as the board shows them: kept ×10^score_decimals, answered as decimals
 * (core/fixed-point.ts).
 */
import { scoreToWire } from '../core/fixed-point.js';
import type { ScoreRules } from '../core/score-rules.js';
import type { ModerationMark, Profile, ShownEntry } from '../core/types.js';
import { deliveryId } from '../core/webhooks.js';
import type { BoardSummary, ModerationState, ParticipantErasure, ParticipantStanding, PeriodSummary, RankingsPage, SubmitResult, WebhookSummary } from '../service/ladder.js';
import type { HistoryItem } from '../store/store.js';

export function boardToWire(board: BoardSummary, options: { secret?: boolean } = {}) {
  const { config } = board;
  const wire: Record<string, unknown> = {
    id: config.id,
    name: config.name,
    sort_order: config.sortOrder,
    operator: config.operator,
    metadata: config.metadata,
    created_at: config.createdAt,
    status: board.status,
    starts_at: config.startsAt,
    ends_at: config.endsAt,
    closed_at: config.closedAt,
    finalized_at: config.finalizedAt,
    reset: config.reset,
    period: board.period?.id ?? null,
    next_reset_at: board.period?.end ?? null,
    keep_all_time: config.keepAllTime,
    scopes: config.scopes,
    rank_ties: config.rankTies,
    score_decimals: config.scoreDecimals,
    webhook_url: config.webhookUrl,
    webhook_top: config.webhookTop,
    rules: rulesToWire(config.scoreRules),
    rate_limit: config.rateLimit === null ? null : { max: config.rateLimit.max, window_ms: config.rateLimit.windowMs },
    epoch: board.epoch,
    version: board.version,
    total: board.total,
    // The server's clock (an injected or shifted one, too), so that a viewer's countdown to starts_at, ends_at or next_reset_at agrees with it.
    server_time: board.now,
  };
  if (options.secret === true && config.webhookSecret !== null) wire.webhook_secret = config.webhookSecret;
  return wire;
}

function rulesToWire(rules: ScoreRules | null) {
  if (rules === null) return null;
  const window = rules.maxIncreasePerWindow;
  return {
    min_score: rules.minScore,
    max_score: rules.maxScore,
    max_increase: rules.maxIncrease,
    max_increase_per_window: window === null ? null : { amount: window.amount, window_ms: window.windowMs },
    monotonic: rules.monotonic,
  };
}

/** A participant's marks on a board (POST .../hide, /unhide, /flag, /unflag). */
export function moderationToWire(state: ModerationState) {
  return { leaderboard_id: state.boardId, participant_id: state.participantId, hidden: markToWire(state.hidden), flagged: markToWire(state.flagged) };
}

export function markToWire(mark: ModerationMark | null) {
  return mark === null ? null : { participant_id: mark.participantId, at: mark.at, reason: mark.reason };
}

export function periodToWire(period: PeriodSummary, decimals: number) {
  return {
    period: period.periodId,
    status: period.status,
    starts_at: period.startsAt,
    ends_at: period.endsAt,
    closed_at: period.closedAt,
    total: period.total,
    leader: period.leader === null ? null : entryToWire(period.leader, decimals),
  };
}

export function webhookToWire(delivery: WebhookSummary) {
  return {
    delivery_id: deliveryId(delivery.boardId, delivery.periodId),
    period: delivery.periodId,
    state: delivery.state,
    url: delivery.url,
    attempts: delivery.attempts,
    created_at: delivery.createdAt,
    next_attempt_at: delivery.deliveredAt === null ? delivery.nextAttemptAt : null,
    delivered_at: delivery.deliveredAt,
    last_error: delivery.lastError,
  };
}

export function entryToWire(entry: ShownEntry, decimals: number) {
  const wire: Record<string, unknown> = {
    rank: entry.rank,
    participant_id: entry.participantId,
    score: scoreToWire(entry.score, decimals),
    achieved_at: entry.achievedAt,
  };
  shownToWire(entry, wire);
  if (entry.metadata !== null) wire.metadata = entry.metadata;
  return wire;
}

/** What the participant's profile shows, when it sets it. */
function shownToWire(entry: ShownEntry, wire: Record<string, unknown>): void {
  if (entry.displayName !== undefined) wire.display_name = entry.displayName;
  if (entry.avatarUrl !== undefined) wire.avatar_url = entry.avatarUrl;
}

export function profileToWire(profile: Profile) {
  return {
    participant_id: profile.participantId,
    display_name: profile.displayName,
    avatar_url: profile.avatarUrl,
    metadata: profile.metadata,
    updated_at: profile.updatedAt,
  };
}

export function erasureToWire(erasure: ParticipantErasure) {
  return {
    participant_id: erasure.participantId,
    leaderboards: erasure.boards.map((board) => ({ leaderboard_id: board.boardId, rank: board.rank, epoch: board.epoch, version: board.version })),
    profile_deleted: erasure.profile,
  };
}

export function submitResultToWire(result: SubmitResult, decimals: number) {
  return {
    participant_id: result.participantId,
    score: scoreToWire(result.score, decimals),
    rank: result.rank,
    previous_rank: result.previousRank,
    previous_score: result.previousScore === null ? null : scoreToWire(result.previousScore, decimals),
    epoch: result.epoch,
    version: result.version,
    changed: result.changed,
    achieved_at: result.achievedAt,
  };
}

export function rankingsToWire(page: RankingsPage) {
  const decimals = page.scoreDecimals;
  const wire: Record<string, unknown> = {
    leaderboard_id: page.boardId,
    period: page.period,
    epoch: page.epoch,
    version: page.version,
    total: page.total,
    entries: page.entries.map((entry) => entryToWire(entry, decimals)),
  };
  // Only the answers of a scope's ranking name it, so that the board's own keep their shape.
  if (page.scope !== null) wire.scope = page.scope;
  return wire;
}

export function standingToWire(standing: ParticipantStanding) {
  const { entry, scoreDecimals: decimals } = standing;
  const wire: Record<string, unknown> = {
    leaderboard_id: standing.boardId,
    period: standing.period,
    participant_id: entry.participantId,
    rank: entry.rank,
    score: scoreToWire(entry.score, decimals),
    achieved_at: entry.achievedAt,
    ...(entry.displayName === undefined ? {} : { display_name: entry.displayName }),
    ...(entry.avatarUrl === undefined ? {} : { avatar_url: entry.avatarUrl }),
    percentile: standing.percentile,
    epoch: standing.epoch,
    version: standing.version,
    total: standing.total,
    neighbors: { above: standing.above.map((above) => entryToWire(above, decimals)), below: standing.below.map((below) => entryToWire(below, decimals)) },
  };
  if (entry.metadata !== null) wire.metadata = entry.metadata;
  if (standing.scope !== null) wire.scope = standing.scope;
  return wire;
}

/**
 * One item of a participant's history. Both outcomes carry event_id, score
 * (what was submitted: a delta under increment; for a refusal, as given),
 * timestamp and received_at; an accepted one what it did to the entry, a
 * refused one why.
 */
export function historyItemToWire(item: HistoryItem) {
  if (item.outcome === 'accepted') {
    const { event } = item;
    return {
      outcome: 'accepted' as const,
      event_id: event.eventId,
      score: event.submitted,
      timestamp: event.timestamp,
      received_at: event.receivedAt,
      old_score: event.oldScore,
      new_score: event.newScore,
      old_rank: event.oldRank,
      new_rank: event.newRank,
      version: event.version,
      changed: event.changed,
    };
  }
  const { rejection } = item;
  return {
    outcome: 'rejected' as const,
    event_id: rejection.eventId,
    score: rejection.submitted,
    timestamp: rejection.timestamp,
    received_at: rejection.receivedAt,
    code: rejection.code,
    message: rejection.message,
  };
}
