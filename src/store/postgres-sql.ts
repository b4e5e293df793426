/**
 * Every SQL statement the PostgreSQL store runs, in one place, except those
 * of partition maintenance, which name the partitions they work on
 * (postgres-partitions.ts). The schema is in
 * migrations/postgres/*.sql. Parameters are positional; bulk writes pass one
 * array per column and unnest them, so that a commit is one statement
 * whatever its number of events.
 */

// ---- migrations (postgres-migrate.ts) ----

/** Run by the migration runner itself, under its lock, before any migration. */
export const CREATE_SCHEMA_MIGRATIONS = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL,
  checksum    TEXT    NOT NULL,
  applied_at  BIGINT  NOT NULL
)`;

export const SELECT_APPLIED_MIGRATIONS = `SELECT version, name, checksum FROM schema_migrations ORDER BY version`;

export const INSERT_APPLIED_MIGRATION = `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)`;

/**
 * Advisory lock classes (the first key of the two-key form), so that the
 * store's locks never meet another application's in the same database.
 */
export const LOCK_MIGRATIONS = 0x4c445201;
export const LOCK_CHECKPOINT = 0x4c445202;
export const LOCK_MAINTENANCE = 0x4c445203;

/** Held until the transaction ends, however it ends (a lost connection included). */
export const LOCK_XACT = `SELECT pg_advisory_xact_lock($1, $2)`;

/** LOCK_XACT with a board id as the second key. */
export const LOCK_XACT_BOARD = `SELECT pg_advisory_xact_lock($1, hashtext($2))`;

/** Like LOCK_XACT, but answers false instead of waiting when another session holds it. */
export const TRY_LOCK_XACT = `SELECT pg_try_advisory_xact_lock($1, $2) AS locked`;

// ---- boards ----

const BOARD_COLUMNS = `id, name, sort_order, operator, metadata, created_at, epoch, version, total, options, period_start, period_seq`;

/** rowCount 0 when the id is taken. */
export const INSERT_BOARD = `
INSERT INTO boards (id, name, sort_order, operator, metadata, created_at, epoch, options, period_start)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (id) DO NOTHING`;

export const UPDATE_BOARD = `UPDATE boards SET name = $2, metadata = $3, options = $4 WHERE id = $1`;

// ---- periods (closePeriod, readFinal) ----

/** The first statement of a close: it waits for the appends and checkpoints that hold the board's row. */
export const LOCK_BOARD_ROW = `SELECT last_seq FROM boards WHERE id = $1 FOR UPDATE`;

/** rowCount 0 when the period was closed already: the close is not repeated. */
export const INSERT_PERIOD = `
INSERT INTO periods (board_id, period_id, starts_at, ends_at, closed_at, total)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING`;

/** Text format, tab-separated, in this column order (postgres-checkpoint.ts encodes the rows). */
export const COPY_FINAL_RANKINGS = `COPY final_rankings (board_id, rank, participant_id, score, achieved_at, updated_at, metadata, period_id) FROM STDIN`;

/** A periodic board starts its next period: empty, at version 0 of a new epoch, with the log after period_seq. */
export const RESET_BOARD = `
UPDATE boards SET epoch = $2, version = 0, total = 0, period_start = $3, period_seq = $4, options = $5, name = $6, metadata = $7
WHERE id = $1`;

export const INSERT_WEBHOOK_DELIVERY = `
INSERT INTO webhook_deliveries (board_id, period_id, url, top, created_at, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $5)`;

export const DELETE_PERIOD = `DELETE FROM periods WHERE board_id = $1 AND period_id = $2`;

const PERIOD_COLUMNS = `p.board_id, p.period_id, p.starts_at, p.ends_at, p.closed_at, p.total,
  f.participant_id AS winner_id, f.score AS winner_score, f.achieved_at AS winner_achieved_at, f.updated_at AS winner_updated_at, f.metadata AS winner_metadata`;

export const SELECT_PERIODS = `
SELECT ${PERIOD_COLUMNS}
FROM periods p LEFT JOIN final_rankings f ON f.board_id = p.board_id AND f.period_id = p.period_id AND f.rank = 1
WHERE p.board_id = $1 AND p.starts_at < $2
ORDER BY p.starts_at DESC, p.period_id DESC LIMIT $3`;

export const SELECT_PERIOD = `
SELECT ${PERIOD_COLUMNS}
FROM periods p LEFT JOIN final_rankings f ON f.board_id = p.board_id AND f.period_id = p.period_id AND f.rank = 1
WHERE p.board_id = $1 AND p.period_id = $2`;

const FINAL_ENTRY = `rank, participant_id, score, achieved_at, updated_at, metadata`;

export const SELECT_FINAL_PAGE = `
SELECT ${FINAL_ENTRY} FROM final_rankings
WHERE board_id = $1 AND period_id = $2 AND rank > $3 ORDER BY rank LIMIT $4`;

export const SELECT_FINAL_ENTRY = `SELECT ${FINAL_ENTRY} FROM final_rankings WHERE participant_id = $3 AND board_id = $1 AND period_id = $2`;

export const SELECT_FINAL_ENTRIES = `
SELECT ${FINAL_ENTRY} FROM final_rankings
WHERE participant_id = ANY($3::text[]) AND board_id = $1 AND period_id = $2 ORDER BY rank`;

export const SET_BOARD_EPOCH = `UPDATE boards SET epoch = $2 WHERE id = $1`;

export const SELECT_BOARD = `SELECT ${BOARD_COLUMNS} FROM boards WHERE id = $1`;

/** In byte order of the ids, as SQLite orders them. */
export const SELECT_BOARDS = `SELECT ${BOARD_COLUMNS} FROM boards ORDER BY id COLLATE "C"`;

/**
 * The first statement of deleteBoard's transaction: it waits for appends
 * and checkpoints that hold the board's row, so the deletes after it (each
 * with a fresh snapshot) see everything they committed. Its checkpoint
 * record and final rankings go with it (ON DELETE CASCADE).
 */
export const DELETE_BOARD = `DELETE FROM boards WHERE id = $1`;

/** The board's rows in the tables without a foreign key (see migration 001). */
export const DELETE_BOARD_ROWS = [
  `DELETE FROM score_events WHERE board_id = $1`,
  `DELETE FROM score_event_ids WHERE board_id = $1`,
  `DELETE FROM entries WHERE board_id = $1`,
] as const;

// ---- appending events (postgres-append.ts) ----

/**
 * Locks the rows of the boards a commit appends to, in id order (so two
 * processes appending to the same boards cannot deadlock), and answers
 * which of them exist with their last seq. NO KEY UPDATE: a checkpoint's
 * KEY SHARE lock does not block it, a deletion does.
 */
export const LOCK_BOARDS = `
SELECT id, last_seq FROM boards WHERE id = ANY($1::text[])
ORDER BY id FOR NO KEY UPDATE`;

/**
 * Which of these (board_id, seq) are logged already: the check for events
 * not beyond their board's last seq (a redelivery), which the boards' locks
 * make safe from a concurrent append of the same event.
 */
export const SELECT_LOGGED_SEQS = `
SELECT board_id, seq FROM score_events
WHERE (board_id, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`;

/** The columns of score_events, with their types, in the order postgres-rows.ts eventColumns fills them. */
const LOG_COLUMNS = [
  ['board_id', 'text'],
  ['seq', 'bigint'],
  ['event_id', 'text'],
  ['participant_id', 'text'],
  ['submitted', 'bigint'],
  ['"timestamp"', 'bigint'],
  ['received_at', 'bigint'],
  ['old_score', 'bigint'],
  ['new_score', 'bigint'],
  ['old_rank', 'bigint'],
  ['new_rank', 'bigint'],
  ['version', 'bigint'],
  ['changed', 'boolean'],
  ['metadata', 'text'],
  ['metadata_applied', 'boolean'],
  ['entry_achieved_at', 'bigint'],
  ['entry_updated_at', 'bigint'],
  ['fingerprint', 'text'],
] as const;

const LOG_NAMES = LOG_COLUMNS.map(([name]) => name).join(', ');

/**
 * Appends a commit's events in one statement: one array parameter per
 * column, unnested into rows. The caller has dropped the events of missing
 * boards, repeats within the commit, and seqs that are logged already.
 * Here:
 *
 * - an event whose (board_id, event_id) is logged already (by an earlier
 *   commit, or another process) is dropped whole: the insert into
 *   score_event_ids skips it, and only the events it returned, or without
 *   an event id, go on into the log. A join, not `IN (SELECT ...)`: with
 *   the arrays' real length known, the planner gives up hashing a large
 *   IN list that may not fit work_mem, and rescans it for every row;
 * - the boards' versions only go up, whatever order commits land in; total
 *   counts the events that brought a new participant (no old rank), less
 *   those that removed one (new rank 0, store.ts ScoreEvent); last_seq
 *   is the greatest seq logged.
 */
export const APPEND_EVENTS = `
WITH input AS (
  SELECT * FROM unnest(${LOG_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
    AS input (${LOG_NAMES})
),
ids AS (
  INSERT INTO score_event_ids (board_id, event_id, seq, received_at)
  SELECT board_id, event_id, seq, received_at FROM input WHERE event_id IS NOT NULL
  ON CONFLICT (board_id, event_id) DO NOTHING
  RETURNING board_id, event_id
),
logged AS (
  INSERT INTO score_events (${LOG_NAMES})
  SELECT ${LOG_COLUMNS.map(([name]) => `input.${name}`).join(', ')}
  FROM input LEFT JOIN ids ON ids.board_id = input.board_id AND ids.event_id = input.event_id
  WHERE input.event_id IS NULL OR ids.event_id IS NOT NULL
  RETURNING board_id, seq, version, old_rank IS NULL AS new_entry, new_rank = 0 AS removal
)
UPDATE boards SET
  version = greatest(boards.version, raised.version),
  total = boards.total + raised.added,
  last_seq = greatest(boards.last_seq, raised.last_seq)
FROM (
  SELECT board_id, max(version) AS version, count(*) FILTER (WHERE new_entry) - count(*) FILTER (WHERE removal) AS added, max(seq) AS last_seq
  FROM logged GROUP BY board_id
) AS raised
WHERE boards.id = raised.board_id`;

// ---- reading events ----

const EVENT_COLUMNS = `
  e.board_id, e.seq, e.event_id, e.participant_id, e.submitted, e."timestamp", e.received_at,
  e.old_score, e.new_score, e.old_rank, e.new_rank, e.version, e.changed, e.metadata,
  e.entry_achieved_at, e.entry_updated_at, e.fingerprint`;

/**
 * Through score_event_ids, whose received_at names the one partition to
 * look in (pruned at run time).
 */
export const SELECT_EVENT = `
SELECT ${EVENT_COLUMNS}
FROM score_event_ids i
JOIN score_events e ON e.board_id = i.board_id AND e.seq = i.seq AND e.received_at = i.received_at
WHERE i.board_id = $1 AND i.event_id = $2`;

/** Served by score_events_board_version in every partition, merged. */
export const SELECT_EVENTS_AFTER = `
SELECT ${EVENT_COLUMNS} FROM score_events e
WHERE e.board_id = $1 AND e.seq > (SELECT period_seq FROM boards WHERE id = $1) AND e.version > $2
ORDER BY e.version, e.seq
LIMIT $3`;

// ---- checkpoints and loads (postgres-checkpoint.ts) ----

/**
 * The board, with its last seq and its checkpoint's seq (NULL without one).
 * With KEY SHARE, saveCheckpoint keeps the board from being deleted while it
 * writes, and still lets appends raise its version.
 */
export const SELECT_BOARD_STATE = `
SELECT ${BOARD_COLUMNS.split(', ').map((column) => `b.${column}`).join(', ')}, b.last_seq,
  c.seq AS checkpoint_seq, c.total AS checkpoint_total
FROM boards b LEFT JOIN checkpoints c ON c.board_id = b.id
WHERE b.id = $1`;

export const LOCK_BOARD_STATE = `${SELECT_BOARD_STATE} FOR KEY SHARE OF b`;

export const DELETE_CHECKPOINT_ENTRIES = `DELETE FROM entries WHERE board_id = $1`;

/** Text format, tab-separated, in this column order (postgres-checkpoint.ts encodes the rows). */
export const COPY_CHECKPOINT_ENTRIES = `COPY entries (board_id, rank, participant_id, score, achieved_at, updated_at, metadata) FROM STDIN`;

export const UPSERT_CHECKPOINT = `
INSERT INTO checkpoints (board_id, seq, version, total, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (board_id) DO UPDATE SET seq = excluded.seq, version = excluded.version, total = excluded.total, created_at = excluded.created_at`;

/**
 * Ranks ($2, $3] of the board's checkpoint as json arrays, one per column,
 * metadata sparse. A few large json values parse much faster than as many
 * rows as there are entries.
 */
export const SELECT_CHECKPOINT_ENTRIES = `
SELECT
  json_agg(participant_id ORDER BY rank) AS ids,
  json_agg(score ORDER BY rank) AS scores,
  json_agg(achieved_at ORDER BY rank) AS achieved_at,
  json_agg(updated_at ORDER BY rank) AS updated_at,
  json_agg(rank ORDER BY rank) FILTER (WHERE metadata IS NOT NULL) AS metadata_ranks,
  json_agg(metadata::json ORDER BY rank) FILTER (WHERE metadata IS NOT NULL) AS metadata
FROM entries
WHERE board_id = $1 AND rank > $2 AND rank <= $3`;

/**
 * The latest state of every entry changed after seq $2: for each
 * participant, its last event's entry, and the metadata of its last event
 * whose metadata applied (if none did, the entry keeps the checkpoint's),
 * and whether that last event removed the entry (new_rank 0).
 * Each row also carries the number of events after $2. Read through a
 * cursor, in array mode (postgres-rows.ts ChangedEntryRow).
 */
export const SELECT_CHANGED_ENTRIES = `
WITH tail AS MATERIALIZED (
  SELECT seq, participant_id, new_score, new_rank, entry_achieved_at, entry_updated_at, metadata_applied, metadata
  FROM score_events WHERE board_id = $1 AND seq > $2
),
latest AS (
  SELECT DISTINCT ON (participant_id) participant_id, new_score, new_rank, entry_achieved_at, entry_updated_at
  FROM tail ORDER BY participant_id, seq DESC
),
applied AS (
  SELECT DISTINCT ON (participant_id) participant_id, metadata
  FROM tail WHERE metadata_applied ORDER BY participant_id, seq DESC
)
SELECT latest.participant_id, latest.new_score, latest.entry_achieved_at, latest.entry_updated_at,
  applied.participant_id IS NOT NULL, applied.metadata, replayed.count, latest.new_rank = 0
FROM latest
LEFT JOIN applied ON applied.participant_id = latest.participant_id
CROSS JOIN (SELECT count(*) FROM tail) AS replayed`;

// ---- API keys ----

const API_KEY_COLUMNS = `id, hash, scope, name, created_at, revoked_at`;

export const INSERT_API_KEY = `INSERT INTO api_keys (${API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`;

export const SELECT_API_KEY = `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = $1`;

export const SELECT_API_KEYS = `SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id COLLATE "C"`;

/** No row when no key has the id; a key revoked before keeps its first revocation time. */
export const REVOKE_API_KEY = `
UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1
RETURNING ${API_KEY_COLUMNS}`;

export const COUNT_API_KEYS = `SELECT count(*) FROM api_keys WHERE scope = $1 AND revoked_at IS NULL`;
