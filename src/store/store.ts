/**
 * Durable state (DESIGN.md "store"): boards, the score-event log, board
 * checkpoints and API keys. Two implementations share this interface and one
 * conformance suite (test/conformance/store.ts): SQLite (embedded, store/sqlite.ts)
 * and PostgreSQL (cluster, store/postgres.ts).
 *
 * A board's entries are never written one by one: the log is append-only, and
 * each event in it carries the entry it left behind. A checkpoint records the
 * whole board as of one position of its log (its `seq`), and loading a board
 * is the latest checkpoint plus the entries that changed after it.
 */
import type { BoardConfig, Entry, Metadata, RankedEntry } from '../core/types.js';
import type { RankQuery, RankPage } from '../index/index.js';

/** One accepted submission, as the audit log keeps it. */
export interface ScoreEvent {
  readonly boardId: string;
  /**
   * Position in the board's log, assigned by the caller: greater than that
   * of every event of the board appended before (gaps are allowed). A
   * checkpoint names the log position it covers with it.
   */
  readonly seq: number;
  /** The client's event id, or null when it gave none (then retries are not deduplicated). */
  readonly eventId: string | null;
  readonly participantId: string;
  /** The submitted value: absolute under best/latest, a delta under increment. */
  readonly submitted: number;
  /** The submission's timestamp (ms since epoch). */
  readonly timestamp: number;
  /** When the server accepted it (ms since epoch). */
  readonly receivedAt: number;
  readonly oldScore: number | null;
  readonly newScore: number;
  readonly oldRank: number | null;
  /**
   * The entry's rank after the event; 0 marks a removal (ranks start at 1):
   * a scope ranking's participant moved to another value (index/derived.ts),
   * and `entry` is the entry as it was removed. A load leaves it out.
   */
  readonly newRank: number;
  /** Board version after this event. */
  readonly version: number;
  readonly changed: boolean;
  readonly metadata: Metadata | null;
  /**
   * The entry after this event. Its metadata must be the event's own or, when
   * the event's metadata did not apply (core/operators.ts), the entry's
   * metadata before the event: the log keeps which of the two it is, not a
   * copy.
   */
  readonly entry: Entry;
  /** With an event id: what a retry must repeat (core/submission.ts); null otherwise. */
  readonly fingerprint: string | null;
}

export type KeyScope = 'admin' | 'write' | 'read';

export interface ApiKeyRecord {
  readonly id: string;
  /** sha256 of the key, hex. The key itself is never stored. */
  readonly hash: string;
  readonly scope: KeyScope;
  readonly name: string;
  readonly createdAt: number;
  /** When the key was revoked; a revoked key never authorizes. */
  readonly revokedAt: number | null;
}

export interface StoredBoard {
  readonly config: BoardConfig;
  /** The epoch of the board's versions (see index/index.ts BoardState). */
  readonly epoch: string;
  /** Version of the last committed change. */
  readonly version: number;
  /** Entries as of that version. */
  readonly total: number;
  /** The log position after which the live period's events start (0 without resets): a load ignores what is before. */
  readonly periodSeq: number;
}

/**
 * A board's entries as columns in rank order (core/ordering.ts): index i
 * holds the entry at rank i + 1. Whoever receives the columns takes them over.
 */
export interface RankedColumns {
  readonly ids: string[];
  readonly scores: Float64Array;
  readonly achievedAt: Float64Array;
  readonly updatedAt: Float64Array;
  /** Sparse, by index: only the entries that have metadata. */
  readonly metadata: Map<number, Metadata>;
}

/** A closed period (or a finalized board's archive, period id 'final'), as GET .../periods lists it. */
export interface PeriodRecord {
  readonly boardId: string;
  readonly periodId: string;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly closedAt: number;
  /** Entries in its final rankings. */
  readonly total: number;
  /** Its rank 1, or null when it had no entries. */
  readonly winner: RankedEntry | null;
}

/**
 * What closePeriod records, in one transaction: the final rankings of the
 * period, the board's configuration after the close, and either a reset of
 * its live standings (a periodic board starts its next period) or nothing
 * (a finalized board keeps its log; its live state is released).
 */
export interface PeriodClose {
  readonly boardId: string;
  readonly periodId: string;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly closedAt: number;
  /** The standings as the period closed, in rank order. Taken over. */
  readonly ranked: RankedColumns;
  readonly config: BoardConfig;
  /** The live standings start again, empty, at version 0 of `epoch`, with the events after log position `seq` (`config.periodStart` is the new period's start). */
  readonly reset: { readonly epoch: string; readonly seq: number } | null;
  /** The close is owed to this webhook (a delivery row in the same transaction). */
  readonly webhook: { readonly url: string; readonly top: number } | null;
}

/** The final rankings of a closed period, answering the same queries as the live ones. */
export interface FinalRead {
  readonly period: PeriodRecord;
  /** One per query, in the order asked. */
  readonly pages: readonly RankPage[];
}

/** The state of a board as of one position of its log. */
export interface BoardCheckpoint {
  /** Every event of the board up to this seq is in it, and none after it. */
  readonly seq: number;
  /** The board's version after those events. */
  readonly version: number;
  readonly columns: RankedColumns;
}

/** What a rebuild of a board's live ranking needs, as loadBoard reads it. */
export interface LoadedBoard {
  readonly board: StoredBoard;
  /** The entries as of the latest readable checkpoint, in rank order; empty without one. */
  readonly ranked: RankedColumns;
  /**
   * The latest state of every entry that changed after that checkpoint,
   * metadata included, in no particular order. Each replaces the entry of
   * `ranked` with the same participant, if any.
   */
  readonly changed: readonly Entry[];
  /** Participants whose last event after the checkpoint removed their entry (newRank 0): they are in neither `ranked` nor `changed`, whatever `ranked` holds. */
  readonly removed: readonly string[];
  /** Events after the checkpoint that `changed` sums up. */
  readonly replayed: number;
  /** The greatest seq logged for the board (0 when none): the next event's seq must be greater. */
  readonly seq: number;
}

