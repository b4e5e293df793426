/**
 * The cluster's Store: PostgreSQL (LADDER_DATABASE_URL), through a pool of
 * connections. Any number of processes may open the same database at once:
 * the migrations run under an advisory lock, appends lock the rows of their
 * boards, and partition maintenance runs in one process at a time.
 *
 * Tables (migrations/postgres/001_initial.sql):
 * - score_events, the append-only log and audit log, partitioned by the day
 *   an event was received (postgres-partitions.ts), with score_event_ids
 *   beside it for the uniqueness of event ids across partitions;
 * - entries and checkpoints: each board's latest checkpoint, in rank order
 *   (postgres-checkpoint.ts). A board loads from it plus the log after it,
 *   each participant's latest state taken in SQL;
 * - rejections: refused submissions, for the participants' histories
 *   (migration 004), which read them beside score_events;
 * - boards, api_keys, and final_rankings for the lifecycle work to come.
 *
 * appendEvents is group-committed (postgres-group-commit.ts), each commit one
 * transaction with one insert of all its events (postgres-append.ts), and
 * so is recordRejections, in a group commit of its own (one insert per
 * commit). The other writes are transactions of their own. Reads go to any connection of
 * the pool; a read sees every write whose promise has resolved, and
 * findEvent also the events still on their way.
 *
 * A failure of the database or the connection rejects with
 * LadderError('storage_failed') for a commit and 'store_unavailable' for
 * the other calls (postgres-client.ts), and the store goes on with new
 * connections once the database answers again. Waiting for a connection and
 * single statements are bounded (connectTimeoutMs, queryTimeoutMs), so a
 * database that is down or hangs fails requests fast instead of holding them.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { LadderError } from '../core/errors.js';
import type { BoardConfig, Profile } from '../core/types.js';
import type { RankOptions, RankQuery } from '../index/index.js';
import { anonymousParticipantId } from './anonymous.js';
import { optionsToJson } from './board-options.js';
import { answerFinal, type FinalSource } from './final-rankings.js';
import { loadMigrations } from './migrate.js';
import { appendInTransaction } from './postgres-append.js';
import { checkColumns, copyRows, readChangedEntries, readCheckpoint, writeCheckpoint } from './postgres-checkpoint.js';
import { NO_STORE_OBSERVER, type StoreObserver } from './observer.js';
import { checkConnection, createPool, storageError, transaction } from './postgres-client.js';
import { GroupCommit, type CommitStats } from './postgres-group-commit.js';
import { boundsOf, mergeHistory, partOf, type HistoryPart } from './participant-history.js';
import { PendingEvents } from './pending-events.js';
import { migratePostgres } from './postgres-migrate.js';
import { createPartitions, DAY_MS, DAYS_AHEAD, dropPartitionsBefore, pruneDefaultPartition } from './postgres-partitions.js';
import {
  apiKeyFromRow,
  apiKeyParams,
  boardFromRow,
  boardParams,
  checkIntegers,
  eventFromRow,
  int,
  profileFromRow,
  profileParams,
  rejectionColumns,
  rejectionFromRow,
  type ApiKeyRow,
  type BoardRow,
  type BoardStateRow,
  type EventRow,
  type FinalEntryRow,
  type PeriodRow,
  type PlacementRow,
  type ProfileRow,
  type RejectionRow,
  finalEntryFromRow,
  periodFromRow,
  placementFromRow,
  toJson,
  type WebhookRow,
  webhookFromRow,
} from './postgres-rows.js';
import { byDue, nextAttemptToColumn } from './webhook-deliveries.js';
import * as SQL from './postgres-sql.js';
import { checkEvent } from './score-events.js';
import type {
  ApiKeyRecord,
  BoardCheckpoint,
  Erasure,
  FinalRead,
  HistoryCursor,
  HistoryPage,
  KeyScope,
  LoadedBoard,
  PeriodClose,
  PeriodRecord,
  Placement,
  Rejection,
  ScoreEvent,
  Store,
  StoredBoard,
  StoredRejection,
  WebhookDelivery,
} from './store.js';

/** How often partitions are created ahead and the audit-log retention runs. */
const MAINTENANCE_INTERVAL_MS = 10 * 60_000;

