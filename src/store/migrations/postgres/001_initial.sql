-- 001_initial: boards, the score-event log (the audit log), board
-- checkpoints, API keys and final rankings, for the PostgreSQL store
-- (store/postgres.ts).
--
-- Times are ms since epoch and scores integers within ±(2^53−1): BIGINT
-- holds both exactly (the store converts the driver's int8 strings with a
-- check, postgres-rows.ts). metadata columns hold the JSON text the service
-- wrote, as TEXT: jsonb would reorder keys and drop duplicates, so the text
-- read back would no longer be the text written.
--
-- The per-event and per-entry tables have no foreign key to boards: a
-- foreign key is checked by a trigger for every inserted row, which is a
-- query per event on the hot path. The store keeps them consistent instead:
-- an append locks the rows of its boards (and drops the events of a board
-- that is gone), and deleteBoard deletes the board row first, then its rows
-- in the other tables, in one transaction.

CREATE TABLE boards (
  id          TEXT    PRIMARY KEY,
  name        TEXT    NOT NULL,
  sort_order  TEXT    NOT NULL CHECK (sort_order IN ('desc', 'asc')),
  operator    TEXT    NOT NULL CHECK (operator IN ('best', 'latest', 'increment')),
  metadata    TEXT,
  created_at  BIGINT  NOT NULL,
  epoch       TEXT    NOT NULL,
  -- version of the last committed change
  version     BIGINT  NOT NULL DEFAULT 0,
  -- entries as of that version
  total       BIGINT  NOT NULL DEFAULT 0,
  -- the greatest seq logged: loadBoard's `seq`, which survives retention, and
  -- what spares an append the duplicate check of (board_id, seq) for events
  -- beyond it (postgres-sql.ts APPEND_EVENTS)
  last_seq    BIGINT  NOT NULL DEFAULT 0
);

-- The log, append-only; each row carries the entry its event left behind.
-- Partitioned by the day it was received (UTC), so that retention drops whole
-- partitions instead of deleting rows (store/postgres-partitions.ts creates
-- them ahead). An event outside every partition (a clock far off, or
-- retention's leftovers, see there) lands in the default partition, so an
-- insert never fails for want of one.
--
-- A unique index of a partitioned table must contain the partition key, so
-- none can say that (board_id, seq) or (board_id, event_id) is unique across
-- partitions: the primary key holds received_at too, and its prefix serves
-- the reads by seq. Both are the append's work instead (postgres-sql.ts):
-- event ids go through score_event_ids below, and an event whose seq is not
-- beyond boards.last_seq is looked up in the log before it is appended.
CREATE TABLE score_events (
  board_id           TEXT     NOT NULL,
  seq                BIGINT   NOT NULL,
  event_id           TEXT,
  participant_id     TEXT     NOT NULL,
  submitted          BIGINT   NOT NULL,
  timestamp          BIGINT   NOT NULL,
  received_at        BIGINT   NOT NULL,
  old_score          BIGINT,
  new_score          BIGINT   NOT NULL,
  old_rank           BIGINT,
  new_rank           BIGINT   NOT NULL,
  version            BIGINT   NOT NULL,
  changed            BOOLEAN  NOT NULL,
  metadata           TEXT,
  -- true when the entry's metadata after the event is this event's metadata,
  -- false when the entry kept the metadata it had (core/operators.ts decides)
  metadata_applied   BOOLEAN  NOT NULL,
  -- the entry's score is new_score; these are its times after the event
  entry_achieved_at  BIGINT   NOT NULL,
  entry_updated_at   BIGINT   NOT NULL,
  fingerprint        TEXT,
  PRIMARY KEY (board_id, seq, received_at)
) PARTITION BY RANGE (received_at);

CREATE TABLE score_events_default PARTITION OF score_events DEFAULT;

-- listEvents pages by (version, seq).
CREATE INDEX score_events_board_version ON score_events (board_id, version, seq);

-- The event ids of the log, one row per logged event that has one: the
-- uniqueness of (board_id, event_id) that score_events cannot declare, and
-- findEvent's way to the event's partition. Retention deletes the rows of
-- the events it drops.
CREATE TABLE score_event_ids (
  board_id     TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  seq          BIGINT  NOT NULL,
  received_at  BIGINT  NOT NULL,
  PRIMARY KEY (board_id, event_id)
);

-- Each board's latest checkpoint: its state as of log position `seq`. A load
-- reads it, then the log after it. A new checkpoint replaces the old one in
-- one transaction, so a reader sees either, whole; retention keeps every
-- event after it.
CREATE TABLE checkpoints (
  board_id    TEXT    PRIMARY KEY REFERENCES boards (id) ON DELETE CASCADE,
  seq         BIGINT  NOT NULL,
  version     BIGINT  NOT NULL,
  total       BIGINT  NOT NULL,
  created_at  BIGINT  NOT NULL
);

-- The entries of each board's checkpoint, in rank order (rank 1 first), as
-- saveCheckpoint wrote them with COPY. The primary key clusters a board's
-- entries in the order a load reads them.
CREATE TABLE entries (
  board_id        TEXT     NOT NULL,
  rank            INTEGER  NOT NULL,
  participant_id  TEXT     NOT NULL,
  score           BIGINT   NOT NULL,
  achieved_at     BIGINT   NOT NULL,
  updated_at      BIGINT   NOT NULL,
  metadata        TEXT,
  PRIMARY KEY (board_id, rank)
);

CREATE TABLE api_keys (
  id          TEXT    PRIMARY KEY,
  -- sha256 of the key, hex; the key itself is never stored
  hash        TEXT    NOT NULL UNIQUE,
  scope       TEXT    NOT NULL CHECK (scope IN ('admin', 'write', 'read')),
  name        TEXT    NOT NULL,
  created_at  BIGINT  NOT NULL,
  -- a revoked key is kept (its id stays taken) but never authorizes again
  revoked_at  BIGINT
);

-- The standings of closed periods, archived when a period closes. No Store
-- method writes or reads them yet: the board lifecycle work (periods and
-- resets) will.
CREATE TABLE final_rankings (
  board_id        TEXT     NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
  period_id       TEXT     NOT NULL,
  rank            INTEGER  NOT NULL,
  participant_id  TEXT     NOT NULL,
  score           BIGINT   NOT NULL,
  achieved_at     BIGINT   NOT NULL,
  metadata        TEXT,
  PRIMARY KEY (board_id, period_id, rank)
);
