/**
 * Benchmark of the in-process rank engine (index/memory.ts) at a large board:
 * submissions per second with the new rank returned, rank lookups, top-100
 * reads, memory per entry and the time to rebuild a board from an array.
 *
 *   node --expose-gc --import tsx bench/engine.ts [entries]
 *
 * Without --expose-gc the memory figures are skipped (and said so).
 * Figures only: nothing here fails on a timing.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Entry, Operator, Submission } from '../src/core/types.js';
import { BoardRanking, MemoryIndex } from '../src/index/memory.js';

/** Each timed loop runs for about this long. */
const RUN_MS = 1500;
/** Random draws are made up front, outside the timed loops. */
const DRAWS = 1 << 20;
const SCORE_RANGE = 1_000_000_000;

/** mulberry32: small, fast and reproducible. */
function random32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function participantIds(count: number): string[] {
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) ids[i] = `player-${i.toString(36).padStart(6, '0')}`;
  return ids;
}

function randomEntries(ids: readonly string[], random: () => number): Entry[] {
  return ids.map((participantId) => {
    const time = 1_700_000_000_000 + Math.floor(random() * 1e9);
    return { participantId, score: Math.floor(random() * SCORE_RANGE), achievedAt: time, updatedAt: time, metadata: null };
  });
}

function heapBytes(gc: () => void): number {
  gc();
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
    for (let i = 0; i < 50_000; i++) step(done + i);
    done += 50_000;
    elapsed = performance.now() - start;
  }
  return (done / elapsed) * 1000;
}

function loadedBoard(operator: Operator, entries: readonly Entry[]): BoardRanking {
  const board = new BoardRanking({ id: `bench-${operator}`, sortOrder: 'desc', operator });
  board.load(entries, 0);
  return board;
}

/**
 * Submissions are made up front with fresh id strings, as a server parses them
 * from requests, so the timed loop measures the engine rather than the draws.
 */
function submissions(ids: readonly string[], delta: boolean, random: () => number): Submission[] {
  const now = 1_800_000_000_000;
  const picked = Array.from({ length: DRAWS }, () => ids[Math.floor(random() * ids.length)]!);
  const fresh = JSON.parse(JSON.stringify(picked)) as string[];
  return fresh.map((participantId, i) => ({
    participantId,
    score: delta ? 1 + Math.floor(random() * 1000) : Math.floor(random() * SCORE_RANGE),
    timestamp: now + i,
    eventId: null,
    metadata: null,
  }));
}

function submissionRate(board: BoardRanking, batch: readonly Submission[]): { perSecond: number; changed: number } {
  let changed = 0;
  let attempts = 0;
  let ranks = 0;
  const perSecond = rate((i) => {
    const outcome = board.submit(batch[i & (DRAWS - 1)]!);
    if (outcome.changed) changed++;
    ranks += outcome.entry.rank;
    attempts++;
  });
  if (ranks === 0) throw new Error('no ranks returned');
  return { perSecond, changed: changed / attempts };
}

export async function benchEngine(options: { entries?: number } = {}): Promise<Record<string, number>> {
  const n = options.entries ?? 1_000_000;
  const gc = (globalThis as { gc?: () => void }).gc;
  const random = random32(42);
  const figures: Record<string, number> = { entries: n };

  // Memory: what the board retains after a load, ids and id map included.
  const ids = participantIds(n);
  let before = gc === undefined ? 0 : heapBytes(gc);
  let best = loadedBoard('best', randomEntries(ids, random));
  if (gc !== undefined) {
    figures.total_bytes_per_entry_without_id_strings = (heapBytes(gc) - before) / n;
  }
  figures.structure_bytes_per_entry = best.rankingBytes / n;

  // Again with fresh id strings, so that their memory is counted too.
  best = undefined as unknown as BoardRanking;
  before = gc === undefined ? 0 : heapBytes(gc);
  best = loadedBoard('best', randomEntries(participantIds(n), random));
  if (gc !== undefined) figures.total_bytes_per_entry = (heapBytes(gc) - before) / n;

  const shuffled = randomEntries(ids, random);
  const rebuild = new BoardRanking({ id: 'bench-load', sortOrder: 'desc', operator: 'best' });
  let start = performance.now();
  rebuild.load(shuffled, 0);
  figures.load_shuffled_ms = performance.now() - start;
  const sorted = rebuild.range(0, n);
  start = performance.now();
  rebuild.load(sorted, 0);
  figures.load_sorted_ms = performance.now() - start;

  best = loadedBoard('best', shuffled);
  const bestRun = submissionRate(best, submissions(ids, false, random));
  figures.best_updates_per_s = bestRun.perSecond;
  figures.best_changed_ratio = bestRun.changed;

  const increment = loadedBoard('increment', shuffled);
  const lookups = submissions(ids, true, random);
  figures.increment_updates_per_s = submissionRate(increment, lookups).perSecond;

  let sink = 0;
  figures.rank_lookups_per_s = rate((i) => {
    sink += increment.rankOf(lookups[i & (DRAWS - 1)]!.participantId)!;
  });
  figures.get_per_s = rate((i) => {
    sink += increment.get(lookups[i & (DRAWS - 1)]!.participantId)!.rank;
  });
  figures.top100_reads_per_s = rate(() => {
    sink += increment.range(0, 100).length;
  }) / 1;
  if (sink === 0) throw new Error('reads returned nothing');

  // An opened board without entries must cost next to nothing.
  if (gc !== undefined) {
    const index = new MemoryIndex();
    const boards = 10_000;
    before = heapBytes(gc);
    for (let b = 0; b < boards; b++) await index.open({ id: `empty-${b}`, sortOrder: 'desc', operator: 'best' });
    figures.bytes_per_empty_board = (heapBytes(gc) - before) / boards;
  }
  return figures;
}

function formatted(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const entries = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  const figures = await benchEngine({ entries });
  if ((globalThis as { gc?: () => void }).gc === undefined) console.log('global.gc is unavailable (run node with --expose-gc): memory figures skipped');
  const width = Math.max(...Object.keys(figures).map((key) => key.length));
  for (const [key, value] of Object.entries(figures)) console.log(`${key.padEnd(width)}  ${formatted(value).padStart(14)}`);
}
