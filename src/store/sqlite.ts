/**
 * The embedded Store: one SQLite file (`ladder.db` under the data directory)
 * in WAL mode, and checkpoint files beside it (`checkpoints/`). Writes go
 * through group commit to a writer thread that owns the only write
 * connection (sqlite-group-commit.ts, sqlite-writer.ts) and writes the
 * checkpoint files; reads run on the main thread's own connection, which WAL
 * lets read while the writer commits. A read sees every write whose promise
 * has resolved.
 *
 * Events are appended to score_log and never update an entry row; refused
 * submissions go to rejections, through the same group commit, and a
 * participant's history reads both (sqlite-history.ts). A board
 * loads from its latest checkpoint (sqlite-checkpoint.ts) plus the log after
 * it; before its first checkpoint, from its base state (the entries table,
 * as migration 003 left it) plus the log after that.
 *
 * The SQL is in sqlite-sql.ts, the schema in migrations/sqlite/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LadderError } from '../core/errors.js';
import type { BoardConfig, Entry, Metadata, Profile } from '../core/types.js';
import { PendingEvents } from './pending-events.js';
import { checkEvent } from './score-events.js';
import { CHECKPOINT_DIR_NAME, CheckpointError, erasedCheckpointFileName, joinIds, joinMetadata, mayHoldParticipant, readCheckpointFile, withoutParticipant } from './sqlite-checkpoint.js';
import { NO_STORE_OBSERVER, type StoreObserver } from './observer.js';
import { GroupCommit, type CommitStats } from './sqlite-group-commit.js';
import { SqliteHistory } from './sqlite-history.js';
import { lockDataDir, type DataDirLock } from './sqlite-lock.js';
import {
  apiKeyFromRow,
  apiKeyToRow,
  boardFromRow,
  boardToRow,
  entriesFromColumns,
  eventFromRow,
  finalEntryFromRow,
  periodFromRow,
  placementFromRow,
  fromJson,
  profileFromRow,
  profileToRow,
  rejectionToRow,
  type ApiKeyRow,
  type BoardLogStateRow,
  type CheckpointRow,
  type EntryColumnsRow,
  type EventRow,
  type FinalEntryRow,
  type PeriodRow,
  type PlacementRow,
  type ProfileRow,
  type StoredBoardRow,
  type TailColumnsRow,
  type WebhookRow,
  webhookFromRow,
} from './sqlite-rows.js';
import * as SQL from './sqlite-sql.js';
import type { ErasedCheckpoint, OpResult, SyncMode } from './sqlite-writer.js';
import type { RankOptions, RankQuery } from '../index/index.js';
import { answerFinal, type FinalSource } from './final-rankings.js';
import {
  loadedEntries,
  type ApiKeyRecord,
  type BoardCheckpoint,
  type Erasure,
  type FinalRead,
  type KeyScope,
  type LoadedBoard,
  type PeriodClose,
  type PeriodRecord,
  type Placement,
  type RankedColumns,
  type HistoryCursor,
  type HistoryPage,
  type Rejection,
  type ScoreEvent,
  type Store,
  type StoredBoard,
  type WebhookDelivery,
} from './store.js';
import { byDue, nextAttemptToColumn } from './webhook-deliveries.js';

/** Entries per chunk of a base-state or log read: about 30 MB of JSON. */
const LOAD_CHUNK = 500_000;

/** How often the audit-log retention and the release of base states run. */
const PRUNE_INTERVAL_MS = 10 * 60_000;

const DAY_MS = 86_400_000;

