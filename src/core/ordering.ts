/**
 * Rank order (DESIGN.md "rank"): better score first; on equal scores the
 * earlier achievedAt first; then participantId in code-unit order as a last
 * resort, so every rank is unique and stable. Ids are ASCII (core/ids.ts), so
 * code-unit order equals byte order, which a Redis member string also uses.
 */
import type { SortOrder } from './types.js';

/** Largest magnitude of an exact score: 2^53 − 1. */
export const MAX_SCORE = Number.MAX_SAFE_INTEGER;
export const MIN_SCORE = -Number.MAX_SAFE_INTEGER;

export function isValidScore(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

export interface RankKey {
  readonly score: number;
  readonly achievedAt: number;
  readonly participantId: string;
}

/** Negative when `a` ranks before `b`, positive when after, 0 only for the same participant. */
export function compareKeys(order: SortOrder, a: RankKey, b: RankKey): number {
  if (a.score !== b.score) {
    const higherFirst = a.score > b.score ? -1 : 1;
    return order === 'desc' ? higherFirst : -higherFirst;
  }
  if (a.achievedAt !== b.achievedAt) return a.achievedAt < b.achievedAt ? -1 : 1;
  if (a.participantId === b.participantId) return 0;
  return a.participantId < b.participantId ? -1 : 1;
}

/** True when `candidate` is a strictly better score than `current` under `order`. */
export function isBetterScore(order: SortOrder, candidate: number, current: number): boolean {
  return order === 'desc' ? candidate > current : candidate < current;
}
