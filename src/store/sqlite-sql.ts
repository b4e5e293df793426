/**
 * Every SQL statement the SQLite store runs, in one place. The schema is in
 * migrations/sqlite/*.sql. Parameters are named (`@board_id`) after the
 * columns they fill, except in the multi-row log insert, which binds
 * positional ones; rows come back with column names (see sqlite-rows.ts).
 */

/** Run by the migration runner itself, before any migration. */
export const CREATE_SCHEMA_MIGRATIONS = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL,
  checksum    TEXT    NOT NULL,
  applied_at  INTEGER NOT NULL
) STRICT`;

export const SELECT_APPLIED_MIGRATIONS = `SELECT version, name, checksum FROM schema_migrations ORDER BY version`;

export const INSERT_APPLIED_MIGRATION = `
INSERT INTO schema_migrations (version, name, checksum, applied_at)
VALUES (@version, @name, @checksum, @applied_at)`;

// ---- writes (the writer worker's connection) ----

/** changes = 0 when the id is taken. */
export const INSERT_BOARD = `
INSERT INTO boards (id, name, sort_order, operator, metadata, created_at, version, epoch, total, options, period_start)
VALUES (@id, @name, @sort_order, @operator, @metadata, @created_at, 0, @epoch, 0, @options, @period_start)
ON CONFLICT (id) DO NOTHING`;

export const UPDATE_BOARD = `UPDATE boards SET name = @name, metadata = @metadata, options = @options WHERE id = @id`;

// ---- periods (closePeriod, readFinal) ----

/** changes = 0 when the period was closed already: the close is not repeated. */
export const INSERT_PERIOD = `
INSERT INTO periods (board_id, period_id, starts_at, ends_at, closed_at, total)
VALUES (@board_id, @period_id, @starts_at, @ends_at, @closed_at, @total)
ON CONFLICT DO NOTHING`;

export const FINAL_COLUMNS = ['board_id', 'period_id', 'rank', 'participant_id', 'score', 'achieved_at', 'updated_at', 'metadata'] as const;

/** insertFinalRows(k): k rows of FINAL_COLUMNS, positional. */
export function insertFinalRows(k: number): string {
  const row = `(${FINAL_COLUMNS.map(() => '?').join(', ')})`;
  return `INSERT INTO final_rankings (${FINAL_COLUMNS.join(', ')}) VALUES ${Array.from({ length: k }, () => row).join(', ')}`;
}

/** A periodic board starts its next period: empty, at version 0 of a new epoch, with the log after @period_seq. */
export const RESET_BOARD = `
UPDATE boards SET epoch = @epoch, version = 0, total = 0, period_start = @period_start, period_seq = @period_seq, options = @options
WHERE id = @id`;

export const INSERT_WEBHOOK_DELIVERY = `
INSERT INTO webhook_deliveries (board_id, period_id, url, top, created_at, next_attempt_at)
VALUES (@board_id, @period_id, @url, @top, @created_at, @created_at)`;

export const DELETE_PERIOD = `DELETE FROM periods WHERE board_id = ? AND period_id = ?`;

// ---- webhook deliveries (service/webhooks.ts) ----

const WEBHOOK_COLUMNS = `board_id, period_id, url, top, created_at, attempts, next_attempt_at, leased_until, delivered_at, last_error`;

/** The main thread's cheap look before it asks the writer to claim (the due index, webhook_deliveries_due). */
export const SELECT_WEBHOOK_DUE = `
SELECT 1 FROM webhook_deliveries
WHERE delivered_at IS NULL AND next_attempt_at <= @now AND leased_until <= @now LIMIT 1`;

/** Leases the due, unleased deliveries and counts an attempt, in one statement (Store.claimWebhooks). */
export const CLAIM_WEBHOOKS = `
UPDATE webhook_deliveries SET leased_until = @leased_until, attempts = attempts + 1
WHERE (board_id, period_id) IN (
  SELECT board_id, period_id FROM webhook_deliveries
  WHERE delivered_at IS NULL AND next_attempt_at <= @now AND leased_until <= @now
  ORDER BY next_attempt_at LIMIT @limit)
