/**
 * The PostgreSQL store against a real server, in a database of its own: the
 * store conformance suite, then what is PostgreSQL's own: migrations that
 * race, redelivered events, retention by partition, and failures of the
 * database (unreachable at start, connections killed mid-way).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { newEpoch } from '../src/core/epoch.js';
import { LadderError } from '../src/core/errors.js';
import type { BoardConfig, BoardRules, Entry, Submission } from '../src/core/types.js';
import { PostgresStore, type PostgresStoreOptions } from '../src/store/postgres.js';
import { createPartitions, DAY_MS, partitionDays, partitionName } from '../src/store/postgres-partitions.js';
import type { LoadedBoard, ScoreEvent } from '../src/store/store.js';
import { entriesOf, storeConformance, type StoreFixture } from './conformance/store.js';
import { BoardDriver, entriesOfRanking, rankingOf } from './helpers/board-driver.js';
import { skipWithoutPostgres, TestDatabase } from './helpers/postgres.js';
import { newEntryEvent as event } from './helpers/store-events.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';

const skip = await skipWithoutPostgres('the PostgreSQL store tests (the store conformance suite and test/store-postgres.test.ts)');

describe('PostgresStore', { skip }, () => {
  let db: TestDatabase;
  let partitions: pg.Pool | null = null;
  before(async () => {
    db = await TestDatabase.create();
  });
  after(async () => {
    await partitions?.end();
    await db?.drop();
  });

  /** A pool of the test's own, for partition DDL and catalog reads. */
  function partitionPool(): pg.Pool {
    partitions ??= new pg.Pool({ connectionString: db.url, max: 1 });
    return partitions;
  }

  async function postgresFixture(options: Partial<PostgresStoreOptions> = {}): Promise<StoreFixture & { readonly warnings: string[] }> {
    const warnings: string[] = [];
    const open = (): Promise<PostgresStore> => PostgresStore.open({ url: db.url, poolSize: 4, onWarning: (message) => warnings.push(message), ...options });
    let current = await open();
    return {
      warnings,
      store: current,
      async reopen() {
        await current.close();
        current = await open();
        return current;
      },
      async dispose() {
        await current.close();
        assert.deepEqual(warnings, [], 'unexpected store warnings');
      },
    };
  }

  storeConformance('postgres', () => postgresFixture());

  /** Runs the test with a fixture whose store has these options. */
  async function withStore(options: Partial<PostgresStoreOptions>, test: (store: PostgresStore, fixture: StoreFixture & { readonly warnings: string[] }) => Promise<void>): Promise<void> {
    const fixture = await postgresFixture(options);
    try {
      await test(fixture.store as PostgresStore, fixture);
    } finally {
      await fixture.dispose();
    }
  }

  describe('migrations', () => {
    it('migrates an empty database once when two stores open it at the same moment', async () => {
      const fresh = await TestDatabase.create();
      try {
        const stores = await Promise.all([1, 2].map(() => PostgresStore.open({ url: fresh.url, poolSize: 2 })));
        try {
          assert.deepEqual(stores.map((store) => store.migrated).sort((a, b) => b.length - a.length), [[1, 2], []], 'one applied every migration, the other found them applied');
          assert.deepEqual(await fresh.query('SELECT version, name FROM schema_migrations ORDER BY version'), [{ version: 1, name: '001_initial' }, { version: 2, name: '002_lifecycle' }]);
          // Both work on the one schema.
          const id = boardId();
          await stores[0]!.createBoard(rules(id), newEpoch());
          await stores[1]!.appendEvents([event(id, 1, 'p1', 5)]);
          assert.equal((await stores[0]!.getBoard(id))?.version, 1);
        } finally {
          await Promise.all(stores.map((store) => store.close()));
        }
        const reopened = await PostgresStore.open({ url: fresh.url, poolSize: 2 });
        assert.deepEqual(reopened.migrated, []);
        await reopened.close();
      } finally {
        await fresh.drop();
      }
    });

    it('refuses a database whose applied migration differs from its file', async () => {
      const fresh = await TestDatabase.create();
      try {
        await (await PostgresStore.open({ url: fresh.url, poolSize: 2 })).close();
        await fresh.query(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1`);
        await assert.rejects(PostgresStore.open({ url: fresh.url, poolSize: 2 }), /001_initial was applied with a different text/);
      } finally {
        await fresh.drop();
      }
    });
  });

  describe('group commit', () => {
    it('commits the concurrent calls of one window in one transaction', () =>
      withStore({ commitIntervalMs: 20 }, async (store) => {
        const id = boardId();
        await store.createBoard(rules(id), newEpoch());
        const before = store.commitStats;
        await Promise.all(Array.from({ length: 200 }, (_, i) => store.appendEvents([event(id, i + 1, `p${i}`, i, `e${i}`)])));
        assert.deepEqual(store.commitStats, { commits: before.commits + 1, calls: before.calls + 200, events: before.events + 200 });
        assert.deepEqual([(await store.getBoard(id))?.version, (await store.getBoard(id))?.total], [200, 200]);
      }));

    it('sends the calls that arrive during a commit together in the next one', () =>
      withStore({ commitIntervalMs: 0 }, async (store) => {
        const id = boardId();
        await store.createBoard(rules(id), newEpoch());
        const before = store.commitStats.commits;
        let version = 0;
        await Promise.all(
          Array.from({ length: 50 }, async (_, caller) => {
            for (let i = 0; i < 10; i++) await store.appendEvents([event(id, ++version, `p${caller}`, i)]);
          }),
        );
        const commits = store.commitStats.commits - before;
        assert.ok(commits <= 30, `500 calls of 50 callers took ${commits} commits`);
        assert.equal((await store.getBoard(id))?.version, 500);
      }));
  });

  describe('redelivered events', () => {
    it('drops an event whose (board, seq) is logged already, with or without an event id, and logs the ones that come late', () =>
      withStore({}, async (store) => {
        const id = boardId();
        await store.createBoard(rules(id), newEpoch());
        const events = Array.from({ length: 20 }, (_, i) => event(id, i + 1, `p${i % 7}`, 100 + i, i % 2 === 0 ? `e${i}` : null));
        // A persister that appends 11..20, then claims 1..10 from a consumer that died before it appended them.
        await store.appendEvents(events.slice(10));
        await store.appendEvents(events.slice(0, 10));
        const logged = await store.listEvents(id, 0, 100);
        assert.equal(logged.length, 20, 'the late events are logged: their seqs were not');
        const before = await store.getBoard(id);
        const loaded = await entriesOf(store, id);
        // Everything is redelivered again, in one call and in several, and within one call twice.
        await store.appendEvents(events);
        await Promise.all([store.appendEvents(events.slice(0, 5)), store.appendEvents(events.slice(5)), store.appendEvents([events[3]!, events[3]!])]);
        assert.deepEqual(await store.getBoard(id), before, 'neither the version nor the total moved');
        assert.deepEqual(await store.listEvents(id, 0, 100), logged);
        assert.deepEqual(byParticipant(await entriesOf(store, id)), byParticipant(loaded));
        assert.equal((await store.loadBoard(id))?.replayed, 20);
      }));

    it('logs a redelivered event once when two processes append it at the same moment', () =>
      withStore({}, async (store, fixture) => {
        const other = await PostgresStore.open({ url: db.url, poolSize: 2 });
        try {
          const id = boardId();
          await store.createBoard(rules(id), newEpoch());
          const events = Array.from({ length: 50 }, (_, i) => event(id, i + 1, `p${i}`, i, i % 3 === 0 ? null : `e${i}`));
          await Promise.all([store.appendEvents(events), other.appendEvents(events), store.appendEvents(events.slice(25)), other.appendEvents(events.slice(0, 30))]);
          assert.equal((await store.listEvents(id, 0, 1000)).length, 50);
          assert.deepEqual([(await store.getBoard(id))?.version, (await store.getBoard(id))?.total], [50, 50]);
        } finally {
          await other.close();
        }
        assert.deepEqual(fixture.warnings, []);
      }));
  });

  describe('audit-log retention', () => {
    it('drops the partitions of days before the cutoff, keeping every event after its board checkpoint', () =>
      withStore({ auditRetentionDays: 2 }, async (store) => {
        const now = Date.now();
        const oldDay = Math.floor((now - 10 * DAY_MS) / DAY_MS) * DAY_MS;
        await createPartitions(partitionPool(), now - 12 * DAY_MS, now, (message) => assert.fail(message));
        // A board checkpointed after its old events, and a quiet one never checkpointed.
        const busy: BoardRules = { id: boardId(), sortOrder: 'desc', operator: 'best' };
        const quiet: BoardRules = { id: boardId(), sortOrder: 'asc', operator: 'latest' };
        for (const board of [busy, quiet]) await store.createBoard({ ...BOARD_DEFAULTS, ...board, name: board.id, metadata: null, createdAt: 1 }, newEpoch());
        const busyBoard = await BoardDriver.load(store, busy);
        const quietBoard = await BoardDriver.load(store, quiet);
        const busyOld = busyBoard.submit(submissions('old', 100, 30), oldDay + 1000).events;
        const quietOld = quietBoard.submit(submissions('old', 20, 10), oldDay + 2000).events;
        await busyBoard.checkpoint();
        const busyAfter = busyBoard.submit(submissions('after', 50, 30), oldDay + 3000).events;
        const busyRecent = busyBoard.submit(submissions('recent', 50, 30), now).events;
        await Promise.all([busyBoard.submit([], now).committed, quietBoard.submit([], now).committed]);
        assert.ok((await partitionDays(partitionPool())).includes(oldDay));

        await store.maintain();
        assert.ok(!(await partitionDays(partitionPool())).includes(oldDay), `${partitionName(oldDay)} is dropped`);
        assert.deepEqual(
          (await store.listEvents(busy.id, 0, 1000)).map((e) => e.seq),
          [...busyAfter, ...busyRecent].map((e) => e.seq),
          'the busy board keeps what came after its checkpoint',
        );
        assert.deepEqual(await store.listEvents(quiet.id, 0, 1000), quietOld.map(asLogged), 'the quiet board keeps everything');
        assert.equal(await store.findEvent(busy.id, busyOld[0]!.eventId!), null, 'a dropped event id is forgotten');
        assert.deepEqual(await store.findEvent(busy.id, busyAfter[0]!.eventId!), asLogged(busyAfter[0]!));
        assert.deepEqual(await store.findEvent(quiet.id, quietOld[0]!.eventId!), asLogged(quietOld[0]!));
        for (const [board, driver] of [[busy, busyBoard], [quiet, quietBoard]] as const) {
          assert.deepEqual(loadedEntries(board, (await store.loadBoard(board.id))!), entriesOfRanking(driver.ranking), `${board.id} loads whole`);
        }

        // Once checkpointed, the quiet board's old events (kept in the default partition) go too.
        await quietBoard.checkpoint();
        await store.maintain();
        assert.deepEqual(await store.listEvents(quiet.id, 0, 1000), []);
        assert.equal(await store.findEvent(quiet.id, quietOld[0]!.eventId!), null);
        assert.deepEqual(loadedEntries(quiet, (await store.loadBoard(quiet.id))!), entriesOfRanking(quietBoard.ranking));
        assert.equal((await store.listEvents(busy.id, 0, 1000)).length, 100, 'the busy board lost nothing more');
      }));

    it('keeps every partition without a retention period', () =>
      withStore({ auditRetentionDays: 0 }, async (store) => {
        const now = Date.now();
        await createPartitions(partitionPool(), now - 30 * DAY_MS, now - 29 * DAY_MS, (message) => assert.fail(message));
        const before = await partitionDays(partitionPool());
        await store.maintain();
        assert.deepEqual((await partitionDays(partitionPool())).filter((day) => before.includes(day)), before);
      }));
  });

  describe('database failures', () => {
    it('refuses to open an unreachable database, naming LADDER_DATABASE_URL and the cause, without the password', async () => {
      await assert.rejects(PostgresStore.open({ url: 'postgres://ladder:secret@127.0.0.1:1/ladder' }), (err: Error) => {
        assert.match(err.message, /LADDER_DATABASE_URL/);
        assert.match(err.message, /ECONNREFUSED/);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      });
      const missing = new URL(db.url);
      missing.pathname = `/ladder_missing_${randomBytes(4).toString('hex')}`;
      await assert.rejects(PostgresStore.open({ url: missing.toString() }), /LADDER_DATABASE_URL.*does not exist/);
    });

    it('rejects the appends whose connection is killed with storage_failed, and commits later ones on new connections', () =>
      withStore({}, async (store, fixture) => {
        const id = boardId();
        await store.createBoard(rules(id), newEpoch());
        await store.appendEvents([event(id, 1, 'p1', 1)]);
        // The test holds the board's row, so the next commit waits on it, mid-transaction, until its connection is killed.
        const holder = new pg.Client({ connectionString: db.url });
        await holder.connect();
        try {
          await holder.query('BEGIN');
          await holder.query('SELECT 1 FROM boards WHERE id = $1 FOR UPDATE', [id]);
          const pending = store.appendEvents([event(id, 2, 'p2', 2, 'killed')]);
          pending.catch(() => {});
          await waitFor(async () => (await holder.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'ladder' AND wait_event_type = 'Lock'`)).rowCount === 1);
          // Every connection of the store: the one waiting and the idle ones.
          const killed = await holder.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ladder' AND datname = current_database()`);
          assert.ok((killed.rowCount ?? 0) >= 1);
          await assert.rejects(pending, (err: unknown) => err instanceof LadderError && err.code === 'storage_failed' && err.status === 503);
          await holder.query('ROLLBACK');
        } finally {
          await holder.end();
        }
        assert.equal(await store.findEvent(id, 'killed'), null);
        const later = event(id, 3, 'p3', 3, 'later');
        await store.appendEvents([later]);
        assert.deepEqual(await store.findEvent(id, 'later'), later);
        assert.deepEqual([(await store.getBoard(id))?.version, (await store.getBoard(id))?.total], [3, 2]);
        // Idle connections killed with it are reported, not thrown.
        assert.ok(fixture.warnings.every((message) => /broke while idle/.test(message)), fixture.warnings.join('\n'));
        fixture.warnings.length = 0;
      }));
  });
});

