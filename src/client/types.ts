/**
 * The wire shapes of Ladder's REST API (snake_case JSON), as the client sends
 * and receives them. Times are milliseconds since the epoch.
 */

export type SortOrder = 'desc' | 'asc';
export type Operator = 'best' | 'latest' | 'increment';
export type Metadata = Record<string, unknown>;

export interface Board {
  readonly id: string;
  readonly name: string;
  readonly sort_order: SortOrder;
  readonly operator: Operator;
  readonly metadata: Metadata | null;
  readonly created_at: number;
  /** `scheduled` before starts_at, `closed` after ends_at or a close, else `active`. */
  readonly status: 'scheduled' | 'active' | 'closed';
  readonly starts_at: number | null;
  readonly ends_at: number | null;
  /** When an admin closed the board early (null when not). */
  readonly closed_at: number | null;
  /** When its final rankings were archived and its live state released (null while live). */
  readonly finalized_at: number | null;
  readonly reset: ResetSchedule | null;
  /** The id of the period that holds now (null without resets). */
  readonly period: string | null;
  /** When the current period ends: a countdown's target (null without resets). */
  readonly next_reset_at: number | null;
  readonly keep_all_time: boolean;
  readonly scopes: readonly string[];
  readonly rank_ties: 'unique' | 'shared';
  readonly score_decimals: number;
  readonly webhook_url: string | null;
  readonly webhook_top: number;
  /** Only in the answers to a create or a PATCH that sets webhook_url: the key of the webhook's signature. */
  readonly webhook_secret?: string;
  /** Anti-cheat rules (README "Anti-cheat and moderation"), or null. */
  readonly rules: ScoreRules | null;
  /** Submissions per participant per window at most, or null. */
  readonly rate_limit: RateLimit | null;
  /** The board's epoch: a version means something only within it (README "Versions and epochs"). */
  readonly epoch: string;
  /** +1 on every change to the ranking. */
  readonly version: number;
  /** Number of entries. */
  readonly total: number;
  /** The server's clock when it answered: count down to starts_at, ends_at or next_reset_at from it, not from the local clock. */
  readonly server_time: number;
}

export interface ScoreRules {
  readonly min_score: number | null;
  readonly max_score: number | null;
  readonly max_increase: number | null;
  readonly max_increase_per_window: { readonly amount: number; readonly window_ms: number } | null;
  readonly monotonic: boolean;
}

export interface RateLimit {
  readonly max: number;
  readonly window_ms: number;
}

export type ResetSchedule = 'hourly' | 'daily' | 'weekly' | 'monthly' | { readonly cron: string; readonly timezone?: string };

/** `GET /v1/leaderboards/{id}/periods`: the live period first (status active), then the closed ones, newest first. */
export interface PeriodList {
  readonly leaderboard_id: string;
  readonly periods: readonly PeriodInfo[];
}

export interface PeriodInfo {
  readonly period: string;
  readonly status: 'active' | 'closed';
  readonly starts_at: number;
  readonly ends_at: number;
  readonly closed_at: number | null;
  readonly total: number;
  /** Rank 1 (the winner, once closed), or null when the period had no entries. */
  readonly leader: RankedEntry | null;
}

/** `GET /v1/leaderboards`: one page of boards in id order, and how many there are in all. */
export interface BoardList {
  readonly leaderboards: readonly Board[];
  /** Boards in all, not only on this page. */
  readonly total: number;
}

export interface ListBoardsQuery {
  /** Default (and at most) 1000. */
  readonly limit?: number;
  readonly offset?: number;
}

/** What PATCH /v1/leaderboards/{id} may change. */
export interface BoardSettingsInput {
  readonly name?: string;
  readonly metadata?: Metadata | null;
  readonly starts_at?: number | null;
  readonly ends_at?: number | null;
  readonly reset?: ResetSchedule | null;
  readonly keep_all_time?: boolean;
  readonly scopes?: readonly string[];
  readonly rank_ties?: 'unique' | 'shared';
  readonly score_decimals?: number;
  readonly webhook_url?: string | null;
  readonly webhook_top?: number;
  /** Merged into the board's rules field by field; a null field drops that rule, null drops them all. */
  readonly rules?: Partial<ScoreRules> | null;
  readonly rate_limit?: RateLimit | null;
}

export interface CreateBoardInput extends BoardSettingsInput {
  readonly id: string;
  readonly sort_order: SortOrder;
  readonly operator: Operator;
}

export interface ScoreSubmission {
  readonly participant_id: string;
  /** Absolute under `best`/`latest`, a delta under `increment`; at most the board's score_decimals decimals. */
  readonly score: number;
  readonly timestamp?: number;
  /** Makes retries idempotent. */
  readonly event_id?: string;
  readonly metadata?: Metadata;
  /** The participant's values of the board's scopes, e.g. `{region: 'eu'}` (README "Scopes"). */
  readonly scope?: Readonly<Record<string, string>>;
}

export interface ScoreResult {
  readonly participant_id: string;
  readonly score: number;
  readonly rank: number;
  /** null when the participant is new. */
  readonly previous_rank: number | null;
  readonly previous_score: number | null;
  /** The board's epoch: a version means something only within it (README "Versions and epochs"). */
  readonly epoch: string;
  readonly version: number;
  /** false when the submission did not change the entry (e.g. a worse score under `best`). */
  readonly changed: boolean;
  readonly achieved_at: number;
}

