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

/** @ids is a JSON array of participant ids. */
export const SELECT_FINAL_ENTRIES = `
SELECT ${FINAL_ENTRY} FROM final_rankings
WHERE participant_id IN (SELECT value FROM json_each(@ids)) AND board_id = @board_id AND period_id = @period_id ORDER BY rank`;

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

/** Boards whose released base state still has rows. */
export const SELECT_RELEASED_BASES = `
SELECT id FROM boards
WHERE base_seq IS NULL AND (@board_id IS NULL OR id = @board_id)
  AND EXISTS (SELECT 1 FROM entries WHERE entries.board_id = boards.id)`;

export const PRUNE_BASE = `
DELETE FROM entries WHERE board_id = @board_id AND participant_id IN (
  SELECT participant_id FROM entries WHERE board_id = @board_id LIMIT @limit
)`;

export const INSERT_API_KEY = `
INSERT INTO api_keys (id, hash, scope, name, created_at, revoked_at)
VALUES (@id, @hash, @scope, @name, @created_at, NULL)`;

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

const API_KEY_COLUMNS = `id, hash, scope, name, created_at, revoked_at`;

export const SELECT_API_KEY = `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = ?`;

export const SELECT_API_KEY_BY_ID = `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = ?`;

export const SELECT_API_KEYS = `SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id`;

export const COUNT_API_KEYS = `SELECT count(*) FROM api_keys WHERE scope = ? AND revoked_at IS NULL`;
