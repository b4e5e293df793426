import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Entry } from '../src/core/types.js';
import { openSqliteStore, SQLITE_FILE_NAME, type SqliteStore, type SqliteStoreOptions } from '../src/store/sqlite.js';
import type { ScoreEvent } from '../src/store/store.js';
import { storeConformance, type StoreFixture } from './conformance/store.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ladder-${prefix}-`));
}

async function sqliteFixture(options: Partial<SqliteStoreOptions> = {}): Promise<StoreFixture & { readonly dataDir: string }> {
  const dataDir = tempDir('sqlite');
  const open = (): Promise<SqliteStore> => openSqliteStore({ dataDir, commitIntervalMs: 2, sync: 'full', ...options });
  let current = await open();
  return {
    dataDir,
    store: current,
    async reopen() {
      await current.close();
      current = await open();
      return current;
    },
    async dispose() {
      await current.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

storeConformance('sqlite', () => sqliteFixture());

function event(boardId: string, version: number, participantId: string, score: number, eventId: string | null = null): ScoreEvent {
  const entry: Entry = { participantId, score, achievedAt: version, updatedAt: version, metadata: null };
  return { boardId, eventId, participantId, submitted: score, timestamp: version, receivedAt: version, oldScore: null, newScore: score, oldRank: null, newRank: 1, version, changed: true, metadata: null, entry };
}

async function createBoard(store: SqliteStore, id = `b-${randomBytes(4).toString('hex')}`): Promise<string> {
  await store.createBoard({ id, name: id, sortOrder: 'desc', operator: 'best', metadata: null, createdAt: 1 });
  return id;
}

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

    it('applies each migration once and nothing on a restart', async () => {
      const fixture = await sqliteFixture();
      try {
        assert.deepEqual(readMigrations(fixture.dataDir), [{ version: 1, name: '001_initial' }]);
        await fixture.reopen();
        await fixture.reopen();
        assert.deepEqual(readMigrations(fixture.dataDir), [{ version: 1, name: '001_initial' }]);
      } finally {
        await fixture.dispose();
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

    it('rejects calls after close', async () => {
      const fixture = await sqliteFixture();
      const store = fixture.store;
      await store.close();
      await assert.rejects(store.appendEvents([event('x', 1, 'p', 1)]), /closed/);
      await assert.rejects(store.getBoard('x'), /closed/);
      await fixture.dispose();
    });
  });

  it('loses no acknowledged event when the process is killed (SIGKILL) mid-stream', { timeout: 60_000 }, async () => {
    const dataDir = tempDir('crash');
    const boardId = 'crash-board';
    const acknowledged = new Map<string, number>();
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
        const options = { dataDir: ${JSON.stringify(dataDir)}, commitIntervalMs: 2, sync: 'full' };
        let store = await openSqliteStore(options);
        await store.createBoard({ id: 'b', name: 'b', sortOrder: 'desc', operator: 'best', metadata: null, createdAt: 1 });
        const entry = { participantId: 'p', score: 9007199254740991, achievedAt: 1, updatedAt: 1, metadata: null };
        await store.appendEvents([{ boardId: 'b', eventId: 'e', participantId: 'p', submitted: entry.score, timestamp: 1, receivedAt: 1,
          oldScore: null, newScore: entry.score, oldRank: null, newRank: 1, version: 1, changed: true, metadata: null, entry }]);
        await store.close();
        store = await openSqliteStore(options);
        const board = await store.getBoard('b');
        const entries = await store.loadEntries('b');
        await store.close();
        console.log(JSON.stringify({ version: board.version, entries }));
      `;
      writeFileSync(join(root, 'check.mjs'), script);
      const run = spawnSync(process.execPath, ['check.mjs'], { cwd: root, encoding: 'utf8', timeout: 20_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), { version: 1, entries: [{ participantId: 'p', score: 9007199254740991, achievedAt: 1, updatedAt: 1, metadata: null }] });
    });
  });
});

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
