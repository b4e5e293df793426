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
  /** `shared`: equal scores show the same rank (1, 2, 2, 4). Absent from servers that predate it. */
  readonly rank_ties?: 'unique' | 'shared';
  /** Scores are decimals with at most this many decimals (0..6). Absent from servers that predate it. */
  readonly score_decimals?: number;
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
  /** Absolute under `best`/`latest`, a delta under `increment`; at most the board's score_decimals decimals. */
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