export interface SqliteStoreOptions {
  /** Directory of ladder.db; created when missing. */
  readonly dataDir: string;
  /** Group commit window (LADDER_COMMIT_INTERVAL_MS). */
  readonly commitIntervalMs: number;
  /** full survives power loss, normal survives a process crash (LADDER_SQLITE_SYNC). */
  readonly sync: SyncMode;
  /**
   * Log events older than this many days are deleted, except those that a
   * kept checkpoint still needs (LADDER_AUDIT_RETENTION_DAYS). 0 or absent:
   * the log is kept forever.
   */
  readonly auditRetentionDays?: number;
  /** Told about what the store works around: a checkpoint it could not read, files a crash left. Default: process.emitWarning. */
  readonly onWarning?: (message: string) => void;
  /** Told of group commits and failed ones (the metrics). */
  readonly observer?: StoreObserver;
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
    const checkpointDir = join(options.dataDir, CHECKPOINT_DIR_NAME);
    writes = await GroupCommit.start({ file, checkpointDir, sync: options.sync }, options.commitIntervalMs, options.observer ?? NO_STORE_OBSERVER);
    return new SqliteStore(new Database(file, { fileMustExist: true }), writes, lock, { ...options, checkpointDir });
  } catch (err) {
    await writes?.close();
    lock.release();
    throw err;
  }
}

export class SqliteStore implements Store {
  private readonly selectBoard: Database.Statement<[string], StoredBoardRow>;
  private readonly countRejectionsOf: Database.Statement<[string, string], { code: string; n: number }>;
  private readonly selectBoards: Database.Statement<[], StoredBoardRow>;
  private readonly selectEntryColumns: Database.Statement<[{ board_id: string; after: string; limit: number }], EntryColumnsRow>;
  private readonly selectBoardLogState: Database.Statement<[string], BoardLogStateRow>;
  private readonly selectCheckpoints: Database.Statement<[string], CheckpointRow>;
  private readonly selectLogTail: Database.Statement<[{ board_id: string; after: number; limit: number }], TailColumnsRow>;
  private readonly selectEvent: Database.Statement<[string, string], EventRow>;
  private readonly selectEventsAfter: Database.Statement<[{ board_id: string; after_version: number; limit: number }], EventRow>;
  private readonly selectProfiles: Database.Statement<[string], ProfileRow>;
  private readonly selectApiKey: Database.Statement<[string], ApiKeyRow>;
  private readonly selectApiKeyById: Database.Statement<[string], ApiKeyRow>;
  private readonly selectApiKeys: Database.Statement<[], ApiKeyRow>;
  private readonly countApiKeysByScope: Database.Statement<[string], number>;
  private readonly selectPeriods: Database.Statement<[{ board_id: string; before: number; limit: number }], PeriodRow>;
  private readonly selectPeriod: Database.Statement<[string, string], PeriodRow>;
  private readonly selectPlacements: Database.Statement<[{ participant_id: string; before: number; limit: number }], PlacementRow>;
  private readonly selectFinalPage: Database.Statement<[string, string, number, number], FinalEntryRow>;
  private readonly selectFinalEntry: Database.Statement<[string, string, string], FinalEntryRow>;
  private readonly selectFinalEntries: Database.Statement<[string, string, string], FinalEntryRow>;
  private readonly selectFinalAboveTie: Database.Statement<[string, string, number, number], { rank: number }>;
  private readonly history: SqliteHistory;
  private readonly selectWebhookDue: Database.Statement<[{ now: number }], number>;
  private readonly selectWebhooks: Database.Statement<[{ board_id: string; before: number; limit: number }], WebhookRow>;
  private readonly pendingEvents = new PendingEvents();
  private closing: Promise<void> | null = null;
  private readonly checkpointDir: string;
  private readonly retentionDays: number;
  private readonly warn: (message: string) => void;
  private readonly pruneTimer: NodeJS.Timeout;
  private pruning: Promise<void> | null = null;

