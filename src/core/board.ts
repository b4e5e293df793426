/**
 * A board in time: its status at a moment and its current period. Pure; the
 * clock is the caller's (service/clock.ts).
 */
import { invalidField } from './errors.js';
import { checkResetSchedule, periodAt, type Period } from './periods.js';
import { checkScoreRules } from './score-rules.js';
import type { BoardConfig, ModerationMark } from './types.js';

export type BoardStatus = 'scheduled' | 'active' | 'closed';

/** What a board created without lifecycle settings has. */
export const BOARD_DEFAULTS = {
  startsAt: null,
  endsAt: null,
  closedAt: null,
  finalizedAt: null,
  reset: null,
  periodStart: 0,
  keepAllTime: false,
  scopes: [] as readonly string[],
  rankTies: 'unique',
  scoreDecimals: 0,
  webhookUrl: null,
  webhookTop: 100,
  webhookSecret: null,
  scoreRules: null,
  rateLimit: null,
  hidden: [] as readonly ModerationMark[],
  flagged: [] as readonly ModerationMark[],
} as const satisfies Partial<BoardConfig>;

/** The period id of a finalized tournament's (or closed board's) archive. */
export const FINAL_PERIOD_ID = 'final';

export function boardStatus(config: BoardConfig, now: number): BoardStatus {
  if (config.closedAt !== null || config.finalizedAt !== null) return 'closed';
  if (config.endsAt !== null && now >= config.endsAt) return 'closed';
  if (config.startsAt !== null && now < config.startsAt) return 'scheduled';
  return 'active';
}

/** The period that holds `now`, or null for a board without resets. */
export function currentPeriod(config: BoardConfig, now: number): Period | null {
  return config.reset === null ? null : periodAt(config.reset, now);
}

/**
 * The period the live standings belong to: the one that started at
 * `config.periodStart`, or null without resets. Its end is that of the
 * period holding its start.
 */
export function livePeriod(config: BoardConfig): Period | null {
  return config.reset === null ? null : periodAt(config.reset, config.periodStart);
}

export const SCOPE_NAME_PATTERN = '^[a-z][a-z0-9_]{0,31}$';
const scopeName = new RegExp(SCOPE_NAME_PATTERN);
export const MAX_SCOPES = 4;
export const MAX_WEBHOOK_TOP = 1000;

/**
 * Throws invalid_request naming the field unless the board's settings fit
 * together (the HTTP schema checked each one's shape already).
 */
export function checkBoardSettings(config: BoardConfig): void {
  if (config.startsAt !== null && config.endsAt !== null && config.endsAt <= config.startsAt) throw invalidField('ends_at', 'must be later than starts_at');
  if (config.reset !== null) checkResetSchedule(config.reset);
  if (!Number.isInteger(config.scoreDecimals) || config.scoreDecimals < 0 || config.scoreDecimals > 6) throw invalidField('score_decimals', 'must be an integer from 0 to 6');
  if (!Number.isInteger(config.webhookTop) || config.webhookTop < 1 || config.webhookTop > MAX_WEBHOOK_TOP) throw invalidField('webhook_top', `must be an integer from 1 to ${MAX_WEBHOOK_TOP}`);
  if (config.webhookUrl !== null && !isHttpUrl(config.webhookUrl)) throw invalidField('webhook_url', 'must be an absolute http:// or https:// URL');
  if (config.scopes.length > MAX_SCOPES) throw invalidField('scopes', `must list at most ${MAX_SCOPES} scopes`);
  config.scopes.forEach((scope, i) => {
    if (!scopeName.test(scope)) throw invalidField(`scopes[${i}]`, 'must be 1 to 32 characters of a-z 0-9 _, starting with a letter');
  });
  if (new Set(config.scopes).size !== config.scopes.length) throw invalidField('scopes', 'must not repeat a scope');
  if (config.keepAllTime && config.reset === null) throw invalidField('keep_all_time', 'needs a reset: a board without resets is all-time already');
  checkScoreRules(config);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
