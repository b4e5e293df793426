/** Domain objects to the snake_case wire format of the v1 API. */
import type { RankedEntry } from '../core/types.js';
import type { BoardSummary, ParticipantStanding, RankingsPage, SubmitResult } from '../service/ladder.js';
import type { HistoryItem } from '../store/store.js';

export function boardToWire(board: BoardSummary) {
  const { config } = board;
  return {
    id: config.id,
    name: config.name,
    sort_order: config.sortOrder,
    operator: config.operator,
    metadata: config.metadata,
    created_at: config.createdAt,
    epoch: board.epoch,
    version: board.version,
    total: board.total,
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
  return { leaderboard_id: page.boardId, epoch: page.epoch, version: page.version, total: page.total, entries: page.entries.map(entryToWire) };
}

export function standingToWire(standing: ParticipantStanding) {
  const { entry } = standing;
  const wire: Record<string, unknown> = {
    leaderboard_id: standing.boardId,
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