  /** Use openSqliteStore. */
  constructor(
    private readonly db: Database.Database,
    private readonly writes: GroupCommit,
    private readonly lock: DataDirLock,
    options: SqliteStoreOptions & { readonly checkpointDir: string },
  ) {
    this.checkpointDir = options.checkpointDir;
    this.retentionDays = options.auditRetentionDays ?? 0;
    this.warn = options.onWarning ?? ((message) => process.emitWarning(message, 'LadderStoreWarning'));
    if (writes.swept.length > 0) this.warn(`removed ${writes.swept.length} checkpoint file(s) that no checkpoint record names (an interrupted write, or a deletion a stop cut short): ${writes.swept.join(', ')}`);
    this.pruneTimer = setInterval(() => this.pruneInBackground(null), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
    db.pragma('query_only = ON');
    db.pragma('busy_timeout = 5000');
    this.selectBoard = db.prepare(SQL.SELECT_BOARD);
    this.countRejectionsOf = db.prepare(SQL.COUNT_PARTICIPANT_REJECTIONS);
    this.selectBoards = db.prepare(SQL.SELECT_BOARDS);
    this.selectEntryColumns = db.prepare<[{ board_id: string; after: string; limit: number }], EntryColumnsRow>(SQL.SELECT_ENTRY_COLUMNS).raw(true);
    this.selectBoardLogState = db.prepare(SQL.SELECT_BOARD_LOG_STATE);
    this.selectCheckpoints = db.prepare(SQL.SELECT_CHECKPOINTS);
    this.selectLogTail = db.prepare<[{ board_id: string; after: number; limit: number }], TailColumnsRow>(SQL.SELECT_LOG_TAIL).raw(true);
    this.selectEvent = db.prepare(SQL.SELECT_EVENT);
    this.selectEventsAfter = db.prepare(SQL.SELECT_EVENTS_AFTER);
    this.selectProfiles = db.prepare(SQL.SELECT_PROFILES);
    this.selectApiKey = db.prepare(SQL.SELECT_API_KEY);
    this.selectApiKeyById = db.prepare(SQL.SELECT_API_KEY_BY_ID);
    this.selectApiKeys = db.prepare(SQL.SELECT_API_KEYS);
    this.countApiKeysByScope = db.prepare<[string], number>(SQL.COUNT_API_KEYS).pluck();
    this.selectPeriods = db.prepare(SQL.SELECT_PERIODS);
    this.selectPeriod = db.prepare(SQL.SELECT_PERIOD);
    this.selectPlacements = db.prepare(SQL.SELECT_PLACEMENTS);
    this.selectFinalPage = db.prepare(SQL.SELECT_FINAL_PAGE);
    this.selectFinalEntry = db.prepare(SQL.SELECT_FINAL_ENTRY);
    this.selectFinalEntries = db.prepare(SQL.SELECT_FINAL_ENTRIES);
    this.history = new SqliteHistory(db);
    this.selectFinalAboveTie = db.prepare(SQL.SELECT_FINAL_ABOVE_TIE);
    this.selectWebhookDue = db.prepare<[{ now: number }], number>(SQL.SELECT_WEBHOOK_DUE).pluck();
    this.selectWebhooks = db.prepare(SQL.SELECT_WEBHOOKS);
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
   * id) is already logged. Rejects only this call when an event's entry is
   * not its own; an event the database refuses (e.g. a fractional score)
   * fails its whole batch.
   */
  async appendEvents(events: readonly ScoreEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const event of events) checkEvent(event);
    const forget = this.pendingEvents.add(events);
    try {
      expectOk(await this.writes.submit({ kind: 'append', events }));
    } finally {
      forget();
    }
  }

  /** One op of the group commit, whatever the number of rejections. */
  async recordRejections(rejections: readonly Rejection[]): Promise<void> {
    if (rejections.length === 0) return;
    expectOk(await this.writes.submit({ kind: 'reject', rejections: rejections.map(rejectionToRow) }));
  }

  async countRejections(boardId: string, participantId: string): Promise<Record<string, number>> {
    return Object.fromEntries(this.reader().countRejectionsOf.all(boardId, participantId).map((row) => [row.code, row.n]));
  }

  /** Runs on the main thread (sqlite-history.ts). */
  async participantHistory(boardId: string, participantId: string, cursor: HistoryCursor | null, limit: number): Promise<HistoryPage | null> {
    return this.reader().history.page(boardId, participantId, cursor, limit);
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
    return this.pendingEvents.get(boardId, eventId);
  }

  /** getBoard, synchronously. */
  getBoardNow(boardId: string): StoredBoard | null {
    const row = this.reader().selectBoard.get(boardId);
    return row === undefined ? null : boardFromRow(row);
  }

