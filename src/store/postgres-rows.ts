/**
 * Domain objects <-> PostgreSQL rows and parameters. The driver hands int8
 * (BIGINT, count(*)) over as decimal strings, which `int` converts with a
 * check: every integer the store writes is within ±(2^53−1), so a value
 * beyond it is a database someone else wrote, and refused rather than
 * rounded. Numbers go to the driver as JS numbers, which it sends as their
 * decimal text, exact for safe integers. metadata travels as JSON text.
 */
import type { BoardConfig, Entry, Metadata, Operator, Profile, RankedEntry, SortOrder } from '../core/types.js';
import { rateLimitOfRow } from '../core/rate-limit.js';
import { optionsFromJson, optionsToJson } from './board-options.js';
import { metadataApplied } from './score-events.js';
import type { ApiKeyRecord, KeyScope, PeriodRecord, Placement, Rejection, ScoreEvent, StoredBoard, StoredRejection, WebhookDelivery } from './store.js';
import { nextAttemptFromColumn } from './webhook-deliveries.js';

/** An int8 as the driver gives it, as an exact number. */
export function int(text: string): number {
  const value = Number(text);
  if (text === '' || !Number.isSafeInteger(value)) throw new Error(`PostgreSQL returned ${JSON.stringify(text)} where an integer within ±(2^53−1) belongs`);
  return value;
}

function intOrNull(text: string | null): number | null {
  return text === null ? null : int(text);
}

export function toJson(metadata: Metadata | null | undefined): string | null {
  return metadata === null || metadata === undefined ? null : JSON.stringify(metadata);
}

export function fromJson(text: string | null): Metadata | null {
  return text === null ? null : (JSON.parse(text) as Metadata);
}

/** SELECT_BOARD and SELECT_BOARDS. */
export interface BoardRow {
  readonly id: string;
  readonly name: string;
  readonly sort_order: string;
  readonly operator: string;
  readonly metadata: string | null;
  readonly created_at: string;
  readonly epoch: string;
  readonly version: string;
  readonly total: string;
  readonly options: string;
  readonly period_start: string;
  readonly period_seq: string;
}

/** SELECT_PERIODS and SELECT_PERIOD: a period with its rank 1 (all null when it had no entries). */
export interface PeriodRow {
  readonly board_id: string;
  readonly period_id: string;
  readonly starts_at: string;
  readonly ends_at: string;
  readonly closed_at: string;
  readonly total: string;
  readonly winner_id: string | null;
  readonly winner_score: string | null;
  readonly winner_achieved_at: string | null;
  readonly winner_updated_at: string | null;
  readonly winner_metadata: string | null;
}

/** A final_rankings entry as SELECT_FINAL_* read it. */
export interface FinalEntryRow {
  readonly rank: number;
  readonly participant_id: string;
  readonly score: string;
  readonly achieved_at: string;
  readonly updated_at: string;
  readonly metadata: string | null;
}

export function finalEntryFromRow(row: FinalEntryRow): RankedEntry {
  return { rank: row.rank, participantId: row.participant_id, score: int(row.score), achievedAt: int(row.achieved_at), updatedAt: int(row.updated_at), metadata: fromJson(row.metadata) };
}

/** SELECT_PLACEMENTS: a final entry with its board, period and the period's close. */
export interface PlacementRow extends FinalEntryRow {
  readonly board_id: string;
  readonly period_id: string;
  readonly closed_at: string;
  readonly total: string;
}

export function placementFromRow(row: PlacementRow): Placement {
  return { boardId: row.board_id, periodId: row.period_id, closedAt: int(row.closed_at), total: int(row.total), entry: finalEntryFromRow(row) };
}

export function periodFromRow(row: PeriodRow): PeriodRecord {
  return {
    boardId: row.board_id,
    periodId: row.period_id,
    startsAt: int(row.starts_at),
    endsAt: int(row.ends_at),
    closedAt: int(row.closed_at),
    total: int(row.total),
    winner:
      row.winner_id === null
        ? null
        : {
            rank: 1,
            participantId: row.winner_id,
            score: int(row.winner_score!),
            achievedAt: int(row.winner_achieved_at!),
            updatedAt: int(row.winner_updated_at!),
            metadata: fromJson(row.winner_metadata),
          },
  };
}

/** A webhook_deliveries row as CLAIM_WEBHOOKS and SELECT_WEBHOOKS read it (top and attempts are INTEGER, the times BIGINT). */
export interface WebhookRow {
  readonly board_id: string;
  readonly period_id: string;
  readonly url: string;
  readonly top: number;
  readonly created_at: string;
  readonly attempts: number;
  readonly next_attempt_at: string;
  readonly leased_until: string;
  readonly delivered_at: string | null;
  readonly last_error: string | null;
}

