import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { newEpoch } from '../src/core/epoch.js';
import type { BoardRules, Entry } from '../src/core/types.js';
import { loadMigrations } from '../src/store/migrate.js';
import { openSqliteStore, SQLITE_FILE_NAME, type SqliteStore, type SqliteStoreOptions } from '../src/store/sqlite.js';
import { migrateSqlite } from '../src/store/sqlite-writer.js';
import type { ApiKeyRecord } from '../src/store/store.js';
import { storeConformance, type StoreFixture } from './conformance/store.js';
import { BoardDriver, entriesOfRanking, rankingOf } from './helpers/board-driver.js';
import { newEntryEvent as event } from './helpers/store-events.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ladder-${prefix}-`));
}

interface SqliteFixture extends StoreFixture {
  readonly dataDir: string;
  /** The store's warnings so far; dispose() fails on any a test did not take. */
  readonly warnings: string[];
}

async function sqliteFixture(options: Partial<SqliteStoreOptions> = {}): Promise<SqliteFixture> {
  const dataDir = tempDir('sqlite');
  const warnings: string[] = [];
  const open = (): Promise<SqliteStore> => openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'full', onWarning: (message) => warnings.push(message), ...options });
  let current = await open();
  return {
    dataDir,
    warnings,
    store: current,
    async reopen() {
      await current.close();
      current = await open();
      return current;
    },
    async dispose() {
      await current.close();
      rmSync(dataDir, { recursive: true, force: true });
      assert.deepEqual(warnings, [], 'unexpected store warnings');
    },
  };
}

storeConformance('sqlite', () => sqliteFixture());


async function createBoard(store: SqliteStore, id = `b-${randomBytes(4).toString('hex')}`, epoch = newEpoch()): Promise<string> {
  await store.createBoard({ ...BOARD_DEFAULTS, id, name: id, sortOrder: 'desc', operator: 'best', metadata: null, createdAt: 1 }, epoch);
  return id;
}

function apiKey(): ApiKeyRecord {
  return { id: `k-${randomBytes(6).toString('hex')}`, hash: randomBytes(32).toString('hex'), scope: 'write', name: 'test key', createdAt: 1, revokedAt: null, boards: null, rateLimit: null };
}

/** Each board's epoch, by id. */
async function epochsOf(store: SqliteStore): Promise<Map<string, string>> {
  return new Map((await store.listBoards()).map((board) => [board.config.id, board.epoch]));
}

function byParticipant(entries: readonly Entry[]): Entry[] {
  return [...entries].sort((a, b) => (a.participantId < b.participantId ? -1 : 1));
}

/** Rows of the board's base state (the entries table). */
function baseRows(dataDir: string, boardId: string): number {
  const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true });
  try {
    return db.prepare<[string], number>('SELECT count(*) FROM entries WHERE board_id = ?').pluck().get(boardId)!;
  } finally {
    db.close();
  }
}

const isLockError = (pid: number) => (err: unknown) => err instanceof Error && /LADDER_DATA_DIR/.test(err.message) && err.message.includes(`pid ${pid}`);

