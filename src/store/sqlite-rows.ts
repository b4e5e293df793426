/**
 * Domain objects <-> SQLite rows. Row fields are named after the columns
 * (and the named parameters in sqlite-sql.ts). metadata travels as JSON text.
 * Integers come back from better-sqlite3 as numbers, exact within ±(2^53−1);
 * safeIntegers stays off because every stored integer is within that range.
 */
import type { BoardConfig, Entry, Metadata, Operator, Profile, RankedEntry, SortOrder } from '../core/types.js';
import { rateLimitOfRow } from '../core/rate-limit.js';
import { optionsFromJson, optionsToJson } from './board-options.js';
import type { ApiKeyRecord, KeyScope, PeriodRecord, Placement, Rejection, ScoreEvent, StoredBoard, StoredRejection, WebhookDelivery } from './store.js';
import { nextAttemptFromColumn } from './webhook-deliveries.js';

export interface BoardRow {
  readonly id: string;
  readonly name: string;
  readonly sort_order: string;
  readonly operator: string;
  readonly metadata: string | null;
  readonly created_at: number;
  /** store/board-options.ts */
  readonly options: string;
  readonly period_start: number;
}

/** A board as INSERT_BOARD takes it. */
export interface NewBoardRow extends BoardRow {
  readonly epoch: string;
}

export interface StoredBoardRow extends NewBoardRow {
  readonly version: number;
  readonly total: number;
  readonly period_seq: number;
}

/** SELECT_PERIODS and SELECT_PERIOD: a period with its rank 1 (all null when it had no entries). */
export interface PeriodRow {
  readonly board_id: string;
  readonly period_id: string;
  readonly starts_at: number;
  readonly ends_at: number;
  readonly closed_at: number;
  readonly total: number;
  readonly winner_id: string | null;
  readonly winner_score: number | null;
  readonly winner_achieved_at: number | null;
  readonly winner_updated_at: number | null;
  readonly winner_metadata: string | null;
}

/** A final_rankings entry as SELECT_FINAL_* read it. */
export interface FinalEntryRow {
  readonly rank: number;
  readonly participant_id: string;
  readonly score: number;
  readonly achieved_at: number;
  readonly updated_at: number;
  readonly metadata: string | null;
}

export function finalEntryFromRow(row: FinalEntryRow): RankedEntry {
  return { rank: row.rank, participantId: row.participant_id, score: row.score, achievedAt: row.achieved_at, updatedAt: row.updated_at, metadata: fromJson(row.metadata) };
}

/** SELECT_PLACEMENTS: a final entry with its board, period and the period's close. */
export interface PlacementRow extends FinalEntryRow {
  readonly board_id: string;
  readonly period_id: string;
  readonly closed_at: number;
  readonly total: number;
}

export function placementFromRow(row: PlacementRow): Placement {
  return { boardId: row.board_id, periodId: row.period_id, closedAt: row.closed_at, total: row.total, entry: finalEntryFromRow(row) };
}

export function periodFromRow(row: PeriodRow): PeriodRecord {
  return {
    boardId: row.board_id,
    periodId: row.period_id,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    closedAt: row.closed_at,
    total: row.total,
    winner:
      row.winner_id === null
        ? null
        : { rank: 1, participantId: row.winner_id, score: row.winner_score!, achievedAt: row.winner_achieved_at!, updatedAt: row.winner_updated_at!, metadata: fromJson(row.winner_metadata) },
  };
}

/** A webhook_deliveries row as CLAIM_WEBHOOKS and SELECT_WEBHOOKS read it. */
export interface WebhookRow {
  readonly board_id: string;
  readonly period_id: string;
  readonly url: string;
  readonly top: number;
  readonly created_at: number;
  readonly attempts: number;
  readonly next_attempt_at: number;
  readonly leased_until: number;
  readonly delivered_at: number | null;
  readonly last_error: string | null;
}

