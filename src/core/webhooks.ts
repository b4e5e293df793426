/**
 * Webhooks, the pure part: what a delivery says and when a failed one is
 * tried again. service/webhooks.ts delivers; service/webhook-signature.ts
 * signs.
 */
import { FINAL_PERIOD_ID } from './board.js';
import { scoreToWire } from './fixed-point.js';
import type { BoardConfig, Metadata, ShownEntry } from './types.js';

export type WebhookEvent = 'period_closed' | 'board_finalized';

/** A delivery's JSON body. Times are ms since 1970, as everywhere in the API. */
export interface WebhookBody {
  readonly event: WebhookEvent;
  /** `<board>/<period>`, also the Ladder-Delivery header: the same for every attempt, for receivers to deduplicate by. */
  readonly delivery_id: string;
  /** 1 for the first attempt, then 2, 3 … */
  readonly attempt: number;
  readonly leaderboard_id: string;
  /** The closed period's id ('final' for a board without resets). */
  readonly period: string;
  readonly starts_at: number;
  readonly ends_at: number;
  readonly closed_at: number;
  /** Entries in the period's final rankings; `entries` holds the first webhook_top of them. */
  readonly total: number;
  readonly entries: readonly WebhookEntry[];
}

export interface WebhookEntry {
  readonly rank: number;
  readonly participant_id: string;
  readonly score: number;
  readonly achieved_at: number;
  /** From the participant's profile, when it sets them (as in rankings answers). */
  readonly display_name?: string;
  readonly avatar_url?: string;
  readonly metadata?: Metadata;
}

/** What a delivery is about: a closed period, with its final rankings. */
export interface ClosedPeriod {
  readonly boardId: string;
  readonly periodId: string;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly closedAt: number;
  readonly total: number;
}

/** The delivery id of a close: the Ladder-Delivery header and the body's delivery_id. */
export function deliveryId(boardId: string, periodId: string): string {
  return `${boardId}/${periodId}`;
}

/**
 * board_finalized for the close that ended the board (the archive 'final',
 * or the last period of a board with resets, closed when the board was:
 * its close time is the board's finalized_at); period_closed for a reset.
 */
export function webhookEvent(config: BoardConfig, period: ClosedPeriod): WebhookEvent {
  return period.periodId === FINAL_PERIOD_ID || (config.finalizedAt !== null && period.closedAt === config.finalizedAt) ? 'board_finalized' : 'period_closed';
}

/** The body of a delivery: the final top with the ranks and scores the board shows (shared ranks, decimals). */
export function webhookBody(event: WebhookEvent, period: ClosedPeriod, entries: readonly ShownEntry[], attempt: number, decimals = 0): WebhookBody {
  return {
    event,
    delivery_id: deliveryId(period.boardId, period.periodId),
    attempt,
    leaderboard_id: period.boardId,
    period: period.periodId,
    starts_at: period.startsAt,
    ends_at: period.endsAt,
    closed_at: period.closedAt,
    total: period.total,
    entries: entries.map((entry) => {
      const wire: { -readonly [K in keyof WebhookEntry]: WebhookEntry[K] } = { rank: entry.rank, participant_id: entry.participantId, score: scoreToWire(entry.score, decimals), achieved_at: entry.achievedAt };
      if (entry.displayName !== undefined) wire.display_name = entry.displayName;
      if (entry.avatarUrl !== undefined) wire.avatar_url = entry.avatarUrl;
      if (entry.metadata !== null) wire.metadata = entry.metadata;
      return wire;
    }),
  };
}

/** The longest wait between two attempts. */
export const WEBHOOK_RETRY_CAP_MS = 3_600_000;

/** A delivery that has not succeeded this long after its close is given up. */
export const WEBHOOK_MAX_AGE_MS = 3 * 86_400_000;

/**
 * The wait after failed attempt number `attempt` (1-based): base · 2^(attempt−1),
 * at most WEBHOOK_RETRY_CAP_MS, less a random part of up to a half (jitter),
 * so that the retries of deliveries that failed together spread out.
 * `random` is in [0, 1).
 */
export function retryDelay(baseMs: number, attempt: number, random: number = Math.random()): number {
  const nominal = Math.min(WEBHOOK_RETRY_CAP_MS, baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.max(1, Math.round(nominal - (nominal / 2) * random));
}

/**
 * When a delivery that failed attempt `attempt` at `now` is due again, or
 * null when it is given up (its next attempt would come more than
 * WEBHOOK_MAX_AGE_MS after its close).
 */
export function nextAttempt(createdAt: number, now: number, baseMs: number, attempt: number, random: number = Math.random()): number | null {
  const next = now + retryDelay(baseMs, attempt, random);
  return next - createdAt > WEBHOOK_MAX_AGE_MS ? null : next;
}
