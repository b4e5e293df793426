-- 003_log: an append-only score log, board checkpoints, and the entries
-- table as each board's base state.
--
-- A commit used to upsert one entries row per event: a random write into a
-- B-tree as big as all the boards, a 4 KB WAL page per event. Now a commit
-- only appends to score_log, whose rows carry the entry each event left
-- behind, and a board is loaded from its latest checkpoint (a file under
-- checkpoints/, recorded in the checkpoints table) plus the log after it.

-- WITHOUT ROWID, keyed by (board_id, seq): a board's events are one range of
-- the primary key in log order, and an append writes at the end of it. seq
-- is assigned by the backend, increasing per board, so that a checkpoint can
-- name the events it covers. No AUTOINCREMENT (it writes sqlite_sequence on
-- every insert), and no index on participant_id: it would be a random B-tree
-- write per event, the cost this table removes.
CREATE TABLE score_log (
  board_id           TEXT    NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
  seq                INTEGER NOT NULL,
  event_id           TEXT,
  participant_id     TEXT    NOT NULL,
  submitted          INTEGER NOT NULL,
  timestamp          INTEGER NOT NULL,
  received_at        INTEGER NOT NULL,
  old_score          INTEGER,
  new_score          INTEGER NOT NULL,
  old_rank           INTEGER,
  new_rank           INTEGER NOT NULL,
  version            INTEGER NOT NULL,
  changed            INTEGER NOT NULL CHECK (changed IN (0, 1)),
  metadata           TEXT,
  -- 1 when the entry's metadata after the event is this event's metadata,
  -- 0 when the entry kept the metadata it had (core/operators.ts decides).
  -- NULL for events logged before this migration, which are never replayed:
  -- the base state (entries, as of boards.base_seq) already holds them.
  metadata_applied   INTEGER CHECK (metadata_applied IN (0, 1)),
  -- the entry's score is new_score; these are its times after the event
  entry_achieved_at  INTEGER NOT NULL,
  entry_updated_at   INTEGER NOT NULL,
  fingerprint        TEXT,
  PRIMARY KEY (board_id, seq)
) STRICT, WITHOUT ROWID;

-- The audit log so far, in its order: the old row id is a seq that
-- increases per board.
INSERT INTO score_log (
  board_id, seq, event_id, participant_id, submitted, timestamp, received_at,
  old_score, new_score, old_rank, new_rank, version, changed, metadata,
  metadata_applied, entry_achieved_at, entry_updated_at, fingerprint
)
SELECT
  board_id, id, event_id, participant_id, submitted, timestamp, received_at,
  old_score, new_score, old_rank, new_rank, version, changed, metadata,
  NULL, entry_achieved_at, entry_updated_at, fingerprint
FROM score_events ORDER BY id;

-- The last line of defence against a duplicate client event id. With random
-- event ids (UUIDv4) this index is a random B-tree write per event; ids that
-- grow with time (UUIDv7, ULID) append to it instead.
CREATE UNIQUE INDEX score_log_board_event ON score_log (board_id, event_id) WHERE event_id IS NOT NULL;
-- listEvents pages by (version, seq). Versions grow with seq, so this index
-- is appended to, like the table.
CREATE INDEX score_log_board_version ON score_log (board_id, version);

-- The entries table now holds each board's state as of base_seq, its base:
-- a load starts from it until the board has a checkpoint. Those written
-- before this migration are complete as of the board's last event. NULL once
-- the board has two checkpoints: then the base is no longer needed, and its
-- rows are deleted (store/sqlite-writer.ts prune).
ALTER TABLE boards ADD COLUMN base_seq INTEGER DEFAULT 0;
UPDATE boards SET base_seq = coalesce((SELECT max(id) FROM score_events WHERE score_events.board_id = boards.id), 0);

DROP TABLE score_events;
DELETE FROM sqlite_sequence WHERE name = 'score_events';

-- A board's checkpoints: the latest two are kept, so that one that cannot be
-- read falls back to the one before it (and the log after that one). `file`
-- is the name of the snapshot under checkpoints/ (store/sqlite-checkpoint.ts
-- has its format); bytes and crc32 are checked again when it is read.
CREATE TABLE checkpoints (
  board_id    TEXT    NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  version     INTEGER NOT NULL,
  total       INTEGER NOT NULL,
  file        TEXT    NOT NULL UNIQUE,
  bytes       INTEGER NOT NULL,
  crc32       INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (board_id, seq)
) STRICT, WITHOUT ROWID;