/** Rejections deleted per statement by the retention. */
const PRUNE_REJECTIONS_LIMIT = 10_000;

/** SQLSTATE foreign_key_violation. */
const FOREIGN_KEY_VIOLATION = '23503';

export interface PostgresStoreOptions {
  /** A postgres:// connection URL (LADDER_DATABASE_URL). */
  readonly url: string;
  /** Group commit window (LADDER_COMMIT_INTERVAL_MS). Default 0: the calls of one event-loop turn, and those made during a commit. */
  readonly commitIntervalMs?: number;
  /** Connections at most. Default 10. */
  readonly poolSize?: number;
  /** How long a call waits for a connection (LADDER_DATABASE_CONNECT_TIMEOUT_MS). Default 2000. */
  readonly connectTimeoutMs?: number;
  /** How long a single-statement call may take, so that a database that hangs fails requests instead of holding them (LADDER_DATABASE_QUERY_TIMEOUT_MS). Default 3000. */
  readonly queryTimeoutMs?: number;
  /**
   * Log events received more than this many days ago are deleted, in whole
   * days, except those after their board's checkpoint
   * (LADDER_AUDIT_RETENTION_DAYS). 0 or absent: the log is kept forever.
   */
  readonly auditRetentionDays?: number;
  /** Told about what the store works around: a broken idle connection, a maintenance step that failed. Default: process.emitWarning. */
  readonly onWarning?: (message: string) => void;
  /** Told of group commits of score events and of failed calls (the metrics). */
  readonly observer?: StoreObserver;
}

export class PostgresStore implements Store {
  private readonly pendingEvents = new PendingEvents();
  private readonly writes: GroupCommit<ScoreEvent>;
  private readonly rejections: GroupCommit<Rejection>;
  /** Calls under way, which close() waits for. */
  private readonly running = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;
  private maintaining: Promise<void> | null = null;
  private readonly maintenanceTimer: NodeJS.Timeout;
  private readonly retentionDays: number;
  private readonly warn: (message: string) => void;
  private readonly observer: StoreObserver;
  private readonly queryTimeoutMs: number;

  /**
   * Connects, applies the pending migrations (an empty database gets the
   * whole schema) and creates the partitions of the coming days. Throws,
   * naming LADDER_DATABASE_URL, when the database cannot be reached.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'LadderStoreWarning'));
    const pool = createPool({ url: options.url, size: options.poolSize ?? 10, connectTimeoutMs: options.connectTimeoutMs ?? 2_000, onWarning: warn });
    try {
      await checkConnection(pool, options.url);
      const migrated = await migratePostgres(pool, loadMigrations('postgres'));
      const store = new PostgresStore(pool, { ...options, onWarning: warn }, migrated.map((m) => m.version));
      // Without them the events of these days go to the default partition: nothing fails, retention is slower.
      await store.createPartitionsAhead().catch((err: unknown) => warn(`creating the log partitions of the coming days failed, they are tried again in 10 minutes: ${(err as Error).message}`));
      return store;
    } catch (err) {
      await pool.end();
      throw err;
    }
  }

  /** Use PostgresStore.open. */
  private constructor(
    private readonly pool: pg.Pool,
    options: PostgresStoreOptions & { readonly onWarning: (message: string) => void },
    /** Versions of the migrations this open applied. */
    readonly migrated: readonly number[],
  ) {
    this.warn = options.onWarning;
    this.observer = options.observer ?? NO_STORE_OBSERVER;
    this.queryTimeoutMs = options.queryTimeoutMs ?? 3_000;
    this.retentionDays = options.auditRetentionDays ?? 0;
    this.writes = new GroupCommit(
      (events) => transaction(pool, (client) => appendInTransaction(client, events)).catch((err: unknown) => Promise.reject(this.failure(err, 'appending score events', 'storage_failed'))),
      options.commitIntervalMs ?? 0,
      (events) => this.observer.committed(events),
    );
    this.rejections = new GroupCommit(
      (rejections) => insertRejections(pool, rejections).catch((err: unknown) => Promise.reject(this.failure(err, 'recording rejections', 'storage_failed'))),
      options.commitIntervalMs ?? 0,
    );
    this.maintenanceTimer = setInterval(() => this.maintainInBackground(), MAINTENANCE_INTERVAL_MS);
    this.maintenanceTimer.unref();
  }