export function webhookFromRow(row: WebhookRow): WebhookDelivery {
  return {
    boardId: row.board_id,
    periodId: row.period_id,
    url: row.url,
    top: row.top,
    createdAt: int(row.created_at),
    attempts: row.attempts,
    nextAttemptAt: nextAttemptFromColumn(int(row.next_attempt_at)),
    leasedUntil: int(row.leased_until),
    deliveredAt: intOrNull(row.delivered_at),
    lastError: row.last_error,
  };
}

/** SELECT_BOARD_STATE and LOCK_BOARD_STATE: the board, its last seq and its checkpoint's seq and total (null without one). */
export interface BoardStateRow extends BoardRow {
  readonly last_seq: string;
  readonly checkpoint_seq: string | null;
  readonly checkpoint_total: string | null;
}

/** INSERT_BOARD's parameters. */
export function boardParams(config: BoardConfig, epoch: string): unknown[] {
  return [config.id, config.name, config.sortOrder, config.operator, toJson(config.metadata), config.createdAt, epoch, optionsToJson(config), config.periodStart];
}

export function boardFromRow(row: BoardRow): StoredBoard {
  return {
    config: {
      id: row.id,
      name: row.name,
      sortOrder: row.sort_order as SortOrder,
      operator: row.operator as Operator,
      metadata: fromJson(row.metadata),
      createdAt: int(row.created_at),
      ...optionsFromJson(row.options),
      periodStart: int(row.period_start),
    },
    epoch: row.epoch,
    version: int(row.version),
    total: int(row.total),
    periodSeq: int(row.period_seq),
  };
}

/** One score_events row as SELECT_EVENT and SELECT_EVENTS_AFTER read it. */
export interface EventRow {
  readonly board_id: string;
  readonly seq: string;
  readonly event_id: string | null;
  readonly participant_id: string;
  readonly submitted: string;
  readonly timestamp: string;
  readonly received_at: string;
  readonly old_score: string | null;
  readonly new_score: string;
  readonly old_rank: string | null;
  readonly new_rank: string;
  readonly version: string;
  readonly changed: boolean;
  readonly metadata: string | null;
  readonly entry_achieved_at: string;
  readonly entry_updated_at: string;
  readonly fingerprint: string | null;
}

/**
 * The log does not repeat the entry's metadata when it came from an earlier
 * submission, so a read-back event's `entry.metadata` is the event's own
 * metadata. Its score, achievedAt and updatedAt are exact.
 */
export function eventFromRow(row: EventRow): ScoreEvent {
  const metadata = fromJson(row.metadata);
  const newScore = int(row.new_score);
  return {
    boardId: row.board_id,
    seq: int(row.seq),
    eventId: row.event_id,
    participantId: row.participant_id,
    submitted: int(row.submitted),
    timestamp: int(row.timestamp),
    receivedAt: int(row.received_at),
    oldScore: intOrNull(row.old_score),
    newScore,
    oldRank: intOrNull(row.old_rank),
    newRank: int(row.new_rank),
    version: int(row.version),
    changed: row.changed,
    metadata,
    entry: { participantId: row.participant_id, score: newScore, achievedAt: int(row.entry_achieved_at), updatedAt: int(row.entry_updated_at), metadata },
    fingerprint: row.fingerprint,
  };
}

/** The integer fields of an event, by name, for the check before it is queued. */
function integerFields(event: ScoreEvent): [string, number | null][] {
  return [
    ['seq', event.seq],
    ['submitted', event.submitted],
    ['timestamp', event.timestamp],
    ['receivedAt', event.receivedAt],
    ['oldScore', event.oldScore],
    ['newScore', event.newScore],
    ['oldRank', event.oldRank],
    ['newRank', event.newRank],
    ['version', event.version],
    ['entry.achievedAt', event.entry.achievedAt],
    ['entry.updatedAt', event.entry.updatedAt],
  ];
}

/**
 * Throws when a number of the event is not an integer within ±(2^53−1).
 * BIGINT would refuse it too, but only for the whole transaction it shares
 * with other calls; checked here, the call with it fails alone.
 */
export function checkIntegers(event: ScoreEvent): void {
  for (const [field, value] of integerFields(event)) {
    if (value !== null && !Number.isSafeInteger(value)) {
      throw new Error(`score event of '${event.participantId}' on '${event.boardId}': ${field} ${value} is not an integer within ±(2^53−1)`);
    }
  }
}

/**
 * The events as one array per score_events column, in LOG_COLUMNS order
 * (postgres-sql.ts): APPEND_EVENTS unnests them into rows.
 */