function boardId(): string {
  return `pg-${randomBytes(6).toString('hex')}`;
}

/** A new board's config. */
function rules(id: string): BoardConfig {
  return { ...BOARD_DEFAULTS, id, name: id, sortOrder: 'desc', operator: 'best', metadata: null, createdAt: 1 };
}

/** `count` submissions of participants p0..p(participants-1), with event ids tagged `tag`, metadata now and then. */
function submissions(tag: string, count: number, participants: number): Submission[] {
  return Array.from({ length: count }, (_, i) => ({
    participantId: `p${(i * 7) % participants}`,
    score: (i * 37) % 1000,
    timestamp: 1_000 + i,
    eventId: `${tag}-${i}`,
    metadata: i % 5 === 0 ? { tag, i } : null,
  }));
}

/** The event as the log reads it back: its entry's metadata is the event's own (store.ts findEvent). */
function asLogged(event: ScoreEvent): ScoreEvent {
  return { ...event, entry: { ...event.entry, metadata: event.metadata } };
}

function byParticipant(entries: readonly Entry[]): Entry[] {
  return [...entries].sort((a, b) => (a.participantId < b.participantId ? -1 : 1));
}

/** The board's entries as a ranking rebuilt from what loadBoard read. */
function loadedEntries(board: BoardRules, loaded: LoadedBoard): Entry[] {
  return entriesOfRanking(rankingOf(board, loaded));
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
