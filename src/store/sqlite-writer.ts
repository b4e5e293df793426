/**
 * The SQLite store's one write connection. It applies the schema migrations
 * when it opens, then commits batches of write operations, each batch in one
 * transaction. It is synchronous (better-sqlite3), so the store runs it in a
 * worker thread (sqlite-worker.ts) and the fsync of a commit never blocks the
 * main event loop.
 *
 * Appending events is the hot path: a batch's events arrive packed
 * (sqlite-pack.ts) and go into score_log with multi-row INSERTs of up to
 * INSERT_CHUNK rows, consecutive append ops together. Once a board's log
 * has moved past a segment, the append indexes it by participant in one
 * sorted insert (migration 006).
 */
import Database from 'better-sqlite3';
import { anonymousParticipantId } from './anonymous.js';
import { newEpoch } from '../core/epoch.js';
import { loadMigrations, planMigrations, type AppliedMigration, type Migration } from './migrate.js';
import { sweepCheckpointFiles } from './sqlite-checkpoint.js';
import { PackedEventReader } from './sqlite-pack.js';
import type { ApiKeyRow, BoardRow, CheckpointRow, NewBoardRow, ProfileRow, RejectionRow, WebhookRow } from './sqlite-rows.js';
import * as SQL from './sqlite-sql.js';
import type { PeriodClose } from './store.js';

export type SyncMode = 'full' | 'normal';

export interface WriterOptions {
  /** Path of the database file. */
  readonly file: string;
  /** Directory of the checkpoint files. */
  readonly checkpointDir: string;
  /** full: every commit survives power loss. normal: it survives a process crash. */
  readonly sync: SyncMode;
}

/** Rows per multi-row INSERT: 18 parameters each, far below SQLite's 32766. */
export const INSERT_CHUNK = 128;

/** Rows deleted per prune op, so that one op never holds the writer for long. */
export const PRUNE_LIMIT = 10_000;

/**
 * One write the store asked for. A batch of them shares a transaction. An
 * append names its events by position in the batch's packed events.
 */
export type WriteOp =
  | { readonly kind: 'append'; readonly first: number; readonly count: number }
  | { readonly kind: 'recordCheckpoint'; readonly checkpoint: CheckpointRow }
  /** Refused submissions, for the participants' histories; those of a board that does not exist are dropped. */
  | { readonly kind: 'reject'; readonly rejections: readonly RejectionRow[] }
  | {
      readonly kind: 'prune';
      /** null: every board. */
      readonly boardId: string | null;
      /** Log events and rejections received before this may go (ms since epoch); null keeps them. */
      readonly cutoff: number | null;
    }
  | { readonly kind: 'createBoard'; readonly board: NewBoardRow }
  | { readonly kind: 'updateBoard'; readonly board: BoardRow }
  | { readonly kind: 'closePeriod'; readonly close: PeriodClose; readonly board: BoardRow }
  | { readonly kind: 'deletePeriod'; readonly boardId: string; readonly periodId: string }
  | { readonly kind: 'deleteBoard'; readonly boardId: string }
  | { readonly kind: 'setEpoch'; readonly boardId: string; readonly epoch: string }
  | {
      readonly kind: 'erase';
      readonly boardId: string;
      readonly participantId: string;
      /** Their events up to this log position go. */
      readonly seq: number;
      /** The board's version rises to this. */
      readonly version: number;
      /** The board's checkpoints that held them, each with the file rewritten without them, or null to drop one that could not be read. */
      readonly checkpoints: readonly ErasedCheckpoint[];
    }
  | { readonly kind: 'putProfile'; readonly profile: ProfileRow }
  | { readonly kind: 'deleteProfile'; readonly participantId: string }
  | { readonly kind: 'claimWebhooks'; readonly now: number; readonly leasedUntil: number; readonly limit: number }
  | { readonly kind: 'completeWebhook'; readonly boardId: string; readonly periodId: string; readonly at: number }
  | { readonly kind: 'retryWebhook'; readonly boardId: string; readonly periodId: string; readonly attempt: number; readonly nextAttemptAt: number; readonly error: string }
  | { readonly kind: 'createApiKey'; readonly key: ApiKeyRow }
  | { readonly kind: 'revokeApiKey'; readonly id: string; readonly at: number };