  /**
   * Writes the checkpoint file on the writer thread, then records it. The
   * ids and metadata are serialized here, in slices that let the event loop
   * run between them. Complexity: O(n) here and on the writer thread.
   */
  async saveCheckpoint(boardId: string, checkpoint: BoardCheckpoint): Promise<boolean> {
    const { columns } = checkpoint;
    const ids = await joinIds(columns.ids);
    const metadata = await joinMetadata(columns.metadata);
    const written = await this.reader().writes.writeCheckpoint({
      boardId,
      seq: checkpoint.seq,
      version: checkpoint.version,
      ids,
      count: columns.ids.length,
      scores: columns.scores,
      achievedAt: columns.achievedAt,
      updatedAt: columns.updatedAt,
      metadataIndexes: metadata.indexes,
      metadata: metadata.text,
    });
    const recorded = expectOk(
      await this.writes.submit({
        kind: 'recordCheckpoint',
        checkpoint: { board_id: boardId, seq: checkpoint.seq, version: checkpoint.version, total: columns.ids.length, ...written, created_at: Date.now() },
      }),
    );
    // Two checkpoints release the board's base state and let the log be pruned.
    if (recorded) this.pruneInBackground(boardId);
    return recorded;
  }

  /**
   * The latest readable checkpoint and the log after it, in one read
   * transaction. A checkpoint that cannot be read (missing, truncated, a
   * checksum that does not match) is skipped with a warning for the one
   * before it; without any, the base state. It runs on the main thread and
   * blocks it, which suits startup and rebuilds. Complexity: O(n) for the
   * checkpoint, without an object per entry, plus O(t) for t events after it.
   */
  async loadBoard(boardId: string): Promise<LoadedBoard | null> {
    return this.loadBoardNow(boardId);
  }

  /** loadBoard, synchronously. */
  loadBoardNow(boardId: string): LoadedBoard | null {
    const reader = this.reader();
    return reader.db.transaction((): LoadedBoard | null => {
      const row = reader.selectBoard.get(boardId);
      if (row === undefined) return null;
      const board = boardFromRow(row);
      const logState = reader.selectBoardLogState.get(boardId)!;
      let ranked: RankedColumns = EMPTY_COLUMNS();
      let base: Entry[] = [];
      let from: number | null = null;
      // Checkpoints up to the live period's start hold closed periods' standings.
      const periodSeq = board.periodSeq;
      for (const checkpoint of reader.selectCheckpoints.all(boardId)) {
        if (checkpoint.seq <= periodSeq && periodSeq > 0) break;
        try {
          ranked = readCheckpointFile(reader.checkpointDir, checkpoint.file, { boardId, seq: checkpoint.seq, total: checkpoint.total, bytes: checkpoint.bytes, crc32: checkpoint.crc32 });
          from = checkpoint.seq;
          break;
        } catch (err) {
          reader.warn(`checkpoint ${checkpoint.file} of board '${boardId}' (seq ${checkpoint.seq}) is unusable, ${(err as Error).message}; loading from the one before it and the log after that`);
        }
      }
      if (from === null && periodSeq > 0) {
        from = periodSeq;
      } else if (from === null) {
        if (logState.base_seq === null) {
          throw new Error(`board '${boardId}' has no readable checkpoint, and its base state was released after two checkpoints; restore the checkpoints directory from a backup`);
        }
        base = reader.readBase(boardId);
        from = logState.base_seq;
      }
      const { changed, removed, replayed } = reader.readTail(boardId, from, ranked, base);
      return { board, ranked, changed, removed, replayed, seq: Math.max(logState.last_seq ?? 0, from) };
    })();
  }

  /**
   * Every entry of the board, in no particular order: loadBoard's columns and
   * changed entries as Entry objects (tools, tests and benchmarks; the
   * backend loads through loadBoard).
   */
  async loadEntries(boardId: string): Promise<Entry[]> {
    const loaded = this.loadBoardNow(boardId);
    return loaded === null ? [] : loadedEntries(loaded);
  }


  /**
   * Runs the audit-log retention and deletes released base states, in ops of
   * bounded size that share batches with other writes, until nothing is
   * left to delete. One run at a time; `boardId` limits it to one board.
   */
  prune(boardId: string | null = null): Promise<void> {
    if (this.pruning !== null) return this.pruning;
    const run = async (): Promise<void> => {
      const cutoff = this.retentionDays > 0 ? Date.now() - this.retentionDays * DAY_MS : null;
      while (this.closing === null && expectOk(await this.writes.submit({ kind: 'prune', boardId, cutoff })));
    };
    this.pruning = run().finally(() => {
      this.pruning = null;
    });
    return this.pruning;
  }

