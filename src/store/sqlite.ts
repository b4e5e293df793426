/**
 * The embedded Store: one SQLite file (`ladder.db` under the data directory)
 * in WAL mode. Writes go through group commit to a writer thread that owns the
 * only write connection (sqlite-group-commit.ts, sqlite-writer.ts); reads run
 * on the main thread's own connection, which WAL lets read while the writer
 * commits. A read sees every write whose promise has resolved.
 *
 * The SQL is in sqlite-sql.ts, the schema in migrations/sqlite/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LadderError } from '../core/errors.js';
import type { BoardConfig, Entry } from '../core/types.js';
import { GroupCommit, type CommitStats } from './sqlite-group-commit.js';
import { lockDataDir, type DataDirLock } from './sqlite-lock.js';
import {
  apiKeyFromRow,
  apiKeyToRow,
  boardFromRow,
  boardToRow,
  entriesFromColumns,
  eventFromRow,
  eventToRow,
  type ApiKeyRow,
  type EventRow,
  type EntryColumnsRow,
  type StoredBoardRow,
} from './sqlite-rows.js';
import * as SQL from './sqlite-sql.js';
import type { OpResult, SyncMode } from './sqlite-writer.js';
import type { ApiKeyRecord, KeyScope, ScoreEvent, Store, StoredBoard } from './store.js';

/** Entries per chunk of loadEntries: about 30 MB of JSON. */
const LOAD_CHUNK = 500_000;

export interface SqliteStoreOptions {
  /** Directory of ladder.db; created when missing. */
  readonly dataDir: string;
  /** Group commit window (LADDER_COMMIT_INTERVAL_MS). */
  readonly commitIntervalMs: number;
  /** full survives power loss, normal survives a process crash (LADDER_SQLITE_SYNC). */
  readonly sync: SyncMode;
}

export const SQLITE_FILE_NAME = 'ladder.db';

