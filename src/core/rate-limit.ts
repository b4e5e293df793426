/**
 * A request rate limit: at most `max` requests per fixed window of
 * `windowMs`. Written `<max>/<window>` in configuration and on the command
 * line, e.g. `1000/1s`, `60/1m`, `10/500ms` (a bare unit means one of it:
 * `100/s`).
 */

export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

/** Bounds of a rate limit, shared by LADDER_RATE_LIMIT_DEFAULT, the CLI and POST /v1/keys. */
export const RATE_LIMIT_MAX = 1_000_000_000;
export const RATE_LIMIT_WINDOW_MAX_MS = 86_400_000;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `<max>/<window>`; throws an Error that says what is wrong. */
export function parseRateLimit(text: string): RateLimit {
  const match = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)\s*$/.exec(text);
  if (match === null) throw new Error(`must be <max>/<window> such as 1000/1s, 60/1m or 10/500ms, got '${text}'`);
  const max = Number(match[1]);
  const windowMs = (match[2] === '' ? 1 : Number(match[2])) * (UNIT_MS[match[3] as string] as number);
  if (max < 1 || max > RATE_LIMIT_MAX) throw new Error(`max must be between 1 and ${RATE_LIMIT_MAX}, got ${max}`);
  if (windowMs < 1 || windowMs > RATE_LIMIT_WINDOW_MAX_MS) throw new Error(`the window must be between 1ms and 24h, got ${windowMs}ms`);
  return { max, windowMs };
}

/** The `<max>/<window>` form of a limit, in the largest unit that divides its window. */
export function formatRateLimit(limit: RateLimit): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const ms = UNIT_MS[unit] as number;
    if (limit.windowMs % ms === 0) return `${limit.max}/${limit.windowMs / ms}${unit}`;
  }
  return `${limit.max}/${limit.windowMs}ms`;
}

/** A limit kept as two nullable columns (the stores' api_keys): null unless both are set. */
export function rateLimitOfRow(max: number | null, windowMs: number | null): RateLimit | null {
  return max === null || windowMs === null ? null : { max: Number(max), windowMs: Number(windowMs) };
}