RETURNING ${WEBHOOK_COLUMNS}`;

/** changes = 0 when it was delivered already or is gone. */
export const COMPLETE_WEBHOOK = `
UPDATE webhook_deliveries SET delivered_at = @at, leased_until = 0
WHERE board_id = @board_id AND period_id = @period_id AND delivered_at IS NULL`;

/** changes = 0 when it was delivered, is gone, or was claimed again since attempt @attempt. */
export const RETRY_WEBHOOK = `
UPDATE webhook_deliveries SET next_attempt_at = @next_attempt_at, last_error = @error, leased_until = 0
WHERE board_id = @board_id AND period_id = @period_id AND delivered_at IS NULL AND attempts = @attempt`;

export const SELECT_WEBHOOKS = `
SELECT ${WEBHOOK_COLUMNS} FROM webhook_deliveries
WHERE board_id = @board_id AND created_at < @before
ORDER BY created_at DESC, period_id DESC LIMIT @limit`;


const PERIOD_COLUMNS = `p.board_id, p.period_id, p.starts_at, p.ends_at, p.closed_at, p.total,
  f.participant_id AS winner_id, f.score AS winner_score, f.achieved_at AS winner_achieved_at, f.updated_at AS winner_updated_at, f.metadata AS winner_metadata`;

export const SELECT_PERIODS = `
SELECT ${PERIOD_COLUMNS}
FROM periods p LEFT JOIN final_rankings f ON f.board_id = p.board_id AND f.period_id = p.period_id AND f.rank = 1
WHERE p.board_id = @board_id AND p.starts_at < @before
ORDER BY p.starts_at DESC, p.period_id DESC LIMIT @limit`;

export const SELECT_PERIOD = `
SELECT ${PERIOD_COLUMNS}
FROM periods p LEFT JOIN final_rankings f ON f.board_id = p.board_id AND f.period_id = p.period_id AND f.rank = 1
WHERE p.board_id = ? AND p.period_id = ?`;

const FINAL_ENTRY = `rank, participant_id, score, achieved_at, updated_at, metadata`;

export const SELECT_FINAL_PAGE = `
SELECT ${FINAL_ENTRY} FROM final_rankings
WHERE board_id = ? AND period_id = ? AND rank > ? ORDER BY rank LIMIT ?`;

export const SELECT_FINAL_ENTRY = `SELECT ${FINAL_ENTRY} FROM final_rankings WHERE participant_id = ? AND board_id = ? AND period_id = ?`;

export const SELECT_PLACEMENTS = `
SELECT f.board_id, f.period_id, p.closed_at, p.total, ${FINAL_ENTRY.split(', ').map((c) => `f.${c}`).join(', ')}
FROM final_rankings f JOIN periods p ON p.board_id = f.board_id AND p.period_id = f.period_id
WHERE f.participant_id = @participant_id AND p.closed_at < @before
ORDER BY p.closed_at DESC, f.board_id, f.period_id LIMIT @limit`;

/** The third parameter is a JSON array of participant ids. (Plain ?s: better-sqlite3 binds ?NNN by name, not by position.) */
export const SELECT_FINAL_ENTRIES = `
SELECT ${FINAL_ENTRY} FROM final_rankings
WHERE board_id = ? AND period_id = ? AND participant_id IN (SELECT value FROM json_each(?)) ORDER BY rank`;

/**
 * The nearest rank above a given one whose score differs: the lowest rank
 * with that score (a shared rank) is this + 1, or 1 when there is none.
 * Equal scores are adjacent, so the primary key is walked back over the tie only.
 */
export const SELECT_FINAL_ABOVE_TIE = `
SELECT rank FROM final_rankings
WHERE board_id = ? AND period_id = ? AND rank < ? AND score <> ? ORDER BY rank DESC LIMIT 1`;


export const SET_BOARD_EPOCH = `UPDATE boards SET epoch = @epoch WHERE id = @board_id`;

/** After an unclean stop, versions that viewers saw may be issued again: every board starts a new epoch. */
export const SET_EVERY_EPOCH = `UPDATE boards SET epoch = ?`;

export const SELECT_META = `SELECT value FROM meta WHERE key = ?`;

export const SET_META = `INSERT INTO meta (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

/** Its base entries, log and checkpoint records go with it (ON DELETE CASCADE). */
export const DELETE_BOARD = `DELETE FROM boards WHERE id = ?`;

export const BOARD_EXISTS = `SELECT 1 FROM boards WHERE id = ?`;

/**
 * Versions only go up, whatever order batches of different callers land in.
 * @added counts the batch's events that brought a new participant, less those that removed one.
 */
export const RAISE_BOARD_VERSION = `
UPDATE boards SET version = max(version, @version), total = total + @added
WHERE id = @board_id`;

/** The columns of score_log in the order insertLogRows and sqlite-pack.ts bind them. */
export const LOG_COLUMNS = [
  'board_id', 'seq', 'event_id', 'participant_id', 'submitted', 'timestamp', 'received_at',
  'old_score', 'new_score', 'old_rank', 'new_rank', 'version', 'changed', 'metadata',
  'metadata_applied', 'entry_achieved_at', 'entry_updated_at', 'fingerprint',
] as const;

/**
 * Appends `rows` events in one statement, with positional parameters:
 *
 *   INSERT INTO score_log (board_id, seq, ..., fingerprint)
 *   VALUES (?, ?, ..., ?), (?, ?, ..., ?), ...
 *   ON CONFLICT (board_id, event_id) WHERE event_id IS NOT NULL DO NOTHING
 *
 * changes < rows when some event id was logged already (those rows are
 * dropped). The conflict target is only the event-id index: a repeated
 * (board_id, seq), or a NOT NULL, CHECK or type error, fails loudly.
 */
export function insertLogRows(rows: number): string {
  const row = `(${LOG_COLUMNS.map(() => '?').join(', ')})`;
  return `INSERT INTO score_log (${LOG_COLUMNS.join(', ')})
VALUES ${Array.from({ length: rows }, () => row).join(', ')}
ON CONFLICT (board_id, event_id) WHERE event_id IS NOT NULL DO NOTHING`;
}

/**
 * Log segments (migration 006): segment k holds seqs k << LOG_SEGMENT_BITS up
 * to ((k + 1) << LOG_SEGMENT_BITS) − 1. The migration spells out the 12.
 */
export const LOG_SEGMENT_BITS = 12;
export const LOG_SEGMENT_SIZE = 2 ** LOG_SEGMENT_BITS;

/** What an append needs of a board: whether it exists, and how far its log is indexed by participant. */
export const SELECT_INDEXED_SEGMENTS = `SELECT indexed_segments FROM boards WHERE id = ?`;

/**
 * Copies the (participant_id, seq) pairs of the board's segments @from up to
 * (not including) @to into participant_log, sorted by its key, so that they
 * are appended to the end of the board's range rather than written at random.
 */
export const INDEX_LOG_SEGMENTS = `
INSERT INTO participant_log (board_id, segment, participant_id, seq)
SELECT board_id, seq >> ${LOG_SEGMENT_BITS}, participant_id, seq FROM score_log
WHERE board_id = @board_id AND seq >= (@from << ${LOG_SEGMENT_BITS}) AND seq < (@to << ${LOG_SEGMENT_BITS})
ORDER BY seq >> ${LOG_SEGMENT_BITS}, participant_id, seq
ON CONFLICT DO NOTHING`;

export const SET_INDEXED_SEGMENTS = `UPDATE boards SET indexed_segments = @segments WHERE id = @board_id`;

/** After a partial insertLogRows: was this event inserted? */
export const LOG_ROW_EXISTS = `SELECT 1 FROM score_log WHERE board_id = ? AND seq = ?`;

/** changes = 0 when the board has a checkpoint at this seq already. */
export const INSERT_CHECKPOINT = `
INSERT INTO checkpoints (board_id, seq, version, total, file, bytes, crc32, created_at)
VALUES (@board_id, @seq, @version, @total, @file, @bytes, @crc32, @created_at)
ON CONFLICT DO NOTHING`;

/** A board's checkpoints, newest first. */
export const SELECT_CHECKPOINTS = `
SELECT board_id, seq, version, total, file, bytes, crc32, created_at FROM checkpoints
WHERE board_id = ? ORDER BY seq DESC`;

export const DELETE_CHECKPOINT = `DELETE FROM checkpoints WHERE board_id = ? AND seq = ?`;

export const SELECT_CHECKPOINT_FILES = `SELECT file FROM checkpoints`;

export const SELECT_BOARD_CHECKPOINT_FILES = `SELECT file FROM checkpoints WHERE board_id = ?`;

/** The board has two checkpoints: its base state is no longer needed. */
export const RELEASE_BASE = `UPDATE boards SET base_seq = NULL WHERE id = ? AND base_seq IS NOT NULL`;

/**
 * Boards whose log may be pruned, with the seq of their oldest kept
 * checkpoint: only boards with two checkpoints (their base is released), so
 * that the older one, and the log after it, are there to fall back on.
 */
export const SELECT_PRUNABLE_LOGS = `
SELECT boards.id AS board_id, min(checkpoints.seq) AS upto
FROM boards JOIN checkpoints ON checkpoints.board_id = boards.id
WHERE boards.base_seq IS NULL AND (@board_id IS NULL OR boards.id = @board_id)
GROUP BY boards.id`;

/**
 * Deletes, among the first @limit events of the board up to @upto, those
 * received before @cutoff. Log order is arrival order, so once the first
 * events of the board are young enough a run deletes nothing and pruning
 * stops (an event received under a clock that stepped back waits for the
 * events before it).
 */
export const PRUNE_LOG = `
DELETE FROM score_log
WHERE board_id = @board_id AND received_at < @cutoff AND seq IN (
  SELECT seq FROM score_log WHERE board_id = @board_id AND seq <= @upto ORDER BY seq LIMIT @limit
)`;

/**
 * Deletes the board's oldest indexed segment when retention has deleted every
 * event of it: at most LOG_SEGMENT_SIZE rows. A segment it deleted only part
 * of keeps its rows, which lead nowhere (the history joins them to the log).
 */
export const PRUNE_PARTICIPANT_LOG = `
DELETE FROM participant_log
WHERE board_id = @board_id
  AND segment = (SELECT min(segment) FROM participant_log WHERE board_id = @board_id)
  AND segment < (SELECT min(seq) FROM score_log WHERE board_id = @board_id) >> ${LOG_SEGMENT_BITS}`;

export const INSERT_REJECTION = `
INSERT INTO rejections (board_id, participant_id, code, message, submitted, timestamp, event_id, received_at)
VALUES (@board_id, @participant_id, @code, @message, @submitted, @timestamp, @event_id, @received_at)`;

/**
 * Deletes, among the @limit oldest rejections, those received before
 * @cutoff: like PRUNE_LOG, bounded however many there are.
 */
export const PRUNE_REJECTIONS = `
DELETE FROM rejections
WHERE received_at < @cutoff AND id IN (SELECT id FROM rejections ORDER BY id LIMIT @limit)`;

/** Boards whose released base state still has rows. */
export const SELECT_RELEASED_BASES = `
SELECT id FROM boards
WHERE base_seq IS NULL AND (@board_id IS NULL OR id = @board_id)
  AND EXISTS (SELECT 1 FROM entries WHERE entries.board_id = boards.id)`;

export const PRUNE_BASE = `
DELETE FROM entries WHERE board_id = @board_id AND participant_id IN (
  SELECT participant_id FROM entries WHERE board_id = @board_id LIMIT @limit
)`;

// ---- erasures and profiles (writes) ----

/** An erasure put a checkpoint's rewritten file in place of its file; changes = 0 when that checkpoint is gone. */
export const REPLACE_CHECKPOINT_FILE = `
UPDATE checkpoints SET file = @file, bytes = @bytes, crc32 = @crc32, total = @total
WHERE board_id = @board_id AND seq = @seq AND file = @old_file`;

export const DELETE_CHECKPOINT_FILE = `DELETE FROM checkpoints WHERE board_id = @board_id AND seq = @seq AND file = @old_file`;

/**
 * An erased participant's events up to the erasure. No index serves
 * participant_id (see migration 003), so this scans the board's range of
 * the log: erasures are rare, appends are not.
 */
export const DELETE_PARTICIPANT_LOG = `DELETE FROM score_log WHERE board_id = @board_id AND participant_id = @participant_id AND seq <= @seq`;

/** An erased participant's rows of the history's segment index and their refused submissions (migration 006). */
export const DELETE_PARTICIPANT_SEGMENTS = `DELETE FROM participant_log WHERE board_id = @board_id AND participant_id = @participant_id AND seq <= @seq`;
export const DELETE_PARTICIPANT_REJECTIONS = `DELETE FROM rejections WHERE board_id = @board_id AND participant_id = @participant_id`;

/**
 * An erased participant's places in the board's closed periods keep their
 * rank (prizes were paid from them) under an anonymous id.
 */
export const ANONYMISE_FINAL_RANKINGS = `UPDATE final_rankings SET participant_id = @anonymous, metadata = NULL WHERE board_id = @board_id AND participant_id = @participant_id`;

/** An erased participant's row in the board's base state (migration 003). */
export const DELETE_PARTICIPANT_BASE = `DELETE FROM entries WHERE board_id = @board_id AND participant_id = @participant_id`;

/** After an erasure: the version only goes up; @removed is 1 when the participant had an entry. */
export const RAISE_VERSION_AFTER_ERASURE = `
UPDATE boards SET version = max(version, @version), total = max(0, total - @removed)
WHERE id = @board_id`;

export const UPSERT_PROFILE = `
INSERT INTO participants (participant_id, display_name, avatar_url, metadata, updated_at)
VALUES (@participant_id, @display_name, @avatar_url, @metadata, @updated_at)
ON CONFLICT (participant_id) DO UPDATE SET
  display_name = excluded.display_name, avatar_url = excluded.avatar_url,
  metadata = excluded.metadata, updated_at = excluded.updated_at`;

/** changes = 0 when the participant had no profile. */
export const DELETE_PROFILE = `DELETE FROM participants WHERE participant_id = ?`;

export const INSERT_API_KEY = `
INSERT INTO api_keys (id, hash, scope, name, created_at, revoked_at, boards, rate_limit_max, rate_limit_window_ms)
VALUES (@id, @hash, @scope, @name, @created_at, NULL, @boards, @rate_limit_max, @rate_limit_window_ms)`;

/** changes = 0 when no key has the id; a key revoked before keeps its first revocation time. */
export const REVOKE_API_KEY = `UPDATE api_keys SET revoked_at = coalesce(revoked_at, @revoked_at) WHERE id = @id`;

// ---- reads (the main thread's connection) ----

const BOARD_COLUMNS = `id, name, sort_order, operator, metadata, created_at, version, epoch, total, options, period_start, period_seq`;

export const SELECT_BOARD = `SELECT ${BOARD_COLUMNS} FROM boards WHERE id = ?`;

export const SELECT_BOARDS = `SELECT ${BOARD_COLUMNS} FROM boards ORDER BY id`;

/** Where the board's base state stands (NULL: released), and the greatest seq of its log. */
export const SELECT_BOARD_LOG_STATE = `
SELECT base_seq, (SELECT max(seq) FROM score_log WHERE board_id = boards.id) AS last_seq
FROM boards WHERE id = ?`;

/**
 * One chunk of the log of a board after seq @after, oldest first: what a load
 * replays. Columns as JSON arrays, as SELECT_ENTRY_COLUMNS below (about twice
 * as fast as rows), plus the count and the last seq (the next cursor). Read
 * with .raw(): see sqlite-rows.ts TailColumnsRow.
 */
export const SELECT_LOG_TAIL = `
SELECT count(*), max(seq),
  json_group_array(participant_id), json_group_array(new_score), json_group_array(entry_achieved_at),
  json_group_array(entry_updated_at), json_group_array(metadata_applied), json_group_array(metadata),
  json_group_array(new_rank)
FROM (
  SELECT seq, participant_id, new_score, entry_achieved_at, entry_updated_at, metadata_applied, metadata, new_rank FROM score_log
  WHERE board_id = @board_id AND seq > @after
  ORDER BY seq
  LIMIT @limit
)`;

/**
 * One chunk of a board's base state, in participant order after @after, as one
 * JSON array per column plus the last participant id (the next cursor).
 * Building a few JSON strings in SQLite and parsing them is about three times
 * faster than handing out a million rows one by one through the driver.
 * Read with .raw(): see sqlite-rows.ts entriesFromColumns.
 */
export const SELECT_ENTRY_COLUMNS = `
SELECT count(*), max(participant_id),
  json_group_array(participant_id), json_group_array(score), json_group_array(achieved_at),
  json_group_array(updated_at), json_group_array(metadata)
FROM (
  SELECT participant_id, score, achieved_at, updated_at, metadata FROM entries
  WHERE board_id = @board_id AND participant_id > @after
  ORDER BY participant_id
  LIMIT @limit
)`;

const EVENT_COLUMNS = `
  board_id, seq, event_id, participant_id, submitted, timestamp, received_at,
  old_score, new_score, old_rank, new_rank, version, changed, metadata,
  entry_achieved_at, entry_updated_at, fingerprint`;

export const SELECT_EVENT = `SELECT ${EVENT_COLUMNS} FROM score_log WHERE board_id = ? AND event_id = ?`;

/** Served by score_log_board_version, whose last key is the primary key (board_id, seq). */
export const SELECT_EVENTS_AFTER = `
SELECT ${EVENT_COLUMNS} FROM score_log
WHERE board_id = @board_id AND seq > (SELECT period_seq FROM boards WHERE id = @board_id) AND version > @after_version
ORDER BY version, seq
LIMIT @limit`;

/** The profiles of the participants in the JSON array ?, one query whatever its length. */
export const SELECT_PROFILES = `
SELECT participant_id, display_name, avatar_url, metadata, updated_at FROM participants
WHERE participant_id IN (SELECT value FROM json_each(?))`;
// ---- a participant's history (sqlite-history.ts) ----

/** The open part of the log starts at indexed_segments << LOG_SEGMENT_BITS. */
export const SELECT_HISTORY_STATE = `SELECT indexed_segments FROM boards WHERE id = ?`;

/** The participant's events in the open part of the log: a backward scan of at most LOG_SEGMENT_SIZE rows of the primary key. */
export const SELECT_OPEN_PARTICIPANT_EVENTS = `
SELECT ${EVENT_COLUMNS} FROM score_log
WHERE board_id = @board_id AND seq >= @from AND seq < @before AND participant_id = @participant_id
ORDER BY seq DESC
LIMIT @limit`;

/** The participant's events of one indexed segment, below @before. The log's columns are qualified: both tables have board_id, participant_id and seq. */
export const SELECT_SEGMENT_PARTICIPANT_EVENTS = `
SELECT ${EVENT_COLUMNS.replace(/(\w+)/g, 'l.$1')} FROM participant_log p
JOIN score_log l ON l.board_id = p.board_id AND l.seq = p.seq
WHERE p.board_id = @board_id AND p.segment = @segment AND p.participant_id = @participant_id AND p.seq < @before
ORDER BY p.seq DESC
LIMIT @limit`;

/** The board's greatest indexed segment at most @segment (NULL when none): skips the segments that hold nothing. */
export const SELECT_SEGMENT_AT_MOST = `SELECT max(segment) FROM participant_log WHERE board_id = @board_id AND segment <= @segment`;

export const SELECT_PARTICIPANT_REJECTIONS = `
SELECT id, board_id, participant_id, code, message, submitted, timestamp, event_id, received_at FROM rejections
WHERE board_id = @board_id AND participant_id = @participant_id AND id < @before
ORDER BY id DESC
LIMIT @limit`;

export const COUNT_PARTICIPANT_REJECTIONS = `SELECT code, count(*) AS n FROM rejections WHERE board_id = ? AND participant_id = ? GROUP BY code`;

const API_KEY_COLUMNS = `id, hash, scope, name, created_at, revoked_at, boards, rate_limit_max, rate_limit_window_ms`;

export const SELECT_API_KEY = `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = ?`;

export const SELECT_API_KEY_BY_ID = `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = ?`;

export const SELECT_API_KEYS = `SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id`;

export const COUNT_API_KEYS = `SELECT count(*) FROM api_keys WHERE scope = ? AND revoked_at IS NULL`;
