/**
 * A simulated tournament, so that a fresh Ladder has something to show:
 * creates the demo boards (or reuses them) and has bots submit scores at a
 * steady total rate, in one batch request per board per tick.
 */
import { LadderApiError, LadderClient, type ScoreSubmission } from '../client/index.js';
import { defaultDemoBoards, type DemoBoard } from './boards.js';
import { createPlayers, PlayerPicker, type Player } from './players.js';

export { defaultDemoBoards, type DemoBoard } from './boards.js';

export interface DemoOptions {
  readonly baseUrl: string;
  /** Creates the boards and submits the scores. */
  readonly adminKey: string;
  /** Default: arena (best, desc), season-points (increment), time-trial (best, asc), rating (latest). */
  readonly boards?: readonly DemoBoard[];
  /** Submissions per second over all boards. Default 50. */
  readonly rate?: number;
  /** Number of simulated players. Default 500. */
  readonly participants?: number;
  /** Failed submissions (e.g. the server went away). Default: a warning on stderr, at most every 5 s. */
  readonly onError?: (error: unknown) => void;
}

export interface RunningDemo {
  /** Stops the bots and waits for the requests in flight. The boards stay. */
  stop(): Promise<void>;
}

const tickMs = 100;
/** Share of the players who have already played when a board is created, so that it does not start empty. */
const seededShare = 0.3;

export async function runDemo(options: DemoOptions): Promise<RunningDemo> {
  const rate = options.rate ?? 50;
  if (!(rate > 0 && Number.isFinite(rate))) throw new Error(`demo rate must be a positive number of scores per second, got ${rate}`);
  const client = new LadderClient({ baseUrl: options.baseUrl, apiKey: options.adminKey });
  const boards = options.boards ?? defaultDemoBoards();
  const players = createPlayers(options.participants ?? 500, Math.random);
  const picker = new PlayerPicker(players);
  const onError = options.onError ?? warnAtMostEvery(5000);

  for (const board of boards) {
    if (await createBoard(client, board)) {
      const seeded = players.filter(() => Math.random() < seededShare);
      for (let i = 0; i < seeded.length; i += 1000) {
        await client.submitScores(board.id, seeded.slice(i, i + 1000).map((player) => submission(board, player)));
      }
    }
  }

  let budget = 0;
  let last = performance.now();
  let inFlight: Promise<void> | null = null;
  const timer = setInterval(() => {
    const now = performance.now();
    // Capped, so that a stall (a slow server, a sleeping laptop) is not followed by a burst.
    budget = Math.min(Math.max(rate, 1), budget + (rate * (now - last)) / 1000);
    last = now;
    if (inFlight !== null || budget < 1) return;
    const count = Math.floor(budget);
    budget -= count;
    const batches = new Map<DemoBoard, ScoreSubmission[]>();
    for (let i = 0; i < count; i++) {
      const board = boards[Math.floor(Math.random() * boards.length)]!;
      const batch = batches.get(board) ?? [];
      batch.push(submission(board, picker.pick(Math.random)));
      batches.set(board, batch);
    }
    inFlight = Promise.all([...batches].map(([board, batch]) => client.submitScores(board.id, batch).catch(onError))).then(() => {
      inFlight = null;
    });
  }, tickMs);

  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}

/** Creates the board; false when it exists already (a restarted demo keeps its standings). */
async function createBoard(client: LadderClient, board: DemoBoard): Promise<boolean> {
  const { play: _, ...definition } = board;
  try {
    await client.createBoard(definition);
    return true;
  } catch (err) {
    if (err instanceof LadderApiError && err.code === 'board_exists') return false;
    throw err;
  }
}

function submission(board: DemoBoard, player: Player): ScoreSubmission {
  return { participant_id: player.id, score: board.play(player, Math.random) };
}

function warnAtMostEvery(ms: number): (error: unknown) => void {
  let lastAt = -Infinity;
  return (error) => {
    if (performance.now() - lastAt < ms) return;
    lastAt = performance.now();
    process.stderr.write(`ladder demo: submitting scores failed: ${error instanceof Error ? error.message : String(error)}\n`);
  };
}