/**
 * Opens (creating and migrating when needed) the store under `dataDir`, which
 * it locks for as long as it is open. Throws when another process has it.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  mkdirSync(options.dataDir, { recursive: true });
  const lock = lockDataDir(options.dataDir);
  const file = join(options.dataDir, SQLITE_FILE_NAME);
  let writes: GroupCommit | null = null;
  try {
    // The writer opens first: it creates the file, sets WAL and migrates.
    writes = await GroupCommit.start({ file, sync: options.sync }, options.commitIntervalMs);
    return new SqliteStore(new Database(file, { fileMustExist: true }), writes, lock);
  } catch (err) {
    await writes?.close();
    lock.release();
    throw err;
  }
}

type EventSelectRow = Omit<EventRow, 'entry_metadata'>;

function eventKey(boardId: string, eventId: string): string {
  return `${boardId}\n${eventId}`;
}

export class SqliteStore implements Store {
  private readonly selectBoard: Database.Statement<[string], StoredBoardRow>;
  private readonly selectBoards: Database.Statement<[], StoredBoardRow>;
  private readonly selectEntryColumns: Database.Statement<[{ board_id: string; after: string; limit: number }], EntryColumnsRow>;
  private readonly selectEvent: Database.Statement<[string, string], EventSelectRow>;
  private readonly selectEventsAfter: Database.Statement<[{ board_id: string; after_version: number; limit: number }], EventSelectRow>;
  private readonly selectApiKey: Database.Statement<[string], ApiKeyRow>;
  private readonly selectApiKeyById: Database.Statement<[string], ApiKeyRow>;
  private readonly selectApiKeys: Database.Statement<[], ApiKeyRow>;
  private readonly countApiKeysByScope: Database.Statement<[string], number>;
  /** Events with an event id that are on their way to the disk, for findEvent. */
  private readonly pendingEvents = new Map<string, ScoreEvent>();
  private closing: Promise<void> | null = null;

  /** Use openSqliteStore. */
  constructor(
    private readonly db: Database.Database,
    private readonly writes: GroupCommit,
    private readonly lock: DataDirLock,
  ) {
    db.pragma('query_only = ON');
    db.pragma('busy_timeout = 5000');
    this.selectBoard = db.prepare(SQL.SELECT_BOARD);
    this.selectBoards = db.prepare(SQL.SELECT_BOARDS);
    this.selectEntryColumns = db.prepare<[{ board_id: string; after: string; limit: number }], EntryColumnsRow>(SQL.SELECT_ENTRY_COLUMNS).raw(true);
    this.selectEvent = db.prepare(SQL.SELECT_EVENT);
    this.selectEventsAfter = db.prepare(SQL.SELECT_EVENTS_AFTER);
    this.selectApiKey = db.prepare(SQL.SELECT_API_KEY);
    this.selectApiKeyById = db.prepare(SQL.SELECT_API_KEY_BY_ID);
    this.selectApiKeys = db.prepare(SQL.SELECT_API_KEYS);
    this.countApiKeysByScope = db.prepare<[string], number>(SQL.COUNT_API_KEYS).pluck();
  }

  /** Committed transactions, ops and events since open (for metrics and tests). */
  get commitStats(): Readonly<CommitStats> {
    return { ...this.writes.stats };
  }

  /**
   * True when the previous process did not close the database cleanly: every
   * board got a new epoch on open, since versions it showed before committing
   * them may be issued again.
   */
  get recovered(): boolean {
    return this.writes.recovered;
  }

  async createBoard(config: BoardConfig, epoch: string): Promise<void> {
    const created = expectOk(await this.writes.submit({ kind: 'createBoard', board: { ...boardToRow(config), epoch } }));
    if (!created) throw new LadderError('board_exists', `leaderboard '${config.id}' exists already`, { leaderboard_id: config.id });
  }

  async setEpoch(boardId: string, epoch: string): Promise<boolean> {
    return expectOk(await this.writes.submit({ kind: 'setEpoch', boardId, epoch }));
  }

  async getBoard(boardId: string): Promise<StoredBoard | null> {
    return this.getBoardNow(boardId);
  }

  async listBoards(): Promise<StoredBoard[]> {
    return this.reader().selectBoards.all().map(boardFromRow);
  }

  async deleteBoard(boardId: string): Promise<boolean> {
    return expectOk(await this.writes.submit({ kind: 'deleteBoard', boardId }));
  }

  /**
   * Group-committed (see sqlite-group-commit.ts). Events of a board that does
   * not exist (any more) are dropped, and so is an event whose (board, event
   * id) is already logged, with its entry. Rejects only this call when its
   * events are invalid (e.g. a fractional score); the batch commits.
   */
  async appendEvents(events: readonly ScoreEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map(eventToRow);
    const keys: string[] = [];
    for (const event of events) {
      if (event.eventId === null) continue;
      const key = eventKey(event.boardId, event.eventId);
      if (this.pendingEvents.has(key)) continue;
      this.pendingEvents.set(key, event);
      keys.push(key);
    }
    try {
      expectOk(await this.writes.submit({ kind: 'append', events: rows }));
    } finally {
      for (const key of keys) this.pendingEvents.delete(key);
    }
  }

  /** See eventFromRow for what the returned event's `entry` holds. Complexity: one index lookup. */
  async findEvent(boardId: string, eventId: string): Promise<ScoreEvent | null> {
    return this.findEventNow(boardId, eventId);
  }

  /** findEvent, synchronously (the embedded backend's write path). */
  findEventNow(boardId: string, eventId: string): ScoreEvent | null {
    // The disk first: a pending event whose id is committed already is a
    // duplicate that the writer will drop.
    const row = this.reader().selectEvent.get(boardId, eventId);
    if (row !== undefined) return eventFromRow(row);
    return this.pendingEvents.get(eventKey(boardId, eventId)) ?? null;
  }

  /** getBoard, synchronously. */
  getBoardNow(boardId: string): StoredBoard | null {
    const row = this.reader().selectBoard.get(boardId);
    return row === undefined ? null : boardFromRow(row);
  }

  /**
   * Complexity: O(n), one range scan of the primary key (participant id
   * order) at the speed of a bare better-sqlite3 .raw().all(). It runs on the
   * main thread and blocks it for the scan, which suits startup and rebuilds.
   */
  /** In chunks, so that no JSON string grows near V8's string length limit. */
  async loadEntries(boardId: string): Promise<Entry[]> {
    const entries: Entry[] = [];
    let after = '';
    for (;;) {
      const row = this.reader().selectEntryColumns.get({ board_id: boardId, after, limit: LOAD_CHUNK }) as EntryColumnsRow;
      if (row[0] === 0) return entries;
      entriesFromColumns(row, entries);
      if (row[0] < LOAD_CHUNK) return entries;
      after = row[1] as string;
    }
  }

  /** Ordered by (version, id), so events that changed nothing follow the change whose version they carry. */
  async listEvents(boardId: string, afterVersion: number, limit: number): Promise<ScoreEvent[]> {
    return this.reader().selectEventsAfter.all({ board_id: boardId, after_version: afterVersion, limit }).map(eventFromRow);
  }

  /** Rejects when the id or the hash exists already. */
  async createApiKey(record: ApiKeyRecord): Promise<void> {
    expectOk(await this.writes.submit({ kind: 'createApiKey', key: apiKeyToRow(record) }));
  }

  async findApiKey(hash: string): Promise<ApiKeyRecord | null> {
    const row = this.reader().selectApiKey.get(hash);
    return row === undefined ? null : apiKeyFromRow(row);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.reader().selectApiKeys.all().map(apiKeyFromRow);
  }

  async revokeApiKey(id: string, at: number): Promise<ApiKeyRecord | null> {
    if (!expectOk(await this.writes.submit({ kind: 'revokeApiKey', id, at }))) return null;
    const row = this.reader().selectApiKeyById.get(id);
    return row === undefined ? null : apiKeyFromRow(row);
  }

  async countApiKeys(scope: KeyScope): Promise<number> {
    return this.reader().countApiKeysByScope.get(scope) ?? 0;
  }

  /**
   * Commits everything queued, then closes both connections. Idempotent.
   * The read connection closes first, so the writer thread is the last one
   * and does the final WAL checkpoint off the main thread.
   */
  close(): Promise<void> {
    if (this.closing === null) {
      this.db.close();
      this.closing = this.writes.close().finally(() => this.lock.release());
    }
    return this.closing;
  }

  private reader(): this {
    if (this.closing !== null) throw new Error('the SQLite store is closed');
    return this;
  }
}

function expectOk(result: OpResult): boolean {
  if (!result.ok) throw Object.assign(new Error(`SQLite write failed: ${result.message}`), { code: result.code });
  return result.done;
}