  private pruneInBackground(boardId: string | null): void {
    this.prune(boardId).catch((err: unknown) => {
      if (this.closing === null) this.warn(`pruning the store failed: ${(err as Error).message}`);
    });
  }

  /** A board's base state (the entries table), in chunks, so that no JSON string grows near V8's string length limit. */
  private readBase(boardId: string): Entry[] {
    const entries: Entry[] = [];
    let after = '';
    for (;;) {
      const row = this.selectEntryColumns.get({ board_id: boardId, after, limit: LOAD_CHUNK }) as EntryColumnsRow;
      if (row[0] === 0) return entries;
      entriesFromColumns(row, entries);
      if (row[0] < LOAD_CHUNK) return entries;
      after = row[1] as string;
    }
  }

  /**
   * The latest state of each entry the log changed after seq `from`, on top
   * of the checkpoint's columns or the base entries. An event whose metadata
   * did not apply leaves the entry the metadata it had: the last applied in
   * the tail, else the checkpoint's or the base's. A participant whose last
   * event removed the entry (new_rank 0) is left out and listed in `removed`.
   */
  private readTail(boardId: string, from: number, ranked: RankedColumns, base: readonly Entry[]): { changed: Entry[]; removed: string[]; replayed: number } {
    const index = new Map<string, number>();
    const ids: string[] = [];
    const numbers: number[] = [];
    const metadata: (string | null | undefined)[] = [];
    const gone: boolean[] = [];
    let replayed = 0;
    for (let after = from; ; ) {
      const row = this.selectLogTail.get({ board_id: boardId, after, limit: LOAD_CHUNK }) as TailColumnsRow;
      const count = row[0];
      if (count === 0) break;
      const participants = JSON.parse(row[2]) as string[];
      const scores = JSON.parse(row[3]) as number[];
      const achieved = JSON.parse(row[4]) as number[];
      const updated = JSON.parse(row[5]) as number[];
      const applied = JSON.parse(row[6]) as (0 | 1 | null)[];
      const texts = JSON.parse(row[7]) as (string | null)[];
      const ranks = JSON.parse(row[8]) as number[];
      for (let k = 0; k < count; k++) {
        const participantId = participants[k]!;
        let i = index.get(participantId);
        if (i === undefined) {
          i = ids.length;
          index.set(participantId, i);
          ids.push(participantId);
          metadata.push(undefined);
        }
        numbers[3 * i] = scores[k]!;
        numbers[3 * i + 1] = achieved[k]!;
        numbers[3 * i + 2] = updated[k]!;
        if (applied[k] !== 0) metadata[i] = texts[k]!;
        gone[i] = ranks[k] === 0;
      }
      replayed += count;
      if (count < LOAD_CHUNK) break;
      after = row[1]!;
    }
    const changed: Entry[] = base.length === 0 ? [] : base.filter((entry) => !index.has(entry.participantId));
    const removed: string[] = [];
    let earlier: Map<string, Metadata> | null = null;
    for (let i = 0; i < ids.length; i++) {
      const participantId = ids[i]!;
      if (gone[i]) {
        removed.push(participantId);
        continue;
      }
      let entryMetadata: Metadata | null;
      const text = metadata[i];
      if (text !== undefined) {
        entryMetadata = fromJson(text);
      } else {
        earlier ??= metadataById(ranked, base);
        entryMetadata = earlier.get(participantId) ?? null;
      }
      changed.push({ participantId, score: numbers[3 * i]!, achievedAt: numbers[3 * i + 1]!, updatedAt: numbers[3 * i + 2]!, metadata: entryMetadata });
    }
    return { changed, removed, replayed };
  }

  async updateBoard(config: BoardConfig): Promise<boolean> {
    return expectOk(await this.writes.submit({ kind: 'updateBoard', board: boardToRow(config) }));
  }

