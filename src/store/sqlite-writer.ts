/**
 * The SQLite store's one write connection. It applies the schema migrations
 * when it opens, then commits batches of write operations, each batch in one
 * transaction. It is synchronous (better-sqlite3), so the store runs it in a
 * worker thread (sqlite-worker.ts) and the fsync of a commit never blocks the
 * main event loop.
 */
import Database from 'better-sqlite3';
import { newEpoch } from '../core/epoch.js';
import { loadMigrations, planMigrations, type AppliedMigration, type Migration } from './migrate.js';
import type { ApiKeyRow, EventRow, NewBoardRow } from './sqlite-rows.js';
import * as SQL from './sqlite-sql.js';

export type SyncMode = 'full' | 'normal';

export interface WriterOptions {
  /** Path of the database file. */
  readonly file: string;
  /** full: every commit survives power loss. normal: it survives a process crash. */
  readonly sync: SyncMode;
}

/** One write the store asked for. A batch of them shares a transaction. */
export type WriteOp =
  | { readonly kind: 'append'; readonly events: readonly EventRow[] }
  | { readonly kind: 'createBoard'; readonly board: NewBoardRow }
  | { readonly kind: 'deleteBoard'; readonly boardId: string }
  | { readonly kind: 'setEpoch'; readonly boardId: string; readonly epoch: string }
  | { readonly kind: 'createApiKey'; readonly key: ApiKeyRow }
  | { readonly kind: 'revokeApiKey'; readonly id: string; readonly at: number };

/**
 * The outcome of one op. `done` is false when createBoard found the id taken,
 * or deleteBoard, setEpoch or revokeApiKey found nothing to change. A failed
 * op changed nothing.
 */
export type OpResult = { readonly ok: true; readonly done: boolean } | { readonly ok: false; readonly message: string; readonly code: string | null };

export class SqliteWriter {
  private readonly db: Database.Database;
  private readonly insertBoard: Database.Statement<[NewBoardRow]>;
  private readonly deleteBoard: Database.Statement<[string]>;
  private readonly setEpoch: Database.Statement<[{ board_id: string; epoch: string }]>;
  private readonly revokeApiKey: Database.Statement<[{ id: string; revoked_at: number }]>;
  private readonly setMeta: Database.Statement<[{ key: string; value: string }]>;
  private readonly boardExists: Database.Statement<[string], number>;
  private readonly raiseVersion: Database.Statement<[{ board_id: string; version: number; added: number }]>;
  private readonly insertEvent: Database.Statement<[EventRow]>;
  private readonly upsertEntry: Database.Statement<[EventRow]>;
  private readonly insertApiKey: Database.Statement<[ApiKeyRow]>;
  private readonly commitAll: Database.Transaction<(ops: readonly WriteOp[]) => OpResult[]>;
  private readonly commitEachIsolated: Database.Transaction<(ops: readonly WriteOp[]) => OpResult[]>;
  private readonly applyInSavepoint: Database.Transaction<(op: WriteOp) => boolean>;
  /** Versions applied when this writer opened the database. */
  readonly migrated: number[];
  /**
   * True when the last process that had the database open did not close it
   * cleanly (a crash, kill -9): it may have shown changes it never
   * committed, so every board got a new epoch.
   */
  readonly recovered: boolean;

  constructor(options: WriterOptions) {
    this.db = new Database(options.file);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.sync === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      // After a checkpoint, truncate a WAL that a burst grew beyond 64 MiB.
      this.db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      this.migrated = migrateSqlite(this.db, loadMigrations('sqlite')).map((m) => m.version);
      this.setMeta = this.db.prepare(SQL.SET_META);
      this.recovered = this.db.transaction(() => {
        // No marker at all: a new database, or one this version never opened
        // (its boards still need a first epoch), so nothing was recovered.
        const marker = this.db.prepare<[string], string>(SQL.SELECT_META).pluck().get('clean_shutdown');
        if (marker !== '1') this.db.prepare(SQL.SET_EVERY_EPOCH).run(newEpoch());
        this.setMeta.run({ key: 'clean_shutdown', value: '0' });
        return marker === '0';
      }).immediate();
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.insertBoard = this.db.prepare(SQL.INSERT_BOARD);
    this.deleteBoard = this.db.prepare(SQL.DELETE_BOARD);
    this.setEpoch = this.db.prepare(SQL.SET_BOARD_EPOCH);
    this.revokeApiKey = this.db.prepare(SQL.REVOKE_API_KEY);
    this.boardExists = this.db.prepare<[string], number>(SQL.BOARD_EXISTS).pluck();
    this.raiseVersion = this.db.prepare(SQL.RAISE_BOARD_VERSION);
    this.insertEvent = this.db.prepare(SQL.INSERT_EVENT);
    this.upsertEntry = this.db.prepare(SQL.UPSERT_ENTRY);
    this.insertApiKey = this.db.prepare(SQL.INSERT_API_KEY);
    this.commitAll = this.db.transaction((ops: readonly WriteOp[]) => ops.map((op): OpResult => ({ ok: true, done: this.apply(op) })));
    // Nested better-sqlite3 transactions are savepoints: an op that throws is
    // rolled back alone and the rest of the batch still commits.
    this.applyInSavepoint = this.db.transaction((op: WriteOp) => this.apply(op));
    this.commitEachIsolated = this.db.transaction((ops: readonly WriteOp[]) => ops.map((op) => this.applyIsolated(op)));
  }

