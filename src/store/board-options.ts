/**
 * The boards table's `options` column (migrations 004 / 002_lifecycle): a
 * board's lifecycle and rule settings as JSON, the same in both stores. A
 * setting missing from the JSON (a board made before it existed) has its
 * default (core/board.ts BOARD_DEFAULTS).
 */
import { BOARD_DEFAULTS } from '../core/board.js';
import type { BoardConfig } from '../core/types.js';

type Options = Pick<
  BoardConfig,
  'startsAt' | 'endsAt' | 'closedAt' | 'finalizedAt' | 'reset' | 'keepAllTime' | 'scopes' | 'rankTies' | 'scoreDecimals' | 'webhookUrl' | 'webhookTop' | 'webhookSecret' | 'scoreRules' | 'rateLimit' | 'hidden' | 'flagged'
>;

export function optionsToJson(config: BoardConfig): string {
  const options: Options = {
    startsAt: config.startsAt,
    endsAt: config.endsAt,
    closedAt: config.closedAt,
    finalizedAt: config.finalizedAt,
    reset: config.reset,
    keepAllTime: config.keepAllTime,
    scopes: config.scopes,
    rankTies: config.rankTies,
    scoreDecimals: config.scoreDecimals,
    webhookUrl: config.webhookUrl,
    webhookTop: config.webhookTop,
    webhookSecret: config.webhookSecret,
    scoreRules: config.scoreRules,
    rateLimit: config.rateLimit,
    hidden: config.hidden,
    flagged: config.flagged,
  };
  return JSON.stringify(options);
}

export function optionsFromJson(text: string): Options {
  const { periodStart: _, ...defaults } = BOARD_DEFAULTS;
  return { ...defaults, ...(JSON.parse(text) as Partial<Options>) };
}
