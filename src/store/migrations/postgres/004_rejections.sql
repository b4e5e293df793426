-- 004_rejections: what a participant's history needs
-- (GET /v1/leaderboards/{id}/participants/{pid}/events): an index of the
-- log by participant, and the submissions that were refused.

-- A participant's accepted events newest first: one index scan per
-- partition, merged. Built on every partition, and on each one created later.
CREATE INDEX score_events_board_participant ON score_events (board_id, participant_id, seq);

-- Submissions to an existing board that were refused with a 4xx (invalid
-- input, score_overflow, event_id_conflict, a closed board, ...), written
-- in batches by the process that refused them (service/rejections.ts), not
-- through the Redis stream. They are kept for LADDER_AUDIT_RETENTION_DAYS,
-- like the log.
--
-- Unlike the log, this table has a foreign key to boards: refusals are not
-- the hot path, and the cascade removes a deleted board's rows even when a
-- batch of them was written while the deletion ran. submitted and
-- "timestamp" are double precision: a refused submission's score may be
-- fractional or beyond ±(2^53−1); NULL when it was not a number at all.
-- The id is the history's cursor: an identity never reuses a value.
CREATE TABLE rejections (
  id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  board_id        TEXT    NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
  participant_id  TEXT    NOT NULL,
  code            TEXT    NOT NULL,
  message         TEXT    NOT NULL,
  submitted       DOUBLE PRECISION,
  "timestamp"     DOUBLE PRECISION,
  event_id        TEXT,
  received_at     BIGINT  NOT NULL
);

CREATE INDEX rejections_board_participant ON rejections (board_id, participant_id, id);
-- Retention deletes by age.
CREATE INDEX rejections_received_at ON rejections (received_at);