  /** One op of the group commit, so it lands between the events before it and those after it in the order they were handed over. */
  async closePeriod(close: PeriodClose): Promise<boolean> {
    return expectOk(await this.writes.submit({ kind: 'closePeriod', close, board: boardToRow(close.config) }));
  }

  async deletePeriod(boardId: string, periodId: string): Promise<void> {
    expectOk(await this.writes.submit({ kind: 'deletePeriod', boardId, periodId }));
  }

  async listPeriods(boardId: string, limit: number, before = Number.MAX_SAFE_INTEGER): Promise<PeriodRecord[]> {
    return this.reader().selectPeriods.all({ board_id: boardId, before, limit }).map(periodFromRow);
  }

  async listPlacements(participantId: string, limit: number, before = Number.MAX_SAFE_INTEGER): Promise<Placement[]> {
    return this.reader().selectPlacements.all({ participant_id: participantId, before, limit }).map(placementFromRow);
  }

  async readFinal(boardId: string, periodId: string, queries: readonly RankQuery[], options: RankOptions = {}): Promise<FinalRead | null> {
    const reader = this.reader();
    // One read transaction, so that every page is of the same archive (a reopen may delete it). Not
    // db.transaction(): it refuses an async function. Every read below is synchronous, so the awaits
    // between them only pass microtasks; a read already inside a transaction joins it.
    const own = !reader.db.inTransaction;
    if (own) reader.db.exec('BEGIN');
    try {
      const row = reader.selectPeriod.get(boardId, periodId);
      if (row === undefined) return null;
      const period = periodFromRow(row);
      const source: FinalSource = {
        total: period.total,
        page: async (offset, limit) => reader.selectFinalPage.all(boardId, periodId, offset, limit).map(finalEntryFromRow),
        entryOf: async (participantId) => {
          const entry = reader.selectFinalEntry.get(participantId, boardId, periodId);
          return entry === undefined ? null : finalEntryFromRow(entry);
        },
        entriesOf: async (ids) => reader.selectFinalEntries.all(boardId, periodId, JSON.stringify(ids)).map(finalEntryFromRow),
        sharedRankOf: async (entry) => (reader.selectFinalAboveTie.get(boardId, periodId, entry.rank, entry.score)?.rank ?? 0) + 1,
      };
      return { period, pages: await answerFinal(source, queries, options) };
    } finally {
      if (own && reader.db.inTransaction) reader.db.exec('COMMIT');
    }
  }

  /**
   * The claim is an op of the group commit (the only write connection is
   * the writer's), made only when a look on this thread's connection finds
   * something due: a poll with nothing due costs one index lookup, not a
   * transaction.
   */
  async claimWebhooks(now: number, leaseMs: number, limit: number): Promise<WebhookDelivery[]> {
    if (this.reader().selectWebhookDue.get({ now }) === undefined) return [];
    const result = await this.writes.submit({ kind: 'claimWebhooks', now, leasedUntil: now + leaseMs, limit });
    expectOk(result);
    const rows = result.ok ? ((result.rows ?? []) as WebhookRow[]) : [];
    return rows.map(webhookFromRow).sort(byDue);
  }

  async completeWebhook(boardId: string, periodId: string, at: number): Promise<boolean> {
    return expectOk(await this.writes.submit({ kind: 'completeWebhook', boardId, periodId, at }));
  }

  async retryWebhook(boardId: string, periodId: string, attempt: number, nextAttemptAt: number | null, error: string): Promise<boolean> {
    return expectOk(await this.writes.submit({ kind: 'retryWebhook', boardId, periodId, attempt, nextAttemptAt: nextAttemptToColumn(nextAttemptAt), error }));
  }

  async listWebhooks(boardId: string, limit: number, before = Number.MAX_SAFE_INTEGER): Promise<WebhookDelivery[]> {
    return this.reader().selectWebhooks.all({ board_id: boardId, before, limit }).map(webhookFromRow);
  }

  /** Ordered by (version, seq), so events that changed nothing follow the change whose version they carry. */
  async listEvents(boardId: string, afterVersion: number, limit: number): Promise<ScoreEvent[]> {
    return this.reader().selectEventsAfter.all({ board_id: boardId, after_version: afterVersion, limit }).map(eventFromRow);
  }

