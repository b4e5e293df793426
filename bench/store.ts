/**
 * Benchmark of the SQLite store's durable write path and of a board's
 * restart, each beside the way it was done before migration 003, in the
 * same run, on the same disk (a temporary directory; synchronous=FULL).
 *
 *   node --import tsx bench/store.ts [--entries=1000000] [--tail=100000] [--events=40000] [--only=append|restart]
 *
 * 1. Append: events per second committed at 40 and at 1,000 events per
 *    transaction, on a board that has `entries` entries and as many logged
 *    events already:
 *    - before: the 002 schema and statements, one INSERT into score_events
 *      (AUTOINCREMENT) and one entries upsert per event;
 *    - after: the real writer (SqliteWriter.commit) on the 003 schema, events
 *      packed as the main thread sends them (sqlite-pack.ts) and appended
 *      with multi-row INSERTs;
 *    - after, end to end: SqliteStore.appendEvents calls (group commit, the
 *      writer thread, the packed transfer), each call one event;
 *    each without event ids, then with random ones (UUIDv4-like, the worst
 *    case for the unique event-id index).
 * 2. Restart: loading an `entries`-entry board into a BoardRanking,
 *    - before: every entry read from the entries table (JSON columns), as
 *      Entry objects, radix-sorted by BoardRanking.load;
 *    - after: its checkpoint file (rank order, no sort, no entry objects),
 *      right after the checkpoint and again with `tail` logged events after
 *      it, as loadBoard + BoardRanking.loadSorted (the backend's load).
 *
 * Figures only: nothing here fails on a timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { Entry } from '../src/core/types.js';
import { BoardRanking } from '../src/index/memory.js';
import { loadMigrations } from '../src/store/migrate.js';
import { CHECKPOINT_DIR_NAME } from '../src/store/sqlite-checkpoint.js';
import { packEvents, PackedEventReader } from '../src/store/sqlite-pack.js';
import { openSqliteStore, SQLITE_FILE_NAME } from '../src/store/sqlite.js';
import { migrateSqlite, SqliteWriter } from '../src/store/sqlite-writer.js';
import type { ScoreEvent } from '../src/store/store.js';
import { numberFlag, parseFlags } from './lib/args.js';
import { uint32s } from '../test/helpers/random.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';

const flags = parseFlags(process.argv.slice(2));
const ENTRIES = numberFlag(flags, 'entries') ?? 1_000_000;
const TAIL = numberFlag(flags, 'tail') ?? 100_000;
/** Events timed per configuration. */
const EVENTS = numberFlag(flags, 'events') ?? 40_000;
const ONLY = flags.get('only');
const T0 = 1_700_000_000_000;
const BOARD = 'bench';
const random = uint32s(7);
/** The seq of the last event timed; the timed events come after those a fill logged. */
let timedSeq = 2 * ENTRIES;

type EventIds = 'none' | 'random';

function participant(i: number): string {
  return `player-${i.toString(36).padStart(6, '0')}`;
}

function randomEventId(): string {
  return `${random().toString(16).padStart(8, '0')}-${random().toString(16).padStart(8, '0')}-${random().toString(16).padStart(8, '0')}`;
}

/** An increment of 1 for a random existing participant, as the backend logs it. */
function scoreEvent(seq: number, ids: EventIds): ScoreEvent {
  const participantId = participant(random() % ENTRIES);
  const timestamp = T0 + seq;
  const eventId = ids === 'none' ? null : randomEventId();
  return {
    boardId: BOARD,
    seq,
    eventId,
    participantId,
    submitted: 1,
    timestamp,
    receivedAt: timestamp,
    oldScore: seq,
    newScore: seq + 1,
    oldRank: 1 + (seq % ENTRIES),
    newRank: 1 + ((seq * 7) % ENTRIES),
    version: seq,
    changed: true,
    metadata: null,
    entry: { participantId, score: seq + 1, achievedAt: timestamp, updatedAt: timestamp, metadata: null },
    fingerprint: eventId === null ? null : `["${participantId}",1,null,null]`,
  };
}

// ---- before: the 002 schema and its statements (sqlite-sql.ts before 003) ----

const OLD_INSERT_EVENT = `
INSERT INTO score_events (
  board_id, event_id, participant_id, submitted, timestamp, received_at,
  old_score, new_score, old_rank, new_rank, version, changed, metadata,
  entry_achieved_at, entry_updated_at, fingerprint
) VALUES (
  @board_id, @event_id, @participant_id, @submitted, @timestamp, @received_at,
  @old_score, @new_score, @old_rank, @new_rank, @version, @changed, @metadata,
  @entry_achieved_at, @entry_updated_at, @fingerprint
)
ON CONFLICT DO NOTHING`;

