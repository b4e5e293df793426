/** How the dashboard writes scores, times and counts. */
import type { Board } from '../client/index.js';

const integer = new Intl.NumberFormat('en-US');

export function formatCount(value: number): string {
  return integer.format(value);
}

/** Changes per second: one decimal below 10, whole numbers above. */
export function formatRate(perSecond: number): string {
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

/**
 * A board whose metadata says `unit: "ms"` holds durations (race times); they
 * read as m:ss.mmm. A board with score_decimals shows every score with that
 * many decimals; any other score is an integer with digit grouping.
 */
export function scoreFormatter(board: Pick<Board, 'score_decimals'> & { readonly metadata?: Board['metadata'] }): (score: number) => string {
  const decimals = board.score_decimals;
  if (board.metadata?.unit !== 'ms' && decimals > 0) {
    const fixed = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    return (score) => fixed.format(score);
  }
  if (board.metadata?.unit !== 'ms') return formatCount;
  return (ms) => {
    const sign = ms < 0 ? '−' : '';
    const abs = Math.abs(ms);
    const minutes = Math.floor(abs / 60_000);
    const seconds = Math.floor((abs % 60_000) / 1000);
    const millis = abs % 1000;
    return `${sign}${minutes}:${String(seconds).padStart(2, '0')}.${String(millis).padStart(3, '0')}`;
  };
}

/** "just now", "42s ago", "5m ago", "3h ago", "2d ago". */
export function formatAge(thenMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (seconds < 3) return 'just now';
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/**
 * Time left until a moment, in its two largest units: "3d 4h", "4h 5m",
 * "5m 12s", "12s". Rounded up, so that "1s" shows until the moment comes.
 * Null once it has come.
 */
export function formatCountdown(ms: number): string | null {
  if (ms <= 0) return null;
  const total = Math.ceil(ms / 1000);
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds}s`;
}

const moment = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' });

/** A moment as "Dec 2, 2026, 4:05 PM", in the viewer's time zone. */
export function formatMoment(ms: number): string {
  return moment.format(ms);
}

/** "resets daily", "resets on cron 0 0 * * 1 (Europe/Paris)"; null for a board that never resets. */
export function describeReset(reset: Board['reset']): string | null {
  if (reset === null) return null;
  if (typeof reset === 'string') return `resets ${reset}`;
  const zone = reset.timezone !== undefined && reset.timezone !== 'UTC' ? ` (${reset.timezone})` : '';
  return `resets on cron ${reset.cron}${zone}`;
}

export function describeBoard(board: Board): string {
  const order = board.sort_order === 'desc' ? 'highest wins' : 'lowest wins';
  const operator = { best: 'best score counts', latest: 'latest score counts', increment: 'scores add up' }[board.operator];
  return `${order} · ${operator}`;
}

export const transportNames = { websocket: 'WebSocket', sse: 'SSE', poll: 'Polling' } as const;
