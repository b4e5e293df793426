/**
 * Benchmark of the in-process rank engine (index/memory.ts) on one large board:
 * submissions per second with the new rank returned, rank lookups, top-100
 * reads, memory per entry and the time to rebuild the board from an array.
 *
 *   node --expose-gc --import tsx bench/engine.ts [entries]
 *
 * Without --expose-gc the memory figures are skipped (and it says so).
 * Figures only: nothing here fails on a timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { Entry, Operator, Submission } from '../src/core/types.js';
import type { BoardState } from '../src/index/index.js';
import { BoardRanking, MemoryIndex } from '../src/index/memory.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { random32 } from '../test/helpers/random.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';

/** Each timed loop runs for about this long. */
const RUN_MS = 1_500;
/** Submissions are drawn up front, this many, and reused round-robin. */
const DRAWS = 1 << 20;
const SCORE_RANGE = 1_000_000_000;
const T0 = 1_700_000_000_000;

/** The goals the engine was built for; printed next to the figures. */
const GOALS: Record<string, [string, (value: number) => boolean]> = {
  best_updates_per_s: ['≥ 1,000,000', (v) => v >= 1e6],
  increment_updates_per_s: ['≥ 1,000,000', (v) => v >= 1e6],
  ranking_bytes_per_entry: ['≤ 40', (v) => v <= 40],
  load_ms: ['< 1,000', (v) => v < 1_000],
  rebuild_from_store_ms: ['< 1,000', (v) => v < 1_000],
  top100_reads_per_s: ['≥ 200,000', (v) => v >= 2e5],
  top100_after_full_read_per_s: ['≥ 200,000', (v) => v >= 2e5],
  rank_lookups_per_s: ['≥ 2,000,000', (v) => v >= 2e6],
};

type Gc = () => void;

/** Every board here starts a fresh epoch at version 0. */
const FRESH: BoardState = { epoch: 'bench', version: 0 };

/** Flat strings, as JSON.parse and SQLite hand them out (a template literal can make a rope). */
function participantIds(count: number): string[] {
  const ids = Array.from({ length: count }, (_, i) => `player-${i.toString(36).padStart(6, '0')}`);
  return JSON.parse(JSON.stringify(ids)) as string[];
}

function randomEntries(ids: readonly string[], random: () => number): Entry[] {
  return ids.map((participantId) => {
    const time = T0 + Math.floor(random() * 1e9);
    return { participantId, score: Math.floor(random() * SCORE_RANGE), achievedAt: time, updatedAt: time, metadata: null };
  });
}

/**
 * Submissions with fresh id strings, as a server parses them from request
 * bodies, so that the timed loop measures the engine and not the draws.
 */
function submissions(ids: readonly string[], delta: boolean, random: () => number): Submission[] {
  const picked = Array.from({ length: DRAWS }, () => ids[Math.floor(random() * ids.length)]!);
  const parsed = JSON.parse(JSON.stringify(picked)) as string[];
  return parsed.map((participantId, i) => ({
    participantId,
    score: delta ? 1 + Math.floor(random() * 1_000) : Math.floor(random() * SCORE_RANGE),
    timestamp: T0 + 1e9 + i,
    eventId: null,
    metadata: null,
  }));
}

/** Heap plus array buffers, after collecting garbage (array buffers are freed on another thread: wait for it). */
async function heapBytes(gc: Gc): Promise<number> {
  gc();
  await sleep(100);
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Runs `step(i)` in batches until RUN_MS has passed; returns operations per second. */
function rate(step: (i: number) => void): number {
  let done = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < RUN_MS) {
    for (let i = 0; i < 20_000; i++) step(done + i);
    done += 20_000;
    elapsed = performance.now() - start;
  }
  return (done / elapsed) * 1_000;
}

function loadedBoard(operator: Operator, entries: readonly Entry[]): BoardRanking {
  const board = new BoardRanking({ id: `bench-${operator}`, sortOrder: 'desc', operator });
  board.load(entries, FRESH);
  return board;
}

function submissionRate(board: BoardRanking, batch: readonly Submission[]): { perSecond: number; changed: number } {
  let changed = 0;
  let submitted = 0;
  let ranks = 0;
  const perSecond = rate((i) => {
    const outcome = board.submit(batch[i & (DRAWS - 1)]!);
    if (outcome.changed) changed++;
    ranks += outcome.entry.rank;
    submitted++;
  });
  if (ranks === 0) throw new Error('no ranks returned');
  return { perSecond, changed: changed / submitted };
}

function topReadRate(board: BoardRanking): number {
  let read = 0;
  const perSecond = rate(() => {
    read += board.range(0, 100).length;
  });
  if (read === 0) throw new Error('top-100 reads returned nothing');
  return perSecond;
}

/** Bytes a board of `n` fresh entries keeps alive, id strings included. */
async function retainedBytesPerEntry(n: number, gc: Gc): Promise<number> {
  const before = await heapBytes(gc);
  // The entries and their array die with this call; the board keeps what it needs.
  const board = loadedBoard('best', randomEntries(participantIds(n), random32(7)));
  const bytes = (await heapBytes(gc)) - before;
  if (board.total !== n) throw new Error('lost entries');
  return bytes / n;
}

