/**
 * The demo's boards: one per operator and sort order, each with a score
 * model that makes its ranking move the way a real one would.
 */
import type { CreateBoardInput } from '../client/index.js';
import { gaussian, type Player, type Random } from './players.js';

export interface DemoBoard extends CreateBoardInput {
  /** The score a player submits next: absolute under best/latest, a delta under increment. */
  readonly play: (player: Player, random: Random) => number;
}

/** Arena high scores: log-normal around 10 000; `best` keeps each player's record. */
function arena(): DemoBoard {
  return {
    id: 'arena',
    name: 'Arena · high score',
    sort_order: 'desc',
    operator: 'best',
    metadata: { unit: 'points', description: 'Best single-run score' },
    play: (player, random) => Math.round(10_000 * Math.exp(0.35 * player.skill + 0.3 * gaussian(random))),
  };
}

/** Season points: every match adds points, with the odd bonus round, so ranks shuffle constantly. */
function seasonPoints(): DemoBoard {
  return {
    id: 'season-points',
    name: 'Season points',
    sort_order: 'desc',
    operator: 'increment',
    metadata: { unit: 'points', description: 'Points summed over the season' },
    play: (player, random) => {
      const points = Math.max(1, Math.round(12 + 5 * player.skill + 6 * gaussian(random)));
      return random() < 0.04 ? points * 5 : points;
    },
  };
}

/** Time trial lap times in ms: lower wins, skill shaves seconds, bad laps are slower by a half-normal. */
function timeTrial(): DemoBoard {
  return {
    id: 'time-trial',
    name: 'Time trial · Monza',
    sort_order: 'asc',
    operator: 'best',
    metadata: { unit: 'ms', description: 'Fastest lap' },
    play: (player, random) => Math.max(70_000, Math.round(92_000 - 3_000 * player.skill + 2_500 * Math.abs(gaussian(random)))),
  };
}

/** Skill rating: Elo-style, each match moves the rating up or down; `latest` keeps the current one. */
function rating(): DemoBoard {
  const ratings = new Map<string, number>();
  return {
    id: 'rating',
    name: 'Ranked rating',
    sort_order: 'desc',
    operator: 'latest',
    metadata: { unit: 'rating', description: 'Current matchmaking rating' },
    play: (player, random) => {
      const current = ratings.get(player.id) ?? 1500;
      // Players drift towards the rating their skill deserves.
      const deserved = 1500 + 200 * player.skill;
      const winChance = 1 / (1 + 10 ** ((current - deserved) / 400));
      const next = current + (random() < winChance ? 16 : -16) + Math.round(4 * gaussian(random));
      ratings.set(player.id, next);
      return next;
    },
  };
}

/** A one-minute sprint: the board resets every minute, so the dashboard shows a period roll over, and the last one's winner, while you watch. */
function sprint(): DemoBoard {
  return {
    id: 'sprint',
    name: 'Sprint · resets every minute',
    sort_order: 'desc',
    operator: 'increment',
    reset: { cron: '0 * * * * *', timezone: 'UTC' },
    metadata: { unit: 'points', description: 'Points this minute' },
    play: (player, random) => Math.max(1, Math.round(10 + 4 * player.skill + 4 * gaussian(random))),
  };
}

export function defaultDemoBoards(): DemoBoard[] {
  return [arena(), seasonPoints(), timeTrial(), rating(), sprint()];
}
