/**
 * How both stores keep a webhook delivery that was given up: its
 * next_attempt_at becomes NEVER_DUE (2^53−1), a time no claim reaches, so the
 * due index skips it without a column of its own (migration 004_lifecycle
 * made the table; a later migration may give the state a column). The Store
 * interface says null instead.
 */
import type { WebhookDelivery } from './store.js';

export const NEVER_DUE = Number.MAX_SAFE_INTEGER;

/** next_attempt_at as the Store interface says it. */
export function nextAttemptFromColumn(column: number): number | null {
  return column >= NEVER_DUE ? null : column;
}

/** The Store interface's next attempt as next_attempt_at. */
export function nextAttemptToColumn(nextAttemptAt: number | null): number {
  return nextAttemptAt === null ? NEVER_DUE : nextAttemptAt;
}

/** Claimed deliveries oldest due first (a statement's RETURNING has no order), then by board and period. */
export function byDue(a: WebhookDelivery, b: WebhookDelivery): number {
  return (a.nextAttemptAt ?? NEVER_DUE) - (b.nextAttemptAt ?? NEVER_DUE) || compareText(a.boardId, b.boardId) || compareText(a.periodId, b.periodId);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
