/**
 * Domain types shared by every layer. Field names are camelCase inside the
 * process; the HTTP edge maps them to the snake_case wire format.
 */

import type { RateLimit } from './rate-limit.js';
import type { ScoreRules } from './score-rules.js';

/** `desc`: a higher score ranks first. `asc`: a lower score ranks first (race times). */
export type SortOrder = 'desc' | 'asc';

/** How a submission changes an entry. See core/operators.ts. */
export type Operator = 'best' | 'latest' | 'increment';

export type Metadata = Record<string, unknown>;

/** What the ranking needs to know about a board. */
export interface BoardRules {
  readonly id: string;
  readonly sortOrder: SortOrder;
  readonly operator: Operator;
  /** How answers number equal scores (a board's rank_ties); absent: 'unique'. */
  readonly rankTies?: RankTies;
}

/** When a board's standings start again from empty (core/periods.ts). Named schedules are in UTC. */
export type ResetSchedule = 'hourly' | 'daily' | 'weekly' | 'monthly' | { readonly cron: string; readonly timezone: string };

/** `unique`: ranks 1, 2, 3, 4 by the tie-break; `shared`: equal scores show the same rank (1, 2, 2, 4). The order is the same. */
export type RankTies = 'unique' | 'shared';

export interface BoardConfig extends BoardRules {
  readonly name: string;
  readonly metadata: Metadata | null;
  /** ms since epoch */
  readonly createdAt: number;
  /** Scores are refused before this (board_not_started); null: from creation. */
  readonly startsAt: number | null;
  /** Scores are refused from this on (board_closed), and the board is finalized; null: open-ended. */
  readonly endsAt: number | null;
  /** When an admin closed the board early (POST .../close); null while not closed by hand. */
  readonly closedAt: number | null;
  /** When the board was finalized: its final rankings archived and its live state released; null while live. */
  readonly finalizedAt: number | null;
  readonly reset: ResetSchedule | null;
  /** Start (ms) of the period the live standings belong to; 0 for a board without resets. */
  readonly periodStart: number;
  /** A board with resets also keeps an all-time ranking, fed by the same submissions. */
  readonly keepAllTime: boolean;
  /** Dimensions with a ranking per value beside the global one, e.g. ['region']. */
  readonly scopes: readonly string[];
  readonly rankTies: RankTies;
  /** Scores are fixed-point with this many decimals (0..6), kept as integers ×10^decimals. */
  readonly scoreDecimals: number;
  /** Where the final top of a closed period or tournament is POSTed; null: nowhere. */
  readonly webhookUrl: string | null;
  /** How many entries a webhook carries. */
  readonly webhookTop: number;
  /** The key of the webhook's HMAC-SHA256 signature; null without a webhook. */
  readonly webhookSecret: string | null;
  /** Anti-cheat rules a submission must pass (core/score-rules.ts); null: none. */
  readonly scoreRules: ScoreRules | null;
  /** Submissions per participant per window at most; null: unlimited. */
  readonly rateLimit: RateLimit | null;
  /** Participants an admin hid: left out of every read, their submissions refused (service/hiding.ts). */
  readonly hidden: readonly ModerationMark[];
  /** Participants an admin flagged for review: still ranked, listed with the hidden ones. */
  readonly flagged: readonly ModerationMark[];
}

/** An admin's hide or flag of a participant on a board. */
export interface ModerationMark {
  readonly participantId: string;
  /** ms since epoch */
  readonly at: number;
  readonly reason: string | null;
}

/** One participant's standing on one board. */
export interface Entry {
  readonly participantId: string;
  /** An integer within ±(2^53−1). */
  readonly score: number;
  /** When the current score was first reached (ms since epoch). Earlier wins a tie. */
  readonly achievedAt: number;
  /** Timestamp of the latest submission applied; `latest` uses it to discard stale ones. */
  readonly updatedAt: number;
  readonly metadata: Metadata | null;
}

export interface RankedEntry extends Entry {
  /** 1-based; unique (the entry's place in the order) unless the answer says it shares ranks (core/ties.ts). */
  readonly rank: number;
}

/**
 * What a participant shows on every board: set once, shared by all boards
 * (PUT /v1/participants/{pid}). Answers and live views carry its display
 * name and avatar with the participant's entries.
 */
export interface Profile {
  readonly participantId: string;
  readonly displayName: string | null;
  /** An http(s) URL. */
  readonly avatarUrl: string | null;
  readonly metadata: Metadata | null;
  /** When the profile was last set (ms since epoch). */
  readonly updatedAt: number;
}

/** An entry as answers show it: with the display name and avatar its participant's profile sets, if any. */
export interface ShownEntry extends RankedEntry {
  readonly displayName?: string;
  readonly avatarUrl?: string;
}

/** A score submission after validation. */
export interface Submission {
  readonly participantId: string;
  /** Absolute under `best`/`latest`, a delta under `increment`. */
  readonly score: number;
  /** ms since epoch; decides ties. */
  readonly timestamp: number;
  /** Client-chosen id that makes retries idempotent. */
  readonly eventId: string | null;
  readonly metadata: Metadata | null;
  /**
   * The participant's values of some of the board's scopes (core/scopes.ts),
   * e.g. {region: 'eu'}; absent or null when the submission names none.
   */
  readonly scope?: Readonly<Record<string, string>> | null;
  /**
   * With an event id: what a retry must repeat (core/submission.ts). Absent
   * when the caller built the Submission itself; then the timestamp counts.
   */
  readonly fingerprint?: string;
}

