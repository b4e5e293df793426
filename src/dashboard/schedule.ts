/**
 * A board's place in time as the dashboard shows it: its status and what it
 * counts down to (its start, its end or its next reset). Boards run on the
 * server's clock, which need not agree with the browser's (another machine,
 * LADDER_CLOCK_OFFSET_MS, a test's clock), so countdowns run on ServerClock,
 * set from the `server_time` of every board answer.
 */
import type { Board } from '../client/index.js';
import { formatCountdown, formatMoment } from './format.js';

/** The server's clock, as far as this page can tell: the local clock plus the offset the last board answer showed. */
export class ServerClock {
  private offset = 0;

  /**
   * Takes the offset from an answer's `server_time` and the local times its
   * request was sent and answered: the server read its clock somewhere in
   * between, most likely near the middle.
   */
  observe(serverTime: number, sentAt: number, receivedAt: number): void {
    this.offset = serverTime - (sentAt + receivedAt) / 2;
  }

  now(): number {
    return Date.now() + this.offset;
  }
}

type BoardStatus = Board['status'];

export interface Schedule {
  readonly status: BoardStatus;
  /** The moment counted down to (server clock), or null when nothing is. */
  readonly until: number | null;
  /** e.g. "starts in 3d 4h", "resets in 12s", "ends in 5m 3s", "ended Dec 2, 2026, 4:05 PM"; empty when there is nothing to say. */
  readonly text: string;
}

export const statusNames: Record<BoardStatus, string> = { scheduled: 'Scheduled', active: 'Active', closed: 'Closed' };

/**
 * What the board's status line says at `now` (server clock). A countdown
 * that reached 0 says the change is under way ("resetting…") until the next
 * read of the board shows it done: the server closes periods on its own
 * tick, a moment later.
 */
export function scheduleOf(board: Board, now: number): Schedule {
  const countdown = (until: number, running: string, due: string): Schedule => {
    const left = formatCountdown(until - now);
    return { status: board.status, until, text: left === null ? due : `${running} ${left}` };
  };
  switch (board.status) {
    case 'scheduled':
      return board.starts_at === null ? { status: board.status, until: null, text: '' } : countdown(board.starts_at, 'starts in', 'starting…');
    case 'active': {
      const reset = board.next_reset_at;
      const end = board.ends_at;
      // The end wins a tie: the last period closes with the board.
      if (end !== null && (reset === null || end <= reset)) return countdown(end, 'ends in', 'ending…');
      if (reset !== null) return countdown(reset, 'resets in', 'resetting…');
      return { status: board.status, until: null, text: '' };
    }
    case 'closed': {
      const ended = [board.closed_at, board.ends_at].filter((at): at is number => at !== null);
      return { status: board.status, until: null, text: ended.length === 0 ? '' : `ended ${formatMoment(Math.min(...ended))}` };
    }
  }
}
