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

// ---- webhook deliveries (service/webhooks.ts) ----

const WEBHOOK_COLUMNS = `board_id, period_id, url, top, created_at, attempts, next_attempt_at, leased_until, delivered_at, last_error`;

/**
 * Leases the due, unleased deliveries and counts an attempt (Store.claimWebhooks):
 * $1 now, $2 leased until, $3 limit. Rows another transaction is claiming are
 * skipped rather than waited for; one it claimed and committed meanwhile no
 * longer passes the WHERE, which PostgreSQL checks again on the row it locks.
 */
export const CLAIM_WEBHOOKS = `
UPDATE webhook_deliveries d SET leased_until = $2, attempts = d.attempts + 1
FROM (
  SELECT board_id, period_id FROM webhook_deliveries
  WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND leased_until <= $1
  ORDER BY next_attempt_at LIMIT $3
  FOR UPDATE SKIP LOCKED
) due
WHERE d.board_id = due.board_id AND d.period_id = due.period_id
RETURNING ${WEBHOOK_COLUMNS.split(', ').map((column) => `d.${column}`).join(', ')}`;

/** rowCount 0 when it was delivered already or is gone. */
export const COMPLETE_WEBHOOK = `
UPDATE webhook_deliveries SET delivered_at = $3, leased_until = 0
WHERE board_id = $1 AND period_id = $2 AND delivered_at IS NULL`;

/** $3 attempt, $4 next attempt, $5 error. rowCount 0 when it was delivered, is gone, or was claimed again since. */
export const RETRY_WEBHOOK = `
UPDATE webhook_deliveries SET next_attempt_at = $4, last_error = $5, leased_until = 0
WHERE board_id = $1 AND period_id = $2 AND delivered_at IS NULL AND attempts = $3`;

export const SELECT_WEBHOOKS = `
SELECT ${WEBHOOK_COLUMNS} FROM webhook_deliveries
WHERE board_id = $1 AND created_at < $2
ORDER BY created_at DESC, period_id DESC LIMIT $3`;


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

export const SELECT_PLACEMENTS = `
SELECT f.board_id, f.period_id, p.closed_at, p.total, ${FINAL_ENTRY.split(', ').map((c) => `f.${c}`).join(', ')}
FROM final_rankings f JOIN periods p ON p.board_id = f.board_id AND p.period_id = f.period_id
WHERE f.participant_id = $1 AND p.closed_at < $2
ORDER BY p.closed_at DESC, f.board_id COLLATE "C", f.period_id COLLATE "C" LIMIT $3`;

/**
 * The nearest rank above a given one whose score differs: the lowest rank
 * with that score (a shared rank) is this + 1, or 1 when there is none.
 * Equal scores are adjacent, so the primary key is walked back over the tie only.
 */
export const SELECT_FINAL_ABOVE_TIE = `
SELECT rank FROM final_rankings
WHERE board_id = $1 AND period_id = $2 AND rank < $3 AND score <> $4 ORDER BY rank DESC LIMIT 1`;

export const SELECT_FINAL_ENTRIES = `
SELECT ${FINAL_ENTRY} FROM final_rankings
WHERE participant_id = ANY($3::text[]) AND board_id = $1 AND period_id = $2 ORDER BY rank`;

export const SET_BOARD_EPOCH = `UPDATE boards SET epoch = $2 WHERE id = $1`;

export const BOARD_EXISTS = `SELECT id FROM boards WHERE id = $1`;

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

/** The board's rows in the tables without a foreign key (see migration 001; rejections have one). */
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

// ---- a participant's history ----

/** Served by score_events_board_participant in every partition, merged (migration 004). */
export const SELECT_PARTICIPANT_EVENTS = `
SELECT ${EVENT_COLUMNS} FROM score_events e
WHERE e.board_id = $1 AND e.participant_id = $2 AND e.seq < $3
ORDER BY e.seq DESC
LIMIT $4`;

/**
 * Inserts a batch of rejections in one statement, in order (their ids are
 * the history's order among them). Those of a board that does not exist are
 * left out; a board deleted at the same moment makes the statement fail on
 * the foreign key, and the store tries once more.
 */
export const INSERT_REJECTIONS = `
INSERT INTO rejections (board_id, participant_id, code, message, submitted, "timestamp", event_id, received_at)
SELECT r.board_id, r.participant_id, r.code, r.message, r.submitted, r."timestamp", r.event_id, r.received_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::bigint[])
  WITH ORDINALITY AS r (board_id, participant_id, code, message, submitted, "timestamp", event_id, received_at, n)
WHERE EXISTS (SELECT 1 FROM boards b WHERE b.id = r.board_id)
ORDER BY r.n`;

