/** Domain objects to the snake_case wire format of the v1 API. */
import type { Profile, ShownEntry } from '../core/types.js';
import { deliveryId } from '../core/webhooks.js';
import type { BoardSummary, ParticipantErasure, ParticipantStanding, PeriodSummary, RankingsPage, SubmitResult, WebhookSummary } from '../service/ladder.js';

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
    epoch: board.epoch,
    version: board.version,
    total: board.total,
    // The server's clock (an injected or shifted one, too), so that a viewer's countdown to starts_at, ends_at or next_reset_at agrees with it.
    server_time: board.now,
  };
  if (options.secret === true && config.webhookSecret !== null) wire.webhook_secret = config.webhookSecret;
  return wire;
}

export function periodToWire(period: PeriodSummary) {
  return {
    period: period.periodId,
    status: period.status,
    starts_at: period.startsAt,
    ends_at: period.endsAt,
    closed_at: period.closedAt,
    total: period.total,
    leader: period.leader === null ? null : entryToWire(period.leader),
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

export function entryToWire(entry: ShownEntry) {
  const wire: Record<string, unknown> = {
    rank: entry.rank,
    participant_id: entry.participantId,
    score: entry.score,
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

export function submitResultToWire(result: SubmitResult) {
  return {
    participant_id: result.participantId,
    score: result.score,
    rank: result.rank,
    previous_rank: result.previousRank,
    previous_score: result.previousScore,
    epoch: result.epoch,
    version: result.version,
    changed: result.changed,
    achieved_at: result.achievedAt,
  };
}

export function rankingsToWire(page: RankingsPage) {
  return { leaderboard_id: page.boardId, period: page.period, epoch: page.epoch, version: page.version, total: page.total, entries: page.entries.map(entryToWire) };
}

export function standingToWire(standing: ParticipantStanding) {
  const { entry } = standing;
  const wire: Record<string, unknown> = {
    leaderboard_id: standing.boardId,
    period: standing.period,
    participant_id: entry.participantId,
    rank: entry.rank,
    score: entry.score,
    achieved_at: entry.achievedAt,
    ...(entry.displayName === undefined ? {} : { display_name: entry.displayName }),
    ...(entry.avatarUrl === undefined ? {} : { avatar_url: entry.avatarUrl }),
    percentile: standing.percentile,
    epoch: standing.epoch,
    version: standing.version,
    total: standing.total,
    neighbors: { above: standing.above.map(entryToWire), below: standing.below.map(entryToWire) },
  };
  if (entry.metadata !== null) wire.metadata = entry.metadata;
  return wire;
}
