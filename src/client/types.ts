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
  /** The board's epoch: a version means something only within it (README "Versions and epochs"). */
  readonly epoch: string;
  /** +1 on every change to the ranking. */
  readonly version: number;
  /** Number of entries. */
  readonly total: number;
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

export interface CreateBoardInput {
  readonly id: string;
  readonly name?: string;
  readonly sort_order: SortOrder;
  readonly operator: Operator;
  readonly metadata?: Metadata;
}

export interface ScoreSubmission {
  readonly participant_id: string;
  /** Absolute under `best`/`latest`, a delta under `increment`. */
  readonly score: number;
  readonly timestamp?: number;
  /** Makes retries idempotent. */
  readonly event_id?: string;
  readonly metadata?: Metadata;
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
  /** The entry's metadata; absent when it has none. */
  readonly metadata?: Metadata;
}

export interface Rankings {
  readonly leaderboard_id: string;
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
  /** Long-poll: answer once the board's version exceeds this (or after timeoutMs). */
  readonly waitForVersionAfter?: number;
  /** With waitForVersionAfter: the epoch that version belongs to; the server answers at once when the board's epoch is no longer this. */
  readonly epoch?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface ParticipantStanding {
  readonly leaderboard_id: string;
  readonly participant_id: string;
  readonly rank: number;
  readonly score: number;
  readonly achieved_at: number;
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