export const SELECT_PARTICIPANT_REJECTIONS = `
SELECT id, board_id, participant_id, code, message, submitted, "timestamp", event_id, received_at FROM rejections
WHERE board_id = $1 AND participant_id = $2 AND id < $3
ORDER BY id DESC
LIMIT $4`;

export const COUNT_PARTICIPANT_REJECTIONS = `SELECT code, count(*)::int AS n FROM rejections WHERE board_id = $1 AND participant_id = $2 GROUP BY code`;

/** Deletes up to $2 of the rejections received before $1 (audit-log retention); rowCount tells how many. */
export const PRUNE_REJECTIONS = `
DELETE FROM rejections WHERE id = ANY (ARRAY(
  SELECT id FROM rejections WHERE received_at < $1 ORDER BY received_at LIMIT $2
))`;

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

// ---- erasures (postgres.ts eraseParticipant, one transaction) ----

/**
 * The board's row, locked as an append locks it (an append waits, and sees
 * the erasure done), with its checkpoint's seq (NULL without one).
 */
export const LOCK_BOARD_FOR_ERASURE = `
SELECT b.id, c.seq AS checkpoint_seq FROM boards b LEFT JOIN checkpoints c ON c.board_id = b.id
WHERE b.id = $1 FOR NO KEY UPDATE OF b`;

/** The participant's row of the board's checkpoint; RETURNING the rank it had. */
export const DELETE_CHECKPOINT_ENTRY = `DELETE FROM entries WHERE board_id = $1 AND participant_id = $2 RETURNING rank`;

/**
 * Closes the ranks up after rank $2 left the checkpoint, in two steps: the
 * primary key (board_id, rank) is checked row by row, so ranks one lower
 * would collide with those not moved yet; negative ones cannot.
 */
export const NEGATE_RANKS_AFTER = `UPDATE entries SET rank = -(rank - 1) WHERE board_id = $1 AND rank > $2`;

export const FLIP_NEGATED_RANKS = `UPDATE entries SET rank = -rank WHERE board_id = $1 AND rank < 0`;

/** An erased participant's refused submissions. */
export const DELETE_PARTICIPANT_REJECTIONS = `DELETE FROM rejections WHERE board_id = $1 AND participant_id = $2`;

/** An erased participant's places in the board's closed periods keep their rank under an anonymous id ($3). */
export const ANONYMISE_FINAL_RANKINGS = `UPDATE final_rankings SET participant_id = $3, metadata = NULL WHERE board_id = $1 AND participant_id = $2`;

export const LOWER_CHECKPOINT_TOTAL = `UPDATE checkpoints SET total = total - 1 WHERE board_id = $1`;

/**
 * The participant's events up to seq $3, and their event ids. No index
 * serves participant_id (it would be a random write per event), so this
 * scans the board's part of every partition: erasures are rare.
 */
export const DELETE_PARTICIPANT_EVENTS = `
WITH gone AS (
  DELETE FROM score_events WHERE board_id = $1 AND participant_id = $2 AND seq <= $3
  RETURNING event_id
),
ids AS (
  DELETE FROM score_event_ids WHERE board_id = $1 AND event_id IN (SELECT event_id FROM gone WHERE event_id IS NOT NULL)
  RETURNING 1
)
SELECT count(*) AS events FROM gone`;

/** The version only goes up; $3 is 1 when the participant had an entry. */
export const RAISE_VERSION_AFTER_ERASURE = `
UPDATE boards SET version = greatest(version, $2), total = greatest(0, total - $3) WHERE id = $1`;

// ---- profiles ----

export const UPSERT_PROFILE = `
INSERT INTO participants (participant_id, display_name, avatar_url, metadata, updated_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (participant_id) DO UPDATE SET
  display_name = excluded.display_name, avatar_url = excluded.avatar_url,
  metadata = excluded.metadata, updated_at = excluded.updated_at`;

export const SELECT_PROFILES = `
SELECT participant_id, display_name, avatar_url, metadata, updated_at FROM participants
WHERE participant_id = ANY($1::text[])`;

export const DELETE_PROFILE = `DELETE FROM participants WHERE participant_id = $1`;

// ---- API keys ----

const API_KEY_COLUMNS = `id, hash, scope, name, created_at, revoked_at, boards, rate_limit_max, rate_limit_window_ms`;

export const INSERT_API_KEY = `INSERT INTO api_keys (${API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;

export const SELECT_API_KEY = `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = $1`;

export const SELECT_API_KEYS = `SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id COLLATE "C"`;

/** No row when no key has the id; a key revoked before keeps its first revocation time. */
export const REVOKE_API_KEY = `
UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1
RETURNING ${API_KEY_COLUMNS}`;

export const COUNT_API_KEYS = `SELECT count(*) FROM api_keys WHERE scope = $1 AND revoked_at IS NULL`;