export function webhookFromRow(row: WebhookRow): WebhookDelivery {
  return {
    boardId: row.board_id,
    periodId: row.period_id,
    url: row.url,
    top: row.top,
    createdAt: row.created_at,
    attempts: row.attempts,
    nextAttemptAt: nextAttemptFromColumn(row.next_attempt_at),
    leasedUntil: row.leased_until,
    deliveredAt: row.delivered_at,
    lastError: row.last_error,
  };
}

/** One score_log row as SELECT_EVENT and SELECT_EVENTS_AFTER read it. */
export interface EventRow {
  readonly board_id: string;
  readonly seq: number;
  readonly event_id: string | null;
  readonly participant_id: string;
  readonly submitted: number;
  readonly timestamp: number;
  readonly received_at: number;
  readonly old_score: number | null;
  readonly new_score: number;
  readonly old_rank: number | null;
  readonly new_rank: number;
  readonly version: number;
  readonly changed: 0 | 1;
  readonly metadata: string | null;
  readonly entry_achieved_at: number;
  readonly entry_updated_at: number;
  readonly fingerprint: string | null;
}

/**
 * SELECT_LOG_TAIL read with .raw(): [count, last seq, then one JSON array
 * each of participant_id, new_score, entry_achieved_at, entry_updated_at,
 * metadata_applied, metadata].
 */
export type TailColumnsRow = [number, number | null, string, string, string, string, string, string, string];

/** SELECT_BOARD_LOG_STATE. */
export interface BoardLogStateRow {
  readonly base_seq: number | null;
  readonly last_seq: number | null;
}

/** One row of the checkpoints table. */
export interface CheckpointRow {
  readonly board_id: string;
  readonly seq: number;
  readonly version: number;
  readonly total: number;
  /** File name under the checkpoints directory. */
  readonly file: string;
  readonly bytes: number;
  readonly crc32: number;
  readonly created_at: number;
}

/** SELECT_ENTRY_COLUMNS read with .raw(): [count, last participant_id, then one JSON array per column]. */
export type EntryColumnsRow = [number, string | null, string, string, string, string, string];

export interface ApiKeyRow {
  readonly id: string;
  readonly hash: string;
  readonly scope: string;
  readonly name: string;
  readonly created_at: number;
  readonly revoked_at: number | null;
  /** JSON array of board ids, or NULL. */
  readonly boards: string | null;
  /** Both NULL: the key has no rate limit of its own. */
  readonly rate_limit_max: number | null;
  readonly rate_limit_window_ms: number | null;
}

export function boardToRow(config: BoardConfig): BoardRow {
  return {
    id: config.id,
    name: config.name,
    sort_order: config.sortOrder,
    operator: config.operator,
    metadata: toJson(config.metadata),
    created_at: config.createdAt,
    options: optionsToJson(config),
    period_start: config.periodStart,
  };
}

export function boardFromRow(row: StoredBoardRow): StoredBoard {
  return {
    config: {
      id: row.id,
      name: row.name,
      sortOrder: row.sort_order as SortOrder,
      operator: row.operator as Operator,
      metadata: fromJson(row.metadata),
      createdAt: row.created_at,
      ...optionsFromJson(row.options),
      periodStart: row.period_start,
    },
    epoch: row.epoch,
    version: row.version,
    total: row.total,
    periodSeq: row.period_seq,
  };
}

/**
 * The log does not repeat the entry's metadata when it came from an earlier
 * submission, so a read-back event's `entry.metadata` is the event's own
 * metadata. Its score, achievedAt and updatedAt are exact.
 */
export function eventFromRow(row: EventRow): ScoreEvent {
  const metadata = fromJson(row.metadata);
  return {
    boardId: row.board_id,
    seq: row.seq,
    eventId: row.event_id,
    participantId: row.participant_id,
    submitted: row.submitted,
    timestamp: row.timestamp,
    receivedAt: row.received_at,
    oldScore: row.old_score,
    newScore: row.new_score,
    oldRank: row.old_rank,
    newRank: row.new_rank,
    version: row.version,
    changed: row.changed === 1,
    metadata,
    entry: {
      participantId: row.participant_id,
      score: row.new_score,
      achievedAt: row.entry_achieved_at,
      updatedAt: row.entry_updated_at,
      metadata,
    },
    fingerprint: row.fingerprint,
  };
}