  /**
   * Store.eraseParticipant. Each checkpoint up to the erasure that holds the
   * participant is read here and written again without them (by the writer
   * thread, under a new name), and one commit then swaps the files in the
   * records and deletes their log rows: a crash before it leaves the old
   * files recorded and the rewritten ones to the next start's sweep. A
   * checkpoint that cannot be read is dropped (a load would skip it), with
   * a warning. Complexity: a byte search of each checkpoint file, O(n) to
   * rewrite one that holds them, on the main thread as for a load; plus a
   * scan of the board's log.
   */
  async eraseParticipant(boardId: string, participantId: string, erasure: Erasure): Promise<boolean> {
    const checkpoints: ErasedCheckpoint[] = [];
    for (const checkpoint of this.reader().selectCheckpoints.all(boardId)) {
      if (checkpoint.seq > erasure.seq || !mayHoldParticipant(this.checkpointDir, checkpoint.file, participantId)) continue;
      let columns: RankedColumns;
      try {
        columns = readCheckpointFile(this.checkpointDir, checkpoint.file, { boardId, seq: checkpoint.seq, total: checkpoint.total, bytes: checkpoint.bytes, crc32: checkpoint.crc32 });
      } catch (err) {
        if (!(err instanceof CheckpointError)) throw err;
        this.warn(`checkpoint ${checkpoint.file} of board '${boardId}' (seq ${checkpoint.seq}) is unusable, ${err.message}; an erasure drops it, as it cannot take the participant out of it`);
        checkpoints.push({ seq: checkpoint.seq, file: checkpoint.file, replacement: null });
        continue;
      }
      const kept = withoutParticipant(columns, participantId);
      if (kept === null) continue;
      const metadata = await joinMetadata(kept.metadata);
      const written = await this.reader().writes.writeCheckpoint({
        boardId,
        seq: checkpoint.seq,
        version: checkpoint.version,
        ids: await joinIds(kept.ids),
        count: kept.ids.length,
        scores: kept.scores,
        achievedAt: kept.achievedAt,
        updatedAt: kept.updatedAt,
        metadataIndexes: metadata.indexes,
        metadata: metadata.text,
        file: erasedCheckpointFileName(boardId, checkpoint.seq),
      });
      checkpoints.push({ seq: checkpoint.seq, file: checkpoint.file, replacement: { ...written, total: kept.ids.length } });
    }
    return expectOk(await this.writes.submit({ kind: 'erase', boardId, participantId, seq: erasure.seq, version: erasure.version, checkpoints }));
  }

  async putProfile(profile: Profile): Promise<void> {
    expectOk(await this.writes.submit({ kind: 'putProfile', profile: profileToRow(profile) }));
  }

  /** One query, however many ids (a JSON array bound as one parameter). */
  async getProfiles(participantIds: readonly string[]): Promise<Profile[]> {
    if (participantIds.length === 0) return [];
    return this.reader().selectProfiles.all(JSON.stringify(participantIds)).map(profileFromRow);
  }

  async deleteProfile(participantId: string): Promise<boolean> {
    return expectOk(await this.writes.submit({ kind: 'deleteProfile', participantId }));
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
      clearInterval(this.pruneTimer);
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

const EMPTY_COLUMNS = (): RankedColumns => ({ ids: [], scores: new Float64Array(0), achievedAt: new Float64Array(0), updatedAt: new Float64Array(0), metadata: new Map() });

/** Metadata by participant, of the entries that have any (the checkpoint's are sparse). */
function metadataById(ranked: RankedColumns, base: readonly Entry[]): Map<string, Metadata> {
  const byId = new Map<string, Metadata>();
  for (const [i, metadata] of ranked.metadata) byId.set(ranked.ids[i]!, metadata);
  for (const entry of base) if (entry.metadata !== null) byId.set(entry.participantId, entry.metadata);
  return byId;
}

function expectOk(result: OpResult): boolean {
  if (!result.ok) throw Object.assign(new Error(`SQLite write failed: ${result.message}`), { code: result.code });
  return result.done;
}