  /** Committed transactions, calls and events since open (for metrics and tests). */
  get commitStats(): Readonly<CommitStats> {
    return { ...this.writes.stats };
  }

  async createBoard(config: BoardConfig, epoch: string): Promise<void> {
    const created = await this.run('creating a board', () => this.statement(SQL.INSERT_BOARD, boardParams(config, epoch)));
    if (created.rowCount === 0) throw new LadderError('board_exists', `leaderboard '${config.id}' exists already`, { leaderboard_id: config.id });
  }

  async setEpoch(boardId: string, epoch: string): Promise<boolean> {
    const updated = await this.run('setting an epoch', () => this.statement(SQL.SET_BOARD_EPOCH, [boardId, epoch]));
    return updated.rowCount === 1;
  }

  async getBoard(boardId: string): Promise<StoredBoard | null> {
    const [row] = await this.select<BoardRow>('reading a board', SQL.SELECT_BOARD, [boardId]);
    return row === undefined ? null : boardFromRow(row);
  }

  async listBoards(): Promise<StoredBoard[]> {
    return (await this.select<BoardRow>('listing the boards', SQL.SELECT_BOARDS)).map(boardFromRow);
  }

  /** One transaction: the board row first (it waits for the appends and checkpoints that hold it), then its rows elsewhere. */
  async deleteBoard(boardId: string): Promise<boolean> {
    return this.run('deleting a board', () =>
      transaction(this.pool, async (client) => {
        const deleted = await client.query(SQL.DELETE_BOARD, [boardId]);
        if (deleted.rowCount === 0) return false;
        for (const statement of SQL.DELETE_BOARD_ROWS) await client.query(statement, [boardId]);
        return true;
      }),
    );
  }

