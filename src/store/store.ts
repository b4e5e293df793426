/**
 * Durable state (DESIGN.md "store"): boards, the score-event log, board
 * checkpoints, participants' profiles and API keys. Two implementations share this interface and one
 * conformance suite (test/conformance/store.ts): SQLite (embedded, store/sqlite.ts)
 * and PostgreSQL (cluster, store/postgres.ts).
 *
 * A board's entries are never written one by one: the log is append-only, and
 * each event in it carries the entry it left behind. A checkpoint records the
 * whole board as of one position of its log (its `seq`), and loading a board
 * is the latest checkpoint plus the entries that changed after it.
 *
 * Beside the log, the store keeps the submissions that were refused
 * (recordRejections), so that a participant's history (participantHistory)
 * shows both, newest first.
 */
import type { RateLimit } from '../core/rate-limit.js';
import type { BoardConfig, Entry, Metadata, Profile, RankedEntry } from '../core/types.js';
import type { RankOptions, RankQuery, RankPage } from '../index/index.js';

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

/**
 * One refused submission to an existing board, as the participant's history
 * keeps it. Its fields are what the submission said, as far as they were
 * well-formed: a refusal may be for a malformed score.
 */
export interface Rejection {
  readonly boardId: string;
  /** Always a valid participant id: a submission without one is not recorded. */
  readonly participantId: string;
  /** The error code it was refused with (core/errors.ts), e.g. event_id_conflict. */
  readonly code: string;
  readonly message: string;
  /** The submitted score when it was a finite number (it may be fractional or out of range); null otherwise. */
  readonly submitted: number | null;
  /** The submission's timestamp when it was a finite number, the time it was received when it gave none; null otherwise. */
  readonly timestamp: number | null;
  /** The client's event id when it was a valid one; null otherwise. */
  readonly eventId: string | null;
  /** When the server refused it (ms since epoch). */
  readonly receivedAt: number;
}

/** A rejection as the store gives it back, with its id: greater than that of every rejection recorded before it. */
export interface StoredRejection extends Rejection {
  readonly id: number;
}

/**
 * Where a participant's history goes on: the accepted events with a seq
 * below `acceptedBefore`, and the rejections with an id below
 * `rejectedBefore`; null once that part is done.
 */
export interface HistoryCursor {
  readonly acceptedBefore: number | null;
  readonly rejectedBefore: number | null;
}

export type HistoryItem = { readonly outcome: 'accepted'; readonly event: ScoreEvent } | { readonly outcome: 'rejected'; readonly rejection: StoredRejection };

export interface HistoryPage {
  /** Newest first (store/participant-history.ts has the order). */
  readonly items: readonly HistoryItem[];
  /** Where the next page starts; null when this one holds the oldest item. */
  readonly next: HistoryCursor | null;
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
  /** The boards the key may act on (and their scope and all-time rankings); null: every board. */
  readonly boards: readonly string[] | null;
  /** The key's own request rate limit; null: LADDER_RATE_LIMIT_DEFAULT. */
  readonly rateLimit: RateLimit | null;
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

/** A participant's place in a closed period (GET /v1/participants/{pid}/placements). */
export interface Placement {
  readonly boardId: string;
  readonly periodId: string;
  readonly closedAt: number;
  /** Entries in that period's final rankings. */
  readonly total: number;
  readonly entry: RankedEntry;
}

/** The final rankings of a closed period, answering the same queries as the live ones. */
export interface FinalRead {
  readonly period: PeriodRecord;
  /** One per query, in the order asked. */
  readonly pages: readonly RankPage[];
}

/** Where an erasure of a participant from a board happened (Store.eraseParticipant). */
export interface Erasure {
  /**
   * The board's log position when their entry was removed: their events up
   * to it go, and checkpoints up to it lose their entry. Events after it are
   * a new entry of theirs, made after the erasure, and stay.
   */
  readonly seq: number;
  /** The board's version after the removal: the stored version rises to it. */
  readonly version: number;
}

/**
 * A webhook delivery that a close owes (the outbox row closePeriod writes),
 * as the delivery worker (service/webhooks.ts) and the admin listing see it.
 */
export interface WebhookDelivery {
  readonly boardId: string;
  readonly periodId: string;
  /** The board's webhook_url when the period closed: where it goes. */
  readonly url: string;
  /** Entries it carries at most (the board's webhook_top then). */
  readonly top: number;
  readonly createdAt: number;
  /** Attempts started so far: a claim counts one. */
  readonly attempts: number;
  /** When it is due (again); null once it was given up. */
  readonly nextAttemptAt: number | null;
  /** While a process delivers it, until when it holds it; 0 when nobody does. */
  readonly leasedUntil: number;
  /** When a receiver answered 2xx; null before. */
  readonly deliveredAt: number | null;
  /** Why the latest failed attempt failed, or null when none failed. */
  readonly lastError: string | null;
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
  /**
   * Answers the queries on a closed period's final rankings as RankIndex.read
   * does (shared ranks too, when `options` asks), or null when the board has
   * no such period. Complexity: O(log n + entries) per query; a shared rank
   * also walks back over the entries tied with the first one above it.
   */
  readFinal(boardId: string, periodId: string, queries: readonly RankQuery[], options?: RankOptions): Promise<FinalRead | null>;