/** Appends the entries of one SELECT_ENTRY_COLUMNS chunk (a board's base state). */
export function entriesFromColumns(row: EntryColumnsRow, into: Entry[]): void {
  const ids = JSON.parse(row[2]) as string[];
  const scores = JSON.parse(row[3]) as number[];
  const achieved = JSON.parse(row[4]) as number[];
  const updated = JSON.parse(row[5]) as number[];
  const metadata = JSON.parse(row[6]) as (string | null)[];
  for (let i = 0; i < ids.length; i++) {
    const meta = metadata[i] as string | null;
    into.push({
      participantId: ids[i] as string,
      score: scores[i] as number,
      achievedAt: achieved[i] as number,
      updatedAt: updated[i] as number,
      metadata: meta === null ? null : (JSON.parse(meta) as Metadata),
    });
  }
}

/** One row of the participants table. */
export interface ProfileRow {
  readonly participant_id: string;
  readonly display_name: string | null;
  readonly avatar_url: string | null;
  readonly metadata: string | null;
  readonly updated_at: number;
}

export function profileToRow(profile: Profile): ProfileRow {
  return {
    participant_id: profile.participantId,
    display_name: profile.displayName,
    avatar_url: profile.avatarUrl,
    metadata: toJson(profile.metadata),
    updated_at: profile.updatedAt,
  };
}

export function profileFromRow(row: ProfileRow): Profile {
  return { participantId: row.participant_id, displayName: row.display_name, avatarUrl: row.avatar_url, metadata: fromJson(row.metadata), updatedAt: row.updated_at };
}

/** A rejections row as INSERT_REJECTION takes it. */
export interface RejectionRow {
  readonly board_id: string;
  readonly participant_id: string;
  readonly code: string;
  readonly message: string;
  readonly submitted: number | null;
  readonly timestamp: number | null;
  readonly event_id: string | null;
  readonly received_at: number;
}

/** A rejections row as SELECT_PARTICIPANT_REJECTIONS reads it. */
export interface StoredRejectionRow extends RejectionRow {
  readonly id: number;
}

export function rejectionToRow(rejection: Rejection): RejectionRow {
  return {
    board_id: rejection.boardId,
    participant_id: rejection.participantId,
    code: rejection.code,
    message: rejection.message,
    submitted: rejection.submitted,
    timestamp: rejection.timestamp,
    event_id: rejection.eventId,
    received_at: rejection.receivedAt,
  };
}

export function rejectionFromRow(row: StoredRejectionRow): StoredRejection {
  return {
    id: row.id,
    boardId: row.board_id,
    participantId: row.participant_id,
    code: row.code,
    message: row.message,
    submitted: row.submitted,
    timestamp: row.timestamp,
    eventId: row.event_id,
    receivedAt: row.received_at,
  };
}

export function apiKeyToRow(record: ApiKeyRecord): ApiKeyRow {
  return {
    id: record.id,
    hash: record.hash,
    scope: record.scope,
    name: record.name,
    created_at: record.createdAt,
    revoked_at: record.revokedAt,
    boards: record.boards === null ? null : JSON.stringify(record.boards),
    rate_limit_max: record.rateLimit?.max ?? null,
    rate_limit_window_ms: record.rateLimit?.windowMs ?? null,
  };
}

export function apiKeyFromRow(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    hash: row.hash,
    scope: row.scope as KeyScope,
    name: row.name,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    boards: row.boards === null ? null : (JSON.parse(row.boards) as string[]),
    rateLimit: rateLimitOfRow(row.rate_limit_max, row.rate_limit_window_ms),
  };
}

function toJson(metadata: Metadata | null | undefined): string | null {
  return metadata === null || metadata === undefined ? null : JSON.stringify(metadata);
}

export function fromJson(text: string | null): Metadata | null {
  return text === null ? null : (JSON.parse(text) as Metadata);
}