  /**
   * Group-committed (see postgres-group-commit.ts). Events of a board that
   * does not exist (any more) are dropped, and so is an event whose (board,
   * event id) or (board, seq) is logged already, so that a redelivery is
   * harmless. Rejects only this call, before anything is queued, when an
   * event's entry is not its own or a number is not an integer within
   * ±(2^53−1); a commit that fails rejects its calls and those queued
   * behind it with storage_failed.
   */
  async appendEvents(events: readonly ScoreEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const event of events) {
      checkEvent(event);
      checkIntegers(event);
    }
    const forget = this.pendingEvents.add(events);
    try {
      await this.writes.submit(events);
    } finally {
      forget();
    }
  }

  /** Batched with the calls of the same moment into one insert (INSERT_REJECTIONS). */
  async recordRejections(rejections: readonly Rejection[]): Promise<void> {
    if (rejections.length === 0) return;
    await this.rejections.submit(rejections);
  }

  async countRejections(boardId: string, participantId: string): Promise<Record<string, number>> {
    const rows = await this.select<{ code: string; n: number }>('counting rejections', SQL.COUNT_PARTICIPANT_REJECTIONS, [boardId, participantId]);
    return Object.fromEntries(rows.map((row) => [row.code, row.n]));
  }

  /** Two index scans, one per part (store/participant-history.ts), and the board's row, on three connections at once. */
  async participantHistory(boardId: string, participantId: string, cursor: HistoryCursor | null, limit: number): Promise<HistoryPage | null> {
    const doing = 'reading a participant history';
    const bounds = boundsOf(cursor);
    const readAccepted = async (before: number): Promise<HistoryPart<ScoreEvent>> => {
      const rows = await this.select<EventRow>(doing, SQL.SELECT_PARTICIPANT_EVENTS, [boardId, participantId, before, limit + 1]);
      return partOf(rows.map(eventFromRow), limit, (event) => event.seq);
    };
    const readRejected = async (before: number): Promise<HistoryPart<StoredRejection>> => {
      const rows = await this.select<RejectionRow>(doing, SQL.SELECT_PARTICIPANT_REJECTIONS, [boardId, participantId, before, limit + 1]);
      return partOf(rows.map(rejectionFromRow), limit, (rejection) => rejection.id);
    };
    const [board, accepted, rejected] = await Promise.all([
      this.select<{ id: string }>(doing, SQL.BOARD_EXISTS, [boardId]),
      bounds.acceptedBefore === null ? DONE : readAccepted(bounds.acceptedBefore),
      bounds.rejectedBefore === null ? DONE : readRejected(bounds.rejectedBefore),
    ]);
    if (board.length === 0) return null;
    return mergeHistory(bounds, accepted, rejected, limit);
  }

  /**
   * The logged event first: a pending event whose id is logged already is a
   * duplicate that its commit will drop. The pending one is taken before the
   * query, since its commit may complete (and forget it) while the query
   * runs; the query, made after, then sees it. Complexity: two index lookups.
   */
  async findEvent(boardId: string, eventId: string): Promise<ScoreEvent | null> {
    const pending = this.pendingEvents.get(boardId, eventId);
    const [row] = await this.select<EventRow>('finding an event', SQL.SELECT_EVENT, [boardId, eventId]);
    return row === undefined ? pending : eventFromRow(row);
  }

  /**
   * Replaces the board's checkpoint with this one, in one transaction, its
   * entries written with COPY (postgres-checkpoint.ts). Appends to the board
   * go on meanwhile. Complexity: O(n) rows written.
   */
  async saveCheckpoint(boardId: string, checkpoint: BoardCheckpoint): Promise<boolean> {
    return this.run('saving a checkpoint', () => writeCheckpoint(this.pool, boardId, checkpoint));
  }

  /**
   * The checkpoint and the entries changed after it, in one repeatable-read
   * transaction, so both are of one moment. Complexity: O(n) for the
   * checkpoint, as a few json values per 200,000 entries, plus the log after
   * it, folded into one row per changed participant by PostgreSQL.
   */
  async loadBoard(boardId: string): Promise<LoadedBoard | null> {
    return this.run('loading a board', () =>
      transaction(
        this.pool,
        async (client): Promise<LoadedBoard | null> => {
          const { rows } = await client.query<BoardStateRow>(SQL.SELECT_BOARD_STATE, [boardId]);
          const row = rows[0];
          if (row === undefined) return null;
          // A checkpoint up to the live period's start holds a closed period's standings.
          const periodSeq = int(row.period_seq);
          const current = row.checkpoint_seq !== null && int(row.checkpoint_seq) > periodSeq;
          const from = current ? int(row.checkpoint_seq!) : periodSeq;
          const ranked = await readCheckpoint(client, boardId, current ? int(row.checkpoint_total!) : 0);
          const { changed, removed, replayed } = await readChangedEntries(client, boardId, from, ranked);
          return { board: boardFromRow(row), ranked, changed, removed, replayed, seq: Math.max(int(row.last_seq), from) };
        },
        'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      ),
    );
  }

  async updateBoard(config: BoardConfig): Promise<boolean> {
    const updated = await this.run('updating a board', () => this.statement(SQL.UPDATE_BOARD, [config.id, config.name, toJson(config.metadata), optionsToJson(config)]));
    return updated.rowCount === 1;
  }

  /**
   * One transaction: the board's row is locked first (so appends of the
   * board wait), the period row decides whether this close is the first,
   * then the final rankings go in with COPY.
   */
  async closePeriod(close: PeriodClose): Promise<boolean> {
    checkColumns(close.ranked);
    return this.run('closing a period', () =>
      transaction(this.pool, async (client) => {
        const locked = await client.query(SQL.LOCK_BOARD_ROW, [close.boardId]);
        if (locked.rowCount === 0) return false;
        const inserted = await client.query(SQL.INSERT_PERIOD, [close.boardId, close.periodId, close.startsAt, close.endsAt, close.closedAt, close.ranked.ids.length]);
        if (inserted.rowCount === 0) return false;
        await pipeline(Readable.from(copyRows(close.boardId, close.ranked, close.periodId)), client.query(copyFrom(SQL.COPY_FINAL_RANKINGS)));
        const { config } = close;
        if (close.reset === null) {
          await client.query(SQL.UPDATE_BOARD, [config.id, config.name, toJson(config.metadata), optionsToJson(config)]);
        } else {
          await client.query(SQL.RESET_BOARD, [config.id, close.reset.epoch, config.periodStart, close.reset.seq, optionsToJson(config), config.name, toJson(config.metadata)]);
        }
        if (close.webhook !== null) await client.query(SQL.INSERT_WEBHOOK_DELIVERY, [close.boardId, close.periodId, close.webhook.url, close.webhook.top, close.closedAt]);
        return true;
      }),
    );
  }

  async deletePeriod(boardId: string, periodId: string): Promise<void> {
    await this.run('deleting a period', () => this.statement(SQL.DELETE_PERIOD, [boardId, periodId]));
  }

  async listPeriods(boardId: string, limit: number, before = Number.MAX_SAFE_INTEGER): Promise<PeriodRecord[]> {
    return (await this.select<PeriodRow>('listing periods', SQL.SELECT_PERIODS, [boardId, before, limit])).map(periodFromRow);
  }

  async listPlacements(participantId: string, limit: number, before = Number.MAX_SAFE_INTEGER): Promise<Placement[]> {
    return (await this.select<PlacementRow>('listing placements', SQL.SELECT_PLACEMENTS, [participantId, before, limit])).map(placementFromRow);
  }

  /** In one repeatable-read transaction, so every page is of the same archive (a reopen may delete it meanwhile). */
  async readFinal(boardId: string, periodId: string, queries: readonly RankQuery[], options: RankOptions = {}): Promise<FinalRead | null> {
    return this.run('reading final rankings', () =>
      transaction(
        this.pool,
        async (client): Promise<FinalRead | null> => {
          const { rows } = await client.query<PeriodRow>(SQL.SELECT_PERIOD, [boardId, periodId]);
          if (rows[0] === undefined) return null;
          const period = periodFromRow(rows[0]);
          const source: FinalSource = {
            total: period.total,
            page: async (offset, limit) => (await client.query<FinalEntryRow>(SQL.SELECT_FINAL_PAGE, [boardId, periodId, offset, limit])).rows.map(finalEntryFromRow),
            entryOf: async (participantId) => {
              const entry = (await client.query<FinalEntryRow>(SQL.SELECT_FINAL_ENTRY, [boardId, periodId, participantId])).rows[0];
              return entry === undefined ? null : finalEntryFromRow(entry);
            },
            entriesOf: async (ids) => (await client.query<FinalEntryRow>(SQL.SELECT_FINAL_ENTRIES, [boardId, periodId, ids])).rows.map(finalEntryFromRow),
            sharedRankOf: async (entry) => {
              const { rows: above } = await client.query<{ rank: string }>(SQL.SELECT_FINAL_ABOVE_TIE, [boardId, periodId, entry.rank, entry.score]);
              return (above[0] === undefined ? 0 : Number(above[0].rank)) + 1;
            },
          };
          return { period, pages: await answerFinal(source, queries, options) };
        },
        'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      ),
    );
  }

  /** One statement: FOR UPDATE SKIP LOCKED picks the rows, so members claiming at once never wait for each other or share a row. */
  async claimWebhooks(now: number, leaseMs: number, limit: number): Promise<WebhookDelivery[]> {
    return (await this.select<WebhookRow>('claiming webhook deliveries', SQL.CLAIM_WEBHOOKS, [now, now + leaseMs, limit])).map(webhookFromRow).sort(byDue);
  }

  async completeWebhook(boardId: string, periodId: string, at: number): Promise<boolean> {
    const updated = await this.run('recording a webhook delivery', () => this.statement(SQL.COMPLETE_WEBHOOK, [boardId, periodId, at]));
    return updated.rowCount === 1;
  }

  async retryWebhook(boardId: string, periodId: string, attempt: number, nextAttemptAt: number | null, error: string): Promise<boolean> {
    const updated = await this.run('recording a failed webhook delivery', () => this.statement(SQL.RETRY_WEBHOOK, [boardId, periodId, attempt, nextAttemptToColumn(nextAttemptAt), error]));
    return updated.rowCount === 1;
  }

  async listWebhooks(boardId: string, limit: number, before = Number.MAX_SAFE_INTEGER): Promise<WebhookDelivery[]> {
    return (await this.select<WebhookRow>('listing webhook deliveries', SQL.SELECT_WEBHOOKS, [boardId, before, limit])).map(webhookFromRow);
  }

  /** Ordered by (version, seq), so events that changed nothing follow the change whose version they carry. */
  async listEvents(boardId: string, afterVersion: number, limit: number): Promise<ScoreEvent[]> {
    return (await this.select<EventRow>('listing events', SQL.SELECT_EVENTS_AFTER, [boardId, afterVersion, limit])).map(eventFromRow);
  }

  /**
   * Store.eraseParticipant, in one transaction: under the board's
   * checkpoint lock (one writer of its checkpoint at a time) and its row's
   * lock (appends wait), the participant's checkpoint row goes and the ranks
   * after it close up, then their events and event ids up to the erasure,
   * and the version rises. Complexity: O(n) rows renumbered in the
   * checkpoint, and a scan of the board's log.
   */
  async eraseParticipant(boardId: string, participantId: string, erasure: Erasure): Promise<boolean> {
    return this.run('erasing a participant', () =>
      transaction(this.pool, async (client) => {
        await client.query(SQL.LOCK_XACT_BOARD, [SQL.LOCK_CHECKPOINT, boardId]);
        const { rows } = await client.query<{ id: string; checkpoint_seq: string | null }>(SQL.LOCK_BOARD_FOR_ERASURE, [boardId]);
        const board = rows[0];
        if (board === undefined) return false;
        let had = false;
        if (board.checkpoint_seq !== null && int(board.checkpoint_seq) <= erasure.seq) {
          const removed = await client.query<{ rank: number }>(SQL.DELETE_CHECKPOINT_ENTRY, [boardId, participantId]);
          const rank = removed.rows[0]?.rank;
          if (rank !== undefined) {
            had = true;
            await client.query(SQL.NEGATE_RANKS_AFTER, [boardId, rank]);
            await client.query(SQL.FLIP_NEGATED_RANKS, [boardId]);
            await client.query(SQL.LOWER_CHECKPOINT_TOTAL, [boardId]);
          }
        }
        const events = await client.query<{ events: string }>(SQL.DELETE_PARTICIPANT_EVENTS, [boardId, participantId, erasure.seq]);
        if (int(events.rows[0]!.events) > 0) had = true;
        await client.query(SQL.DELETE_PARTICIPANT_REJECTIONS, [boardId, participantId]);
        await client.query(SQL.ANONYMISE_FINAL_RANKINGS, [boardId, participantId, anonymousParticipantId()]);
        await client.query(SQL.RAISE_VERSION_AFTER_ERASURE, [boardId, erasure.version, had ? 1 : 0]);
        return had;
      }),
    );
  }

  async putProfile(profile: Profile): Promise<void> {
    await this.run('saving a profile', () => this.statement(SQL.UPSERT_PROFILE, profileParams(profile)));
  }

  async getProfiles(participantIds: readonly string[]): Promise<Profile[]> {
    if (participantIds.length === 0) return [];
    return (await this.select<ProfileRow>('reading profiles', SQL.SELECT_PROFILES, [participantIds])).map(profileFromRow);
  }

  async deleteProfile(participantId: string): Promise<boolean> {
    const deleted = await this.run('deleting a profile', () => this.statement(SQL.DELETE_PROFILE, [participantId]));
    return deleted.rowCount === 1;
  }

  /** Rejects when the id or the hash exists already. */
  async createApiKey(record: ApiKeyRecord): Promise<void> {
    await this.run('creating an API key', () => this.statement(SQL.INSERT_API_KEY, apiKeyParams(record)));
  }

  async findApiKey(hash: string): Promise<ApiKeyRecord | null> {
    const [row] = await this.select<ApiKeyRow>('finding an API key', SQL.SELECT_API_KEY, [hash]);
    return row === undefined ? null : apiKeyFromRow(row);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.select<ApiKeyRow>('listing API keys', SQL.SELECT_API_KEYS)).map(apiKeyFromRow);
  }

  async revokeApiKey(id: string, at: number): Promise<ApiKeyRecord | null> {
    const [row] = await this.select<ApiKeyRow>('revoking an API key', SQL.REVOKE_API_KEY, [id, at]);
    return row === undefined ? null : apiKeyFromRow(row);
  }

  async countApiKeys(scope: KeyScope): Promise<number> {
    const [row] = await this.select<{ count: string }>('counting API keys', SQL.COUNT_API_KEYS, [scope]);
    return int(row!.count);
  }

  /**
   * Creates the partitions of the coming days, then runs the audit-log
   * retention: drops the partitions of days before the cutoff and prunes the
   * default partition, keeping the events after each board's checkpoint,
   * and deletes the rejections received before the cutoff.
   * Runs every 10 minutes on its own; one run at a time in this process,
   * and in one process at a time (the others skip it).
   */
  maintain(): Promise<void> {
    if (this.maintaining !== null) return this.maintaining;
    const run = async (): Promise<void> => {
      await this.createPartitionsAhead();
      if (this.retentionDays === 0) return;
      const cutoff = Date.now() - this.retentionDays * DAY_MS;
      await dropPartitionsBefore(this.pool, cutoff);
      await pruneDefaultPartition(this.pool, cutoff);
      while ((await this.pool.query(SQL.PRUNE_REJECTIONS, [cutoff, PRUNE_REJECTIONS_LIMIT])).rowCount === PRUNE_REJECTIONS_LIMIT);
    };
    this.maintaining = this.run('maintaining the log partitions', run).finally(() => {
      this.maintaining = null;
    });
    return this.maintaining;
  }

  /** Commits what is queued, waits for the calls under way, then closes the connections. Idempotent. */
  close(): Promise<void> {
    if (this.closing === null) {
      clearInterval(this.maintenanceTimer);
      this.closing = (async () => {
        await Promise.all([this.writes.close(), this.rejections.close()]);
        await Promise.allSettled([...this.running]);
        await this.pool.end();
      })();
    }
    return this.closing;
  }

  private async createPartitionsAhead(): Promise<void> {
    const now = Date.now();
    await createPartitions(this.pool, now - DAY_MS, now + DAYS_AHEAD * DAY_MS, this.warn);
  }

  private maintainInBackground(): void {
    this.maintain().catch((err: unknown) => {
      if (this.closing === null) this.warn(`maintaining the PostgreSQL log partitions failed, it is tried again in 10 minutes: ${(err as Error).message}`);
    });
  }

  /** The rows of one statement, run on any connection of the pool (see run). */
  private async select<R extends pg.QueryResultRow>(doing: string, text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.run(doing, () => this.statement<R>(text, values))).rows;
  }

  /** One statement on any connection of the pool, given up after queryTimeoutMs (the connection is dropped then). */
  private statement<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ text, values, query_timeout: this.queryTimeoutMs } as pg.QueryConfig);
  }

  /** The error a failed call throws (storageError), counted as a failure of the store unless it was the caller's. */
  private failure(err: unknown, doing: string, as: 'storage_failed' | 'store_unavailable'): Error {
    const failure = storageError(err, doing, as);
    if (failure instanceof LadderError && failure.status === 503) this.observer.failed();
    return failure;
  }

  /** Runs one call against the database: refused once the store is closing, waited for by close(), its failure store_unavailable. */
  private run<T>(doing: string, call: () => Promise<T>): Promise<T> {
    if (this.closing !== null) return Promise.reject(new Error('the PostgreSQL store is closed'));
    const running = call().catch((err: unknown) => Promise.reject(this.failure(err, doing, 'store_unavailable')));
    this.running.add(running);
    const forget = (): void => void this.running.delete(running);
    running.then(forget, forget);
    return running;
  }
}

const DONE: HistoryPart<never> = { items: [], frontier: null };

/** One batch of rejections in one statement; once more without the board that a deletion took meanwhile. */
async function insertRejections(pool: pg.Pool, rejections: readonly Rejection[]): Promise<void> {
  try {
    await pool.query(SQL.INSERT_REJECTIONS, rejectionColumns(rejections));
  } catch (err) {
    if ((err as { code?: unknown }).code !== FOREIGN_KEY_VIOLATION) throw err;
    await pool.query(SQL.INSERT_REJECTIONS, rejectionColumns(rejections));
  }
}
