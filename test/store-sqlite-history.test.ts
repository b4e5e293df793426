/**
 * What is SQLite's own about a participant's history (store/sqlite-history.ts,
 * migration 006): the accepted events are found through log segments that
 * the writer indexes by participant once the log has moved past them, a
 * page seeks into a bounded number of segments, the index of an older
 * database is built by the migration, and retention prunes the index and the
 * rejections. The behaviour both stores share is in test/conformance/store.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { newEpoch } from '../src/core/epoch.js';
import type { BoardRules, Submission } from '../src/core/types.js';
import { loadMigrations } from '../src/store/migrate.js';
import { openSqliteStore, SQLITE_FILE_NAME, type SqliteStore } from '../src/store/sqlite.js';
import { MAX_SEGMENTS_PER_PAGE } from '../src/store/sqlite-history.js';
import { LOG_SEGMENT_SIZE } from '../src/store/sqlite-sql.js';
import { migrateSqlite } from '../src/store/sqlite-writer.js';
import type { HistoryCursor, HistoryItem, ScoreEvent, Store } from '../src/store/store.js';
import { BoardDriver } from './helpers/board-driver.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';

const DAY = 86_400_000;

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ladder-${prefix}-`));
}

async function withStore(test: (store: SqliteStore, dataDir: string, reopen: () => Promise<SqliteStore>) => Promise<void>, auditRetentionDays = 0): Promise<void> {
  const dataDir = tempDir('history');
  const open = () => openSqliteStore({ dataDir, commitIntervalMs: 1, sync: 'normal', auditRetentionDays, onWarning: (message) => assert.fail(message) });
  let store = await open();
  try {
    await test(store, dataDir, async () => {
      await store.close();
      store = await open();
      return store;
    });
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function createBoard(store: Store, id: string, operator: BoardRules['operator'] = 'increment'): Promise<BoardRules> {
  const rules: BoardRules = { id, sortOrder: 'desc', operator };
  await store.createBoard({ ...BOARD_DEFAULTS, ...rules, name: id, metadata: null, createdAt: 1 }, newEpoch());
  return rules;
}

/** `count` submissions of `participants` players in turn, scores from `first`. */
function submissions(count: number, participants: number, first = 0): Submission[] {
  return Array.from({ length: count }, (_, i) => ({ participantId: `p${(first + i) % participants}`, score: first + i, timestamp: 1_000 + first + i, eventId: null, metadata: null }));
}

/** Applies the submissions in commits of 1000, received at `receivedAt`; the events logged. */
async function submitAll(driver: BoardDriver, all: readonly Submission[], receivedAt: number): Promise<ScoreEvent[]> {
  const events: ScoreEvent[] = [];
  for (let i = 0; i < all.length; i += 1000) {
    const step = driver.submit(all.slice(i, i + 1000), receivedAt);
    events.push(...step.events);
    await step.committed;
  }
  return events;
}

/** The whole history, a walk of pages of `limit`; with the number of pages. */
async function walk(store: Store, boardId: string, participantId: string, limit: number): Promise<{ items: HistoryItem[]; pages: { items: number; next: HistoryCursor | null }[] }> {
  const items: HistoryItem[] = [];
  const pages: { items: number; next: HistoryCursor | null }[] = [];
  let cursor: HistoryCursor | null = null;
  do {
    const page: Awaited<ReturnType<Store['participantHistory']>> = await store.participantHistory(boardId, participantId, cursor, limit);
    assert.ok(page !== null);
    items.push(...page.items);
    pages.push({ items: page.items.length, next: page.next });
    cursor = page.next;
  } while (cursor !== null);
  return { items, pages };
}

function seqsOf(items: readonly HistoryItem[]): number[] {
  return items.map((item) => (item.outcome === 'accepted' ? item.event.seq : -item.rejection.id));
}

function newestFirst(events: readonly ScoreEvent[], participantId: string): number[] {
  return events.filter((event) => event.participantId === participantId).map((event) => event.seq).reverse();
}

function query<T>(dataDir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true });
  try {
    return db.prepare<unknown[], T>(sql).all(...params);
  } finally {
    db.close();
  }
}