export function eventColumns(events: readonly ScoreEvent[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 18 }, () => new Array<unknown>(events.length));
  events.forEach((event, i) => {
    const metadata = toJson(event.metadata);
    const row = [
      event.boardId,
      event.seq,
      event.eventId,
      event.participantId,
      event.submitted,
      event.timestamp,
      event.receivedAt,
      event.oldScore,
      event.newScore,
      event.oldRank,
      event.newRank,
      event.version,
      event.changed,
      metadata,
      metadataApplied(event, metadata),
      event.entry.achievedAt,
      event.entry.updatedAt,
      event.fingerprint,
    ];
    row.forEach((value, column) => (columns[column]![i] = value));
  });
  return columns;
}

/**
 * SELECT_CHANGED_ENTRIES read in array mode: participant_id, new_score,
 * entry_achieved_at, entry_updated_at, whether an event after the
 * checkpoint applied its metadata, the latest such metadata, the count
 * of events after the checkpoint, and whether the last event removed the entry.
 */
export type ChangedEntryRow = [string, string, string, string, boolean, string | null, string, boolean];

/**
 * The entry a ChangedEntryRow describes. Without metadata applied after the
 * checkpoint, the entry keeps the checkpoint's (`earlier`).
 */
export function changedEntryFromRow(row: ChangedEntryRow, earlier: (participantId: string) => Metadata | null): Entry {
  const [participantId, score, achievedAt, updatedAt, applied, metadata] = row;
  return {
    participantId,
    score: int(score),
    achievedAt: int(achievedAt),
    updatedAt: int(updatedAt),
    metadata: applied ? fromJson(metadata) : earlier(participantId),
  };
}

/**
 * One chunk of a checkpoint's entries as SELECT_CHECKPOINT_ENTRIES gives
 * it: json columns, which the driver parses. JSON numbers are exact here,
 * as every stored integer is within ±(2^53−1).
 */
export interface EntryColumnsRow {
  readonly ids: string[] | null;
  readonly scores: number[] | null;
  readonly achieved_at: number[] | null;
  readonly updated_at: number[] | null;
  /** 1-based ranks of the entries with metadata, and their metadata. */
  readonly metadata_ranks: number[] | null;
  readonly metadata: Metadata[] | null;
}

/** A rejections row as SELECT_PARTICIPANT_REJECTIONS reads it (double precision comes back as a number). */
export interface RejectionRow {
  readonly id: string;
  readonly board_id: string;
  readonly participant_id: string;
  readonly code: string;
  readonly message: string;
  readonly submitted: number | null;
  readonly timestamp: number | null;
  readonly event_id: string | null;
  readonly received_at: string;
}

export function rejectionFromRow(row: RejectionRow): StoredRejection {
  return {
    id: int(row.id),
    boardId: row.board_id,
    participantId: row.participant_id,
    code: row.code,
    message: row.message,
    submitted: row.submitted,
    timestamp: row.timestamp,
    eventId: row.event_id,
    receivedAt: int(row.received_at),
  };
}

/** The rejections as one array per column, in INSERT_REJECTIONS order (postgres-sql.ts). */
export function rejectionColumns(rejections: readonly Rejection[]): unknown[][] {
  return [
    rejections.map((r) => r.boardId),
    rejections.map((r) => r.participantId),
    rejections.map((r) => r.code),
    rejections.map((r) => r.message),
    rejections.map((r) => r.submitted),
    rejections.map((r) => r.timestamp),
    rejections.map((r) => r.eventId),
    rejections.map((r) => r.receivedAt),
  ];
}

export interface ApiKeyRow {
  readonly id: string;
  readonly hash: string;
  readonly scope: string;
  readonly name: string;
  readonly created_at: string;
  readonly revoked_at: string | null;
  readonly boards: string[] | null;
  readonly rate_limit_max: number | null;
  readonly rate_limit_window_ms: number | null;
}

export function apiKeyParams(record: ApiKeyRecord): unknown[] {
  return [record.id, record.hash, record.scope, record.name, record.createdAt, record.revokedAt, record.boards, record.rateLimit?.max ?? null, record.rateLimit?.windowMs ?? null];
}

export function apiKeyFromRow(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    hash: row.hash,
    scope: row.scope as KeyScope,
    name: row.name,
    createdAt: int(row.created_at),
    revokedAt: intOrNull(row.revoked_at),
    boards: row.boards,
    rateLimit: rateLimitOfRow(row.rate_limit_max, row.rate_limit_window_ms),
  };
}

/** SELECT_PROFILES. */
export interface ProfileRow {
  readonly participant_id: string;
  readonly display_name: string | null;
  readonly avatar_url: string | null;
  readonly metadata: string | null;
  readonly updated_at: string;
}

export function profileParams(profile: Profile): unknown[] {
  return [profile.participantId, profile.displayName, profile.avatarUrl, toJson(profile.metadata), profile.updatedAt];
}

export function profileFromRow(row: ProfileRow): Profile {
  return { participantId: row.participant_id, displayName: row.display_name, avatarUrl: row.avatar_url, metadata: fromJson(row.metadata), updatedAt: int(row.updated_at) };
}
