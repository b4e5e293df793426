/**
 * Period math (DESIGN.md "period"): which period of a board's reset schedule
 * holds a moment, when it ends, and its readable id. Pure; the clock is the
 * caller's.
 *
 * Named schedules are calendar periods in UTC: `hourly` 2026-12-02T16,
 * `daily` 2026-12-02, `weekly` ISO weeks from Monday 00:00 (2026-W49),
 * `monthly` 2026-12. A cron schedule (croner; five or six fields, the first of
 * six being seconds) in a time zone has periods from one firing to the next,
 * named by their start in UTC (2026-12-02T16:05:10Z).
 */
import { Cron } from 'croner';
import { invalidField } from './errors.js';
import type { ResetSchedule } from './types.js';

export interface Period {
  /** Readable and, within a board, unique and ordered like the periods. */
  readonly id: string;
  /** ms since epoch, inclusive. */
  readonly start: number;
  /** ms since epoch, exclusive: the next period's start. */
  readonly end: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The period of `schedule` that holds `at`. Complexity: O(1) for named schedules, croner's search for cron. */
export function periodAt(schedule: ResetSchedule, at: number): Period {
  if (typeof schedule === 'object') return cronPeriod(cronOf(schedule), at);
  const day = new Date(Math.floor(at / DAY_MS) * DAY_MS);
  switch (schedule) {
    case 'hourly': {
      const start = Math.floor(at / HOUR_MS) * HOUR_MS;
      return { id: new Date(start).toISOString().slice(0, 13), start, end: start + HOUR_MS };
    }
    case 'daily':
      return { id: day.toISOString().slice(0, 10), start: day.getTime(), end: day.getTime() + DAY_MS };
    case 'weekly': {
      const start = day.getTime() - ((day.getUTCDay() + 6) % 7) * DAY_MS;
      return { id: isoWeek(start), start, end: start + 7 * DAY_MS };
    }
    case 'monthly': {
      const start = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), 1);
      return { id: new Date(start).toISOString().slice(0, 7), start, end: Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 1) };
    }
  }
}

/** Throws invalid_request naming `field` unless the schedule is one Ladder can run. */
export function checkResetSchedule(schedule: ResetSchedule, field = 'reset'): void {
  if (typeof schedule !== 'object') return;
  let cron: Cron;
  try {
    cron = cronOf(schedule);
    if (cron.nextRun() === null) throw new Error('it never fires');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw invalidField(/timezone/i.test(reason) ? `${field}.timezone` : `${field}.cron`, `is not a schedule Ladder can run: ${reason}`);
  }
  const next = cron.nextRun()!.getTime();
  const after = cron.nextRun(new Date(next))?.getTime() ?? Infinity;
  if (after - next < 1000) throw invalidField(`${field}.cron`, 'fires more than once a second');
}

function cronOf(schedule: { readonly cron: string; readonly timezone: string }): Cron {
  return new Cron(schedule.cron, { paused: true, timezone: schedule.timezone });
}

function cronPeriod(cron: Cron, at: number): Period {
  // previousRuns looks strictly before its reference: +1 ms makes a firing at `at` itself the start.
  const start = cron.previousRuns(1, new Date(at + 1))[0]?.getTime() ?? 0;
  const end = cron.nextRun(new Date(at))?.getTime() ?? Number.MAX_SAFE_INTEGER;
  return { id: new Date(start).toISOString().replace('.000Z', 'Z'), start, end };
}

/** ISO 8601 week id of the week starting (Monday, UTC) at `monday`: the year is the one of its Thursday. */
function isoWeek(monday: number): string {
  const thursday = new Date(monday + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}