const OLD_UPSERT_ENTRY = `
INSERT INTO entries (board_id, participant_id, score, achieved_at, updated_at, metadata)
VALUES (@board_id, @participant_id, @new_score, @entry_achieved_at, @entry_updated_at, @entry_metadata)
ON CONFLICT (board_id, participant_id) DO UPDATE SET
  score = excluded.score,
  achieved_at = excluded.achieved_at,
  updated_at = excluded.updated_at,
  metadata = excluded.metadata`;

function oldRow(event: ScoreEvent): Record<string, unknown> {
  return {
    board_id: event.boardId,
    event_id: event.eventId,
    participant_id: event.participantId,
    submitted: event.submitted,
    timestamp: event.timestamp,
    received_at: event.receivedAt,
    old_score: event.oldScore,
    new_score: event.newScore,
    old_rank: event.oldRank,
    new_rank: event.newRank,
    version: event.version,
    changed: event.changed ? 1 : 0,
    metadata: null,
    entry_achieved_at: event.entry.achievedAt,
    entry_updated_at: event.entry.updatedAt,
    entry_metadata: null,
    fingerprint: event.fingerprint,
  };
}

function openDatabase(dir: string): Database.Database {
  const db = new Database(join(dir, SQLITE_FILE_NAME));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  return db;
}

