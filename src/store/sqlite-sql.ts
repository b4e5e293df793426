/**
 * Every SQL statement the SQLite store runs, in one place. The schema is in
 * migrations/sqlite/*.sql. Parameters are named (`@board_id`) after the
 * columns they fill; rows come back with column names (see sqlite-rows.ts).
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
INSERT INTO boards (id, name, sort_order, operator, metadata, created_at, version, epoch, total)
VALUES (@id, @name, @sort_order, @operator, @metadata, @created_at, 0, @epoch, 0)
ON CONFLICT (id) DO NOTHING`;

export const SET_BOARD_EPOCH = `UPDATE boards SET epoch = @epoch WHERE id = @board_id`;

/** After an unclean stop, versions that viewers saw may be issued again: every board starts a new epoch. */
export const SET_EVERY_EPOCH = `UPDATE boards SET epoch = ?`;

export const SELECT_META = `SELECT value FROM meta WHERE key = ?`;

export const SET_META = `INSERT INTO meta (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

/** Entries and events go with it (ON DELETE CASCADE). */
export const DELETE_BOARD = `DELETE FROM boards WHERE id = ?`;

export const BOARD_EXISTS = `SELECT 1 FROM boards WHERE id = ?`;

/**
 * Versions only go up, whatever order batches of different callers land in.
 * @added counts the batch's events that brought a new participant.
 */
export const RAISE_BOARD_VERSION = `
UPDATE boards SET version = max(version, @version), total = total + @added
WHERE id = @board_id`;

/**
 * changes = 0 for a duplicate (board_id, event_id). DO NOTHING covers only
 * uniqueness; unlike INSERT OR IGNORE it does not swallow a NOT NULL, CHECK
 * or type error, which must fail loudly.
 */
export const INSERT_EVENT = `
INSERT INTO score_events (
  board_id, event_id, participant_id, submitted, timestamp, received_at,
  old_score, new_score, old_rank, new_rank, version, changed, metadata,
  entry_achieved_at, entry_updated_at, fingerprint
) VALUES (
  @board_id, @event_id, @participant_id, @submitted, @timestamp, @received_at,
  @old_score, @new_score, @old_rank, @new_rank, @version, @changed, @metadata,
  @entry_achieved_at, @entry_updated_at, @fingerprint
)
ON CONFLICT DO NOTHING`;

/** Takes the same row as INSERT_EVENT: the entry after the event. */
export const UPSERT_ENTRY = `
INSERT INTO entries (board_id, participant_id, score, achieved_at, updated_at, metadata)
VALUES (@board_id, @participant_id, @new_score, @entry_achieved_at, @entry_updated_at, @entry_metadata)
ON CONFLICT (board_id, participant_id) DO UPDATE SET
  score = excluded.score,
  achieved_at = excluded.achieved_at,
  updated_at = excluded.updated_at,
  metadata = excluded.metadata`;

export const INSERT_API_KEY = `
INSERT INTO api_keys (id, hash, scope, name, created_at, revoked_at)
VALUES (@id, @hash, @scope, @name, @created_at, NULL)`;

/** changes = 0 when no key has the id; a key revoked before keeps its first revocation time. */
export const REVOKE_API_KEY = `UPDATE api_keys SET revoked_at = coalesce(revoked_at, @revoked_at) WHERE id = @id`;

// ---- reads (the main thread's connection) ----

const BOARD_COLUMNS = `id, name, sort_order, operator, metadata, created_at, version, epoch, total`;

export const SELECT_BOARD = `SELECT ${BOARD_COLUMNS} FROM boards WHERE id = ?`;

export const SELECT_BOARDS = `SELECT ${BOARD_COLUMNS} FROM boards ORDER BY id`;

/**
 * One chunk of a board's entries, in participant order after @after, as one
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
  board_id, event_id, participant_id, submitted, timestamp, received_at,
  old_score, new_score, old_rank, new_rank, version, changed, metadata,
  entry_achieved_at, entry_updated_at, fingerprint`;

export const SELECT_EVENT = `SELECT ${EVENT_COLUMNS} FROM score_events WHERE board_id = ? AND event_id = ?`;

export const SELECT_EVENTS_AFTER = `
SELECT ${EVENT_COLUMNS} FROM score_events
WHERE board_id = @board_id AND version > @after_version
ORDER BY version, id
LIMIT @limit`;

const API_KEY_COLUMNS = `id, hash, scope, name, created_at, revoked_at`;

export const SELECT_API_KEY = `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = ?`;

export const SELECT_API_KEY_BY_ID = `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = ?`;

export const SELECT_API_KEYS = `SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id`;

export const COUNT_API_KEYS = `SELECT count(*) FROM api_keys WHERE scope = ? AND revoked_at IS NULL`;
