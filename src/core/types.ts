/**
 * Domain types shared by every layer. Field names are camelCase inside the
 * process; the HTTP edge maps them to the snake_case wire format.
 */

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
}

export interface BoardConfig extends BoardRules {
  readonly name: string;
  readonly metadata: Metadata | null;
  /** ms since epoch */
  readonly createdAt: number;
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
  /** 1-based, unique. */
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
   * With an event id: what a retry must repeat (core/submission.ts). Absent
   * when the caller built the Submission itself; then the timestamp counts.
   */
  readonly fingerprint?: string;
}

