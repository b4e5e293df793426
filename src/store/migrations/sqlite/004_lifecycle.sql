-- 004_lifecycle: boards that live in time (schedules, periodic resets,
-- finalization), the periods they closed with their final rankings, and the
-- webhook deliveries those closes owe.
--
-- boards.options holds the board's lifecycle and rule settings as JSON
-- (store/board-options.ts has its shape): they are read with the board and
-- never queried by, so one column keeps every later setting a migration away
-- from nothing. period_start is the start (ms) of the period the live
-- standings belong to (0 without resets); period_seq the log position where
-- they start: a load ignores the log and checkpoints up to it, since those
-- belong to closed periods.
ALTER TABLE boards ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
ALTER TABLE boards ADD COLUMN period_start INTEGER NOT NULL DEFAULT 0;
ALTER TABLE boards ADD COLUMN period_seq INTEGER NOT NULL DEFAULT 0;

-- One row per closed period (or finalized tournament, period_id 'final'):
-- the primary key is what makes a close happen once.
CREATE TABLE periods (
  board_id        TEXT    NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
  period_id       TEXT    NOT NULL,
  starts_at       INTEGER NOT NULL,
  ends_at         INTEGER NOT NULL,
  closed_at       INTEGER NOT NULL,
  total           INTEGER NOT NULL,
  PRIMARY KEY (board_id, period_id)
) STRICT, WITHOUT ROWID;

-- The standings of each closed period, rank 1 first, exactly as they were
-- when it closed. The second index answers a participant's rank in one.
CREATE TABLE final_rankings (
  board_id        TEXT    NOT NULL,
  period_id       TEXT    NOT NULL,
  rank            INTEGER NOT NULL,
  participant_id  TEXT    NOT NULL,
  score           INTEGER NOT NULL,
  achieved_at     INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  metadata        TEXT,
  PRIMARY KEY (board_id, period_id, rank),
  FOREIGN KEY (board_id, period_id) REFERENCES periods (board_id, period_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX final_rankings_participant ON final_rankings (participant_id, board_id, period_id);

-- What a close owes a board's webhook, written in the close's transaction so
-- that every close is delivered and none twice (service/webhooks.ts).
CREATE TABLE webhook_deliveries (
  board_id         TEXT    NOT NULL,
  period_id        TEXT    NOT NULL,
  url              TEXT    NOT NULL,
  top              INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  -- while a process delivers it: until when it holds it
  leased_until     INTEGER NOT NULL DEFAULT 0,
  delivered_at     INTEGER,
  last_error       TEXT,
  PRIMARY KEY (board_id, period_id),
  FOREIGN KEY (board_id, period_id) REFERENCES periods (board_id, period_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE delivered_at IS NULL;