/** A board on the 002 schema with ENTRIES entries and as many logged events. */
function fillOld(dir: string, ids: EventIds): void {
  const db = openDatabase(dir);
  migrateSqlite(
    db,
    loadMigrations('sqlite').filter((m) => m.version <= 2),
  );
  db.prepare(`INSERT INTO boards (id, name, sort_order, operator, metadata, created_at, version, epoch, total) VALUES (?, ?, 'desc', 'increment', NULL, 0, 0, 'bench', 0)`).run(BOARD, BOARD);
  const entry = db.prepare(`INSERT INTO entries VALUES (?, ?, ?, ?, ?, NULL)`);
  const event = db.prepare(OLD_INSERT_EVENT);
  db.transaction(() => {
    for (let i = 0; i < ENTRIES; i++) {
      entry.run(BOARD, participant(i), i, T0 + i, T0 + i);
      event.run(oldRow({ ...scoreEvent(i + 1, ids), participantId: participant(i) }));
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

function timeOld(dir: string, perCommit: number, ids: EventIds): number {
  const db = openDatabase(dir);
  const insertEvent = db.prepare(OLD_INSERT_EVENT);
  const upsertEntry = db.prepare(OLD_UPSERT_ENTRY);
  const raise = db.prepare(`UPDATE boards SET version = max(version, ?) WHERE id = ?`);
  const commit = db.transaction((events: ScoreEvent[]) => {
    for (const event of events) {
      const row = oldRow(event);
      if (insertEvent.run(row).changes > 0) upsertEntry.run(row);
    }
    raise.run(events[events.length - 1]!.version, BOARD);
  });
  const commits = Math.max(1, Math.round(EVENTS / perCommit));
  const start = performance.now();
  for (let c = 0; c < commits; c++) commit.immediate(Array.from({ length: perCommit }, () => scoreEvent(++timedSeq, ids)));
  const seconds = (performance.now() - start) / 1000;
  db.close();
  return (commits * perCommit) / seconds;
}

// ---- after: the 003 schema and the real writer ----

async function createNewBoard(dir: string): Promise<void> {
  const store = await openSqliteStore({ dataDir: dir, commitIntervalMs: 0, sync: 'full' });
  await store.createBoard({ ...BOARD_DEFAULTS, id: BOARD, name: BOARD, sortOrder: 'desc', operator: 'increment', metadata: null, createdAt: 0 }, 'bench');
  await store.close();
}

function openWriter(dir: string): SqliteWriter {
  return new SqliteWriter({ file: join(dir, SQLITE_FILE_NAME), checkpointDir: join(dir, CHECKPOINT_DIR_NAME), sync: 'full' });
}

function commitNew(writer: SqliteWriter, events: readonly ScoreEvent[]): void {
  const results = writer.commit([{ kind: 'append', first: 0, count: events.length }], new PackedEventReader(packEvents([events])));
  if (!results.every((result) => result.ok)) throw new Error('a bench commit failed');
}

/** A board on the 003 schema with ENTRIES logged events (one per participant). */
async function fillNew(dir: string, ids: EventIds): Promise<void> {
  await createNewBoard(dir);
  const writer = openWriter(dir);
  for (let first = 0; first < ENTRIES; first += 10_000) {
    const events = Array.from({ length: Math.min(10_000, ENTRIES - first) }, (_, i) => ({ ...scoreEvent(first + i + 1, ids), participantId: participant(first + i) }));
    commitNew(writer, events.map((event) => ({ ...event, entry: { ...event.entry, participantId: event.participantId } })));
  }
  writer.close();
}

function timeNew(dir: string, perCommit: number, ids: EventIds): number {
  const writer = openWriter(dir);
  const commits = Math.max(1, Math.round(EVENTS / perCommit));
  const start = performance.now();
  for (let c = 0; c < commits; c++) commitNew(writer, Array.from({ length: perCommit }, () => scoreEvent(++timedSeq, ids)));
  const seconds = (performance.now() - start) / 1000;
  writer.close();
  return (commits * perCommit) / seconds;
}

/** perCommit appendEvents calls of one event each in one turn of the event loop: one group commit. */
async function timeEndToEnd(dir: string, perCommit: number, ids: EventIds): Promise<number> {
  const store = await openSqliteStore({ dataDir: dir, commitIntervalMs: 0, sync: 'full' });
  let seq = (await store.loadBoard(BOARD))!.seq;
  const commits = Math.max(1, Math.round(EVENTS / perCommit));
  const before = store.commitStats.commits;
  const start = performance.now();
  for (let c = 0; c < commits; c++) await Promise.all(Array.from({ length: perCommit }, () => store.appendEvents([scoreEvent(++seq, ids)])));
  const seconds = (performance.now() - start) / 1000;
  const made = store.commitStats.commits - before;
  await store.close();
  if (made !== commits) console.log(`  (end to end: ${made} commits for ${commits} rounds)`);
  return (commits * perCommit) / seconds;
}

// ---- restart ----

function randomEntries(): Entry[] {
  return Array.from({ length: ENTRIES }, (_, i) => {
    const time = T0 + (random() % 1_000_000_000);
    return { participantId: participant(i), score: random() % 1_000_000_000, achievedAt: time, updatedAt: time, metadata: null };
  });
}

/** Before: the entries table read as Entry objects, then BoardRanking.load sorts them. */
async function restartBefore(dir: string, entries: readonly Entry[]): Promise<number> {
  await createNewBoard(dir);
  const db = openDatabase(dir);
  const insert = db.prepare('INSERT INTO entries (board_id, participant_id, score, achieved_at, updated_at, metadata) VALUES (?, ?, ?, ?, ?, NULL)');
  db.transaction(() => {
    for (const e of entries) insert.run(BOARD, e.participantId, e.score, e.achievedAt, e.updatedAt);
  })();
  db.close();
  const store = await openSqliteStore({ dataDir: dir, commitIntervalMs: 0, sync: 'full' });
  const start = performance.now();
  const loaded = (await store.loadBoard(BOARD))!;
  const ranking = new BoardRanking({ id: BOARD, sortOrder: 'desc', operator: 'best' });
  ranking.load(loaded.changed, { epoch: 'bench', version: loaded.board.version });
  const ms = performance.now() - start;
  await store.close();
  if (ranking.total !== ENTRIES) throw new Error(`loaded ${ranking.total} entries`);
  return ms;
}

/** Times loadBoard + loadSorted of the board, as the backend loads it. */
async function timeLoad(dir: string, replayed: number): Promise<{ loadMs: number; readMs: number }> {
  const store = await openSqliteStore({ dataDir: dir, commitIntervalMs: 0, sync: 'full' });
  const start = performance.now();
  const loaded = (await store.loadBoard(BOARD))!;
  const readMs = performance.now() - start;
  const restarted = new BoardRanking({ id: BOARD, sortOrder: 'desc', operator: 'best' });
  restarted.loadSorted(loaded.ranked, { epoch: 'bench', version: loaded.board.version }, loaded.changed);
  const loadMs = performance.now() - start;
  await store.close();
  if (restarted.total !== ENTRIES || loaded.replayed !== replayed) throw new Error(`loaded ${restarted.total} entries and replayed ${loaded.replayed} events`);
  return { loadMs, readMs };
}

/**
 * After: a checkpoint of the same board, loaded right after it and again
 * with TAIL events after it (a tail of LADDER_CHECKPOINT_EVENTS is the most
 * a busy board has between two checkpoints, interval aside).
 */
async function restartAfter(dir: string, entries: readonly Entry[]): Promise<{ fresh: { loadMs: number; readMs: number }; tail: { loadMs: number; readMs: number }; checkpointMs: number }> {
  await createNewBoard(dir);
  const store = await openSqliteStore({ dataDir: dir, commitIntervalMs: 0, sync: 'full' });
  const ranking = new BoardRanking({ id: BOARD, sortOrder: 'desc', operator: 'best' });
  ranking.load(entries, { epoch: 'bench', version: ENTRIES });
  const checkpointStart = performance.now();
  await store.saveCheckpoint(BOARD, { seq: ENTRIES, version: ENTRIES, columns: ranking.rankedColumns() });
  const checkpointMs = performance.now() - checkpointStart;
  await store.close();
  const fresh = await timeLoad(dir, 0);
  const appender = await openSqliteStore({ dataDir: dir, commitIntervalMs: 0, sync: 'full' });
  for (let first = 0; first < TAIL; first += 1_000) {
    const events = Array.from({ length: Math.min(1_000, TAIL - first) }, (_, i) => {
      const seq = ENTRIES + first + i + 1;
      const participantId = participant(random() % ENTRIES);
      return { ...scoreEvent(seq, 'none'), participantId, entry: { participantId, score: seq, achievedAt: T0 + seq, updatedAt: T0 + seq, metadata: null }, newScore: seq };
    });
    await appender.appendEvents(events);
  }
  await appender.close();
  return { fresh, tail: await timeLoad(dir, TAIL), checkpointMs };
}

function withDir<T>(run: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ladder-bench-store-'));
  return Promise.resolve()
    .then(() => run(dir))
    .finally(() => rmSync(dir, { recursive: true, force: true }));
}

const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');

async function benchAppend(): Promise<void> {
  console.log(`append: a board of ${fmt(ENTRIES)} entries and as many logged events; ${fmt(EVENTS)} events timed per figure; ${tmpdir()}, synchronous=FULL\n`);
  console.log(`${'events/s'.padEnd(58)}${'40 per commit'.padStart(15)}${'1,000 per commit'.padStart(18)}`);
  for (const ids of ['none', 'random'] as const) {
    const label = ids === 'none' ? 'no event ids' : 'random event ids';
    const rows: [string, (dir: string, perCommit: number) => number | Promise<number>, (dir: string) => void | Promise<void>][] = [
      [`before: score_events insert + entries upsert, ${label}`, (dir, k) => timeOld(dir, k, ids), (dir) => fillOld(dir, ids)],
      [`after: multi-row score_log insert, ${label}`, (dir, k) => timeNew(dir, k, ids), (dir) => fillNew(dir, ids)],
      [`after, end to end (appendEvents, worker), ${label}`, (dir, k) => timeEndToEnd(dir, k, ids), (dir) => fillNew(dir, ids)],
    ];
    for (const [name, time, fill] of rows) {
      const figures = await withDir(async (dir) => {
        await fill(dir);
        return [await time(dir, 40), await time(dir, 1_000)];
      });
      console.log(`${name.padEnd(58)}${fmt(figures[0]!).padStart(15)}${fmt(figures[1]!).padStart(18)}`);
    }
  }
}

async function benchRestart(): Promise<void> {
  console.log(`\nrestart: a board of ${fmt(ENTRIES)} entries (random scores)\n`);
  const entries = randomEntries();
  const before = await withDir((dir) => restartBefore(dir, entries));
  console.log(`${'before: entries table + sort (ms)'.padEnd(58)}${fmt(before).padStart(15)}`);
  const after = await withDir((dir) => restartAfter(dir, entries));
  const row = (name: string, ms: number) => console.log(`${name.padEnd(58)}${fmt(ms).padStart(15)}`);
  row('after: checkpoint alone (ms)', after.fresh.loadMs);
  row('  of which the store read it (ms)', after.fresh.readMs);
  row(`after: checkpoint + ${fmt(TAIL)} logged events (ms)`, after.tail.loadMs);
  row('  of which the store read it (ms)', after.tail.readMs);
  row('writing that checkpoint (ms)', after.checkpointMs);
}

if (ONLY !== 'restart') await benchAppend();
if (ONLY !== 'append') await benchRestart();
