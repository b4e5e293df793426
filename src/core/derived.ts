/**
 * Derived rankings: what a board keeps beside its own standings, fed by the
 * same submissions. Each is a hidden board of its own (its own versions,
 * epoch, log, checkpoints, live views and periods), whose id no user can
 * create, since board ids never hold '#' (core/ids.ts):
 *
 * - `<id>#all`: the all-time ranking of a board with resets and
 *   keep_all_time. Every submission is applied to it with the board's
 *   operator; it never resets.
 * - `<id>#<scope>=<value>`, e.g. `arena#region=eu`: the ranking within one
 *   scope value. It holds each participant's entry of the board itself
 *   (same score and times), under the value their latest submission carrying
 *   that scope named, and resets with the board's periods.
 *
 * Pure: ids and the configurations derived boards get from their board.
 */
import type { BoardConfig } from './types.js';
import type { ScopeRef } from './scopes.js';

/** What ?period= names the all-time ranking by. Period ids are dates, weeks, ISO times or 'final' (core/periods.ts), never this. */
export const ALL_TIME_PERIOD = 'all';

const ALL_TIME_SUFFIX = '#all';

export function allTimeBoardId(boardId: string): string {
  return `${boardId}${ALL_TIME_SUFFIX}`;
}

export function scopeBoardId(boardId: string, scope: ScopeRef): string {
  return `${boardId}#${scope.name}=${scope.value}`;
}

/** True for the id of a derived ranking (it holds '#', which no board id of a user does). Complexity: O(id length). */
export function isDerivedBoardId(boardId: string): boolean {
  return boardId.includes('#');
}

/** The board a derived ranking belongs to, or null for a board of a user. */
export function parentBoardId(boardId: string): string | null {
  const hash = boardId.indexOf('#');
  return hash < 0 ? null : boardId.slice(0, hash);
}

export function isAllTimeBoardId(boardId: string): boolean {
  return boardId.endsWith(ALL_TIME_SUFFIX) && boardId.indexOf('#') === boardId.length - ALL_TIME_SUFFIX.length;
}

/** The scope value a scope ranking's id names, or null for any other id. */
export function scopeOfBoardId(boardId: string): ScopeRef | null {
  const hash = boardId.indexOf('#');
  const equals = boardId.indexOf('=', hash);
  if (hash < 0 || equals < 0) return null;
  return { name: boardId.slice(hash + 1, equals), value: boardId.slice(equals + 1) };
}

/**
 * The configuration of a derived ranking of `parent`: the parent's ranking
 * rules and schedule (a scope ranking resets with its periods; the all-time
 * ranking never does), none of its extras (webhook, scopes, all-time). Its
 * own lifecycle state, from `current` when it exists: its live period's
 * start (each derived board closes its periods itself) and finalization.
 * A parent's new reset schedule moves a scope ranking to the parent's period.
 */
export function derivedConfig(parent: BoardConfig, boardId: string, current?: BoardConfig): BoardConfig {
  const allTime = isAllTimeBoardId(boardId);
  const reset = allTime ? null : parent.reset;
  const sameSchedule = current !== undefined && JSON.stringify(current.reset) === JSON.stringify(reset);
  return {
    ...parent,
    id: boardId,
    name: boardId,
    metadata: null,
    createdAt: current?.createdAt ?? parent.createdAt,
    reset,
    periodStart: allTime ? 0 : sameSchedule ? current.periodStart : parent.periodStart,
    finalizedAt: current?.finalizedAt ?? null,
    keepAllTime: false,
    scopes: [],
    webhookUrl: null,
    webhookSecret: null,
  };
}

/** True when the two configurations differ in anything a derived ranking copies (so it must be updated). */
export function derivedConfigChanged(a: BoardConfig, b: BoardConfig): boolean {
  return JSON.stringify(a) !== JSON.stringify(b);
}
