/** Domain objects to the snake_case wire format of the v1 API. */
import type { RankedEntry } from '../core/types.js';
import type { BoardSummary, ParticipantStanding, PeriodSummary, RankingsPage, SubmitResult } from '../service/ladder.js';

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

export function entryToWire(entry: RankedEntry) {
  const wire: Record<string, unknown> = {
    rank: entry.rank,
    participant_id: entry.participantId,
    score: entry.score,
    achieved_at: entry.achievedAt,
  };
  if (entry.metadata !== null) wire.metadata = entry.metadata;
  return wire;
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
  const wire: Record<string, unknown> = { leaderboard_id: page.boardId, period: page.period, epoch: page.epoch, version: page.version, total: page.total, entries: page.entries.map(entryToWire) };
  // Only the answers of a scope's ranking name it, so that the board's own keep their shape.
  if (page.scope !== null) wire.scope = page.scope;
  return wire;
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
    percentile: standing.percentile,
    epoch: standing.epoch,
    version: standing.version,
    total: standing.total,
    neighbors: { above: standing.above.map(entryToWire), below: standing.below.map(entryToWire) },
  };
  if (entry.metadata !== null) wire.metadata = entry.metadata;
  if (standing.scope !== null) wire.scope = standing.scope;
  return wire;
}