  /**
   * Applies the ops in one transaction (BEGIN IMMEDIATE ... COMMIT) and
   * returns one result per op; an op that fails changes nothing and fails
   * alone. Throws when the transaction itself fails; then nothing of the
   * batch is committed.
   */
  commit(ops: readonly WriteOp[]): OpResult[] {
    try {
      return this.commitAll.immediate(ops);
    } catch {
      // Rare (a duplicate API key): the whole attempt was rolled back, so redo
      // it with a savepoint per op, which isolates the failure. A savepoint
      // per op on every batch would cost about a third more.
      return this.commitEachIsolated.immediate(ops);
    }
  }

  /** Records the clean shutdown (everything queued is committed), then closes. */
  close(): void {
    this.setMeta.run({ key: 'clean_shutdown', value: '1' });
    this.db.close();
  }

  private applyIsolated(op: WriteOp): OpResult {
    try {
      return { ok: true, done: this.applyInSavepoint(op) };
    } catch (err) {
      // SQLite rolls the whole transaction back on some errors (disk full,
      // I/O); the rest of the batch must not then run outside a transaction.
      // Events never fail alone: the live ranking already built later
      // submissions on them, so the whole batch fails and the boards are
      // reloaded from what is durable (backend/embedded.ts).
      if (!this.db.inTransaction || op.kind === 'append') throw err;
      const code = (err as { code?: unknown }).code;
      return { ok: false, message: err instanceof Error ? err.message : String(err), code: typeof code === 'string' ? code : null };
    }
  }

  private apply(op: WriteOp): boolean {
    switch (op.kind) {
      case 'append':
        this.append(op.events);
        return true;
      case 'createBoard':
        return this.insertBoard.run(op.board).changes > 0;
      case 'deleteBoard':
        return this.deleteBoard.run(op.boardId).changes > 0;
      case 'setEpoch':
        return this.setEpoch.run({ board_id: op.boardId, epoch: op.epoch }).changes > 0;
      case 'createApiKey':
        this.insertApiKey.run(op.key);
        return true;
      case 'revokeApiKey':
        return this.revokeApiKey.run({ id: op.id, revoked_at: op.at }).changes > 0;
    }
  }

  /**
   * Events of a board that no longer exists are dropped, and so is an event
   * whose (board, event id) is already logged: neither its entry nor the
   * version is touched then, as the first event with that id already did it.
   */
  private append(events: readonly EventRow[]): void {
    const boardExists = new Map<string, boolean>();
    const raised = new Map<string, { board_id: string; version: number; added: number }>();
    for (const event of events) {
      let exists = boardExists.get(event.board_id);
      if (exists === undefined) {
        exists = this.boardExists.get(event.board_id) !== undefined;
        boardExists.set(event.board_id, exists);
      }
      if (!exists) continue;
      if (this.insertEvent.run(event).changes === 0) continue;
      this.upsertEntry.run(event);
      let board = raised.get(event.board_id);
      if (board === undefined) raised.set(event.board_id, (board = { board_id: event.board_id, version: 0, added: 0 }));
      board.version = Math.max(board.version, event.version);
      if (event.old_rank === null) board.added += 1;
    }
    for (const board of raised.values()) this.raiseVersion.run(board);
  }
}

/**
 * Applies the pending migrations, in order, in one BEGIN IMMEDIATE
 * transaction: a second process opening the same file waits, then finds them
 * applied. Returns the migrations it applied (none on a restart).
 */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[]): Migration[] {
  const run = db.transaction(() => {
    db.exec(SQL.CREATE_SCHEMA_MIGRATIONS);
    const applied = db.prepare<[], AppliedMigration>(SQL.SELECT_APPLIED_MIGRATIONS).all();
    const pending = planMigrations(migrations, applied);
    const record = db.prepare(SQL.INSERT_APPLIED_MIGRATION);
    for (const migration of pending) {
      db.exec(migration.sql);
      record.run({ version: migration.version, name: migration.name, checksum: migration.checksum, applied_at: Date.now() });
    }
    return pending;
  });
  return run.immediate();
}