/** True for the event that removed its participant's entry (ScoreEvent.newRank). */
export function isRemoval(event: Pick<ScoreEvent, 'newRank'>): boolean {
  return event.newRank === 0;
}

/** The loaded board's entries as objects, in no particular order: the checkpoint's columns with the entries changed after it on top, without the removed ones. */
export function loadedEntries(loaded: LoadedBoard): Entry[] {
  const { ranked, changed } = loaded;
  const replaced = new Set([...changed.map((entry) => entry.participantId), ...loaded.removed]);
  const entries: Entry[] = [];
  for (let i = 0; i < ranked.ids.length; i++) {
    const participantId = ranked.ids[i]!;
    if (replaced.has(participantId)) continue;
    entries.push({ participantId, score: ranked.scores[i]!, achievedAt: ranked.achievedAt[i]!, updatedAt: ranked.updatedAt[i]!, metadata: ranked.metadata.get(i) ?? null });
  }
  for (const entry of changed) entries.push(entry);
  return entries;
}

export interface Store {
  /** Creates the board at version 0 of `epoch`. Throws LadderError('board_exists') when the id is taken. */
  createBoard(config: BoardConfig, epoch: string): Promise<void>;
  /** Starts a new epoch for the board (its live state was rebuilt). Returns false when it does not exist. */
  setEpoch(boardId: string, epoch: string): Promise<boolean>;
  getBoard(boardId: string): Promise<StoredBoard | null>;
  /** Replaces the board's name, metadata and options (store/board-options.ts); false when it does not exist. */
  updateBoard(config: BoardConfig): Promise<boolean>;
  listBoards(): Promise<StoredBoard[]>;
  /** Deletes the board with its entries and events. Returns false when it did not exist. */
  deleteBoard(boardId: string): Promise<boolean>;

  /**
   * Makes the events durable: appends them to the log, which is also the
   * audit log, and raises the boards' versions. Resolves only once committed.
   * Concurrent calls are group-committed: they share one transaction, and are
   * applied in the order they were made (the service relies on it: an entry's
   * states arrive oldest first). A call with an invalid event rejects and
   * keeps nothing; the calls that share its transaction, or are queued behind
   * it, may reject with it (each call is all or nothing); later calls commit.
   * An event whose (board, event id) is already logged is dropped whole
   * (a later load does not see its entry); events of an unknown board are
   * dropped.
   */
  appendEvents(events: readonly ScoreEvent[]): Promise<void>;

  /**
   * Records the board's state as of `checkpoint.seq`, so that a load reads
   * it instead of replaying the log up to there. Every event of the board up
   * to that seq must be committed (its appendEvents resolved) before the
   * call. Takes the columns over. Resolves true once the checkpoint is
   * durable; false when the board does not exist. A store keeps the
   * previous checkpoint, and every log entry after it, until a newer one is
   * recorded, so that a checkpoint that cannot be read falls back to it.
   */
  saveCheckpoint(boardId: string, checkpoint: BoardCheckpoint): Promise<boolean>;

  /**
   * The board for a rebuild of its live ranking: its latest readable
   * checkpoint and the entries that changed after it, or null when the board
   * does not exist. An unreadable checkpoint is skipped, with a warning, for
   * the one before it.
   */
  loadBoard(boardId: string): Promise<LoadedBoard | null>;

  /**
   * The event with this client event id, committed or still on its way to
   * the disk (read-your-writes), or null. Its `entry.metadata` is the
   * event's own metadata (the log does not repeat one carried over).
   */
  findEvent(boardId: string, eventId: string): Promise<ScoreEvent | null>;

  /**
   * Events of the board with version > afterVersion, oldest first, at most
   * `limit`. Events that changed nothing carry the version of the change
   * before them, so a page may end inside such a group: page by the versions
   * of changed events. A store with a retention period may have deleted the
   * oldest events.
   */
  listEvents(boardId: string, afterVersion: number, limit: number): Promise<ScoreEvent[]>;

  /**
   * Archives a period's final rankings and moves the board on, atomically
   * (see PeriodClose). False, changing nothing, when the board does not
   * exist or this period of it was closed already: a period closes once,
   * however many processes race to close it. Complexity: O(n) rows written.
   */
  closePeriod(close: PeriodClose): Promise<boolean>;
  /** Deletes a period's archive and its webhook delivery (a reopened board's 'final'). */
  deletePeriod(boardId: string, periodId: string): Promise<void>;
  /** The board's closed periods, newest (latest start) first, starting before `before` when given. */
  listPeriods(boardId: string, limit: number, before?: number): Promise<PeriodRecord[]>;
  /** Answers the queries on a closed period's final rankings, or null when the board has no such period. Complexity: O(log n + entries) per query. */
  readFinal(boardId: string, periodId: string, queries: readonly RankQuery[]): Promise<FinalRead | null>;

  createApiKey(record: ApiKeyRecord): Promise<void>;
  /** The key with this hash, revoked or not, or null. */
  findApiKey(hash: string): Promise<ApiKeyRecord | null>;
  /** Every key, oldest first (never their secrets: only hashes are stored). */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked. Returns the record, or null when no key has this id. */
  revokeApiKey(id: string, at: number): Promise<ApiKeyRecord | null>;
  /** Keys of this scope that are not revoked. */
  countApiKeys(scope: KeyScope): Promise<number>;

  /** Flushes pending commits and closes. */
  close(): Promise<void>;
}