describe('SqliteStore', () => {
  it('creates the data directory and ladder.db in WAL mode', async () => {
    const parent = tempDir('dir');
    const dataDir = join(parent, 'nested', 'data');
    const store = await openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'normal' });
    try {
      assert.ok(existsSync(join(dataDir, SQLITE_FILE_NAME)));
      const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true });
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      db.close();
    } finally {
      await store.close();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  describe('migrations', () => {
    const readMigrations = (dataDir: string): { version: number; name: string }[] => {
      const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true });
      try {
        return db.prepare<[], { version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version').all();
      } finally {
        db.close();
      }
    };

    const all = loadMigrations('sqlite').map(({ version, name }) => ({ version, name }));

    it('applies each migration once and nothing on a restart', async () => {
      const fixture = await sqliteFixture();
      try {
        assert.deepEqual(readMigrations(fixture.dataDir), all);
        await fixture.reopen();
        await fixture.reopen();
        assert.deepEqual(readMigrations(fixture.dataDir), all);
      } finally {
        await fixture.dispose();
      }
    });

    it('upgrades a 001 database: every board gets an epoch and its entry count', async () => {
      const dataDir = tempDir('upgrade');
      try {
        const db = new Database(join(dataDir, SQLITE_FILE_NAME));
        migrateSqlite(db, loadMigrations('sqlite').filter((m) => m.version === 1));
        const insertBoard = db.prepare(`INSERT INTO boards (id, name, sort_order, operator, metadata, created_at, version) VALUES (?, ?, 'desc', 'best', NULL, 1, ?)`);
        const insertEntry = db.prepare(`INSERT INTO entries (board_id, participant_id, score, achieved_at, updated_at, metadata) VALUES (?, ?, 1, 1, 1, NULL)`);
        insertBoard.run('old', 'old', 7);
        insertBoard.run('empty', 'empty', 0);
        for (const participant of ['p1', 'p2', 'p3']) insertEntry.run('old', participant);
        db.close();

        const store = await openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'normal' });
        try {
          assert.deepEqual(readMigrations(dataDir), all);
          assert.equal(store.recovered, false, 'an upgrade is not a recovery');
          const old = await store.getBoard('old');
          const empty = await store.getBoard('empty');
          assert.match(old?.epoch ?? '', /^[0-9a-f]{12}$/);
          assert.match(empty?.epoch ?? '', /^[0-9a-f]{12}$/);
          assert.deepEqual([old?.version, old?.total], [7, 3]);
          assert.deepEqual([empty?.version, empty?.total], [0, 0]);
        } finally {
          await store.close();
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('upgrades a 002 database: its entries are the base state, its events the start of the log, until two checkpoints release the base', async () => {
      const dataDir = tempDir('upgrade-002');
      try {
        const db = new Database(join(dataDir, SQLITE_FILE_NAME));
        migrateSqlite(db, loadMigrations('sqlite').filter((m) => m.version <= 2));
        db.prepare(`INSERT INTO boards (id, name, sort_order, operator, metadata, created_at, version, epoch, total) VALUES ('old', 'old', 'desc', 'best', NULL, 1, 3, '0123456789ab', 250)`).run();
        db.prepare(`INSERT INTO boards (id, name, sort_order, operator, metadata, created_at, version, epoch, total) VALUES ('other', 'other', 'asc', 'latest', NULL, 1, 1, '0123456789ab', 1)`).run();
        const insertEntry = db.prepare(`INSERT INTO entries (board_id, participant_id, score, achieved_at, updated_at, metadata) VALUES (?, ?, ?, ?, ?, ?)`);
        const insertEvent = db.prepare(`
          INSERT INTO score_events (board_id, event_id, participant_id, submitted, timestamp, received_at, old_score, new_score, old_rank, new_rank, version, changed, metadata, entry_achieved_at, entry_updated_at, fingerprint)
          VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL, 1, ?, 1, ?, ?, ?, ?)`);
        const entries: Entry[] = Array.from({ length: 250 }, (_, i) => ({
          participantId: `p${i}`,
          score: (i * 37) % 101,
          achievedAt: 1_000 + i,
          updatedAt: 2_000 + i,
          metadata: i % 4 === 0 ? { name: `Zoë ${i}` } : null,
        }));
        for (const entry of entries) insertEntry.run('old', entry.participantId, entry.score, entry.achievedAt, entry.updatedAt, entry.metadata === null ? null : JSON.stringify(entry.metadata));
        insertEntry.run('other', 'solo', 5, 1, 1, null);
        // A few audit events of the old log (the entries are what they left behind).
        for (const [i, entry] of entries.slice(0, 3).entries()) {
          insertEvent.run('old', `old-${i}`, entry.participantId, entry.score, entry.achievedAt, entry.updatedAt, entry.score, i + 1, entry.metadata === null ? null : JSON.stringify(entry.metadata), entry.achievedAt, entry.updatedAt, `fp-${i}`);
        }
        insertEvent.run('other', 'solo-1', 'solo', 5, 1, 1, 5, 1, null, 1, 1, null);
        db.close();

        const rules: BoardRules = { id: 'old', sortOrder: 'desc', operator: 'best' };
        const warnings: string[] = [];
        let store = await openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'normal', onWarning: (message) => warnings.push(message) });
        try {
          assert.deepEqual(byParticipant(await store.loadEntries('old')), byParticipant(entries), 'every entry, metadata included');
          assert.deepEqual(await store.loadEntries('other'), [{ participantId: 'solo', score: 5, achievedAt: 1, updatedAt: 1, metadata: null }]);
          const loaded = store.loadBoardNow('old')!;
          assert.deepEqual([loaded.board.version, loaded.board.total, loaded.seq, loaded.replayed], [3, 250, 3, 0]);
          const oldEvent = await store.findEvent('old', 'old-1');
          assert.deepEqual([oldEvent?.seq, oldEvent?.participantId, oldEvent?.fingerprint, oldEvent?.metadata], [2, 'p1', 'fp-1', null]);
          assert.deepEqual((await store.listEvents('old', 0, 10)).map((event) => event.eventId), ['old-0', 'old-1', 'old-2']);

          // New events go on from there; the first checkpoint keeps the base as its fallback, the second releases it.
          const board = await BoardDriver.load(store, rules);
          await board.submit(Array.from({ length: 300 }, (_, i) => ({ participantId: `p${(i * 7) % 300}`, score: i, timestamp: 5_000 + i, eventId: `new-${i}`, metadata: i % 5 === 0 ? { round: i } : null }))).committed;
          await board.checkpoint();
          assert.equal(baseRows(dataDir, 'old'), 250, 'the base is kept while it backs the only checkpoint');
          await board.submit([{ participantId: 'p1', score: 10_000, timestamp: 9_000, eventId: 'last', metadata: null }]).committed;
          await board.checkpoint();
          await store.prune();
          assert.equal(baseRows(dataDir, 'old'), 0, 'released after the second checkpoint');
          assert.equal(baseRows(dataDir, 'other'), 1, 'another board keeps its base');
          const expected = entriesOfRanking(board.ranking);
          await store.close();
          store = await openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'normal', onWarning: (message) => warnings.push(message) });
          assert.deepEqual(entriesOfRanking(rankingOf(rules, store.loadBoardNow('old')!)), expected);
          assert.equal(expected.length, 300);
          assert.deepEqual(warnings, []);
        } finally {
          await store.close();
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    const tamper = async (sql: string, expected: RegExp): Promise<void> => {
      const dataDir = tempDir('tamper');
      try {
        await (await openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'normal' })).close();
        const db = new Database(join(dataDir, SQLITE_FILE_NAME));
        db.exec(sql);
        db.close();
        await assert.rejects(openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'normal' }), expected);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    };

    it('refuses a database migrated by a newer Ladder', () =>
      tamper(`INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, '999_future', 'x', 0)`, /999_future.*upgrade Ladder/));

    it('refuses a database whose applied migration differs from its file', () =>
      tamper(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1`, /001_initial was applied with a different text/));
  });

  describe('group commit', () => {
    it('commits concurrent calls of one window in one transaction', async () => {
      const fixture = await sqliteFixture({ commitIntervalMs: 20 });
      try {
        const store = fixture.store as SqliteStore;
        const boardId = await createBoard(store);
        const before = store.commitStats;
        await Promise.all(Array.from({ length: 200 }, (_, i) => store.appendEvents([event(boardId, i + 1, `p${i}`, i)])));
        const after = store.commitStats;
        assert.equal(after.commits - before.commits, 1);
        assert.equal(after.ops - before.ops, 200);
        assert.equal(after.events - before.events, 200);
      } finally {
        await fixture.dispose();
      }
    });

    it('batches the calls of one event-loop turn even with a zero window', async () => {
      const fixture = await sqliteFixture({ commitIntervalMs: 0 });
      try {
        const store = fixture.store as SqliteStore;
        const boardId = await createBoard(store);
        const before = store.commitStats.commits;
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.appendEvents([event(boardId, i + 1, `p${i}`, i)])));
        assert.equal(store.commitStats.commits - before, 1);
      } finally {
        await fixture.dispose();
      }
    });

    it('sends the calls that arrive during a commit together in the next one', async () => {
      const fixture = await sqliteFixture({ commitIntervalMs: 1 });
      try {
        const store = fixture.store as SqliteStore;
        const boardId = await createBoard(store);
        const before = store.commitStats.commits;
        // 100 callers that append 20 times each: every commit after the first
        // carries the calls that queued while the previous one ran.
        let version = 0;
        await Promise.all(
          Array.from({ length: 100 }, async (_, caller) => {
            for (let i = 0; i < 20; i++) await store.appendEvents([event(boardId, ++version, `p${caller}`, i)]);
          }),
        );
        const commits = store.commitStats.commits - before;
        assert.ok(commits <= 60, `2000 calls of 100 callers took ${commits} commits`);
        assert.equal((await store.getBoard(boardId))?.version, 2000);
      } finally {
        await fixture.dispose();
      }
    });

    it('fails the whole batch of an invalid event and every op queued behind it, then commits later ops normally', async () => {
      const fixture = await sqliteFixture({ commitIntervalMs: 0 });
      try {
        const store = fixture.store as SqliteStore;
        const epoch = newEpoch();
        const boardId = await createBoard(store, undefined, epoch);
        const key = apiKey();
        const otherBoard = `b-${randomBytes(4).toString('hex')}`;
        const before = store.commitStats;
        // A 1.5 score is refused by the STRICT table: a real failed INSERT.
        const batch = [
          store.appendEvents([event(boardId, 1, 'good1', 1, 'g1')]),
          store.appendEvents([event(boardId, 2, 'bad', 1.5, 'b1')]),
          store.createApiKey(key),
          store.appendEvents([event(boardId, 3, 'good2', 3, 'g2')]),
        ];
        // With a zero window the batch goes to the writer in the setImmediate
        // its first call scheduled. This one runs right after it, before the
        // writer's answer can arrive: these ops queue behind the batch.
        const queued = await new Promise<Promise<unknown>[]>((resolveQueued) =>
          setImmediate(() => resolveQueued([store.appendEvents([event(boardId, 4, 'queued', 4, 'q1')]), createBoard(store, otherBoard)])),
        );
        const results = await Promise.allSettled([...batch, ...queued]);
        for (const [i, result] of results.entries()) {
          assert.equal(result.status, 'rejected', `op ${i}`);
          assert.match(String((result as PromiseRejectedResult).reason), /SQLite commit failed: .*REAL/, `op ${i}`);
        }
        assert.deepEqual(store.commitStats, before, 'nothing was committed');
        const board = await store.getBoard(boardId);
        assert.deepEqual([board?.epoch, board?.version, board?.total], [epoch, 0, 0]);
        assert.deepEqual(await store.loadEntries(boardId), []);
        for (const eventId of ['g1', 'b1', 'g2', 'q1']) assert.equal(await store.findEvent(boardId, eventId), null, eventId);
        assert.equal(await store.findApiKey(key.hash), null);
        assert.equal(await store.getBoard(otherBoard), null);

        // Not latched: the next ops commit as usual, and are durable.
        await store.appendEvents([event(boardId, 5, 'later', 5, 'l1')]);
        await store.createApiKey(key);
        await createBoard(store, otherBoard);
        assert.ok(store.commitStats.commits > before.commits);
        const reopened = await fixture.reopen();
        assert.equal((await reopened.getBoard(boardId))?.version, 5);
        assert.equal((await reopened.findEvent(boardId, 'l1'))?.fingerprint, 'fp-l1');
        assert.equal((await reopened.findApiKey(key.hash))?.id, key.id);
        assert.notEqual(await reopened.getBoard(otherBoard), null);
      } finally {
        await fixture.dispose();
      }
    });

    it('isolates a failed op of another kind: the rest of its batch commits', async () => {
      const fixture = await sqliteFixture({ commitIntervalMs: 20 });
      try {
        const store = fixture.store as SqliteStore;
        const boardId = await createBoard(store);
        const key = apiKey();
        await store.createApiKey(key);
        const before = store.commitStats.commits;
        const results = await Promise.allSettled([
          store.appendEvents([event(boardId, 1, 'p1', 1, 'e1')]),
          store.createApiKey({ ...apiKey(), hash: key.hash }),
          store.appendEvents([event(boardId, 2, 'p2', 2, 'e2')]),
          store.revokeApiKey(key.id, 5),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
        );
        assert.equal(store.commitStats.commits - before, 1, 'one transaction');
        assert.equal((await store.getBoard(boardId))?.version, 2);
        assert.equal((await store.findApiKey(key.hash))?.revokedAt, 5);
      } finally {
        await fixture.dispose();
      }
    });

    it('rejects calls after close', async () => {
      const fixture = await sqliteFixture();
      const store = fixture.store;
      await store.close();
      await assert.rejects(store.appendEvents([event('x', 1, 'p', 1)]), /closed/);
      await assert.rejects(store.getBoard('x'), /closed/);
      await fixture.dispose();
    });
  });

  describe('data directory lock', () => {
    it('refuses a second open in the same process, naming LADDER_DATA_DIR, and opens again once the first closed', async () => {
      const fixture = await sqliteFixture();
      try {
        const store = fixture.store as SqliteStore;
        await assert.rejects(openSqliteStore({ dataDir: fixture.dataDir, commitIntervalMs: 2, sync: 'normal' }), isLockError(process.pid));
        // The refused open left the first store alone.
        const boardId = await createBoard(store);
        await store.appendEvents([event(boardId, 1, 'p1', 1)]);
        assert.equal((await store.getBoard(boardId))?.version, 1);
        const reopened = await fixture.reopen();
        assert.equal((await reopened.getBoard(boardId))?.version, 1);
      } finally {
        await fixture.dispose();
      }
    });

    it('refuses to open while another process holds the directory, and opens once it closed', { timeout: 30_000 }, async () => {
      const dataDir = tempDir('lock');
      const holder = startLockHolder(dataDir);
      try {
        const { pid, recovered } = await holder.ready;
        assert.equal(recovered, false, 'a new directory has nothing to recover');
        await assert.rejects(openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'normal' }), isLockError(pid));
        holder.child.stdin?.end();
        assert.equal(await holder.exited, 0);
        const store = await openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'normal' });
        assert.equal(store.recovered, false, 'the holder closed cleanly');
        await store.close();
      } finally {
        holder.child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('keeps another process out while this one holds the directory', { timeout: 30_000 }, async () => {
      const fixture = await sqliteFixture();
      const holder = startLockHolder(fixture.dataDir);
      try {
        assert.equal(await Promise.race([holder.exited, holder.ready.then(() => 'opened')]), 1);
        assert.match(holder.errors(), /LADDER_DATA_DIR/);
        assert.ok(holder.errors().includes(`pid ${process.pid}`), holder.errors());
      } finally {
        holder.child.kill('SIGKILL');
        await fixture.dispose();
      }
    });

    it('leaves no stale lock behind a SIGKILLed holder', { timeout: 30_000 }, async () => {
      const dataDir = tempDir('lock-kill');
      const holder = startLockHolder(dataDir);
      try {
        await holder.ready;
        holder.child.kill('SIGKILL');
        assert.equal(await holder.exited, 'SIGKILL');
        const store = await openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'normal' });
        assert.equal(store.recovered, true);
        await store.close();
      } finally {
        holder.child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe('recovery epochs', () => {
    it('starts a new directory as not recovered', async () => {
      const fixture = await sqliteFixture();
      try {
        assert.equal((fixture.store as SqliteStore).recovered, false);
      } finally {
        await fixture.dispose();
      }
    });

    it('keeps every epoch after a clean close, and is not recovered', async () => {
      const fixture = await sqliteFixture();
      try {
        const store = fixture.store as SqliteStore;
        const ids = [await createBoard(store), await createBoard(store), await createBoard(store)];
        await store.appendEvents([event(ids[0]!, 1, 'p1', 1)]);
        const epochs = await epochsOf(store);
        for (let restart = 0; restart < 2; restart++) {
          const reopened = (await fixture.reopen()) as SqliteStore;
          assert.equal(reopened.recovered, false);
          assert.deepEqual(await epochsOf(reopened), epochs);
        }
      } finally {
        await fixture.dispose();
      }
    });

    it('gives every board a new epoch after a SIGKILLed process, and keeps its state', { timeout: 30_000 }, async () => {
      const fixture = await sqliteFixture();
      try {
        const store = fixture.store as SqliteStore;
        const ids = [await createBoard(store), await createBoard(store), await createBoard(store)];
        await store.appendEvents([event(ids[0]!, 1, 'p1', 1), event(ids[0]!, 2, 'p2', 2), event(ids[1]!, 1, 'p1', 1)]);
        const before = new Map((await store.listBoards()).map((board) => [board.config.id, board]));
        await store.close();

        const holder = startLockHolder(fixture.dataDir);
        try {
          assert.equal((await holder.ready).recovered, false, 'the close before was clean');
        } finally {
          holder.child.kill('SIGKILL');
        }
        assert.equal(await holder.exited, 'SIGKILL');

        const reopened = (await fixture.reopen()) as SqliteStore;
        assert.equal(reopened.recovered, true);
        const after = new Map((await reopened.listBoards()).map((board) => [board.config.id, board]));
        assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
        for (const [id, board] of before) {
          const now = after.get(id)!;
          assert.match(now.epoch, /^[0-9a-f]{12}$/);
          assert.notEqual(now.epoch, board.epoch, `board ${id} has a new epoch`);
          assert.deepEqual({ ...now, epoch: board.epoch }, board, `board ${id} keeps its config, version and total`);
        }
        // The recovery is recorded once: a clean close after it is clean again.
        const recoveredEpochs = await epochsOf(reopened);
        const again = (await fixture.reopen()) as SqliteStore;
        assert.equal(again.recovered, false);
        assert.deepEqual(await epochsOf(again), recoveredEpochs);
      } finally {
        await fixture.dispose();
      }
    });
  });

  it('loses no acknowledged event when the process is killed (SIGKILL) mid-stream', { timeout: 60_000 }, async () => {
    const dataDir = tempDir('crash');
    const boardId = 'crash-board';
    const acknowledged = new Map<string, number>();
    const epochs: string[] = [];
    try {
      for (const [round, sync] of (['normal', 'full', 'normal'] as const).entries()) {
        const killAfter = 300 + Math.floor(Math.random() * 2000);
        const lines = await runWriterUntilKilled(dataDir, boardId, `r${round}`, sync, killAfter);
        assert.ok(lines.length >= killAfter, `round ${round}: the writer acknowledged only ${lines.length} events`);
        for (const line of lines) {
          const [eventId, version] = line.split(' ');
          acknowledged.set(eventId!, Number(version));
        }
        const store = await openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'full' });
        try {
          const lost: string[] = [];
          for (const id of acknowledged.keys()) if ((await store.findEvent(boardId, id)) === null) lost.push(id);
          assert.deepEqual(lost.slice(0, 10), [], `round ${round}: ${lost.length} of ${acknowledged.size} acknowledged events lost`);
          const board = await store.getBoard(boardId);
          assert.ok((board?.version ?? 0) >= Math.max(...acknowledged.values()), 'the version covers every acknowledged event');
          assert.equal(store.recovered, true, `round ${round}: the writer was killed`);
          assert.ok(board !== null && !epochs.includes(board.epoch), `round ${round}: a new epoch`);
          epochs.push(board.epoch);
        } finally {
          await store.close();
        }
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  describe('from compiled JavaScript (the dist layout)', () => {
    // tsc compiles the store into <tmp>/dist, next to symlinks to src/ and
    // node_modules/, as in the package: the writer worker is then a .js file
    // and the migrations are found through ../../src/store/migrations.
    let root = '';
    before(() => {
      root = tempDir('dist');
      symlinkSync(join(repoRoot, 'src'), join(root, 'src'), 'dir');
      symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
      writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
      const tsc = spawnSync(
        process.execPath,
        [
          join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
          ...['--outDir', join(root, 'dist'), '--rootDir', join(repoRoot, 'src'), '--module', 'nodenext', '--moduleResolution', 'nodenext'],
          ...['--target', 'es2022', '--types', 'node', '--skipLibCheck', '--esModuleInterop', join(repoRoot, 'src', 'store', 'sqlite.ts'), join(repoRoot, 'src', 'store', 'sqlite-worker.ts')],
        ],
        // cwd without a tsconfig.json: tsc refuses to mix one with file arguments.
        { cwd: root, encoding: 'utf8' },
      );
      assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    it('opens, migrates, commits through the worker and reopens', { timeout: 30_000 }, () => {
      const dataDir = join(root, 'data');
      mkdirSync(dataDir);
      const script = `
        import { openSqliteStore } from './dist/store/sqlite.js';
        import { BOARD_DEFAULTS } from './dist/core/board.js';
        const options = { dataDir: ${JSON.stringify(dataDir)}, commitIntervalMs: 2, sync: 'full' };
        let store = await openSqliteStore(options);
        await store.createBoard({ ...BOARD_DEFAULTS, id: 'b', name: 'b', sortOrder: 'desc', operator: 'best', metadata: null, createdAt: 1 }, '0123456789ab');
        const entry = { participantId: 'p', score: 9007199254740991, achievedAt: 1, updatedAt: 1, metadata: null };
        await store.appendEvents([{ boardId: 'b', seq: 1, eventId: 'e', participantId: 'p', submitted: entry.score, timestamp: 1, receivedAt: 1,
          oldScore: null, newScore: entry.score, oldRank: null, newRank: 1, version: 1, changed: true, metadata: null, entry, fingerprint: 'fp' }]);
        await store.close();
        store = await openSqliteStore(options);
        const board = await store.getBoard('b');
        const entries = await store.loadEntries('b');
        const fingerprint = (await store.findEvent('b', 'e')).fingerprint;
        const recovered = store.recovered;
        await store.close();
        console.log(JSON.stringify({ epoch: board.epoch, version: board.version, total: board.total, fingerprint, recovered, entries }));
      `;
      writeFileSync(join(root, 'check.mjs'), script);
      const run = spawnSync(process.execPath, ['check.mjs'], { cwd: root, encoding: 'utf8', timeout: 20_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), {
        epoch: '0123456789ab',
        version: 1,
        total: 1,
        fingerprint: 'fp',
        recovered: false,
        entries: [{ participantId: 'p', score: 9007199254740991, achievedAt: 1, updatedAt: 1, metadata: null }],
      });
    });
  });
});

interface LockHolder {
  readonly child: ChildProcess;
  /** Resolves once the holder has the store open. */
  readonly ready: Promise<{ pid: number; recovered: boolean }>;
  /** Resolves with the exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals>;
  errors(): string;
}

/** Starts test/fixtures/store-lock-holder.ts on the directory; ending its stdin closes it cleanly. */
function startLockHolder(dataDir: string): LockHolder {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'fixtures', 'store-lock-holder.ts'), dataDir], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolveExit) => child.on('exit', (code, signal) => resolveExit(signal ?? code ?? 0)));
  const ready = new Promise<{ pid: number; recovered: boolean }>((resolveReady, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n');
      if (end >= 0) resolveReady(JSON.parse(stdout.slice(0, end)) as { pid: number; recovered: boolean });
    });
    void exited.then((code) => reject(new Error(`the lock holder exited (${code}) before it was ready: ${stderr}`)));
  });
  // A test that expects the holder to fail never awaits `ready`.
  ready.catch(() => {});
  return { child, ready, exited, errors: () => stderr };
}

/** Runs the crash writer until it has acknowledged `killAfter` events, SIGKILLs it, and returns every complete line it printed. */
function runWriterUntilKilled(dataDir: string, boardId: string, runTag: string, sync: 'full' | 'normal', killAfter: number): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'fixtures', 'store-crash-writer.ts'), dataDir, boardId, runTag, sync], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    let stderr = '';
    const lines: string[] = [];
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const complete = buffered.lastIndexOf('\n');
      if (complete < 0) return;
      lines.push(...buffered.slice(0, complete).split('\n'));
      buffered = buffered.slice(complete + 1);
      if (!killed && lines.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      // A partial last line is an id the writer had not finished printing.
      if (signal === 'SIGKILL' && killed) resolvePromise(lines);
      else reject(new Error(`the crash writer ended before it was killed (code ${code}, signal ${signal}): ${stderr}`));
    });
    setTimeout(() => {
      if (!killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    }, 30_000).unref();
  });
}
