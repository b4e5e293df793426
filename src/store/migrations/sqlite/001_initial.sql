-- 001_initial: boards, entries, the score-event audit log and API keys.
--
-- Every table is STRICT, so a score or timestamp that is not an integer is
-- refused instead of silently stored as REAL. INTEGER is 64-bit, which holds
-- every score within ±(2^53−1) exactly. Times are ms since epoch. metadata
-- columns hold JSON text or NULL.

CREATE TABLE boards (
  id          TEXT    PRIMARY KEY,
  name        TEXT    NOT NULL,
  sort_order  TEXT    NOT NULL CHECK (sort_order IN ('desc', 'asc')),
  operator    TEXT    NOT NULL CHECK (operator IN ('best', 'latest', 'increment')),
  metadata    TEXT,
  created_at  INTEGER NOT NULL,
  -- version of the last committed change
  version     INTEGER NOT NULL DEFAULT 0
) STRICT;

-- WITHOUT ROWID clusters a board's entries together, so loading a board is
-- one range scan of the primary key.
CREATE TABLE entries (
  board_id        TEXT    NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
  participant_id  TEXT    NOT NULL,
  score           INTEGER NOT NULL,
  achieved_at     INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  metadata        TEXT,
  PRIMARY KEY (board_id, participant_id)
) STRICT, WITHOUT ROWID;

-- AUTOINCREMENT: an audit log never reuses the id of a deleted row.
-- entry_achieved_at / entry_updated_at are the entry's times after the
-- event, so a read-back event carries the exact ranking key.
CREATE TABLE score_events (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  board_id           TEXT    NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
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
  entry_achieved_at  INTEGER NOT NULL,
  entry_updated_at   INTEGER NOT NULL
) STRICT;

-- The last line of defence against a duplicate client event id; the service
-- deduplicates before it gets here.
CREATE UNIQUE INDEX score_events_board_event ON score_events (board_id, event_id) WHERE event_id IS NOT NULL;
-- listEvents pages by (version, id): the rowid is implicitly the last key of
-- every index. Also serves the cascade when a board is deleted.
CREATE INDEX score_events_board_version ON score_events (board_id, version);

CREATE TABLE api_keys (
  id          TEXT    PRIMARY KEY,
  -- sha256 of the key, hex; the key itself is never stored
  hash        TEXT    NOT NULL UNIQUE,
  scope       TEXT    NOT NULL CHECK (scope IN ('admin', 'write', 'read')),
  name        TEXT    NOT NULL,
  created_at  INTEGER NOT NULL
) STRICT;
