/** Domain objects to the snake_case wire format of the v1 API. */
import type { Profile, ShownEntry } from '../core/types.js';
import type { BoardSummary, ParticipantErasure, ParticipantStanding, RankingsPage, SubmitResult } from '../service/ladder.js';

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
