-- 002_lifecycle: boards that live in time (schedules, periodic resets,
-- finalization), the periods they closed with their final rankings, and the
-- webhook deliveries those closes owe. The same as SQLite's 004_lifecycle;
-- see there for the columns.
ALTER TABLE boards ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
ALTER TABLE boards ADD COLUMN period_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE boards ADD COLUMN period_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE periods (
  board_id   TEXT    NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
  period_id  TEXT    NOT NULL,
  starts_at  BIGINT  NOT NULL,
  ends_at    BIGINT  NOT NULL,
  closed_at  BIGINT  NOT NULL,
  total      BIGINT  NOT NULL,
  PRIMARY KEY (board_id, period_id)
);

-- 001 made final_rankings before anything wrote it: it gains updated_at and
-- hangs off its period now.
DROP TABLE final_rankings;
CREATE TABLE final_rankings (
  board_id        TEXT     NOT NULL,
  period_id       TEXT     NOT NULL,
  rank            INTEGER  NOT NULL,
  participant_id  TEXT     NOT NULL,
  score           BIGINT   NOT NULL,
  achieved_at     BIGINT   NOT NULL,
  updated_at      BIGINT   NOT NULL,
  metadata        TEXT,
  PRIMARY KEY (board_id, period_id, rank),
  FOREIGN KEY (board_id, period_id) REFERENCES periods (board_id, period_id) ON DELETE CASCADE
);
CREATE INDEX final_rankings_participant ON final_rankings (participant_id, board_id, period_id);

CREATE TABLE webhook_deliveries (
  board_id         TEXT    NOT NULL,
  period_id        TEXT    NOT NULL,
  url              TEXT    NOT NULL,
  top              INTEGER NOT NULL,
  created_at       BIGINT  NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  BIGINT  NOT NULL,
  leased_until     BIGINT  NOT NULL DEFAULT 0,
  delivered_at     BIGINT,
  last_error       TEXT,
  PRIMARY KEY (board_id, period_id),
  FOREIGN KEY (board_id, period_id) REFERENCES periods (board_id, period_id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE delivered_at IS NULL;