  /** The participant's final placements across closed periods and boards, latest close first, closed before `before` when given. */
  listPlacements(participantId: string, limit: number, before?: number): Promise<Placement[]>;

  /**
   * Removes a participant's entry from the board's durable state (the right
   * to be forgotten), in one transaction: their events up to `erasure.seq`
   * leave the log (event ids included, so a retry of one is a new
   * submission), their entry leaves every checkpoint up to that seq (the
   * entries below move up one rank), and the board's version rises to
   * `erasure.version`. A load afterwards does not see them. Resolves true
   * when they had an entry there (the board's total goes down by one), false
   * when not or when the board does not exist; a repeat changes nothing.
   * The caller saves no checkpoint of the board meanwhile. Complexity: a
   * scan of the board's log (no index on participants, see README
   * "Retention"), plus a rewrite of its checkpoints that hold them.
   */
  eraseParticipant(boardId: string, participantId: string, erasure: Erasure): Promise<boolean>;

  /** Creates or replaces the participant's profile. */
  putProfile(profile: Profile): Promise<void>;
  /** The profiles of those of these participants that have one, in no particular order. Complexity: one query. */
  getProfiles(participantIds: readonly string[]): Promise<Profile[]>;
  /** Deletes the participant's profile. Returns false when they had none. */
  deleteProfile(participantId: string): Promise<boolean>;

  /**
   * Records refused submissions. Write-behind, for the history only: it
   * shares the group commit (embedded) or a batched insert (PostgreSQL),
   * and resolves once they are committed. Rejections of a board that does
   * not exist (any more) are dropped. Kept for LADDER_AUDIT_RETENTION_DAYS,
   * like the log.
   */
  recordRejections(rejections: readonly Rejection[]): Promise<void>;

  /** How many of the participant's submissions to the board were refused, by code (as far back as retention keeps them). Complexity: O(their rejections). */
  countRejections(boardId: string, participantId: string): Promise<Record<string, number>>;

  /**
   * One page of the participant's history on the board, newest first: its
   * accepted events (committed; a store with a retention period may have
   * deleted the oldest) and its rejections, at most `limit` items, from
   * `cursor` (null: the newest). Every item appears on exactly one page of a
   * walk from null along `next`, even while events are added. A page may
   * hold fewer than `limit` items and still have a `next`. Empty for a
   * participant without any; null for an unknown board. Complexity: O(limit log n), plus, in
   * SQLite, a scan of at most 4096 log rows and a seek per 4096 older events
   * (store/sqlite-history.ts).
   */
  participantHistory(boardId: string, participantId: string, cursor: HistoryCursor | null, limit: number): Promise<HistoryPage | null>;

  /**
   * Claims up to `limit` webhook deliveries that are due at `now` (not
   * delivered, not given up, next attempt at or before now) and that no one
   * holds (leased until at or before now), oldest due first: each is leased
   * until `now + leaseMs` and counts one more attempt, in one atomic step,
   * so that however many processes claim at once each delivery goes to one
   * of them. Answers them as they are after the claim. Complexity:
   * O(limit) rows, through the index of undelivered rows.
   */
  claimWebhooks(now: number, leaseMs: number, limit: number): Promise<WebhookDelivery[]>;
  /**
   * Records the delivery as delivered at `at` and releases its lease. False,
   * changing nothing, when it was recorded as delivered already or is gone
   * (the board or the period was deleted): a success is recorded once.
   */
  completeWebhook(boardId: string, periodId: string, at: number): Promise<boolean>;
  /**
   * Records that attempt number `attempt` failed with `error`: the delivery
   * is due again at `nextAttemptAt` (null: it is given up) and its lease is
   * released. False, changing nothing, when it was delivered meanwhile, is
   * gone, or was claimed again since (its attempts are past `attempt`: a
   * process whose lease ran out must not release another's).
   */
  retryWebhook(boardId: string, periodId: string, attempt: number, nextAttemptAt: number | null, error: string): Promise<boolean>;
  /** The board's webhook deliveries, newest (latest created) first, created before `before` when given. */
  listWebhooks(boardId: string, limit: number, before?: number): Promise<WebhookDelivery[]>;

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
