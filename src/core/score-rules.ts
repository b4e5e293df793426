/**
 * A board's anti-cheat rules (its `rules`) and its per-participant rate limit
 * (its `rate_limit`): what a submission must pass before it reaches the
 * ranking. Pure; the service (service/ladder.ts) gives the participant's
 * current score and keeps the windows (service/window-counters.ts).
 *
 * The rules speak of "better", not of "higher": on an `asc` board (race
 * times) a score improves as it goes down. `max_increase` bounds how much one
 * submission may improve the participant's score, `max_increase_per_window`
 * how much all of theirs may within a window, and `monotonic` refuses a
 * submission that would make it worse (possible on `latest` and `increment`
 * boards; a `best` board never keeps a worse score). `min_score` and
 * `max_score` bound the score the participant would have: the submitted one,
 * or on an `increment` board the total after it.
 */
import { invalidField, LadderError } from './errors.js';
import { scoreFromWire, scoreText } from './fixed-point.js';
import { RATE_LIMIT_WINDOW_MAX_MS } from './rate-limit.js';
import type { BoardConfig } from './types.js';

/** Scores here are as the API spells them (with the board's decimals); `scaled` turns them into kept integers. */
export interface ScoreRules {
  readonly minScore: number | null;
  readonly maxScore: number | null;
  readonly maxIncrease: number | null;
  readonly maxIncreasePerWindow: { readonly amount: number; readonly windowMs: number } | null;
  readonly monotonic: boolean;
}

export const NO_SCORE_RULES: ScoreRules = { minScore: null, maxScore: null, maxIncrease: null, maxIncreasePerWindow: null, monotonic: false };

/** True when a check needs the participant's current score. */
export function needsCurrentScore(config: BoardConfig): boolean {
  const rules = config.scoreRules;
  if (rules === null) return false;
  const bounded = rules.minScore !== null || rules.maxScore !== null;
  return rules.monotonic || rules.maxIncrease !== null || rules.maxIncreasePerWindow !== null || (bounded && config.operator === 'increment');
}

/** The rules in kept integers (×10^score_decimals); throws invalid_score naming the field when one does not fit the decimals. */
function scaled(rules: ScoreRules, decimals: number) {
  const scale = (value: number | null, field: string) => (value === null ? null : scoreFromWire(value, decimals, `rules.${field}`));
  const window = rules.maxIncreasePerWindow;
  return {
    minScore: scale(rules.minScore, 'min_score'),
    maxScore: scale(rules.maxScore, 'max_score'),
    maxIncrease: scale(rules.maxIncrease, 'max_increase'),
    windowAmount: window === null ? null : scoreFromWire(window.amount, decimals, 'rules.max_increase_per_window.amount'),
  };
}

type KeptRules = ReturnType<typeof scaled>;

/** The board's rules in kept integers, worked out once per configuration (a configuration never changes; a new one replaces it). */
const keptRulesOf = new WeakMap<BoardConfig, KeptRules>();
function keptRules(config: BoardConfig): KeptRules {
  let kept = keptRulesOf.get(config);
  if (kept === undefined) {
    kept = scaled(config.scoreRules!, config.scoreDecimals);
    keptRulesOf.set(config, kept);
  }
  return kept;
}

/** Throws invalid_request (or invalid_score) naming the field unless the board's rules and rate limit fit together and its decimals. */
export function checkScoreRules(config: BoardConfig): void {
  const rate = config.rateLimit;
  if (rate !== null && (!Number.isSafeInteger(rate.max) || rate.max < 1)) throw invalidField('rate_limit.max', 'must be a positive integer');
  if (rate !== null && (!Number.isInteger(rate.windowMs) || rate.windowMs < 1 || rate.windowMs > RATE_LIMIT_WINDOW_MAX_MS)) throw invalidField('rate_limit.window_ms', `must be an integer from 1 to ${RATE_LIMIT_WINDOW_MAX_MS}`);
  const rules = config.scoreRules;
  if (rules === null) return;
  const kept = scaled(rules, config.scoreDecimals);
  if (kept.minScore !== null && kept.maxScore !== null && kept.minScore > kept.maxScore) throw invalidField('rules.max_score', 'must not be below rules.min_score');
  if (kept.maxIncrease !== null && kept.maxIncrease < 0) throw invalidField('rules.max_increase', 'must not be negative');
  const window = rules.maxIncreasePerWindow;
  if (window !== null && kept.windowAmount! < 0) throw invalidField('rules.max_increase_per_window.amount', 'must not be negative');
  if (window !== null && (!Number.isInteger(window.windowMs) || window.windowMs < 1 || window.windowMs > RATE_LIMIT_WINDOW_MAX_MS)) {
    throw invalidField('rules.max_increase_per_window.window_ms', `must be an integer from 1 to ${RATE_LIMIT_WINDOW_MAX_MS}`);
  }
}