/** A checkpoint an erasure changes: `file` is its file now; `replacement` the one written without the participant. */
export interface ErasedCheckpoint {
  readonly seq: number;
  readonly file: string;
  readonly replacement: { readonly file: string; readonly bytes: number; readonly crc32: number; readonly total: number } | null;
}

/**
 * The outcome of one op. `done` is false when createBoard found the id taken,
 * or deleteBoard, setEpoch, revokeApiKey, recordCheckpoint, deleteProfile,
 * completeWebhook or retryWebhook found nothing to change, erase no entry of
 * the participant, prune nothing (more) to delete, or claimWebhooks nothing
 * due. `rows` are what an op that reads returns (claimWebhooks: the claimed
 * rows). A failed op changed nothing.
 */
export type OpResult =
  | { readonly ok: true; readonly done: boolean; readonly rows?: readonly unknown[] }
  | { readonly ok: false; readonly message: string; readonly code: string | null };

export class SqliteWriter {
  private readonly db: Database.Database;
  private readonly insertBoard: Database.Statement<[NewBoardRow]>;
  private readonly updateBoard: Database.Statement<[BoardRow]>;
  private readonly insertPeriod: Database.Statement<[{ board_id: string; period_id: string; starts_at: number; ends_at: number; closed_at: number; total: number }]>;
  private readonly resetBoard: Database.Statement<[{ id: string; epoch: string; period_start: number; period_seq: number; options: string }]>;
  private readonly insertWebhookDelivery: Database.Statement<[{ board_id: string; period_id: string; url: string; top: number; created_at: number }]>;
  private readonly deletePeriod: Database.Statement<[string, string]>;
  /** insertFinalRows(k), prepared on first use for each k ≤ INSERT_CHUNK. */
  private readonly insertFinalRows = new Map<number, Database.Statement<unknown[]>>();
  private readonly deleteBoard: Database.Statement<[string]>;
  private readonly setEpoch: Database.Statement<[{ board_id: string; epoch: string }]>;
  private readonly revokeApiKey: Database.Statement<[{ id: string; revoked_at: number }]>;
  private readonly setMeta: Database.Statement<[{ key: string; value: string }]>;
  private readonly boardExists: Database.Statement<[string], number>;
  /** indexed_segments of a board; undefined when it does not exist. */
  private readonly selectIndexedSegments: Database.Statement<[string], number>;
  private readonly indexLogSegments: Database.Statement<[{ board_id: string; from: number; to: number }]>;
  private readonly setIndexedSegments: Database.Statement<[{ board_id: string; segments: number }]>;
  private readonly insertRejection: Database.Statement<[RejectionRow]>;
  private readonly raiseVersion: Database.Statement<[{ board_id: string; version: number; added: number }]>;
  /** insertLogRows(k), prepared on first use for each k ≤ INSERT_CHUNK. */
  private readonly insertLogRows = new Map<number, Database.Statement<unknown[]>>();
  private readonly logRowExists: Database.Statement<[string, number], number>;
  private readonly insertCheckpoint: Database.Statement<[CheckpointRow]>;
  private readonly selectCheckpoints: Database.Statement<[string], CheckpointRow>;
  private readonly deleteCheckpoint: Database.Statement<[string, number]>;
  private readonly selectBoardFiles: Database.Statement<[string], string>;
  private readonly releaseBase: Database.Statement<[string]>;
  private readonly selectPrunableLogs: Database.Statement<[{ board_id: string | null }], { board_id: string; upto: number }>;
  private readonly pruneLog: Database.Statement<[{ board_id: string; upto: number; cutoff: number; limit: number }]>;
  private readonly selectReleasedBases: Database.Statement<[{ board_id: string | null }], string>;
  private readonly pruneBase: Database.Statement<[{ board_id: string; limit: number }]>;
  private readonly pruneParticipantLog: Database.Statement<[{ board_id: string }]>;
  private readonly pruneRejections: Database.Statement<[{ cutoff: number; limit: number }]>;
  private readonly insertApiKey: Database.Statement<[ApiKeyRow]>;
  private readonly replaceCheckpointFile: Database.Statement<[{ board_id: string; seq: number; old_file: string; file: string; bytes: number; crc32: number; total: number }]>;
  private readonly deleteCheckpointFile: Database.Statement<[{ board_id: string; seq: number; old_file: string }]>;
  private readonly deleteParticipantLog: Database.Statement<[{ board_id: string; participant_id: string; seq: number }]>;
  private readonly deleteParticipantBase: Database.Statement<[{ board_id: string; participant_id: string }]>;
  private readonly deleteParticipantSegments: Database.Statement<[{ board_id: string; participant_id: string; seq: number }]>;
  private readonly deleteParticipantRejections: Database.Statement<[{ board_id: string; participant_id: string }]>;
  private readonly anonymiseFinalRankings: Database.Statement<[{ board_id: string; participant_id: string; anonymous: string }]>;
  private readonly raiseVersionAfterErasure: Database.Statement<[{ board_id: string; version: number; removed: number }]>;
  private readonly upsertProfile: Database.Statement<[ProfileRow]>;
  private readonly deleteProfile: Database.Statement<[string]>;
  private readonly claimWebhooks: Database.Statement<[{ now: number; leased_until: number; limit: number }], WebhookRow>;
  private readonly completeWebhook: Database.Statement<[{ board_id: string; period_id: string; at: number }]>;
  private readonly retryWebhook: Database.Statement<[{ board_id: string; period_id: string; attempt: number; next_attempt_at: number; error: string }]>;
  /** The packed events of the batch being committed. */
  private events: PackedEventReader | null = null;
  /** Checkpoint files the batch being committed makes obsolete: deleted once it is committed. */
  private obsolete: string[] = [];
  private readonly commitAll: Database.Transaction<(ops: readonly WriteOp[]) => OpResult[]>;
  private readonly commitEachIsolated: Database.Transaction<(ops: readonly WriteOp[]) => OpResult[]>;
  private readonly applyInSavepoint: Database.Transaction<(op: WriteOp) => Applied>;
  /** Versions applied when this writer opened the database. */
  readonly migrated: number[];
  /** Checkpoint files that no record named when the writer opened (left by a crash), now deleted. */
  readonly swept: string[];
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
      const recorded = new Set(this.db.prepare<[], string>(SQL.SELECT_CHECKPOINT_FILES).pluck().all());
      this.swept = sweepCheckpointFiles(options.checkpointDir, recorded);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.insertBoard = this.db.prepare(SQL.INSERT_BOARD);
    this.updateBoard = this.db.prepare(SQL.UPDATE_BOARD);
    this.insertPeriod = this.db.prepare(SQL.INSERT_PERIOD);
    this.resetBoard = this.db.prepare(SQL.RESET_BOARD);
    this.insertWebhookDelivery = this.db.prepare(SQL.INSERT_WEBHOOK_DELIVERY);
    this.deletePeriod = this.db.prepare(SQL.DELETE_PERIOD);
    this.deleteBoard = this.db.prepare(SQL.DELETE_BOARD);
    this.setEpoch = this.db.prepare(SQL.SET_BOARD_EPOCH);
    this.revokeApiKey = this.db.prepare(SQL.REVOKE_API_KEY);
    this.boardExists = this.db.prepare<[string], number>(SQL.BOARD_EXISTS).pluck();
    this.selectIndexedSegments = this.db.prepare<[string], number>(SQL.SELECT_INDEXED_SEGMENTS).pluck();
    this.indexLogSegments = this.db.prepare(SQL.INDEX_LOG_SEGMENTS);
    this.setIndexedSegments = this.db.prepare(SQL.SET_INDEXED_SEGMENTS);
    this.insertRejection = this.db.prepare(SQL.INSERT_REJECTION);
    this.raiseVersion = this.db.prepare(SQL.RAISE_BOARD_VERSION);
    this.logRowExists = this.db.prepare<[string, number], number>(SQL.LOG_ROW_EXISTS).pluck();
    this.insertCheckpoint = this.db.prepare(SQL.INSERT_CHECKPOINT);
    this.selectCheckpoints = this.db.prepare(SQL.SELECT_CHECKPOINTS);
    this.deleteCheckpoint = this.db.prepare(SQL.DELETE_CHECKPOINT);
    this.selectBoardFiles = this.db.prepare<[string], string>(SQL.SELECT_BOARD_CHECKPOINT_FILES).pluck();
    this.releaseBase = this.db.prepare(SQL.RELEASE_BASE);
    this.selectPrunableLogs = this.db.prepare(SQL.SELECT_PRUNABLE_LOGS);
    this.pruneLog = this.db.prepare(SQL.PRUNE_LOG);
    this.selectReleasedBases = this.db.prepare<[{ board_id: string | null }], string>(SQL.SELECT_RELEASED_BASES).pluck();
    this.pruneBase = this.db.prepare(SQL.PRUNE_BASE);
    this.pruneParticipantLog = this.db.prepare(SQL.PRUNE_PARTICIPANT_LOG);
    this.pruneRejections = this.db.prepare(SQL.PRUNE_REJECTIONS);
    this.insertApiKey = this.db.prepare(SQL.INSERT_API_KEY);
    this.replaceCheckpointFile = this.db.prepare(SQL.REPLACE_CHECKPOINT_FILE);
    this.deleteCheckpointFile = this.db.prepare(SQL.DELETE_CHECKPOINT_FILE);
    this.deleteParticipantLog = this.db.prepare(SQL.DELETE_PARTICIPANT_LOG);
    this.deleteParticipantBase = this.db.prepare(SQL.DELETE_PARTICIPANT_BASE);
    this.deleteParticipantSegments = this.db.prepare(SQL.DELETE_PARTICIPANT_SEGMENTS);
    this.deleteParticipantRejections = this.db.prepare(SQL.DELETE_PARTICIPANT_REJECTIONS);
    this.anonymiseFinalRankings = this.db.prepare(SQL.ANONYMISE_FINAL_RANKINGS);
    this.raiseVersionAfterErasure = this.db.prepare(SQL.RAISE_VERSION_AFTER_ERASURE);
    this.upsertProfile = this.db.prepare(SQL.UPSERT_PROFILE);
    this.deleteProfile = this.db.prepare(SQL.DELETE_PROFILE);
    this.claimWebhooks = this.db.prepare(SQL.CLAIM_WEBHOOKS);
    this.completeWebhook = this.db.prepare(SQL.COMPLETE_WEBHOOK);
    this.retryWebhook = this.db.prepare(SQL.RETRY_WEBHOOK);
    this.commitAll = this.db.transaction((ops: readonly WriteOp[]) => this.applyAll(ops));
    // Nested better-sqlite3 transactions are savepoints: an op that throws is
    // rolled back alone and the rest of the batch still commits.
    this.applyInSavepoint = this.db.transaction((op: WriteOp) => this.apply(op));
    this.commitEachIsolated = this.db.transaction((ops: readonly WriteOp[]) => ops.map((op) => this.applyIsolated(op)));
  }

  /**
   * Applies the ops in one transaction (BEGIN IMMEDIATE ... COMMIT) and
   * returns one result per op; an op that fails changes nothing and fails
   * alone. Throws when the transaction itself fails; then nothing of the
   * batch is committed. `events` are the batch's packed events, which its
   * append ops name.
   */
  commit(ops: readonly WriteOp[], events: PackedEventReader | null = null): OpResult[] {
    this.events = events;
    try {
      this.obsolete = [];
      return this.commitAll.immediate(ops);
    } catch {
      // Rare (a duplicate API key): the whole attempt was rolled back, so redo
      // it with a savepoint per op, which isolates the failure. A savepoint
      // per op on every batch would cost about a third more.
      this.obsolete = [];
      return this.commitEachIsolated.immediate(ops);
    } finally {
      this.events = null;
    }
  }

  /**
   * Checkpoint files (names) that the last commit made obsolete, now that it
   * is committed: the caller deletes them. Empty after a failed commit.
   */
  takeObsoleteFiles(): string[] {
    const files = this.obsolete;
    this.obsolete = [];
    return files;
  }

  /** One result per op; consecutive appends share their multi-row INSERTs. */
  private applyAll(ops: readonly WriteOp[]): OpResult[] {
    const results: OpResult[] = [];
    for (let i = 0; i < ops.length; ) {
      const op = ops[i]!;
      if (op.kind !== 'append') {
        results.push(resultOf(this.apply(op)));
        i++;
        continue;
      }
      let end = i + 1;
      let last = op.first + op.count;
      while (end < ops.length) {
        const next = ops[end]!;
        if (next.kind !== 'append' || next.first !== last) break;
        last += next.count;
        end++;
      }
      this.append(op.first, last);
      for (; i < end; i++) results.push({ ok: true, done: true });
    }
    return results;
  }

  /** Records the clean shutdown (everything queued is committed), then closes. */
  close(): void {
    this.setMeta.run({ key: 'clean_shutdown', value: '1' });
    this.db.close();
  }

  private applyIsolated(op: WriteOp): OpResult {
    try {
      return resultOf(this.applyInSavepoint(op));
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

  private apply(op: WriteOp): Applied {
    switch (op.kind) {
      case 'append':
        this.append(op.first, op.first + op.count);
        return true;
      case 'recordCheckpoint':
        return this.recordCheckpoint(op.checkpoint);
      case 'reject':
        this.reject(op.rejections);
        return true;
      case 'prune':
        return this.prune(op.boardId, op.cutoff);
      case 'createBoard':
        return this.insertBoard.run(op.board).changes > 0;
      case 'updateBoard':
        return this.updateBoard.run(op.board).changes > 0;
      case 'closePeriod':
        return this.closePeriod(op.close, op.board);
      case 'deletePeriod':
        return this.deletePeriod.run(op.boardId, op.periodId).changes > 0;
      case 'deleteBoard': {
        const files = this.selectBoardFiles.all(op.boardId);
        const deleted = this.deleteBoard.run(op.boardId).changes > 0;
        this.obsolete.push(...files);
        return deleted;
      }
      case 'setEpoch':
        return this.setEpoch.run({ board_id: op.boardId, epoch: op.epoch }).changes > 0;
      case 'erase':
        return this.erase(op);
      case 'putProfile':
        this.upsertProfile.run(op.profile);
        return true;
      case 'deleteProfile':
        return this.deleteProfile.run(op.participantId).changes > 0;
      case 'claimWebhooks':
        return { rows: this.claimWebhooks.all({ now: op.now, leased_until: op.leasedUntil, limit: op.limit }) };
      case 'completeWebhook':
        return this.completeWebhook.run({ board_id: op.boardId, period_id: op.periodId, at: op.at }).changes > 0;
      case 'retryWebhook':
        return this.retryWebhook.run({ board_id: op.boardId, period_id: op.periodId, attempt: op.attempt, next_attempt_at: op.nextAttemptAt, error: op.error }).changes > 0;
      case 'createApiKey':
        this.insertApiKey.run(op.key);
        return true;
      case 'revokeApiKey':
        return this.revokeApiKey.run({ id: op.id, revoked_at: op.at }).changes > 0;
    }
  }

  /** Store.closePeriod: false when the board is gone or the period was closed already. */
  private closePeriod(close: PeriodClose, board: BoardRow): boolean {
    if (this.boardExists.get(close.boardId) === undefined) return false;
    const { ranked } = close;
    const total = ranked.ids.length;
    const period = { board_id: close.boardId, period_id: close.periodId, starts_at: close.startsAt, ends_at: close.endsAt, closed_at: close.closedAt, total };
    if (this.insertPeriod.run(period).changes === 0) return false;
    const width = SQL.FINAL_COLUMNS.length;
    const params: unknown[] = [];
    for (let from = 0; from < total; from += INSERT_CHUNK) {
      const k = Math.min(INSERT_CHUNK, total - from);
      params.length = k * width;
      for (let i = 0; i < k; i++) {
        const at = from + i;
        const metadata = ranked.metadata.get(at);
        params.splice(i * width, width, close.boardId, close.periodId, at + 1, ranked.ids[at], ranked.scores[at], ranked.achievedAt[at], ranked.updatedAt[at], metadata === undefined ? null : JSON.stringify(metadata));
      }
      let statement = this.insertFinalRows.get(k);
      if (statement === undefined) this.insertFinalRows.set(k, (statement = this.db.prepare(SQL.insertFinalRows(k))));
      statement.run(params);
    }
    if (close.reset === null) this.updateBoard.run(board);
    else this.resetBoard.run({ id: board.id, epoch: close.reset.epoch, period_start: board.period_start, period_seq: close.reset.seq, options: board.options });
    if (close.webhook !== null) {
      this.insertWebhookDelivery.run({ board_id: close.boardId, period_id: close.periodId, url: close.webhook.url, top: close.webhook.top, created_at: close.closedAt });
    }
    return true;
  }

  /**
   * Appends events [from, to) of the batch. Events of a board that no longer
   * exists are dropped, and so is an event whose (board, event id) is
   * already logged: the version and total are not touched then, as the first
   * event with that id already did it. Then each board's segments that its
   * log has moved past are indexed by participant.
   */
  private append(from: number, to: number): void {
    const events = this.events;
    if (events === null || to > events.count) throw new Error(`append of events ${from}..${to} without them`);
    /** Per board: its indexed_segments, undefined when it does not exist, and the greatest seq of its events here. */
    const boards = new Map<string, { indexed: number | undefined; lastSeq: number }>();
    const raised = new Map<string, { board_id: string; version: number; added: number }>();
    const chunk: number[] = [];
    const params: unknown[] = [];
    const flush = (): void => {
      if (chunk.length === 0) return;
      params.length = chunk.length * SQL.LOG_COLUMNS.length;
      const inserted = this.insertRows(chunk.length).run(params).changes;
      for (const i of chunk) {
        // Rows were dropped: only an event with an event id can have been, and then its (board, seq) is missing.
        if (inserted < chunk.length && events.eventId(i) !== null && this.logRowExists.get(events.boardId(i), events.seq(i)) === undefined) continue;
        const boardId = events.boardId(i);
        let board = raised.get(boardId);
        if (board === undefined) raised.set(boardId, (board = { board_id: boardId, version: 0, added: 0 }));
        board.version = Math.max(board.version, events.version(i));
        if (events.isNewEntry(i)) board.added += 1;
        else if (events.isRemoval(i)) board.added -= 1;
      }
      chunk.length = 0;
    };
    for (let i = from; i < to; i++) {
      const boardId = events.boardId(i);
      let board = boards.get(boardId);
      if (board === undefined) boards.set(boardId, (board = { indexed: this.selectIndexedSegments.get(boardId), lastSeq: 0 }));
      if (board.indexed === undefined) continue;
      board.lastSeq = Math.max(board.lastSeq, events.seq(i));
      events.bind(i, params, chunk.length * SQL.LOG_COLUMNS.length);
      chunk.push(i);
      if (chunk.length === INSERT_CHUNK) flush();
    }
    flush();
    for (const board of raised.values()) this.raiseVersion.run(board);
    for (const [boardId, { indexed, lastSeq }] of boards) {
      // Seqs only grow per board: the segments below the last seq's are closed.
      const closed = Math.floor(lastSeq / SQL.LOG_SEGMENT_SIZE);
      if (indexed === undefined || closed <= indexed) continue;
      this.indexLogSegments.run({ board_id: boardId, from: indexed, to: closed });
      this.setIndexedSegments.run({ board_id: boardId, segments: closed });
    }
  }

  /** Inserts the rejections of the boards that exist. */
  private reject(rejections: readonly RejectionRow[]): void {
    const exists = new Map<string, boolean>();
    for (const rejection of rejections) {
      let known = exists.get(rejection.board_id);
      if (known === undefined) exists.set(rejection.board_id, (known = this.boardExists.get(rejection.board_id) !== undefined));
      if (known) this.insertRejection.run(rejection);
    }
  }

  private insertRows(rows: number): Database.Statement<unknown[]> {
    let statement = this.insertLogRows.get(rows);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[]>(SQL.insertLogRows(rows));
      this.insertLogRows.set(rows, statement);
    }
    return statement;
  }

  /**
   * Records a checkpoint file that is written already, keeps the board's two
   * latest checkpoints and drops the older ones. With two, the board's base
   * state is released. False when the board does not exist (any more).
   */
  private recordCheckpoint(checkpoint: CheckpointRow): boolean {
    if (this.boardExists.get(checkpoint.board_id) === undefined) {
      this.obsolete.push(checkpoint.file);
      return false;
    }
    // A second checkpoint at the same seq holds the same state, and its file has the same name,
    // unless an erasure rewrote the first under a name of its own: then the second file goes.
    if (this.insertCheckpoint.run(checkpoint).changes === 0) {
      if (!this.selectCheckpoints.all(checkpoint.board_id).some((kept) => kept.file === checkpoint.file)) this.obsolete.push(checkpoint.file);
      return true;
    }
    const kept = this.selectCheckpoints.all(checkpoint.board_id);
    for (const old of kept.slice(2)) {
      this.deleteCheckpoint.run(old.board_id, old.seq);
      this.obsolete.push(old.file);
    }
    if (kept.length >= 2) this.releaseBase.run(checkpoint.board_id);
    return true;
  }

  /**
   * Erases a participant from a board (Store.eraseParticipant): each
   * checkpoint that held them gets its rewritten file (the old one is
   * deleted after the commit), their log rows up to the erasure (with their
   * history index rows), their refused submissions and their base row go,
   * their places in closed periods get an anonymous id, and the version
   * rises. True when they had an entry.
   */
  private erase(op: Extract<WriteOp, { kind: 'erase' }>): boolean {
    const replacements = op.checkpoints.flatMap((checkpoint) => (checkpoint.replacement === null ? [] : [checkpoint.replacement.file]));
    if (this.boardExists.get(op.boardId) === undefined) {
      this.obsolete.push(...replacements);
      return false;
    }
    const board = { board_id: op.boardId, participant_id: op.participantId };
    let had = false;
    for (const { seq, file, replacement } of op.checkpoints) {
      const row = { board_id: op.boardId, seq, old_file: file };
      if (replacement === null) {
        if (this.deleteCheckpointFile.run(row).changes > 0) this.obsolete.push(file);
      } else if (this.replaceCheckpointFile.run({ ...row, ...replacement }).changes > 0) {
        this.obsolete.push(file);
        had = true;
      } else {
        // Superseded meanwhile (the caller saves none while it erases; a deleted board's went with it).
        this.obsolete.push(replacement.file);
      }
    }
    if (this.deleteParticipantLog.run({ ...board, seq: op.seq }).changes > 0) had = true;
    if (this.deleteParticipantBase.run(board).changes > 0) had = true;
    this.deleteParticipantSegments.run({ ...board, seq: op.seq });
    this.deleteParticipantRejections.run(board);
    this.anonymiseFinalRankings.run({ ...board, anonymous: anonymousParticipantId() });
    this.raiseVersionAfterErasure.run({ board_id: op.boardId, version: op.version, removed: had ? 1 : 0 });
    return had;
  }

  /**
   * Deletes up to PRUNE_LIMIT rows per board: released base entries, and,
   * with a cutoff, log events received before it that no kept checkpoint
   * needs (those up to the older of a board's two checkpoints), the
   * participant index of segments left without events, and rejections
   * received before it (of every board). True when it deleted anything, so
   * that another run may find more.
   */
  private prune(boardId: string | null, cutoff: number | null): boolean {
    let deleted = 0;
    for (const base of this.selectReleasedBases.all({ board_id: boardId })) deleted += this.pruneBase.run({ board_id: base, limit: PRUNE_LIMIT }).changes;
    if (cutoff !== null) {
      for (const log of this.selectPrunableLogs.all({ board_id: boardId })) {
        deleted += this.pruneLog.run({ board_id: log.board_id, upto: log.upto, cutoff, limit: PRUNE_LIMIT }).changes;
        deleted += this.pruneParticipantLog.run({ board_id: log.board_id }).changes;
      }
      deleted += this.pruneRejections.run({ cutoff, limit: PRUNE_LIMIT }).changes;
    }
    return deleted > 0;
  }
}

/** What applying one op gave: done or not, or the rows it read. */
type Applied = boolean | { readonly rows: readonly unknown[] };

function resultOf(applied: Applied): OpResult {
  return typeof applied === 'boolean' ? { ok: true, done: applied } : { ok: true, done: applied.rows.length > 0, rows: applied.rows };
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