describe('SqliteStore participant history', () => {
  it("finds a participant's events in the indexed segments and the open one, and indexes each segment once the log has moved past it", () =>
    withStore(async (store, dataDir, reopen) => {
      const rules = await createBoard(store, 'segments');
      const driver = await BoardDriver.load(store, rules);
      const events = await submitAll(driver, submissions(10_000, 7), 5_000);
      // Seqs 1..10000: segments 0 and 1 are closed and indexed, 8192.. is the open part.
      assert.deepEqual(query(dataDir, 'SELECT indexed_segments AS segments FROM boards WHERE id = ?', rules.id), [{ segments: 2 }]);
      assert.deepEqual(query(dataDir, 'SELECT count(*) AS rows, max(seq) AS last FROM participant_log WHERE board_id = ?', rules.id), [{ rows: 2 * LOG_SEGMENT_SIZE - 1, last: 2 * LOG_SEGMENT_SIZE - 1 }]);
      const check = async (current: Store): Promise<void> => {
        for (const limit of [1000, 97, 1]) {
          const { items } = await walk(current, rules.id, 'p3', limit);
          assert.deepEqual(seqsOf(items), newestFirst(events, 'p3'), `limit ${limit}`);
        }
        const [latest] = (await current.participantHistory(rules.id, 'p3', null, 1))!.items;
        assert.deepEqual(latest, { outcome: 'accepted', event: events.filter((event) => event.participantId === 'p3').at(-1) });
      };
      await check(store);
      const reopened = await reopen();
      await check(reopened);
      // After the restart, commits go on where the index stopped.
      const more = await submitAll(await BoardDriver.load(reopened, rules), submissions(3_000, 7, 10_000), 6_000);
      assert.deepEqual(query(dataDir, 'SELECT indexed_segments AS segments FROM boards WHERE id = ?', rules.id), [{ segments: 3 }]);
      assert.deepEqual(seqsOf((await walk(reopened, rules.id, 'p5', 250)).items), newestFirst([...events, ...more], 'p5'));
    }));

  it(`ends a page short after ${MAX_SEGMENTS_PER_PAGE} segments, with a cursor that goes on below them`, () =>
    withStore(async (store) => {
      const rules = await createBoard(store, 'sparse', 'best');
      // One event per segment (seqs only need to grow): the rare participant's two are in the oldest two.
      const segments = MAX_SEGMENTS_PER_PAGE + 80;
      const events: ScoreEvent[] = Array.from({ length: segments + 1 }, (_, k) => {
        const participantId = k < 2 ? 'rare' : `crowd-${k % 10}`;
        return {
          boardId: rules.id,
          seq: k * LOG_SEGMENT_SIZE + 1,
          eventId: null,
          participantId,
          submitted: k,
          timestamp: k,
          receivedAt: k,
          oldScore: null,
          newScore: k,
          oldRank: null,
          newRank: 1,
          version: k + 1,
          changed: true,
          metadata: null,
          entry: { participantId, score: k, achievedAt: k, updatedAt: k, metadata: null },
          fingerprint: null,
        };
      });
      await store.appendEvents(events);
      const { items, pages } = await walk(store, rules.id, 'rare', 10);
      assert.deepEqual(seqsOf(items), [LOG_SEGMENT_SIZE + 1, 1]);
      assert.deepEqual(
        pages.map((page) => page.items),
        [0, 2],
        'the first page looked at the newest segments and found nothing, the second the rest',
      );
      assert.deepEqual(pages[0]!.next, { acceptedBefore: (segments - MAX_SEGMENTS_PER_PAGE) * LOG_SEGMENT_SIZE, rejectedBefore: null });
      // A participant with events in the newest segments is not held up.
      assert.equal((await store.participantHistory(rules.id, 'crowd-3', null, 5))!.items.length, 5);
    }));

  it('indexes the log of a database from before migration 006', async () => {
    const dataDir = tempDir('upgrade-006');
    try {
      const db = new Database(join(dataDir, SQLITE_FILE_NAME));
      migrateSqlite(db, loadMigrations('sqlite').filter((m) => m.version <= 5));
      db.prepare(`INSERT INTO boards (id, name, sort_order, operator, metadata, created_at, version, epoch, total) VALUES ('old', 'old', 'desc', 'increment', NULL, 1, 9000, '0123456789ab', 3)`).run();
      db.prepare(`INSERT INTO boards (id, name, sort_order, operator, metadata, created_at, version, epoch, total) VALUES ('small', 'small', 'desc', 'increment', NULL, 1, 1, '0123456789ab', 1)`).run();
      const insert = db.prepare(`
        INSERT INTO score_log (board_id, seq, event_id, participant_id, submitted, timestamp, received_at, old_score, new_score, old_rank, new_rank, version, changed, metadata, metadata_applied, entry_achieved_at, entry_updated_at, fingerprint)
        VALUES (?, ?, NULL, ?, 1, ?, ?, NULL, ?, NULL, 1, ?, 1, NULL, 0, 1, 1, NULL)`);
      db.transaction(() => {
        for (let seq = 1; seq <= 9000; seq++) insert.run('old', seq, `p${seq % 3}`, seq, seq, seq, seq);
        insert.run('small', 1, 'p0', 1, 1, 1, 1);
      })();
      db.close();

      const store = await openSqliteStore({ dataDir, commitIntervalMs: 1, sync: 'normal' });
      try {
        assert.deepEqual(query(dataDir, 'SELECT id, indexed_segments AS segments FROM boards ORDER BY id'), [
          { id: 'old', segments: 2 },
          { id: 'small', segments: 0 },
        ]);
        assert.deepEqual(query(dataDir, 'SELECT board_id, count(*) AS rows FROM participant_log GROUP BY board_id'), [{ board_id: 'old', rows: 2 * LOG_SEGMENT_SIZE - 1 }]);
        const expected = Array.from({ length: 9000 }, (_, i) => 9000 - i).filter((seq) => seq % 3 === 1);
        assert.deepEqual(seqsOf((await walk(store, 'old', 'p1', 400)).items), expected);
        assert.deepEqual(seqsOf((await walk(store, 'small', 'p0', 10)).items), [1]);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('prunes old rejections, and the index of segments whose events retention deleted', () =>
    withStore(async (store, dataDir) => {
      const now = Date.now();
      const rules = await createBoard(store, 'kept');
      const driver = await BoardDriver.load(store, rules);
      // Old events, then two checkpoints (retention keeps the log after the older one), then recent events.
      const old = await submitAll(driver, submissions(9_000, 5), now - 10 * DAY);
      await driver.checkpoint();
      const between = await submitAll(driver, submissions(10, 5, 9_000), now - 10 * DAY);
      await driver.checkpoint();
      const recent = await submitAll(driver, submissions(5_000, 5, 9_010), now);
      await store.recordRejections([
        { boardId: rules.id, participantId: 'p2', code: 'invalid_score', message: 'old', submitted: 0.5, timestamp: null, eventId: null, receivedAt: now - 10 * DAY },
        { boardId: rules.id, participantId: 'p2', code: 'invalid_score', message: 'recent', submitted: 0.5, timestamp: null, eventId: null, receivedAt: now },
      ]);
      // The second checkpoint started a prune in the background; one more runs after it, for the rejections.
      await store.prune();
      await store.prune();

      // The log keeps the events after the older checkpoint (seq 9000): segment 2 (8192..12287) on.
      assert.deepEqual(query(dataDir, 'SELECT min(seq) AS first FROM score_log WHERE board_id = ?', rules.id), [{ first: 9_001 }]);
      assert.deepEqual(query(dataDir, 'SELECT min(segment) AS first FROM participant_log WHERE board_id = ?', rules.id), [{ first: 2 }]);
      const { items } = await walk(store, rules.id, 'p2', 300);
      assert.deepEqual(seqsOf(items.filter((item) => item.outcome === 'accepted')), newestFirst([...between, ...recent], 'p2'));
      assert.deepEqual(
        items.filter((item) => item.outcome === 'rejected').map((item) => item.outcome === 'rejected' && item.rejection.message),
        ['recent'],
      );
      assert.equal(old.length, 9_000);
    }, 2));
});