/** What checking one submission found: the improvement it brings (kept integers, 0 when none), for the window rule. */
export interface RuleVerdict {
  readonly gain: number;
}

/**
 * Checks the submission of `score` (kept integers; the increment on an
 * increment board) against the board's rules, given the participant's
 * current score (null: they have none). Throws the rule's 422. The window
 * rule is the caller's: it needs the participant's window (verdict.gain).
 */
export function checkSubmissionRules(config: BoardConfig, current: number | null, score: number, participantId: string): RuleVerdict {
  const rules = config.scoreRules;
  if (rules === null) return { gain: 0 };
  const kept = keptRules(config);
  const desc = config.sortOrder === 'desc';
  const increment = config.operator === 'increment';
  const after = increment ? (current ?? 0) + score : score;
  const shown = (value: number) => scoreText(value, config.scoreDecimals);
  const details = { participant_id: participantId, leaderboard_id: config.id };
  if (kept.minScore !== null && after < kept.minScore) {
    throw new LadderError('rule_min_score', `score ${shown(after)} of participant '${participantId}' is below rules.min_score ${shown(kept.minScore)}`, { ...details, min_score: rules.minScore });
  }
  if (kept.maxScore !== null && after > kept.maxScore) {
    throw new LadderError('rule_max_score', `score ${shown(after)} of participant '${participantId}' is above rules.max_score ${shown(kept.maxScore)}`, { ...details, max_score: rules.maxScore });
  }
  // The improvement over the current score: positive when better, negative when worse; a first score improves on nothing.
  const delta = increment ? score : current === null ? 0 : after - current;
  const improvement = desc ? delta : -delta;
  // A best board keeps the better score: a worse submission changes nothing, so it neither improves nor regresses.
  const gain = config.operator === 'best' ? Math.max(0, improvement) : improvement;
  if (rules.monotonic && gain < 0) {
    throw new LadderError('rule_monotonic', `the submission would make the score of participant '${participantId}' worse (from ${shown(current ?? 0)} to ${shown(after)}), and the board is monotonic`, details);
  }
  if (kept.maxIncrease !== null && gain > kept.maxIncrease) {
    throw new LadderError('rule_max_increase', `the submission improves the score of participant '${participantId}' by ${shown(gain)}, more than rules.max_increase ${shown(kept.maxIncrease)}`, {
      ...details,
      max_increase: rules.maxIncrease,
    });
  }
  return { gain: Math.max(0, gain) };
}

/** The window rule's refusal: `used` of the window's amount is taken, and `gain` would pass it. */
export function windowExceeded(config: BoardConfig, participantId: string, gain: number, used: number, resetInMs: number): LadderError {
  const window = config.scoreRules!.maxIncreasePerWindow!;
  const shown = (value: number) => scoreText(value, config.scoreDecimals);
  return new LadderError(
    'rule_max_increase_per_window',
    `participant '${participantId}' improved by ${shown(used)} within ${window.windowMs} ms already, and ${shown(gain)} more would pass rules.max_increase_per_window.amount ${window.amount}`,
    { participant_id: participantId, leaderboard_id: config.id, amount: window.amount, window_ms: window.windowMs, retry_after_ms: resetInMs },
  );
}

/** The window rule's amount in kept integers. */
export function windowAmount(config: BoardConfig): number {
  return keptRules(config).windowAmount!;
}

/** The rate limit's refusal (429): the participant sent `limit.max` submissions in the window that ends in `resetInMs`. */
export function participantRateLimited(config: BoardConfig, participantId: string, resetInMs: number): LadderError {
  const limit = config.rateLimit!;
  return new LadderError('rate_limited', `participant '${participantId}' sent ${limit.max} submissions to leaderboard '${config.id}' within ${limit.windowMs} ms (its rate_limit); retry in ${Math.ceil(resetInMs / 1000)} s`, {
    participant_id: participantId,
    leaderboard_id: config.id,
    limit: limit.max,
    window_ms: limit.windowMs,
    retry_after_ms: resetInMs,
  });
}