export interface ApiErrorDetail {
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** One item of a batch answer: the result, or why this item was rejected. */
export type BatchItemResult = ScoreResult | { readonly error: ApiErrorDetail };

/** `POST /v1/leaderboards/{id}/scores/batch`: one result per submitted item, in order. */
export interface BatchResult {
  readonly results: readonly BatchItemResult[];
}

export interface RankedEntry {
  readonly rank: number;
  readonly participant_id: string;
  readonly score: number;
  readonly achieved_at: number;
  /** The participant's display name and avatar URL, when their profile sets them. */
  readonly display_name?: string;
  readonly avatar_url?: string;
  /** The entry's metadata; absent when it has none. */
  readonly metadata?: Metadata;
}

export interface Rankings {
  readonly leaderboard_id: string;
  /** The closed period answered (from its final rankings), 'all' for the all-time ranking, or null for the live standings. */
  readonly period: string | null;
  /** The scope value whose ranking answered (`region:eu`); absent for the board's own. */
  readonly scope?: string;
  /** The board's epoch: a version means something only within it (README "Versions and epochs"). */
  readonly epoch: string;
  readonly version: number;
  readonly total: number;
  readonly entries: readonly RankedEntry[];
}

export interface RankingsQuery {
  /** Default 100. */
  readonly limit?: number;
  readonly offset?: number;
  /** A window centred on this participant instead of offset. */
  readonly around?: string;
  /** Only these participants' entries. */
  readonly participants?: readonly string[];
  /** A closed period's id: its final rankings; 'all': the all-time ranking (keep_all_time). */
  readonly period?: string;
  /** `<scope>:<value>`, e.g. `region:eu`: the ranking within that scope value. */
  readonly scope?: string;
  /** Long-poll: answer once the board's version exceeds this (or after timeoutMs). */
  readonly waitForVersionAfter?: number;
  /** With waitForVersionAfter: the epoch that version belongs to; the server answers at once when the board's epoch is no longer this. */
  readonly epoch?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface ParticipantStanding {
  readonly leaderboard_id: string;
  readonly period: string | null;
  /** As in Rankings. */
  readonly scope?: string;
  readonly participant_id: string;
  readonly rank: number;
  readonly score: number;
  readonly achieved_at: number;
  /** As in RankedEntry. */
  readonly display_name?: string;
  readonly avatar_url?: string;
  /** Share of the other entries that rank below this participant, 0..100. */
  readonly percentile: number;
  /** The board's epoch: a version means something only within it (README "Versions and epochs"). */
  readonly epoch: string;
  readonly version: number;
  readonly total: number;
  /** Up to `neighbors` entries just above and just below, each in rank order. */
  readonly neighbors: { readonly above: readonly RankedEntry[]; readonly below: readonly RankedEntry[] };
  /** As in RankedEntry. */
  readonly metadata?: Metadata;
}

/** `PUT /v1/participants/{pid}`: the whole profile; a field left out is cleared. */
export interface ProfileInput {
  /** 1 to 100 characters, shown instead of the participant id. */
  readonly display_name?: string | null;
  /** An http(s) URL of at most 2048 characters. */
  readonly avatar_url?: string | null;
  readonly metadata?: Metadata | null;
}

/** A participant's profile, shared by every board. */
export interface Profile {
  readonly participant_id: string;
  readonly display_name: string | null;
  readonly avatar_url: string | null;
  readonly metadata: Metadata | null;
  readonly updated_at: number;
}

/** `DELETE /v1/participants/{pid}`: the boards the participant's entry left, and whether a profile went too. */
export interface ParticipantErasure {
  readonly participant_id: string;
  /** The rank each entry had, and the board's state after its removal. */
  readonly leaderboards: readonly { readonly leaderboard_id: string; readonly rank: number; readonly epoch: string; readonly version: number }[];
  readonly profile_deleted: boolean;
}

/** What every item of a participant's history carries. */
interface HistoryEventBase {
  /** The client's event id; null when the submission had none (or, refused, not a valid one). */
  readonly event_id: string | null;
  /** What was submitted: absolute under `best`/`latest`, a delta under `increment`. Refused: as given, null when it was not a number. */
  readonly score: number | null;
  /** The submission's timestamp, or when it was received if it gave none; refused: null when it was not a number. */
  readonly timestamp: number | null;
  /** When the server took (or refused) it. */
  readonly received_at: number;
}

export interface AcceptedHistoryEvent extends HistoryEventBase {
  readonly outcome: 'accepted';
  readonly score: number;
  readonly timestamp: number;
  /** The entry before (null for a new participant) and after. */
  readonly old_score: number | null;
  readonly new_score: number;
  readonly old_rank: number | null;
  readonly new_rank: number;
  /** The board's version after it. */
  readonly version: number;
  /** false when it did not change the entry (e.g. a worse score under `best`). */
  readonly changed: boolean;
}

export interface RejectedHistoryEvent extends HistoryEventBase {
  readonly outcome: 'rejected';
  /** The error code the submission was answered with, e.g. `event_id_conflict`. */
  readonly code: string;
  readonly message: string;
}

export type HistoryEvent = AcceptedHistoryEvent | RejectedHistoryEvent;

/** `GET /v1/leaderboards/{id}/participants/{pid}/events`: a page of the participant's history, newest first. */
export interface ParticipantHistory {
  readonly leaderboard_id: string;
  readonly participant_id: string;
  readonly events: readonly HistoryEvent[];
  /** Pass it as `cursor` for the next page; null on the last one. */
  readonly next_cursor: string | null;
}

export interface HistoryQuery {
  /** Default 50, at most 1000. */
  readonly limit?: number;
  /** The `next_cursor` of the page before. */
  readonly cursor?: string;
}