async function emptyBoardBytes(gc: Gc): Promise<number> {
  const index = new MemoryIndex();
  const ids = Array.from({ length: 10_000 }, (_, b) => `empty-${b}`);
  const before = await heapBytes(gc);
  for (const id of ids) await index.open({ id, sortOrder: 'desc', operator: 'best' }, FRESH);
  const bytes = (await heapBytes(gc)) - before;
  if ((await index.read(ids[0]!, [])).total !== 0) throw new Error('not empty');
  return bytes / ids.length;
}

export async function benchEngine(options: { entries?: number } = {}): Promise<Record<string, number>> {
  const n = options.entries ?? 1_000_000;
  const gc = (globalThis as { gc?: Gc }).gc;
  const random = random32(42);
  const ids = participantIds(n);
  const figures: Record<string, number> = { entries: n };

  // Rebuild: entries come in id order, so their scores are in random rank order.
  const entries = randomEntries(ids, random);
  const best = new BoardRanking({ id: 'bench-best', sortOrder: 'desc', operator: 'best' });
  let start = performance.now();
  best.load(entries, FRESH);
  figures.load_ms = performance.now() - start;
  // Top-100 reads before and after one read of every entry: a bulk read must
  // not slow the small ones down (V8 pretenures an allocation site whose
  // objects survived in bulk; see BoardRanking.range).
  figures.top100_reads_per_s = topReadRate(best);
  const sorted = best.range(0, n);
  figures.top100_after_full_read_per_s = topReadRate(best);
  const rebuilt = new BoardRanking({ id: 'bench-sorted', sortOrder: 'desc', operator: 'best' });
  start = performance.now();
  rebuilt.load(sorted, FRESH);
  figures.load_sorted_ms = performance.now() - start;
  figures.ranking_bytes_per_entry = best.rankingBytes / n;
  figures.id_table_bytes_per_entry = best.idTableBytes / n;

  const bestRun = submissionRate(best, submissions(ids, false, random));
  figures.best_updates_per_s = bestRun.perSecond;
  figures.best_changed_ratio = bestRun.changed;

  const increment = loadedBoard('increment', entries);
  const deltas = submissions(ids, true, random);
  figures.increment_updates_per_s = submissionRate(increment, deltas).perSecond;

  let sink = 0;
  figures.rank_lookups_per_s = rate((i) => {
    sink += increment.rankOf(deltas[i & (DRAWS - 1)]!.participantId)!;
  });
  figures.get_per_s = rate((i) => {
    sink += increment.get(deltas[i & (DRAWS - 1)]!.participantId)!.rank;
  });
  if (sink === 0) throw new Error('reads returned nothing');

  const fromStore = await rebuildFromStore(best);
  figures.store_read_ms = fromStore.readMs;
  figures.rebuild_from_store_ms = fromStore.rebuildMs;

  if (gc !== undefined) {
    figures.total_bytes_per_entry = await retainedBytesPerEntry(n, gc);
    figures.bytes_per_empty_board = await emptyBoardBytes(gc);
  }
  return figures;
}

/**
 * What a restart does with a board: read its latest checkpoint from SQLite
 * (store/sqlite-checkpoint.ts) and load the ranking from the columns, which
 * come in rank order (BoardRanking.loadSorted). The whole restart, process
 * boot included, is bench/restart.ts.
 */
async function rebuildFromStore(board: BoardRanking): Promise<{ readMs: number; rebuildMs: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ladder-bench-rebuild-'));
  const options = { dataDir, commitIntervalMs: 0, sync: 'normal' as const };
  const rules = board.rules;
  try {
    const created = await openSqliteStore(options);
    await created.createBoard({ ...BOARD_DEFAULTS, ...rules, name: 'bench', metadata: null, createdAt: 0 }, FRESH.epoch);
    await created.saveCheckpoint(rules.id, { seq: 0, version: 0, columns: board.rankedColumns() });
    await created.close();

    const store = await openSqliteStore(options);
    const start = performance.now();
    const loaded = await store.loadBoard(rules.id);
    const readMs = performance.now() - start;
    const rebuilt = new BoardRanking(rules);
    rebuilt.loadSorted(loaded!.ranked, FRESH, loaded!.changed);
    const rebuildMs = performance.now() - start;
    await store.close();
    if (rebuilt.total !== board.total) throw new Error(`the checkpoint held ${rebuilt.total} of ${board.total} entries`);
    return { readMs, rebuildMs };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function formatted(value: number): string {
  if (Number.isInteger(value) || value >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(2);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const entries = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  const figures = await benchEngine({ entries });
  if ((globalThis as { gc?: Gc }).gc === undefined) console.log('global.gc is unavailable (run node with --expose-gc): memory figures skipped\n');
  const width = Math.max(...Object.keys(figures).map((key) => key.length));
  console.log(`${'figure'.padEnd(width)}  ${'value'.padStart(12)}  goal`);
  for (const [key, value] of Object.entries(figures)) {
    const goal = GOALS[key];
    const verdict = goal === undefined ? '' : `${goal[0]} ${goal[1](value) ? '(met)' : '(not met)'}`;
    console.log(`${key.padEnd(width)}  ${formatted(value).padStart(12)}  ${verdict}`);
  }
}
