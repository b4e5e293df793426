-- 006_rejections: what a participant's history needs
-- (GET /v1/leaderboards/{id}/participants/{pid}/events): a way to their
-- accepted events in score_log, and the submissions that were refused.

-- A participant's accepted events, found without an index of score_log on
-- participant_id. Such an index is a random B-tree write per event, the cost
-- migration 003 removed. With 100,000 participants, bench/http.ts measured:
-- the writer thread's CPU per submission from 14-18 to 46-61 µs, single
-- submissions halved (to 3,600-5,800/s), batches from 88,000-127,000 to
-- 49,000-54,000 scores/s. SQLite alone spends 13-28 µs more per event
-- (bench/participant-index.ts), most of it writing random pages to the WAL.
--
-- Instead the log is indexed a segment at a time: segment k holds seqs
-- k * 4096 .. k * 4096 + 4095 (seq >> 12). Once a board's log has moved past
-- a segment, the commit that moved it copies the segment's (participant_id,
-- seq) pairs here in one sorted INSERT ... SELECT (store/sqlite-writer.ts),
-- so the rows land at the end of the board's key range, pages filled in
-- order: 0.3-1.3 µs per event, amortized, in the same measurement, and no
-- difference bench/http.ts could tell apart from the spread of its runs. A
-- participant's events are then one seek per segment (newest first), plus a
-- scan of the open segment's at most 4096 log rows (store/sqlite-history.ts).
CREATE TABLE participant_log (
  board_id        TEXT    NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
  segment         INTEGER NOT NULL,
  participant_id  TEXT    NOT NULL,
  seq             INTEGER NOT NULL,
  PRIMARY KEY (board_id, segment, participant_id, seq)
) STRICT, WITHOUT ROWID;

-- Segments below this one are in participant_log; the log from
-- indexed_segments * 4096 on is the open part, not indexed yet.
ALTER TABLE boards ADD COLUMN indexed_segments INTEGER NOT NULL DEFAULT 0;

-- The log so far: every segment but each board's last.
UPDATE boards SET indexed_segments = coalesce((SELECT max(seq) FROM score_log WHERE score_log.board_id = boards.id), 0) >> 12;
INSERT INTO participant_log (board_id, segment, participant_id, seq)
SELECT l.board_id, l.seq >> 12, l.participant_id, l.seq
FROM boards b JOIN score_log l ON l.board_id = b.id AND l.seq < (b.indexed_segments << 12)
ORDER BY l.board_id, l.seq >> 12, l.participant_id, l.seq;

-- Submissions to an existing board that were refused with a 4xx (invalid
-- input, score_overflow, event_id_conflict, a closed board, ...), for the
-- participant's history. The service records them (service/rejections.ts)
-- through the group commit, never on the path of an accepted submission.
-- They are kept for LADDER_AUDIT_RETENTION_DAYS, like the log.
--
-- submitted and timestamp are REAL: a refused submission's score may be
-- fractional or beyond ±(2^53−1); NULL when it was not a number at all.
-- AUTOINCREMENT: the id is the history's cursor, and must never be reused
-- after retention deleted the newest rows.
CREATE TABLE rejections (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  board_id        TEXT    NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
  participant_id  TEXT    NOT NULL,
  code            TEXT    NOT NULL,
  message         TEXT    NOT NULL,
  submitted       REAL,
  timestamp       REAL,
  event_id        TEXT,
  received_at     INTEGER NOT NULL
) STRICT;

-- A participant's rejections newest first (the rowid is the index's last
-- key); also serves the cascade when a board is deleted.
CREATE INDEX rejections_board_participant ON rejections (board_id, participant_id);
